package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"
)

// nexmarkReport is what the nexmark workload prints, as a table or as JSON.
type nexmarkReport struct {
	Started         time.Time     `json:"started"`
	Machine         string        `json:"machine"`
	Events          int64         `json:"events"`
	BidsFile        string        `json:"bids_file"`
	BidsBytes       int64         `json:"bids_bytes"`
	Runs            int           `json:"runs"`
	Checkpoints     bool          `json:"checkpoints"`
	CheckpointEvery string        `json:"checkpoint_every,omitempty"`
	DuckDBVersion   string        `json:"duckdb_version,omitempty"`
	DuckDBStatus    string        `json:"duckdb_status"`
	Rows            []*nexmarkRow `json:"queries"`
}

// nexmarkRow is one query's best runs of sluice and DuckDB. Events are of
// every kind (ids 0 to events-1, as Flink's figures count them), of which
// the bids are 46 in 50.
type nexmarkRow struct {
	Query               string   `json:"query"`
	Status              string   `json:"status"`
	Reason              string   `json:"reason,omitempty"`
	WallSeconds         float64  `json:"wall_seconds,omitempty"`
	CPUSeconds          float64  `json:"cpu_seconds,omitempty"`
	EventsPerSecond     float64  `json:"events_per_second,omitempty"`
	EventsPerCoreSecond float64  `json:"events_per_cpu_second,omitempty"`
	FlinkPerCore        float64  `json:"flink_events_per_core_second"`
	VsFlinkPerCore      *float64 `json:"vs_flink_per_core,omitempty"`
	PeakRSSMiB          float64  `json:"peak_rss_mib,omitempty"`
	BytesPerEvent       *float64 `json:"bytes_per_event,omitempty"`
	AllocsPerEvent      *float64 `json:"allocs_per_event,omitempty"`
	OutputRows          *int64   `json:"output_rows,omitempty"`
	RecordsIn           *int64   `json:"records_in,omitempty"`
	// With -checkpoints: the same query with a checkpoint block, measured
	// in the same run.
	CheckpointStatus         string  `json:"checkpoint_status,omitempty"`
	CheckpointWallSeconds    float64 `json:"checkpoint_wall_seconds,omitempty"`
	CheckpointCPUSeconds     float64 `json:"checkpoint_cpu_seconds,omitempty"`
	CheckpointEventsPerCore  float64 `json:"checkpoint_events_per_cpu_second,omitempty"`
	CheckpointVsFlinkPerCore float64 `json:"checkpoint_vs_flink_per_core,omitempty"`
	DuckDBStatus             string  `json:"duckdb_status"`
	DuckDBReason             string  `json:"duckdb_reason,omitempty"`
	DuckDBWallSeconds        float64 `json:"duckdb_wall_seconds,omitempty"`
	DuckDBQuerySeconds       float64 `json:"duckdb_query_seconds,omitempty"`
	DuckDBOutputRows         *int64  `json:"duckdb_output_rows,omitempty"`
	Note                     string  `json:"note,omitempty"`
}

// duckdbNexmarkOut is the line nexmark.mjs prints.
type duckdbNexmarkOut struct {
	Version string `json:"duckdb_version"`
	LoadMs  int64  `json:"load_ms"`
	QueryMs int64  `json:"query_ms"`
}

// runNexmark runs the nexmark workload and prints its report; it returns
// the exit code.
func runNexmark(ctx context.Context, opts options, stdout io.Writer, logf func(string, ...any)) int {
	rep, err := benchNexmark(ctx, opts, logf)
	if err != nil {
		logf("%v", err)
		return exitFailed
	}
	if opts.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		err = enc.Encode(rep)
	} else {
		err = writeNexmarkTable(stdout, rep)
	}
	if err != nil {
		logf("%v", err)
		return exitFailed
	}
	for _, r := range rep.Rows {
		if r.Status != statusOK {
			return exitFailed
		}
	}
	return exitOK
}

// nexmarkEnv is what every query of one nexmark bench shares.
type nexmarkEnv struct {
	opts            options
	bin, root       string // sluice binary, module root (for pipelines/nexmark)
	workDir         string // pipelines, outputs and checkpoints
	bids            string
	node, duckdbDir string // empty when DuckDB is skipped
	logf            func(string, ...any)
}

