package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sluice-io/sluice/internal/pulsartest"
	"github.com/sluice-io/sluice/pipelines"
)

// The shuffle workload measures what a repartition block costs, on the
// project's in-process Pulsar broker (go doc ./cmd/bench):
//
//   - the hop: the reference pipeline in one process, without a shuffle,
//     through a repartition block by action shipping records, and through
//     one combining before the shuffle (the default), each the best of
//     -runs runs; every variant must write the same window rows;
//   - processes: the reference events in an 8-partition topic, read by the
//     combining pipeline run as tasks in 1 and then 2 processes, timed
//     until the source's backlog is acknowledged.

// workloadShuffle names the workload.
const workloadShuffle = "shuffle"

// shuffleVariants are the hop's pipelines: the repartition block each
// inserts before the window ("" for none).
var shuffleVariants = []struct{ name, block string }{
	{"direct", ""},
	{"shuffle-records", "combine = false"},
	{"shuffle-combined", "combine = true"},
}

// shuffleRow is one measured variant.
type shuffleRow struct {
	Name        string
	Wall, CPU   time.Duration
	MaxRSS      int64
	Rows        int64
	Events      int64 // the sum of the rows' "events"
	Processes   int
	SourceCount int64 // events read (the hop: the file's)
	Late        int64 // records late, from sluice's summary
}

// runShuffleBench runs the shuffle workload and prints its table.
func runShuffleBench(ctx context.Context, opts options, stdout io.Writer, logf func(string, ...any)) int {
	dataDir, err := filepath.Abs(opts.dataDir)
	if err != nil {
		logf("%v", err)
		return exitFailed
	}
	df, err := ensureData(dataDir, referenceParams(opts.events))
	if err != nil {
		logf("generating data: %v", err)
		return exitFailed
	}
	binDir, err := os.MkdirTemp("", "sluice-bench-bin-")
	if err != nil {
		logf("%v", err)
		return exitFailed
	}
	defer os.RemoveAll(binDir)
	bin, err := buildSluice(ctx, opts, binDir, logf)
	if err != nil {
		logf("%v", err)
		return exitFailed
	}
	broker, err := pulsartest.Start(pulsartest.Options{})
	if err != nil {
		logf("starting the broker: %v", err)
		return exitFailed
	}
	defer broker.Close()
	work, err := os.MkdirTemp(dataDir, "shuffle-")
	if err != nil {
		logf("%v", err)
		return exitFailed
	}
	defer os.RemoveAll(work)
	s := &shuffleBench{opts: opts, bin: bin, broker: broker, dir: work, data: df.Path, logf: logf}
	rows, err := s.hop(ctx)
	if err == nil {
		var scaled []*shuffleRow
		if scaled, err = s.processes(ctx, min(opts.events, 1_000_000)); err == nil {
			rows = append(rows, scaled...)
		}
	}
	if err != nil {
		logf("%v", err)
		return exitFailed
	}
	writeShuffleTable(stdout, rows, df.Size)
	return exitOK
}

// shuffleBench is one run of the workload.
type shuffleBench struct {
	opts   options
	bin    string
	broker *pulsartest.Broker
	dir    string
	data   string
	logf   func(string, ...any)
	seq    int // makes every run's topic and subscription new
}

// repartitionBlock returns a repartition block by action on a new topic.
func (s *shuffleBench) repartitionBlock(extra string) string {
	s.seq++
	return fmt.Sprintf(`repartition "pulsar" {
    service_url = %q
    admin_url   = %q
    topic       = "bench-shuffle-%d"
    partitions  = 8
    key         = ["action"]
    %s
  }
  `, s.broker.URL(), s.broker.AdminURL(), s.seq, extra)
}

// withShuffle inserts block before the window of a reference pipeline.
func withShuffle(pipeline, block string) string {
	if block == "" {
		return pipeline
	}
	return strings.Replace(pipeline, `window "tumbling"`, block+`window "tumbling"`, 1)
}

