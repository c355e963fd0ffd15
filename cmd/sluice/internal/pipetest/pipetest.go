// Package pipetest runs the `test` blocks of pipeline files: each test runs
// its pipeline offline on a bounded NDJSON input in place of the source,
// collects what would reach the sinks in memory and compares it with an
// expected NDJSON file.
//
// Comparison: rows are compared as JSON values (key order and number
// spelling do not matter). A row of kind update or delete (a window
// re-emitting results) carries "op": "update" or "delete"; an insert has
// no op. Unless the test sets ordered = true, the rows
// that one window close emits together may come in any order: the actual
// rows are cut into the groups the pipeline emitted together, the expected
// rows into groups of the same sizes, and each group is sorted before the
// two are compared. A mismatch is shown as a unified diff.
package pipetest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"sync"

	"github.com/sluice-io/sluice/record"

	"github.com/sluice-io/sluice/internal/ndjson"
	"github.com/sluice-io/sluice/plugins"
	"github.com/sluice-io/sluice/plugins/file"
	"github.com/sluice-io/sluice/runner"
	"github.com/sluice-io/sluice/runner/config"
)

// Result is the outcome of one test block.
type Result struct {
	Test *config.Test
	// Pass is true when the output equals the expected rows.
	Pass bool
	// Diff is a unified diff from the expected rows to the actual ones when
	// they differ.
	Diff string
	// Rows is the number of rows the pipeline emitted.
	Rows int
	// Stats are the pipeline's counters; Stats.Dead records were kept in
	// memory, not written.
	Stats runner.Stats
	// Err is set when the test could not run (a missing input, a pipeline
	// failure); Pass is then false.
	Err error
	// Actual is the emitted rows as NDJSON, for Update.
	Actual []byte
}

// Run runs test t of project.
func Run(ctx context.Context, project *config.Project, t *config.Test, opts runner.Options) Result {
	res := Result{Test: t}
	p := project.Pipeline(t.Pipeline)
	if p == nil {
		res.Err = fmt.Errorf("test %q: no pipeline named %q", t.Name, t.Pipeline)
		return res
	}
	c := &collector{}
	opts.Source = func(src *config.Stage) plugins.Opener { return input(t.Input, src.Output) }
	opts.Sink = func(s *config.Stage) plugins.SinkOpener {
		if s == p.Sinks[0] {
			return c
		}
		return discard{}
	}
	opts.DeadLetter = func(*config.Stage) plugins.DeadLetterOpener { return discardDead{} }
	if t.CrashAfter > 0 {
		res.Stats, res.Err = runCrashing(ctx, p, t, c, opts)
	} else {
		res.Stats, res.Err = runner.Run(ctx, p, opts)
	}
	if res.Err != nil {
		return res
	}
	for _, g := range c.groups {
		res.Rows += len(g)
		for _, row := range g {
			res.Actual = append(append(res.Actual, row...), '\n')
		}
	}
	want, err := readExpected(t.Expect)
	if err != nil {
		res.Err = err
		return res
	}
	got, wantLines, err := arrange(c.groups, want, t.Ordered)
	if err != nil {
		res.Err = fmt.Errorf("test %q: %w", t.Name, err)
		return res
	}
	res.Pass = equal(got, wantLines)
	if !res.Pass {
		res.Diff = Unified("expected ("+t.Expect+")", "actual", wantLines, got)
	}
	return res
}

// Update writes the actual rows of r to its test's expect file.
func Update(r Result) error {
	return os.WriteFile(r.Test.Expect, r.Actual, 0o644)
}

// input returns the test's input as a bounded source with the schema of the
// replaced source: raw lines, or typed records decoded from JSON objects
// whose timestamps are Unix milliseconds or RFC 3339 text.
func input(path string, out record.Schema) plugins.Opener {
	f := &file.Source{Path: path}
	switch {
	case out.Raw && len(out.Meta) > 0:
		return &rawInput{file: f, out: out}
	case out.Raw:
		return f
	}
	return &typedInput{file: f, out: out}
}

// rawInput reads a test input's lines as the raw messages of a source with
// metadata columns (such as pulsar.key): test inputs carry none, so every
// metadata value is null.
type rawInput struct {
	file *file.Source
	out  record.Schema
}

func (r *rawInput) Output() record.Schema { return r.out }

