// Package nexmark_test checks the Nexmark query pipelines of this folder
// against DuckDB running the published SQL of nexmark/nexmark
// (nexmark-flink/src/main/resources/queries/q*.sql) on the same events,
// written by `sluice nexmark generate`.
package nexmark_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// column is one output column of a query and how to compare it: "int" and
// "string" as they are, "ts" a timestamp (RFC 3339 from sluice, Unix
// milliseconds from DuckDB), "milli" a float from sluice compared as
// round(x × 1000) with DuckDB's exact decimal × 1000.
type column struct{ name, kind string }

// query is one Nexmark query: the pipeline and the DuckDB SQL over the
// table bid, whose columns are the same.
type query struct {
	file, pipeline string
	columns        []column
	sql            string
}

// queries holds every query but q12, whose windows depend on timing. The
// SQL is the published one but for what DuckDB spells differently, said in
// each comment; timestamps are compared as epoch_ms.
var queries = []query{
	{
		// q0: SELECT auction, bidder, price, dateTime, extra FROM bid.
		file: "q0.hcl", pipeline: "nexmark_q0",
		columns: []column{{"auction", "int"}, {"bidder", "int"}, {"price", "int"}, {"date_time", "ts"}, {"extra", "string"}},
		sql:     `SELECT auction, bidder, price, epoch_ms(date_time) AS date_time, extra FROM bid`,
	},
	{
		// q1: 0.908 * price as price. DuckDB computes it as an exact
		// DECIMAL; sluice in float64, so both are compared at 1/1000.
		file: "q1.hcl", pipeline: "nexmark_q1",
		columns: []column{{"auction", "int"}, {"bidder", "int"}, {"price", "milli"}, {"date_time", "ts"}, {"extra", "string"}},
		sql:     `SELECT auction, bidder, CAST(0.908 * price * 1000 AS BIGINT) AS price, epoch_ms(date_time) AS date_time, extra FROM bid`,
	},
	{
		// q2: as published.
		file: "q2.hcl", pipeline: "nexmark_q2",
		columns: []column{{"auction", "int"}, {"price", "int"}},
		sql:     `SELECT auction, price FROM bid WHERE MOD(auction, 123) = 0`,
	},
	{
		// q5: HOP(TABLE bid, DESCRIPTOR(dateTime), INTERVAL '2' SECOND,
		// INTERVAL '10' SECOND) becomes the five windows each bid is in,
		// starting at the multiples of 2 s in (t − 10 s, t]; the two
		// subqueries and the join on num >= maxn are the published ones.
		file: "q5.hcl", pipeline: "nexmark_q5",
		columns: []column{{"window_start", "ts"}, {"window_end", "ts"}, {"auction", "int"}, {"num", "int"}},
		sql: `WITH hop AS (
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
  ON AuctionBids.starttime = MaxBids.starttime AND AuctionBids.endtime = MaxBids.endtime AND AuctionBids.num >= MaxBids.maxn`,
	},
	{
		// q7: TUMBLE(..., INTERVAL '10' SECOND) becomes the window start
		// (t // 10 s) × 10 s, and the published BETWEEN end − 10 s AND end,
		// which also takes a bid at exactly the end of the window into
		// it, becomes the window itself, [start, end).
		file: "q7.hcl", pipeline: "nexmark_q7",
		columns: []column{{"window_start", "ts"}, {"window_end", "ts"}, {"auction", "int"}, {"bidder", "int"}, {"price", "int"}, {"date_time", "ts"}},
		sql: `WITH B1 AS (
    SELECT max(price) AS maxprice, (epoch_ms(date_time) // 10000) * 10000 AS starttime
    FROM bid GROUP BY starttime
  )
SELECT B1.starttime AS window_start, B1.starttime + 10000 AS window_end, B.auction, B.bidder, B.price, epoch_ms(B.dateTime) AS date_time
FROM (SELECT *, date_time AS dateTime FROM bid) B JOIN B1
  ON B.price = B1.maxprice
WHERE epoch_ms(B.dateTime) >= B1.starttime AND epoch_ms(B.dateTime) < B1.starttime + 10000`,
	},
	{
		// q11: SESSION(B.dateTime, INTERVAL '10' SECOND) per bidder
		// becomes gaps and islands: a bid 10 s or more after the bidder's
		// previous one starts a session; SESSION_END is the last bid + 10 s.
		file: "q11.hcl", pipeline: "nexmark_q11",
		columns: []column{{"window_start", "ts"}, {"window_end", "ts"}, {"bidder", "int"}, {"bid_count", "int"}},
		sql: `WITH B AS (SELECT bidder, epoch_ms(date_time) AS t FROM bid),
  starts AS (
    SELECT bidder, t, CASE WHEN t - lag(t) OVER (PARTITION BY bidder ORDER BY t) < 10000 THEN 0 ELSE 1 END AS new
    FROM B
  ),
  sessions AS (
    SELECT bidder, t, sum(new) OVER (PARTITION BY bidder ORDER BY t ROWS UNBOUNDED PRECEDING) AS session
    FROM starts
  )
SELECT min(t) AS window_start, max(t) + 10000 AS window_end, bidder, count(*) AS bid_count
FROM sessions GROUP BY bidder, session`,
	},
}