// hop measures the three variants of the reference pipeline, the best of
// -runs each, and checks that they wrote the same rows.
func (s *shuffleBench) hop(ctx context.Context) ([]*shuffleRow, error) {
	best := map[string]*shuffleRow{}
	for k := 1; k <= s.opts.runs; k++ {
		for _, v := range shuffleVariants {
			out := filepath.Join(s.dir, fmt.Sprintf("%s-%d", v.name, k), "out.ndjson")
			block := ""
			if v.block != "" {
				block = s.repartitionBlock(v.block)
			}
			file := filepath.Join(s.dir, fmt.Sprintf("%s-%d.hcl", v.name, k))
			src := withShuffle(pipelines.Reference(`source "file" { path = `+pipelines.Quote(s.data)+` }`, out), block)
			if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
				return nil, err
			}
			res := runTimed(ctx, s.opts.timeout, s.bin, "run", "--log-format", "json", file)
			if res.ExitErr != nil {
				return nil, fmt.Errorf("%s: %v%s", v.name, res.ExitErr, details(res.Stderr, 4000))
			}
			r := &shuffleRow{Name: v.name, Wall: res.Wall, CPU: res.CPU, MaxRSS: res.MaxRSS, Processes: 1, SourceCount: s.opts.events,
				Late: parseSluiceLog(res.Stderr).Pipeline["late"]}
			var err error
			if r.Rows, r.Events, err = outputsSummary(out); err != nil {
				return nil, err
			}
			s.logf("%s run %d/%d: %.2fs wall, %.2fs cpu, %s peak RSS, %d rows", v.name, k, s.opts.runs, r.Wall.Seconds(), r.CPU.Seconds(), mib(r.MaxRSS), r.Rows)
			if b := best[v.name]; b == nil || r.Wall < b.Wall {
				best[v.name] = r
			}
		}
	}
	var rows []*shuffleRow
	for _, v := range shuffleVariants {
		if err := sameResults(best[v.name], best["direct"]); err != nil {
			return nil, err
		}
		rows = append(rows, best[v.name])
	}
	return rows, nil
}

// sameResults checks r against the direct run d. Combining judges
// lateness as the window does, so it writes the same rows. Records
// crossing the shuffle are judged late by the watermark of the markers,
// which lags the publishers' (docs/scaling.md): the rows may differ, but
// every record is counted once, in a window or as late.
func sameResults(r, d *shuffleRow) error {
	if r.Name == "shuffle-records" {
		if r.Events+r.Late != d.Events+d.Late {
			return fmt.Errorf("%s counted %d events in windows and %d late, but the pipeline without a shuffle %d and %d", r.Name, r.Events, r.Late, d.Events, d.Late)
		}
		return nil
	}
	if r.Rows != d.Rows || r.Events != d.Events || r.Late != d.Late {
		return fmt.Errorf("%s wrote %d rows counting %d events (%d late), but the pipeline without a shuffle %d rows counting %d (%d late)", r.Name, r.Rows, r.Events, r.Late, d.Rows, d.Events, d.Late)
	}
	return nil
}

// outputsSummary adds up the rows and events of the file sink's outputs
// at path: the file itself, or one file per task (path-tTASK.ext).
func outputsSummary(path string) (rows, events int64, err error) {
	ext := filepath.Ext(path)
	files, err := filepath.Glob(strings.TrimSuffix(path, ext) + "*" + ext)
	if err != nil || len(files) == 0 {
		return 0, 0, fmt.Errorf("no output at %s", path)
	}
	for _, f := range files {
		r, e, err := outputSummary(f)
		if err != nil {
			return 0, 0, err
		}
		rows, events = rows+r, events+e
	}
	return rows, events, nil
}

// writeShuffleTable prints the rows with their ratios to the direct run.
func writeShuffleTable(w io.Writer, rows []*shuffleRow, fileBytes int64) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "variant\tprocesses\twall s\tCPU s\tevents/s\tratio\tpeak RSS MiB\trows\tlate\t")
	var direct, oneProc float64
	for _, r := range rows {
		rate := float64(r.SourceCount) / r.Wall.Seconds()
		switch r.Name {
		case "direct":
			direct = rate
		case "tasks-1proc":
			oneProc = rate
		}
		base := direct
		if strings.HasPrefix(r.Name, "tasks-") {
			base = oneProc
		}
		ratio := "–"
		if base > 0 {
			ratio = fmt.Sprintf("%.2f×", rate/base)
		}
		fmt.Fprintf(tw, "%s\t%d\t%.2f\t%.2f\t%.0f\t%s\t%.1f\t%d\t%d\t\n", r.Name, r.Processes, r.Wall.Seconds(), r.CPU.Seconds(), rate, ratio, float64(r.MaxRSS)/(1<<20), r.Rows, r.Late)
	}
	tw.Flush()
	fmt.Fprintf(w, "\nThe hop reads the reference file (%s); \"processes\" rows read the first events of it from an 8-partition topic, timed until every message is acknowledged; the hop's ratios are to the direct run, the processes' to the 1-process run.\n", mib(fileBytes))
}
