package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// Exit codes of the bench.
const (
	exitOK     = 0 // every measurement ran (targets may still FAIL)
	exitFailed = 1 // sluice could not be built, linted or run, or setup failed
	exitUsage  = 2 // bad command line
)

// Names of the measured programs of the reference workload.
const (
	progNaive   = "naive"
	progCeiling = "ceiling"
	progDuckDB  = "duckdb"
	progSluice  = "sluice"
)

// Workloads of the bench.
const (
	workloadReference = "reference"
	workloadNexmark   = "nexmark"
)

const usageText = `Usage:
  go run ./cmd/bench [flags]            measure sluice against the naive Go, ceiling Go and DuckDB baselines
  go run ./cmd/bench -workload nexmark -query q5|all [flags]
                                        measure sluice's Nexmark query pipelines beside DuckDB and Flink's figures
  go run ./cmd/bench -workload shuffle [flags]
                                        measure a repartition block: the reference pipeline without and through
                                        the shuffle (records, combined), and 1 vs 2 processes on Pulsar
  go run ./cmd/bench naive IN OUT       run only the naive baseline on IN, writing OUT (used by the bench itself)
  go run ./cmd/bench ceiling IN OUT     run only the ceiling baseline on IN, writing OUT (used by the bench itself)

The reference workload (an NDJSON file of user events) is generated into the
data folder on first use and reused afterwards. Each program runs as its own
OS process, timed as a whole (wall clock), in the order naive, ceiling,
duckdb, sluice; with -runs K each is run K times and the fastest run is
reported. The nexmark workload is described in the package documentation
(go doc ./cmd/bench).

Flags:
`

// options are the command-line flags.
type options struct {
	dataDir string
	events  int64
	runs    int
	json    bool
	sluice  string
	skip    map[string]bool
	timeout time.Duration

	workload    string   // workloadReference or workloadNexmark
	queries     []string // nexmark: the queries to run, in order
	checkpoints bool     // nexmark: also run sluice with a checkpoint block
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes one command line and returns the exit code.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == progNaive {
		return naiveMain(args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == progCeiling {
		return ceilingMain(args[1:], stdout, stderr)
	}
	opts, code := parseFlags(args, stderr)
	if code >= 0 {
		return code
	}
	logf := func(format string, a ...any) {
		fmt.Fprintf(stderr, "bench: "+format+"\n", a...)
	}
	if opts.workload == workloadNexmark {
		return runNexmark(context.Background(), opts, stdout, logf)
	}
	if opts.workload == workloadShuffle {
		return runShuffleBench(context.Background(), opts, stdout, logf)
	}
	rep, err := bench(context.Background(), opts, logf)
	if err != nil {
		logf("%v", err)
		return exitFailed
	}
	if opts.json {
		err = writeJSON(stdout, rep)
	} else {
		err = writeTable(stdout, rep)
	}
	if err != nil {
		logf("%v", err)
		return exitFailed
	}
	if r := rep.result(progSluice); r != nil && r.Status == statusFailed {
		return exitFailed
	}
	return exitOK
}

// parseFlags returns the options, or an exit code >= 0 when the bench must
// stop (help or usage error).
func parseFlags(args []string, stderr io.Writer) (options, int) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	defData := filepath.Join(os.TempDir(), "sluice-bench")
	dataDir := fs.String("data", defData, "cache `folder` for the generated data, the pipeline file, outputs and the DuckDB node install")
	events := fs.Int64("events", 5_000_000, "`number` of events in the reference file (200000 makes a quick smoke test); nexmark: events of every kind, default 1000000")
	runs := fs.Int("runs", 1, "run each program `K` times (interleaved) and report the fastest run")
	jsonOut := fs.Bool("json", false, "print the results as JSON instead of a table")
	sluiceBin := fs.String("sluice", "", "use this sluice `binary` instead of building ./cmd/sluice from the current module")
	skip := fs.String("skip", "", "comma-separated `programs` not to measure: naive, ceiling, duckdb, sluice (nexmark: duckdb)")
	timeout := fs.Duration("timeout", 30*time.Minute, "kill a measured process after this `duration`")
	workload := fs.String("workload", workloadReference, "`name` of the workload: reference, nexmark or shuffle")
	query := fs.String("query", "all", "nexmark: the `query` to run (q0 q1 q2 q5 q7 q11 q12) or all")
	checkpoints := fs.Bool("checkpoints", false, "nexmark: also run each query with a checkpoint block (every "+nexmarkCheckpointEvery+") into a temporary folder, in the same run")
	fs.Usage = func() {
		fmt.Fprint(stderr, usageText)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return options{}, exitOK
		}
		return options{}, exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "bench: unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return options{}, exitUsage
	}
	if *events <= 0 || *runs <= 0 {
		fmt.Fprintln(stderr, "bench: -events and -runs must be more than zero")
		return options{}, exitUsage
	}
	opts := options{dataDir: *dataDir, events: *events, runs: *runs, json: *jsonOut, sluice: *sluiceBin, skip: map[string]bool{}, timeout: *timeout,
		workload: *workload, checkpoints: *checkpoints}
	switch *workload {
	case workloadReference, workloadShuffle:
	case workloadNexmark:
		explicit := false
		fs.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "events" })
		if !explicit {
			opts.events = nexmarkDefaultEvents
		}
		qs, err := nexmarkSelect(*query)
		if err != nil {
			fmt.Fprintf(stderr, "bench: -query: %v\n", err)
			return options{}, exitUsage
		}
		opts.queries = qs
	default:
		fmt.Fprintf(stderr, "bench: -workload: unknown workload %q (want reference, nexmark or shuffle)\n", *workload)
		return options{}, exitUsage
	}
	for _, s := range strings.Split(*skip, ",") {
		switch s = strings.TrimSpace(s); s {
		case "":
		case progNaive, progCeiling, progDuckDB, progSluice:
			opts.skip[s] = true
		default:
			fmt.Fprintf(stderr, "bench: -skip: unknown program %q (want naive, ceiling, duckdb or sluice)\n", s)
			return options{}, exitUsage
		}
	}
	return opts, -1
}

