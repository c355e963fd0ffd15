// Command bench measures sluice on the reference workload against three
// baselines, and on the Nexmark queries beside DuckDB and Flink's published
// figures, in one run, and reports events per second and ratios.
//
// Run it from the repository root:
//
//	go run ./cmd/bench                  # the full reference workload (5,000,000 events)
//	go run ./cmd/bench -events 200000   # a quick smoke test
//	go run ./cmd/bench -runs 3 -json    # best of three, as JSON
//	go run ./cmd/bench -workload nexmark -query all              # every Nexmark query, 1,000,000 events
//	go run ./cmd/bench -workload nexmark -query q5 -checkpoints  # one query, without and with checkpoints
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
//  2. ceiling: the fastest plain Go program for this one aggregate, to
//     see how far sluice is from what hand-written code reaches on the same
//     cores. It is this binary re-executed as "bench ceiling IN OUT": the
//     file is split at line boundaries into two ranges (two goroutines, the
//     cores the bench assumes and DuckDB's thread count), each read with
//     pread (os.File.ReadAt) into a reused 256 KiB buffer; a field scanner
//     written for the generator's exact layout reads user_id, action and ts,
//     and any line it is not sure of (other field order, spaces, escapes,
//     extra fields) goes through encoding/json as in naive. Each goroutine
//     keeps its own group map; they are merged at the end. No watermark: its
//     output must be the naive one byte for byte, which the bench checks.
//  3. duckdb: the same aggregate as one SQL query over read_ndjson with
//     explicit column types, SET threads = 2, written with COPY … TO, run
//     by node through @duckdb/node-api (pinned in duckdb/package.json). On
//     first use the node project is copied into DATA/duckdb-node and
//     installed there with npm, so the repository never holds node_modules.
//     Without node or npm, or when the install fails, the baseline is
//     skipped with a message.
//  4. sluice: ./cmd/sluice built once into a temporary folder (outside the
//     timing), then "sluice run --log-format json DATA/bench-N.hcl". Its
//     stderr is scanned for the "pipeline finished" line (records_in,
//     records_out, filtered, late, dead) and the "run finished" line
//     (alloc_bytes, mallocs), from which bytes and allocations per input
//     event are computed; missing values print as n/a.
//
// The table gives, per program, wall and CPU seconds, input events per
// second, the ratios to the naive and the ceiling baselines, peak RSS, sluice's bytes and
// allocations per event, and the number of output rows. A sanity line sums
// the "events" of each output: ceiling's rows must be naive's byte for byte,
// naive and DuckDB must agree, and since they
// keep late events while sluice drops those behind its watermark, naive minus
// sluice must equal sluice's "late" counter. Then the targets of the issue,
// with PASS, FAIL or n/a: sluice at least 4× the naive events per second,
// fewer than 50 bytes allocated per event, peak RSS under 150 MiB, at least
// 40% of the ceiling's events per second and at least 1.5× DuckDB's. The
// machine the numbers come from is usually shared and noisy: compare ratios,
// not absolute figures.
//
// # The nexmark workload
//
// With -workload nexmark, the bench runs the Nexmark query pipelines of
// pipelines/nexmark (q0 q1 q2 q5 q7 q11 q12, docs/nexmark.md) with
// "sluice run", one query after the other (-query all) or one (-query q5).
// Each pipeline is copied with events = N (-events, default 1,000,000
// events of every kind, of which 46 in 50 are bids), its file sink writing
// into a temporary folder and, for q12, without its rate = 100000, so that
// it runs as fast as it can. sluice reads the bids from source "nexmark",
// generating them inside the process: generation counts against sluice.
// With -checkpoints each query is also run, in the same run and
// interleaved with the others, as a copy of its pipeline with a checkpoint
// block taking one every 100ms into a fresh temporary folder (Flink's
// figures take one every 3 minutes, which would not fire in a run of a
// second or so); the "ckpt" columns give its wall seconds, events per
// second per core and the ratio to Flink's figure.
//
// The table gives, per query, sluice's wall and CPU seconds, events per
// second (N / wall), events per second per core (N / CPU seconds of the
// process, user + system, from its rusage), Flink's published figure per
// core for the same query (nexmark/nexmark's README: q0 155K, q1 158K,
// q2 175K, q5 22.1K, q7 12.3K, q11 39.7K, q12 75.7K events/s per core, on a
// 3 × 8-core cluster with RocksDB and exactly-once checkpoints every 3
// minutes: another machine, printed for scale, not as a like-for-like
// result) and the ratio, peak RSS, bytes and allocations per event from the
// "run finished" line, output rows, and DuckDB on the same events: the
// bids written once to DATA/nexmark-bids-N.ndjson by "sluice nexmark
// generate" (cached beside a sidecar like the reference file), loaded with
// read_json into a table, and the query's SQL (the published SQL adapted to
// DuckDB, as pipelines/nexmark/nexmark_test.go checks it against sluice)
// written with COPY … TO, 2 threads, through node (duckdb/nexmark.mjs).
// DuckDB's column is the whole process, its query column the query alone.
// DuckDB has no processing time: for q12 it counts the bids per bidder over
// the whole input.
//
// # Flags
//
//	-data DIR       cache folder (default $TMPDIR/sluice-bench): data files,
//	                pipeline files, outputs (DIR/out) and the DuckDB install
//	-events N       number of events (default 5000000; nexmark 1000000)
//	-runs K         run each program K times, interleaved; report the fastest
//	-json           print the results as JSON instead of a table
//	-sluice BINARY  measure this sluice binary instead of building ./cmd/sluice
//	-skip LIST      comma-separated programs not to measure: naive,ceiling,duckdb,sluice
//	                (nexmark: duckdb)
//	-timeout D      kill a measured process after D (default 30m)
//	-workload NAME  reference (default) or nexmark
//	-query Q        nexmark: q0, q1, q2, q5, q7, q11, q12 or all (default)
//	-checkpoints    nexmark: also run each query with a checkpoint block
//
// Progress goes to stderr, the table or JSON to stdout. The exit status is 0
// when every measurement ran (whatever the targets say), 1 when sluice could
// not be built, linted or run (the baselines are still measured and
// printed; with nexmark, when a query failed), 2 on a bad command line.
package main