func (r *rawInput) Open(ctx context.Context, rt *plugins.Runtime) (plugins.Reader, error) {
	rd, err := r.file.Open(ctx, rt)
	if err != nil {
		return nil, err
	}
	return nullMeta{rd}, nil
}

// nullMeta pads the metadata columns of each batch with nulls.
type nullMeta struct{ plugins.Reader }

func (n nullMeta) Read(ctx context.Context, b *record.Batch, max int) error {
	err := n.Reader.Read(ctx, b, max)
	for m := 1; m < len(b.Columns); m++ {
		for b.Columns[m].Len() < b.Rows {
			b.Columns[m].AppendNull()
		}
	}
	return err
}

// readExpected reads the non-empty lines of an NDJSON file.
func readExpected(path string) ([]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		if line := bytes.TrimSpace(sc.Bytes()); len(line) > 0 {
			out = append(out, string(line))
		}
	}
	return out, sc.Err()
}

// arrange canonicalizes both sides and, unless ordered, sorts each group of
// rows emitted together and the expected rows cut into groups of the same
// sizes.
func arrange(groups [][]string, want []string, ordered bool) (got, wantOut []string, err error) {
	for i, w := range want {
		cw, err := canonical(w)
		if err != nil {
			return nil, nil, fmt.Errorf("expected row %d is not a JSON object: %v", i+1, err)
		}
		wantOut = append(wantOut, cw)
	}
	at := 0
	for _, g := range groups {
		start := len(got)
		for _, row := range g {
			cr, err := canonical(row)
			if err != nil {
				return nil, nil, fmt.Errorf("output row is not JSON: %v", err)
			}
			got = append(got, cr)
		}
		if ordered {
			continue
		}
		sort.Strings(got[start:])
		end := min(at+len(g), len(wantOut))
		sort.Strings(wantOut[at:end])
		at = end
	}
	if !ordered {
		sort.Strings(wantOut[at:])
	}
	return got, wantOut, nil
}

// canonical re-encodes a JSON value with sorted keys and numbers as
// written.
func canonical(line string) (string, error) {
	d := json.NewDecoder(bytes.NewReader([]byte(line)))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return "", err
	}
	if d.More() {
		return "", fmt.Errorf("more than one value on the line")
	}
	b, err := json.Marshal(v)
	return string(b), err
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// collector keeps the rows of each Write as one group: pending until a
// commit (plugins.Committer, crash.go), then in groups.
type collector struct {
	mu       sync.Mutex
	groups   [][]string
	pending  [][]string
	prepared map[int64][][]string
	// crashAfter, above 0, makes the first Prepare after that many
	// commits with rows to prepare fail with errCrash (crash.go).
	crashAfter, commits int
}

func (c *collector) Output() record.Schema { return record.Schema{} }

func (c *collector) Open(context.Context, *plugins.Runtime) (plugins.Writer, error) { return c, nil }

func (c *collector) Write(_ context.Context, b *record.Batch) error {
	g := make([]string, b.Rows)
	var buf []byte
	for i := range b.Rows {
		buf = ndjson.AppendRow(buf[:0], b, i)
		if k := b.Kind(i); k != record.Insert && len(buf) > 2 {
			// An update or a delete says so; an insert is a plain row.
			buf = append(append(append(buf[:len(buf)-1], `,"op":"`...), k.String()...), `"}`...)
		}
		g[i] = string(buf)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pending = append(c.pending, g)
	return nil
}

func (c *collector) Close() error { return nil }

// discard is a sink that keeps nothing.
type discard struct{}

func (discard) Output() record.Schema                      { return record.Schema{} }
func (discard) Write(context.Context, *record.Batch) error { return nil }
func (discard) Close() error                               { return nil }
func (d discard) Open(context.Context, *plugins.Runtime) (plugins.Writer, error) {
	return d, nil
}

// discardDead is a dead letter that keeps nothing: the runner counts the
// dead records, and Result.Stats reports them.
type discardDead struct{}

func (discardDead) Output() record.Schema                                 { return record.Schema{} }
func (discardDead) WriteDead(context.Context, []plugins.DeadRecord) error { return nil }
func (discardDead) Close() error                                          { return nil }
func (d discardDead) Open(context.Context, *plugins.Runtime) (plugins.DeadWriter, error) {
	return d, nil
}