// program is one measured program, ready to run.
type program struct {
	name string
	argv []string
	out  string // output file, removed before and counted after each run
	// post extracts program-specific figures from a finished run.
	post func(procResult, *sample)
}

// bench prepares the workload and the programs, measures them and returns
// the report. Failures of a program are recorded in the report; the error is
// for failures of the bench itself.
func bench(ctx context.Context, opts options, logf func(string, ...any)) (*report, error) {
	dataDir, err := filepath.Abs(opts.dataDir)
	if err != nil {
		return nil, err
	}
	p := referenceParams(opts.events)
	t0 := time.Now()
	df, err := ensureData(dataDir, p)
	if err != nil {
		return nil, fmt.Errorf("generating data: %w", err)
	}
	if df.Reused {
		logf("reusing %s (%s, %d events)", df.Path, mib(df.Size), opts.events)
	} else {
		logf("generated %s (%s, %d events) in %.1fs", df.Path, mib(df.Size), opts.events, time.Since(t0).Seconds())
	}
	if err := warmCache(df.Path); err != nil {
		return nil, err
	}
	outDir := filepath.Join(dataDir, "out")
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return nil, err
	}
	outFile := func(name string) string {
		return filepath.Join(outDir, fmt.Sprintf("%s-%d.ndjson", name, opts.events))
	}
	binDir, err := os.MkdirTemp("", "sluice-bench-bin-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(binDir)

	rep := newReport(opts, df)
	var progs []program

	// 1. naive: this very binary, re-executed ("go run" has already built it).
	if opts.skip[progNaive] {
		rep.skip(progNaive, "-skip")
	} else if self, err := os.Executable(); err != nil {
		rep.fail(progNaive, "cannot find the bench binary: "+err.Error())
	} else {
		progs = append(progs, program{name: progNaive, argv: []string{self, "naive", df.Path, outFile(progNaive)}, out: outFile(progNaive)})
	}

	// 2. ceiling: this very binary too, as "bench ceiling IN OUT".
	if opts.skip[progCeiling] {
		rep.skip(progCeiling, "-skip")
	} else if self, err := os.Executable(); err != nil {
		rep.fail(progCeiling, "cannot find the bench binary: "+err.Error())
	} else {
		progs = append(progs, program{name: progCeiling, argv: []string{self, progCeiling, df.Path, outFile(progCeiling)}, out: outFile(progCeiling)})
	}

	// 3. DuckDB through node.
	if opts.skip[progDuckDB] {
		rep.skip(progDuckDB, "-skip")
	} else if node, script, err := duckdbSetup(ctx, dataDir, logf); err != nil {
		logf("duckdb baseline skipped: %v", err)
		rep.skip(progDuckDB, err.Error())
	} else {
		progs = append(progs, program{name: progDuckDB, argv: []string{node, script, df.Path, outFile(progDuckDB)}, out: outFile(progDuckDB), post: duckdbPost})
	}

	// 4. sluice: built once, pipeline linted, then `sluice run`.
	if opts.skip[progSluice] {
		rep.skip(progSluice, "-skip")
	} else if argv, err := prepareSluice(ctx, opts, binDir, dataDir, df.Path, outFile(progSluice), logf); err != nil {
		logf("sluice: %v", err)
		rep.fail(progSluice, err.Error())
	} else {
		progs = append(progs, program{name: progSluice, argv: argv, out: outFile(progSluice), post: sluicePost})
	}

	failed := map[string]bool{}
	for k := 1; k <= opts.runs; k++ {
		for _, pr := range progs {
			if failed[pr.name] {
				continue
			}
			s, err := measure(ctx, opts, pr)
			if err != nil {
				failed[pr.name] = true
				logf("%s failed (run %d/%d): %v", pr.name, k, opts.runs, err)
				rep.fail(pr.name, err.Error())
				continue
			}
			logf("%s run %d/%d: %.2fs wall, %.2fs cpu, %s peak RSS, %d output rows",
				pr.name, k, opts.runs, s.wall.Seconds(), s.cpu.Seconds(), mib(s.maxRSS), s.rows)
			rep.add(pr.name, s)
		}
	}
	if !failed[progNaive] && !failed[progCeiling] && rep.result(progNaive).Status == statusOK && rep.result(progCeiling).Status == statusOK {
		rep.CeilingEqualsNaive = ptr(sameFile(outFile(progNaive), outFile(progCeiling)))
	}
	rep.finish()
	return rep, nil
}