// benchNexmark builds sluice, writes the bids, and measures every selected
// query. Failures of one query are recorded in its row.
func benchNexmark(ctx context.Context, opts options, logf func(string, ...any)) (*nexmarkReport, error) {
	dataDir, err := filepath.Abs(opts.dataDir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return nil, err
	}
	root, err := moduleRoot(ctx)
	if err != nil {
		return nil, fmt.Errorf("the nexmark workload reads pipelines/nexmark from the repository: %w", err)
	}
	workDir, err := os.MkdirTemp("", "sluice-bench-nexmark-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(workDir)
	bin, err := buildSluice(ctx, opts, workDir, logf)
	if err != nil {
		return nil, err
	}
	env := nexmarkEnv{opts: opts, bin: bin, root: root, workDir: workDir, logf: logf}
	rep := &nexmarkReport{Started: time.Now().UTC().Truncate(time.Second), Machine: goInfo(), Events: opts.events,
		Runs: opts.runs, Checkpoints: opts.checkpoints, DuckDBStatus: statusOK}
	if opts.checkpoints {
		rep.CheckpointEvery = nexmarkCheckpointEvery
	}
	if opts.skip[progDuckDB] {
		rep.DuckDBStatus = statusSkipped + ": -skip"
	} else if node, script, err := duckdbSetup(ctx, dataDir, logf); err != nil {
		logf("duckdb baseline skipped: %v", err)
		rep.DuckDBStatus = statusSkipped + ": " + firstLine(err.Error())
	} else {
		env.node, env.duckdbDir = node, filepath.Dir(script)
		t0 := time.Now()
		df, err := ensureBids(ctx, bin, dataDir, opts.events)
		if err != nil {
			return nil, err
		}
		if !df.Reused {
			logf("generated %s (%s) in %.1fs", df.Path, mib(df.Size), time.Since(t0).Seconds())
		}
		if err := warmCache(df.Path); err != nil {
			return nil, err
		}
		env.bids, rep.BidsFile, rep.BidsBytes = df.Path, df.Path, df.Size
	}
	for _, name := range opts.queries {
		row, version := env.query(ctx, nexmarkQueryNamed(name))
		if version != "" {
			rep.DuckDBVersion = version
		}
		rep.Rows = append(rep.Rows, row)
	}
	return rep, nil
}

// query measures one query: sluice's and DuckDB's runs interleaved, -runs
// times each, the fastest of each kept. It returns the row and DuckDB's
// version.
func (e nexmarkEnv) query(ctx context.Context, q nexmarkQuery) (*nexmarkRow, string) {
	row := &nexmarkRow{Query: q.name, Status: statusOK, FlinkPerCore: q.flinkPerCore, DuckDBStatus: statusSkipped, Note: q.note}
	sl, err := e.prepareQuery(ctx, q, "")
	if err != nil {
		row.Status, row.Reason = statusFailed, firstLine(err.Error())
		e.logf("%s: %v", q.name, err)
	}
	var ck *checkpointed
	if e.opts.checkpoints && row.Status == statusOK {
		ck = &checkpointed{store: filepath.Join(e.workDir, "checkpoints")}
		if ck.prog, err = e.prepareQuery(ctx, q, ck.store); err != nil {
			row.Status, row.Reason = statusFailed, firstLine(err.Error())
			e.logf("%s: %v", q.name, err)
		}
	}
	var duck *program
	if e.node != "" {
		out := filepath.Join(e.workDir, q.name+".duckdb.ndjson")
		duck = &program{name: progDuckDB, out: out, argv: []string{e.node, filepath.Join(e.duckdbDir, "nexmark.mjs"), out,
			fmt.Sprintf(nexmarkLoadSQL, sqlQuote(e.bids)), q.sql}}
		row.DuckDBStatus = statusOK
	}
	var bestSluice, bestDuck *sample
	var duckOut duckdbNexmarkOut
	for k := 1; k <= e.opts.runs; k++ {
		if row.Status == statusOK {
			s, err := measure(ctx, e.opts, sl)
			if err != nil {
				row.Status, row.Reason = statusFailed, firstLine(err.Error())
				e.logf("%s sluice failed (run %d/%d): %v", q.name, k, e.opts.runs, err)
			} else {
				e.logf("%s sluice run %d/%d: %.2fs wall, %.2fs cpu, %s peak RSS, %d output rows", q.name, k, e.opts.runs, s.wall.Seconds(), s.cpu.Seconds(), mib(s.maxRSS), s.rows)
				if bestSluice == nil || s.wall < bestSluice.wall {
					bestSluice = &s
				}
			}
		}
		if ck != nil && row.Status == statusOK {
			ck.run(ctx, e, q.name, k, row)
		}
		if duck != nil && row.DuckDBStatus == statusOK {
			var got duckdbNexmarkOut
			duck.post = func(res procResult, _ *sample) { _ = json.Unmarshal(bytes.TrimSpace(res.Stdout), &got) }
			s, err := measure(ctx, e.opts, *duck)
			if err != nil {
				row.DuckDBStatus, row.DuckDBReason = statusFailed, firstLine(err.Error())
				e.logf("%s duckdb failed (run %d/%d): %v", q.name, k, e.opts.runs, err)
				continue
			}
			e.logf("%s duckdb run %d/%d: %.2fs wall (load %dms, query %dms), %d output rows", q.name, k, e.opts.runs, s.wall.Seconds(), got.LoadMs, got.QueryMs, s.rows)
			if bestDuck == nil || s.wall < bestDuck.wall {
				bestDuck, duckOut = &s, got
			}
		}
	}
	e.fillRow(row, bestSluice, bestDuck, duckOut)
	if ck != nil && ck.best != nil && row.Status == statusOK {
		ck.fill(row, float64(e.opts.events))
	}
	return row, duckOut.Version
}

// checkpointed is the run of a query with a checkpoint block (-checkpoints).
type checkpointed struct {
	store string
	prog  program
	best  *sample
}

// run measures one run of the checkpointed pipeline, from no checkpoint.
func (c *checkpointed) run(ctx context.Context, e nexmarkEnv, name string, k int, row *nexmarkRow) {
	os.RemoveAll(c.store) // every run starts afresh
	s, err := measure(ctx, e.opts, c.prog)
	if err != nil {
		row.Status, row.Reason = statusFailed, "with checkpoints: "+firstLine(err.Error())
		e.logf("%s sluice with checkpoints failed (run %d/%d): %v", name, k, e.opts.runs, err)
		return
	}
	e.logf("%s sluice with checkpoints run %d/%d: %.2fs wall, %.2fs cpu, %s peak RSS, %d output rows", name, k, e.opts.runs, s.wall.Seconds(), s.cpu.Seconds(), mib(s.maxRSS), s.rows)
	if c.best == nil || s.wall < c.best.wall {
		c.best = &s
	}
}

// fill adds the best checkpointed run's figures to row, for n events.
func (c *checkpointed) fill(row *nexmarkRow, n float64) {
	s := c.best
	row.CheckpointStatus = statusOK
	row.CheckpointWallSeconds, row.CheckpointCPUSeconds = round(s.wall.Seconds(), 3), round(s.cpu.Seconds(), 3)
	if s.cpu > 0 {
		row.CheckpointEventsPerCore = round(n/s.cpu.Seconds(), 0)
		row.CheckpointVsFlinkPerCore = round(row.CheckpointEventsPerCore/row.FlinkPerCore, 2)
	}
}

// prepareQuery writes and lints the pipeline of one query and returns it as
// the program to measure; with a checkpoint store, it takes checkpoints
// there.
func (e nexmarkEnv) prepareQuery(ctx context.Context, q nexmarkQuery, store string) (program, error) {
	src, err := os.ReadFile(filepath.Join(e.root, "pipelines", "nexmark", q.name+".hcl"))
	if err != nil {
		return program{}, err
	}
	name := q.name
	if store != "" {
		name += ".checkpoints"
	}
	out := filepath.Join(e.workDir, name+".sluice.ndjson")
	text, err := nexmarkPipeline(string(src), q.name, e.opts.events, out, store)
	if err != nil {
		return program{}, err
	}
	hcl := filepath.Join(e.workDir, name+".hcl")
	if err := os.WriteFile(hcl, []byte(text), 0o644); err != nil {
		return program{}, err
	}
	if b, err := exec.CommandContext(ctx, e.bin, "lint", hcl).CombinedOutput(); err != nil {
		return program{}, fmt.Errorf("sluice lint %s: %v%s", hcl, err, details(b, 4000))
	}
	return program{name: progSluice, out: out, post: sluicePost,
		argv: []string{e.bin, "run", "--log-format", "json", hcl}}, nil
}

// fillRow computes the figures of a row from the best runs.
func (e nexmarkEnv) fillRow(row *nexmarkRow, sl, duck *sample, duckOut duckdbNexmarkOut) {
	n := float64(e.opts.events)
	if sl != nil && row.Status == statusOK {
		row.WallSeconds, row.CPUSeconds = round(sl.wall.Seconds(), 3), round(sl.cpu.Seconds(), 3)
		row.EventsPerSecond = round(n/sl.wall.Seconds(), 0)
		if sl.cpu > 0 {
			row.EventsPerCoreSecond = round(n/sl.cpu.Seconds(), 0)
			row.VsFlinkPerCore = ptr(round(row.EventsPerCoreSecond/row.FlinkPerCore, 2))
		}
		row.PeakRSSMiB = round(float64(sl.maxRSS)/(1<<20), 1)
		if sl.rows >= 0 {
			row.OutputRows = &sl.rows
		}
		if v, ok := sl.counters["records_in"]; ok {
			row.RecordsIn = &v
		}
		if v, ok := sl.allocs["alloc_bytes"]; ok {
			row.BytesPerEvent = ptr(round(float64(v)/n, 2))
		}
		if v, ok := sl.allocs["mallocs"]; ok {
			row.AllocsPerEvent = ptr(round(float64(v)/n, 3))
		}
	}
	if duck != nil && row.DuckDBStatus == statusOK {
		row.DuckDBWallSeconds = round(duck.wall.Seconds(), 3)
		row.DuckDBQuerySeconds = round(float64(duckOut.QueryMs)/1000, 3)
		if duck.rows >= 0 {
			row.DuckDBOutputRows = &duck.rows
		}
	}
}

// sqlQuote returns s as an SQL string literal.
func sqlQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// writeNexmarkTable prints the nexmark report for people.
func writeNexmarkTable(w io.Writer, r *nexmarkReport) error {
	var b strings.Builder
	fmt.Fprintf(&b, "\nsluice Nexmark benchmark, %s\n", r.Started.Format(time.RFC3339))
	fmt.Fprintf(&b, "workload: %d events of every kind (%d bids), source \"nexmark\" inside sluice (generation counts against it)\n", r.Events, r.Events/50*46+max(0, r.Events%50-4))
	ck := "no checkpoints"
	if r.Checkpoints {
		ck = "each query without checkpoints, then with a checkpoint every " + r.CheckpointEvery +
			" into a temporary folder (\"ckpt\" columns; Flink's are every 3 min, which would not fire in a run this short)"
	}
	fmt.Fprintf(&b, "sluice:   %s\n", ck)
	fmt.Fprintf(&b, "machine:  %s; each program one process, wall clock, best of %d run(s)\n", r.Machine, r.Runs)
	fmt.Fprintf(&b, "per core: events / CPU seconds (user+sys) of the process\n\n")
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	ckHead := ""
	if r.Checkpoints {
		ckHead = "ckpt wall s\tckpt events/s/core\tckpt vs Flink\t"
	}
	fmt.Fprint(tw, "query\twall s\tcpu s\tevents/s\tevents/s/core\tFlink/core\tvs Flink\t"+ckHead+"peak RSS MiB\tB/event\tallocs/event\toutput rows\tduckdb s\tduckdb query s\tduckdb rows\t\n")
	for _, row := range r.Rows {
		duck := [3]string{"-", "-", "-"}
		if row.DuckDBStatus == statusOK {
			duck = [3]string{fmt.Sprintf("%.2f", row.DuckDBWallSeconds), fmt.Sprintf("%.2f", row.DuckDBQuerySeconds), opti(row.DuckDBOutputRows)}
		}
		ckCols := ""
		if r.Checkpoints {
			ckCols = "-\t-\t-\t"
			if row.CheckpointStatus == statusOK {
				ckCols = fmt.Sprintf("%.2f\t%s\t%.2f×\t", row.CheckpointWallSeconds, thousands(int64(row.CheckpointEventsPerCore)), row.CheckpointVsFlinkPerCore)
			}
		}
		if row.Status != statusOK {
			fmt.Fprintf(tw, "%s\t%s\t-\t-\t-\t%s\t-\t%s-\t-\t-\t-\t%s\t%s\t%s\t\n", row.Query, row.Status, thousands(int64(row.FlinkPerCore)), ckCols, duck[0], duck[1], duck[2])
			continue
		}
		fmt.Fprintf(tw, "%s\t%.2f\t%.2f\t%s\t%s\t%s\t%s\t%s%.1f\t%s\t%s\t%s\t%s\t%s\t%s\t\n",
			row.Query, row.WallSeconds, row.CPUSeconds, thousands(int64(row.EventsPerSecond)), thousands(int64(row.EventsPerCoreSecond)),
			thousands(int64(row.FlinkPerCore)), optf(row.VsFlinkPerCore, "%.2f×"), ckCols, row.PeakRSSMiB,
			optf(row.BytesPerEvent, "%.1f"), optf(row.AllocsPerEvent, "%.3f"), opti(row.OutputRows), duck[0], duck[1], duck[2])
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, row := range r.Rows {
		if row.Status != statusOK {
			fmt.Fprintf(&b, "%s sluice %s: %s\n", row.Query, row.Status, row.Reason)
		}
		if row.DuckDBReason != "" {
			fmt.Fprintf(&b, "%s duckdb %s: %s\n", row.Query, row.DuckDBStatus, row.DuckDBReason)
		}
		if row.Note != "" {
			b.WriteString(row.Note + "\n")
		}
	}
	fmt.Fprintf(&b, "\n%s\n", flinkCaveat)
	if r.DuckDBStatus == statusOK {
		fmt.Fprintf(&b, "duckdb %s (@duckdb/node-api, SET threads = 2) on %s (%s): duckdb s is the whole process (loading the NDJSON with read_json, then the query), duckdb query s the query alone\n",
			r.DuckDBVersion, r.BidsFile, mib(r.BidsBytes))
	} else {
		fmt.Fprintf(&b, "duckdb %s\n", r.DuckDBStatus)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