// input is what the tests share: the sluice binary and the bids.
type input struct {
	dir, bin, bids string
	events, rate   int
}

var shared struct {
	sync.Mutex
	in  *input
	dir string // removed by TestMain
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.dir != "" {
		os.RemoveAll(shared.dir)
	}
	os.Exit(code)
}

// setup builds sluice and writes the bids of SLUICE_NEXMARK_EVENTS events
// (default 30,000) at SLUICE_NEXMARK_RATE events a second of event time
// (default 500, so that the input spans 60 seconds: six q7 windows, 30
// of q5), once for every test.
func setup(t *testing.T) *input {
	t.Helper()
	shared.Lock()
	defer shared.Unlock()
	if shared.in != nil {
		return shared.in
	}
	in := &input{events: envInt(t, "SLUICE_NEXMARK_EVENTS", 30000), rate: envInt(t, "SLUICE_NEXMARK_RATE", 500)}
	dir, err := os.MkdirTemp("", "sluice-nexmark-")
	if err != nil {
		t.Fatal(err)
	}
	shared.dir, in.dir = dir, dir
	in.bin = buildSluice(t, dir)
	in.bids = filepath.Join(dir, "bids.ndjson")
	run(t, in.bin, nil, "nexmark", "generate", "--events", strconv.Itoa(in.events), "--event-rate", strconv.Itoa(in.rate), "--stream", "bid", "--output", in.bids)
	shared.in = in
	return in
}

func envInt(t *testing.T, name string, def int) int {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		t.Fatalf("%s=%q: want a number above zero", name, s)
	}
	return n
}

func TestQueriesMatchDuckDB(t *testing.T) {
	duck := duckDB(t)
	in := setup(t)
	n, dir, bin, bids := in.events, t.TempDir(), in.bin, in.bids

	stmts := []string{fmt.Sprintf(`CREATE TABLE bid AS
  SELECT auction, bidder, price, channel, url, CAST(date_time AS TIMESTAMPTZ) AS date_time, extra
  FROM read_json(%s, format = 'newline_delimited', columns = {auction: 'BIGINT', bidder: 'BIGINT', price: 'BIGINT', channel: 'VARCHAR', url: 'VARCHAR', date_time: 'VARCHAR', extra: 'VARCHAR'})`, sqlString(bids))}
	for _, q := range queries {
		stmts = append(stmts, fmt.Sprintf("COPY (%s) TO %s (FORMAT JSON)", q.sql, sqlString(filepath.Join(dir, q.pipeline+".duckdb.ndjson"))))
	}
	duck(stmts...)

	for _, q := range queries {
		t.Run(q.pipeline, func(t *testing.T) {
			out := runQuery(t, bin, dir, q.file, q.pipeline, in)
			got := canonical(t, out, q.columns, false)
			want := canonical(t, filepath.Join(dir, q.pipeline+".duckdb.ndjson"), q.columns, true)
			if len(want) == 0 && q.pipeline != "nexmark_q2" {
				t.Fatalf("DuckDB returned no rows: the comparison would prove nothing")
			}
			t.Logf("%d rows from %d events", len(got), n)
			compareRows(t, got, want)
		})
	}
}

// TestQ12Totals runs q12, whose windows depend on processing time: every
// row is a 10-second window aligned to the epoch, and the counts add up,
// per bidder and in all, to the bids DuckDB counts in the input.
func TestQ12Totals(t *testing.T) {
	duck := duckDB(t)
	in := setup(t)
	dir, bin, bids := t.TempDir(), in.bin, in.bids
	wantPath := filepath.Join(dir, "q12.duckdb.ndjson")
	duck(fmt.Sprintf(`COPY (SELECT bidder, count(*) AS bid_count FROM read_json(%s, format = 'newline_delimited', columns = {bidder: 'BIGINT'}) GROUP BY bidder) TO %s (FORMAT JSON)`, sqlString(bids), sqlString(wantPath)))

	out := runQuery(t, bin, dir, "q12.hcl", "nexmark_q12", in)
	perBidder := map[string]int64{}
	var total, rows int64
	for _, r := range readRows(t, out) {
		start, end := timestamp(t, r["window_start"]), timestamp(t, r["window_end"])
		if end-start != 10000 || start%10000 != 0 {
			t.Fatalf("row %v: not a 10-second window aligned to the epoch", r)
		}
		c, err := r["bid_count"].(json.Number).Int64()
		if err != nil || c <= 0 {
			t.Fatalf("row %v: bid_count", r)
		}
		perBidder[string(r["bidder"].(json.Number))] += c
		total += c
		rows++
	}
	want := map[string]int64{}
	var wantTotal int64
	for _, r := range readRows(t, wantPath) {
		c, _ := r["bid_count"].(json.Number).Int64()
		want[string(r["bidder"].(json.Number))] = c
		wantTotal += c
	}
	t.Logf("%d rows, %d bids of %d bidders", rows, total, len(perBidder))
	if total != wantTotal || wantTotal == 0 {
		t.Fatalf("q12 counted %d bids, the input holds %d", total, wantTotal)
	}
	for b, c := range want {
		if perBidder[b] != c {
			t.Errorf("bidder %s: q12's windows count %d bids, the input holds %d", b, perBidder[b], c)
		}
	}
	if len(perBidder) != len(want) {
		t.Errorf("q12 has %d bidders, the input %d", len(perBidder), len(want))
	}
}