// sample is one successful run of one program.
type sample struct {
	wall, cpu time.Duration
	maxRSS    int64
	rows      int64            // output rows, -1 when unknown
	events    int64            // sum of the output rows' "events", -1 when unknown
	counters  map[string]int64 // sluice's "pipeline finished" attributes
	allocs    map[string]int64 // sluice's "run finished" attributes
	version   string           // DuckDB's version, from the script's stdout
}

// measure runs one program once. The error includes the program's stderr.
func measure(ctx context.Context, opts options, pr program) (sample, error) {
	if err := os.Remove(pr.out); err != nil && !errors.Is(err, os.ErrNotExist) {
		return sample{}, err
	}
	res := runTimed(ctx, opts.timeout, pr.argv[0], pr.argv[1:]...)
	if res.ExitErr != nil {
		return sample{}, fmt.Errorf("%s: %v%s", strings.Join(pr.argv, " "), res.ExitErr, details(res.Stderr, 8000))
	}
	s := sample{wall: res.Wall, cpu: res.CPU, maxRSS: res.MaxRSS, rows: -1, events: -1}
	if rows, events, err := outputSummary(pr.out); err == nil {
		s.rows, s.events = rows, events
	}
	if pr.post != nil {
		pr.post(res, &s)
	}
	return s, nil
}

// sluicePost reads sluice's end-of-run log lines.
func sluicePost(res procResult, s *sample) {
	lg := parseSluiceLog(res.Stderr)
	s.counters, s.allocs = lg.Pipeline, lg.Run
}

// duckdbPost reads the DuckDB version printed by bench.mjs.
func duckdbPost(res procResult, s *sample) {
	var out struct {
		Version string `json:"duckdb_version"`
	}
	if json.Unmarshal(bytes.TrimSpace(res.Stdout), &out) == nil {
		s.version = out.Version
	}
}

// prepareSluice builds sluice (unless -sluice is given), writes the pipeline
// file, lints it and returns the command line to time.
func prepareSluice(ctx context.Context, opts options, binDir, dataDir, data, out string, logf func(string, ...any)) ([]string, error) {
	bin, err := buildSluice(ctx, opts, binDir, logf)
	if err != nil {
		return nil, err
	}
	hcl := filepath.Join(dataDir, fmt.Sprintf("bench-%d.hcl", opts.events))
	if err := os.WriteFile(hcl, []byte(pipelineHCL(data, out)), 0o644); err != nil {
		return nil, err
	}
	lint := exec.CommandContext(ctx, bin, "lint", hcl)
	if b, err := lint.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("sluice lint %s: %v%s", hcl, err, details(b, 4000))
	}
	return []string{bin, "run", "--log-format", "json", hcl}, nil
}

// buildSluice builds ./cmd/sluice of the module into binDir, or returns the
// -sluice binary, as an absolute path.
func buildSluice(ctx context.Context, opts options, binDir string, logf func(string, ...any)) (string, error) {
	if opts.sluice != "" {
		return filepath.Abs(opts.sluice)
	}
	root, err := moduleRoot(ctx)
	if err != nil {
		return "", err
	}
	bin := filepath.Join(binDir, "sluice")
	logf("building sluice from %s", root)
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/sluice")
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/sluice: %v%s", err, details(b, 4000))
	}
	return bin, nil
}

// sameFile reports whether two files hold the same bytes (false when either
// cannot be read).
func sameFile(a, b string) bool {
	x, errA := os.ReadFile(a)
	y, errB := os.ReadFile(b)
	return errA == nil && errB == nil && bytes.Equal(x, y)
}

// moduleRoot returns the folder of the main module of the working directory,
// which must be the sluice module.
func moduleRoot(ctx context.Context) (string, error) {
	b, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %v (run the bench from the sluice repository, or pass -sluice)", err)
	}
	gomod := strings.TrimSpace(string(b))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("not inside a Go module: run the bench from the sluice repository, or pass -sluice BINARY")
	}
	root := filepath.Dir(gomod)
	if _, err := os.Stat(filepath.Join(root, "cmd", "sluice")); err != nil {
		return "", fmt.Errorf("%s has no cmd/sluice: run the bench from the sluice repository, or pass -sluice BINARY", root)
	}
	return root, nil
}

// mib formats a byte count in MiB.
func mib(n int64) string {
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}

// goInfo describes the toolchain and machine for the report.
func goInfo() string {
	return fmt.Sprintf("%s %s/%s, %d CPUs", runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU())
}
