package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/sluice-io/sluice/pipelines"
)

// The nexmark workload runs the query pipelines of pipelines/nexmark with
// `sluice run`, each with `source "nexmark"` generating the events inside
// the process (so generation counts against sluice), and DuckDB on the same
// bids written to a file by `sluice nexmark generate`.

const (
	// nexmarkDefaultEvents is -events for the nexmark workload when the flag
	// is not given: the number the query pipelines are written with.
	nexmarkDefaultEvents = 1_000_000
	// nexmarkCheckpointEvery is the checkpoint interval of -checkpoints.
	// Flink's figures take one every 3 minutes, which would never fire in a
	// run of a second or less; this one fires several times per run.
	nexmarkCheckpointEvery = "100ms"
	// nexmarkWrittenEvents is how the pipelines state their input size.
	nexmarkWrittenEvents = "events = 1000000"
)

// flinkCaveat says where the Flink figures come from.
const flinkCaveat = "Flink: the nexmark/nexmark README's events/s per core, measured on a 3-node × 8-core cluster " +
	"with RocksDB state and exactly-once checkpoints every 3 min; not this machine"

// nexmarkQuery is one query of the workload.
type nexmarkQuery struct {
	name string
	// flinkPerCore is Flink's published throughput per core, events/s.
	flinkPerCore float64
	// sql is the DuckDB query over the table bid. The SQL texts are those of
	// pipelines/nexmark/nexmark_test.go (the published nexmark/nexmark SQL
	// adapted to DuckDB, each adaptation explained there), copied here.
	sql string
	// note says how the measured query differs from the published one.
	note string
}

// nexmarkLoadSQL creates the table bid from the bids file, as
// pipelines/nexmark/nexmark_test.go does.
const nexmarkLoadSQL = `CREATE TABLE bid AS
  SELECT auction, bidder, price, channel, url, CAST(date_time AS TIMESTAMPTZ) AS date_time, extra
  FROM read_json(%s, format = 'newline_delimited', columns = {auction: 'BIGINT', bidder: 'BIGINT', price: 'BIGINT', channel: 'VARCHAR', url: 'VARCHAR', date_time: 'VARCHAR', extra: 'VARCHAR'})`

// nexmarkQueries are the queries in the order -query all runs them.
var nexmarkQueries = []nexmarkQuery{
	{name: "q0", flinkPerCore: 155_000, sql: `SELECT auction, bidder, price, epoch_ms(date_time) AS date_time, extra FROM bid`},
	{name: "q1", flinkPerCore: 158_000, sql: `SELECT auction, bidder, CAST(0.908 * price * 1000 AS BIGINT) AS price, epoch_ms(date_time) AS date_time, extra FROM bid`},
	{name: "q2", flinkPerCore: 175_000, sql: `SELECT auction, price FROM bid WHERE MOD(auction, 123) = 0`},
	{name: "q5", flinkPerCore: 22_100, sql: `WITH hop AS (
    SELECT auction, (epoch_ms(date_time) // 2000) * 2000 - k * 2000 AS window_start
    FROM bid, range(0, 5) AS r(k)
  ),
  AuctionBids AS (
    SELECT auction, count(*) AS num, window_start AS starttime, window_start + 10000 AS endtime
    FROM hop GROUP BY auction, window_start
  ),
  MaxBids AS (
    SELECT max(num) AS maxn, starttime, endtime FROM AuctionBids GROUP BY starttime, endtime
  )
SELECT AuctionBids.starttime AS window_start, AuctionBids.endtime AS window_end, AuctionBids.auction, AuctionBids.num
FROM AuctionBids JOIN MaxBids
  ON AuctionBids.starttime = MaxBids.starttime AND AuctionBids.endtime = MaxBids.endtime AND AuctionBids.num >= MaxBids.maxn`},
	{name: "q7", flinkPerCore: 12_300, sql: `WITH B1 AS (
    SELECT max(price) AS maxprice, (epoch_ms(date_time) // 10000) * 10000 AS starttime
    FROM bid GROUP BY starttime
  )
SELECT B1.starttime AS window_start, B1.starttime + 10000 AS window_end, B.auction, B.bidder, B.price, epoch_ms(B.dateTime) AS date_time
FROM (SELECT *, date_time AS dateTime FROM bid) B JOIN B1
  ON B.price = B1.maxprice
WHERE epoch_ms(B.dateTime) >= B1.starttime AND epoch_ms(B.dateTime) < B1.starttime + 10000`},
	{name: "q11", flinkPerCore: 39_700, sql: `WITH B AS (SELECT bidder, epoch_ms(date_time) AS t FROM bid),
  starts AS (
    SELECT bidder, t, CASE WHEN t - lag(t) OVER (PARTITION BY bidder ORDER BY t) < 10000 THEN 0 ELSE 1 END AS new
    FROM B
  ),
  sessions AS (
    SELECT bidder, t, sum(new) OVER (PARTITION BY bidder ORDER BY t ROWS UNBOUNDED PRECEDING) AS session
    FROM starts
  )
SELECT min(t) AS window_start, max(t) + 10000 AS window_end, bidder, count(*) AS bid_count
FROM sessions GROUP BY bidder, session`},
	{name: "q12", flinkPerCore: 75_700, sql: `SELECT bidder, count(*) AS bid_count FROM bid GROUP BY bidder`,
		note: "q12: sluice runs without the pipeline's rate = 100000 (as fast as it goes); DuckDB has no processing time and counts bids per bidder over the whole input"},
}