// buildSluice builds the sluice command into dir.
func buildSluice(t *testing.T, dir string) string {
	t.Helper()
	goCmd := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goCmd); err != nil {
		goCmd = "go"
	}
	bin := filepath.Join(dir, "sluice")
	cmd := exec.Command(goCmd, "build", "-o", bin, "github.com/sluice-io/sluice/cmd/sluice")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// run runs the sluice binary and fails the test on a non-zero exit.
func run(t *testing.T, bin string, env []string, args ...string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	start := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sluice %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	t.Logf("sluice %s: %v", args[0], time.Since(start).Round(time.Millisecond))
}

// runQuery runs one pipeline of file with the input's events and event rate
// instead of the 1,000,000 events written there, and returns the path of
// its output.
func runQuery(t *testing.T, bin, dir, file, pipeline string, in *input) string {
	t.Helper()
	src := string(readFile(t, file))
	const written = "events = 1000000"
	if !strings.Contains(src, written) {
		t.Fatalf("%s does not say %q", file, written)
	}
	// The copy's test blocks name testdata/ beside it.
	if _, err := os.Lstat(filepath.Join(dir, "testdata")); err != nil {
		abs, err := filepath.Abs("testdata")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(abs, filepath.Join(dir, "testdata")); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(dir, file)
	if err := os.WriteFile(path, []byte(strings.ReplaceAll(src, written, fmt.Sprintf("events = %d\n    event_rate = %d", in.events, in.rate))), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, pipeline+".sluice.ndjson")
	run(t, bin, []string{"SLUICE_OUT=" + out}, "run", "--pipeline", pipeline, path)
	return out
}

// readRows reads an NDJSON file, numbers as json.Number.
func readRows(t *testing.T, path string) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows []map[string]any
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		d := json.NewDecoder(strings.NewReader(sc.Text()))
		d.UseNumber()
		var r map[string]any
		if err := d.Decode(&r); err != nil {
			t.Fatalf("%s: %v in %q", path, err, sc.Text())
		}
		rows = append(rows, r)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return rows
}

// timestamp reads a sluice timestamp (RFC 3339) as Unix milliseconds.
func timestamp(t *testing.T, v any) int64 {
	t.Helper()
	s, ok := v.(string)
	ts, err := time.Parse(time.RFC3339Nano, s)
	if !ok || err != nil {
		t.Fatalf("timestamp %v: %v", v, err)
	}
	return ts.UnixMilli()
}

// canonical returns the rows of an NDJSON file as sorted strings of their
// columns, compared as the columns say.
func canonical(t *testing.T, path string, cols []column, duck bool) []string {
	t.Helper()
	var out []string
	for _, r := range readRows(t, path) {
		if len(r) != len(cols) {
			t.Fatalf("%s: row %v has %d columns, want %d", path, r, len(r), len(cols))
		}
		vals := make([]string, len(cols))
		for i, c := range cols {
			v, ok := r[c.name]
			if !ok {
				t.Fatalf("%s: row %v has no %q", path, r, c.name)
			}
			vals[i] = normalize(t, v, c.kind, duck)
		}
		b, _ := json.Marshal(vals)
		out = append(out, string(b))
	}
	slices.Sort(out)
	return out
}

func normalize(t *testing.T, v any, kind string, duck bool) string {
	t.Helper()
	switch {
	case kind == "ts" && !duck:
		return strconv.FormatInt(timestamp(t, v), 10)
	case kind == "milli" && !duck:
		f, err := v.(json.Number).Float64()
		if err != nil {
			t.Fatalf("price %v: %v", v, err)
		}
		return strconv.FormatInt(int64(math.Round(f*1000)), 10)
	}
	return fmt.Sprint(v)
}

// compareRows fails with the first rows only one side has.
func compareRows(t *testing.T, got, want []string) {
	t.Helper()
	if slices.Equal(got, want) {
		return
	}
	var onlyGot, onlyWant []string
	i, j := 0, 0
	for i < len(got) || j < len(want) {
		switch {
		case j == len(want) || i < len(got) && got[i] < want[j]:
			onlyGot = append(onlyGot, got[i])
			i++
		case i == len(got) || got[i] > want[j]:
			onlyWant = append(onlyWant, want[j])
			j++
		default:
			i++
			j++
		}
	}
	t.Errorf("sluice %d rows, DuckDB %d: %d only in sluice, e.g. %v; %d only in DuckDB, e.g. %v",
		len(got), len(want), len(onlyGot), first(onlyGot, 3), len(onlyWant), first(onlyWant, 3))
}

func first(s []string, n int) []string { return s[:min(n, len(s))] }

// sqlString quotes s as a SQL string literal.
func sqlString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
