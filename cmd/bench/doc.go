// Command bench measures sluice on the reference workload against two
// baselines, in one run, and reports events per second and ratios.
//
// Run it from the repository root:
//
//	go run ./cmd/bench                  # the full reference workload (5,000,000 events)
//	go run ./cmd/bench -events 200000   # a quick smoke test
//	go run ./cmd/bench -runs 3 -json    # best of three, as JSON
//
// # The workload
//
// An NDJSON file of user events such as
//
//	{"user_id":123,"action":"click","ts":1714564800123,"device":"ios"}
//
// over 500 users and 7 actions with a skewed distribution (view 40%,
// click 20%, heartbeat 15%, scroll 12%, login 5%, logout 5%, purchase 3%),
// 2,000 events per second of event time (ts is Unix milliseconds). Each
// event's ts is its nominal time minus a uniform 0–5 s of disorder, except
// for 1% of events which are 3 to 10 minutes late. With the default
// 5,000,000 events the file covers about 2,500 s of event time and weighs
// about 328 MiB (344 MB). It is generated deterministically (fixed seed) into the
// data folder and reused while its sidecar FILE.params.json (the generator
// parameters and the file size) still matches.
//
// The aggregate is a 1-minute tumbling window by event time over the
// non-heartbeat events, grouped by action: count() and
// count_distinct(user_id). The bench writes it as a sluice pipeline
// (DATA/bench-N.hcl, 2-minute watermark) and checks it with sluice lint.
//
// # The measurements
//
// Each program is one OS process, timed as a whole (wall clock from start to
// exit, so start-up and output are included), with its CPU time and peak
// resident set size from the child's rusage. The file is read once before
// the measurements so that every program starts with a warm page cache.
// They run in this order, repeated -runs times, and the fastest run of each
// is reported:
//
//  1. naive: the obvious Go program — bufio.Scanner, encoding/json into a
//     struct, skip heartbeats, a map from (window start, action) to a count
//     and a set of users, NDJSON output. It is this binary re-executed as
//     "bench naive IN OUT". It has no watermark, so it keeps late events.
//  2. duckdb: the same aggregate as one SQL query over read_ndjson with
//     explicit column types, SET threads = 2, written with COPY … TO, run
//     by node through @duckdb/node-api (pinned in duckdb/package.json). On
//     first use the node project is copied into DATA/duckdb-node and
//     installed there with npm, so the repository never holds node_modules.
//     Without node or npm, or when the install fails, the baseline is
//     skipped with a message.
//  3. sluice: ./cmd/sluice built once into a temporary folder (outside the
//     timing), then "sluice run --log-format json DATA/bench-N.hcl". Its
//     stderr is scanned for the "pipeline finished" line (records_in,
//     records_out, filtered, late, dead) and the "run finished" line
//     (alloc_bytes, mallocs), from which bytes and allocations per input
//     event are computed; missing values print as n/a.
//
// The table gives, per program, wall and CPU seconds, input events per
// second, the ratio to the naive baseline, peak RSS, sluice's bytes and
// allocations per event, and the number of output rows. A sanity line sums
// the "events" of each output: naive and DuckDB must agree, and since they
// keep late events while sluice drops those behind its watermark, naive minus
// sluice must equal sluice's "late" counter. Then the targets of the issue,
// with PASS, FAIL or n/a: sluice at least 4× the naive events per second,
// fewer than 50 bytes allocated per event, peak RSS under 150 MiB. The
// machine the numbers come from is usually shared and noisy: compare ratios,
// not absolute figures.
//
// # Flags
//
//	-data DIR       cache folder (default $TMPDIR/sluice-bench): data files,
//	                pipeline files, outputs (DIR/out) and the DuckDB install
//	-events N       number of events (default 5000000)
//	-runs K         run each program K times, interleaved; report the fastest
//	-json           print the results as JSON instead of a table
//	-sluice BINARY  measure this sluice binary instead of building ./cmd/sluice
//	-skip LIST      comma-separated programs not to measure: naive,duckdb,sluice
//	-timeout D      kill a measured process after D (default 30m)
//
// Progress goes to stderr, the table or JSON to stdout. The exit status is 0
// when every measurement ran (whatever the targets say), 1 when sluice could
// not be built, linted or run (the baselines are still measured and
// printed), 2 on a bad command line.
package main