// nexmarkSelect returns the query names -query selects.
func nexmarkSelect(query string) ([]string, error) {
	var names []string
	for _, q := range nexmarkQueries {
		if query == "all" || query == q.name {
			names = append(names, q.name)
		}
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("unknown query %q (want q0, q1, q2, q5, q7, q11, q12 or all)", query)
	}
	return names, nil
}

// nexmarkQueryNamed returns the query of that name.
func nexmarkQueryNamed(name string) nexmarkQuery {
	for _, q := range nexmarkQueries {
		if q.name == name {
			return q
		}
	}
	panic("unknown nexmark query " + name)
}

var (
	// sinkPathEnv matches the sink path of the query pipelines.
	sinkPathEnv = regexp.MustCompile(`env\("SLUICE_OUT", "[^"]*"\)`)
	// sourceRate matches the processing-time rate of q12's source.
	sourceRate = regexp.MustCompile(`(?m)^\s*rate\s*=\s*\d+\s*\n`)
)

// nexmarkPipeline turns the text of pipelines/nexmark/QUERY.hcl into the
// measured pipeline: only the block of pipeline nexmark_QUERY, with events
// instead of 1,000,000, no processing-time rate limit, the file sink writing
// out and, when checkpointStore is not empty, a checkpoint block taking one
// every nexmarkCheckpointEvery into it.
func nexmarkPipeline(src, query string, events int64, out, checkpointStore string) (string, error) {
	head := fmt.Sprintf("pipeline \"nexmark_%s\" {\n", query)
	start := strings.Index(src, head)
	if start < 0 {
		return "", fmt.Errorf("pipelines/nexmark/%s.hcl has no pipeline \"nexmark_%s\"", query, query)
	}
	end := strings.Index(src[start:], "\n}\n")
	if end < 0 {
		return "", fmt.Errorf("pipelines/nexmark/%s.hcl: pipeline \"nexmark_%s\" has no closing brace at the start of a line", query, query)
	}
	block := src[start : start+end+3]
	if !strings.Contains(block, nexmarkWrittenEvents) || !sinkPathEnv.MatchString(block) {
		return "", fmt.Errorf("pipelines/nexmark/%s.hcl: the pipeline does not say %q and env(\"SLUICE_OUT\", ...)", query, nexmarkWrittenEvents)
	}
	block = strings.Replace(block, nexmarkWrittenEvents, "events = "+strconv.FormatInt(events, 10), 1)
	block = sourceRate.ReplaceAllString(block, "")
	block = sinkPathEnv.ReplaceAllLiteralString(block, pipelines.Quote(out))
	text := fmt.Sprintf("# Nexmark %s of pipelines/nexmark/%s.hcl, written by go run ./cmd/bench -workload nexmark.\n", query, query)
	if checkpointStore != "" {
		text += fmt.Sprintf("checkpoint {\n  store = %s\n  every = %q\n}\n\n", pipelines.Quote("file://"+checkpointStore), nexmarkCheckpointEvery)
	}
	return text + block, nil
}

// bidsParams identify a cached bids file.
type bidsParams struct {
	Events int64  `json:"events"`
	Stream string `json:"stream"`
	Size   int64  `json:"size"`
}

// ensureBids returns DATA/nexmark-bids-N.ndjson, written by `sluice nexmark
// generate` (default event rate and base time) unless its sidecar says it
// is already there with its size.
func ensureBids(ctx context.Context, bin, dataDir string, events int64) (dataFile, error) {
	path := filepath.Join(dataDir, fmt.Sprintf("nexmark-bids-%d.ndjson", events))
	sidecar := path + ".params.json"
	want := bidsParams{Events: events, Stream: "bid"}
	if raw, err := os.ReadFile(sidecar); err == nil {
		var got bidsParams
		st, serr := os.Stat(path)
		if json.Unmarshal(raw, &got) == nil && serr == nil && got.Size == st.Size() {
			got.Size = 0
			if got == want {
				return dataFile{Path: path, Size: st.Size(), Reused: true}, nil
			}
		}
	}
	_ = os.Remove(sidecar)
	tmp := path + ".tmp"
	cmd := exec.CommandContext(ctx, bin, "nexmark", "generate", "--events", strconv.FormatInt(events, 10), "--stream", "bid", "--output", tmp)
	if b, err := cmd.CombinedOutput(); err != nil {
		os.Remove(tmp)
		return dataFile{}, fmt.Errorf("sluice nexmark generate: %v%s", err, details(b, 2000))
	}
	if err := os.Rename(tmp, path); err != nil {
		return dataFile{}, err
	}
	st, err := os.Stat(path)
	if err != nil {
		return dataFile{}, err
	}
	want.Size = st.Size()
	meta, _ := json.Marshal(want)
	if err := os.WriteFile(sidecar, append(meta, '\n'), 0o644); err != nil {
		return dataFile{}, err
	}
	return dataFile{Path: path, Size: want.Size}, nil
}
