package runner

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/sluice-io/sluice/record"

	"github.com/sluice-io/sluice/internal/ndjson"
	"github.com/sluice-io/sluice/plugins"
	_ "github.com/sluice-io/sluice/plugins/all"
	"github.com/sluice-io/sluice/runner/config"
)

// load builds the one pipeline of src.
func load(t testing.TB, src string) *config.Pipeline {
	t.Helper()
	p, diags := config.LoadSources([]config.Source{{Name: "test.hcl", Bytes: []byte(src)}}, &config.Options{})
	if diags.HasErrors() {
		t.Fatalf("pipeline has errors: %v", diags)
	}
	if len(p.Pipelines) != 1 {
		t.Fatalf("want 1 pipeline, got %d", len(p.Pipelines))
	}
	return p.Pipelines[0]
}

// lines is an in-memory raw source: one partition per slice of lines, read
// round-robin so partitions interleave; origins are line indexes. With
// block set it does not end: after the lines it waits for ctx.
type lines struct {
	parts [][]string
	block bool
	fail  error    // returned once the lines are out, when set
	feed  chan fed // with block: more lines, read after parts

	mu      sync.Mutex
	commits map[int]int64 // acknowledged positions per partition
}

// fed is a line fed to a blocking lines source.
type fed struct {
	part int
	line string
}

func (l *lines) Output() record.Schema { return record.RawSchema() }

func (l *lines) Open(context.Context, *plugins.Runtime) (plugins.Reader, error) {
	return &linesReader{l: l, pos: make([]int, len(l.parts))}, nil
}

type linesReader struct {
	l    *lines
	pos  []int // next position per partition; fed lines continue it
	turn int
}

// Commit records acknowledgements and checks they never go backwards.
func (r *linesReader) Commit(p int, upTo int64) error {
	r.l.mu.Lock()
	defer r.l.mu.Unlock()
	if r.l.commits == nil {
		r.l.commits = map[int]int64{}
	}
	if prev, ok := r.l.commits[p]; ok && upTo < prev {
		return fmt.Errorf("commit of partition %d went back from %d to %d", p, prev, upTo)
	}
	r.l.commits[p] = upTo
	return nil
}

// committed returns the last commit of partition p, -1 for none.
func (l *lines) committed(p int) int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	if c, ok := l.commits[p]; ok {
		return c
	}
	return -1
}

func (r *linesReader) Partitions() int { return len(r.l.parts) }
func (r *linesReader) Close() error    { return nil }

func (r *linesReader) Read(ctx context.Context, b *record.Batch, max int) error {
	for b.Rows < max {
		p, ok := r.nextPartition()
		if !ok {
			break
		}
		b.Columns[0].AppendString([]byte(r.l.parts[p][r.pos[p]]))
		b.Origins = append(b.Origins, record.Origin{Partition: int32(p), Offset: int64(r.pos[p])})
		b.Rows++
		r.pos[p]++
	}
	if b.Rows > 0 {
		return nil
	}
	if r.l.fail != nil {
		return r.l.fail
	}
	if r.l.block {
		select {
		case f := <-r.l.feed:
			b.Columns[0].AppendString([]byte(f.line))
			b.Origins = append(b.Origins, record.Origin{Partition: int32(f.part), Offset: int64(r.pos[f.part])})
			b.Rows++
			r.pos[f.part]++
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return io.EOF
}

func (r *linesReader) nextPartition() (int, bool) {
	for range r.pos {
		p := r.turn % len(r.pos)
		r.turn++
		if r.pos[p] < len(r.l.parts[p]) {
			return p, true
		}
	}
	return 0, false
}

// collector is an in-memory sink and dead letter: rows as NDJSON, one
// group per Write.
type collector struct {
	mu     sync.Mutex
	writes [][]string
	dead   []plugins.DeadRecord
	fail   error
	closed bool
	input  record.Schema
}

func (c *collector) Output() record.Schema { return c.input }

func (c *collector) Open(context.Context, *plugins.Runtime) (plugins.Writer, error) { return c, nil }

func (c *collector) Write(_ context.Context, b *record.Batch) error {
	if err := b.Validate(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fail != nil {
		return c.fail
	}
	var group []string
	for i := range b.Rows {
		group = append(group, string(ndjson.AppendRow(nil, b, i)))
	}
	c.writes = append(c.writes, group)
	return nil
}

func (c *collector) Close() error { c.closed = true; return nil }

type deadCollector struct{ c *collector }

func (d deadCollector) Output() record.Schema { return record.Schema{} }
func (d deadCollector) Open(context.Context, *plugins.Runtime) (plugins.DeadWriter, error) {
	return d, nil
}
func (d deadCollector) Close() error { return nil }
func (d deadCollector) WriteDead(_ context.Context, recs []plugins.DeadRecord) error {
	d.c.mu.Lock()
	defer d.c.mu.Unlock()
	for _, r := range recs {
		r.Payload = append([]byte(nil), r.Payload...)
		d.c.dead = append(d.c.dead, r)
	}
	return nil
}

// rows returns every row written, in order.
func (c *collector) rows() []string {
	var out []string
	for _, g := range c.writes {
		out = append(out, g...)
	}
	return out
}

// options returns Options that read src and collect into c.
func options(src plugins.Opener, c *collector) Options {
	return Options{
		Source:     func(*config.Stage) plugins.Opener { return src },
		Sink:       func(*config.Stage) plugins.SinkOpener { return c },
		DeadLetter: func(*config.Stage) plugins.DeadLetterOpener { return deadCollector{c} },
	}
}

func checkSum(t *testing.T, st Stats) {
	t.Helper()
	if st.In != st.Out+st.Filtered+st.Late+st.Dead {
		t.Errorf("counts do not add up: in %d != out %d + filtered %d + late %d + dead %d", st.In, st.Out, st.Filtered, st.Late, st.Dead)
	}
}

func join(rows []string) string { return strings.Join(rows, "\n") }
