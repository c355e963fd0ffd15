package parquet

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sluice-io/sluice/internal/duckdbtest"
)

// duckResult is the result of one DuckDB query.
type duckResult = duckdbtest.Result

// duckDB returns a function that runs queries with DuckDB.
func duckDB(t *testing.T) func(queries ...string) (version string, results []duckResult) {
	return duckdbtest.Open(t, "read the Parquet files back").Query
}

// sqlString quotes s as a SQL string literal.
func sqlString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// strs renders values as DuckDB's VARCHAR casts do, nil staying nil.
func strs(values ...any) []any {
	out := make([]any, len(values))
	for i, v := range values {
		switch v := v.(type) {
		case nil:
		case int:
			out[i] = strconv.Itoa(v)
		case int64:
			out[i] = strconv.FormatInt(v, 10)
		case float64:
			out[i] = map[bool]string{true: "-inf", false: strconv.FormatFloat(v, 'g', -1, 64)}[math.IsInf(v, -1)]
		default:
			out[i] = fmt.Sprint(v)
		}
	}
	return out
}

// sortedJSON sorts rows by their JSON encoding, for comparing sets.
func sortedJSON(rows [][]any) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		b, _ := json.Marshal(r)
		out[i] = string(b)
	}
	sort.Strings(out)
	return out
}

func TestDuckDBReadsCommittedFiles(t *testing.T) {
	run := duckDB(t)
	root := t.TempDir()
	ctx := context.Background()

	// Window rows by day, hour and action: epoch 1 committed, epoch 2
	// prepared but not committed (a crash before the checkpoint), and more
	// rows written since: complete temporaries that readers must not see.
	windows := buildSink(t, fmt.Sprintf(`sink "parquet" "lake" {
  path         = %q
  partition_by = ["window_start:date", "window_start:hour", "action"]
  roll_rows    = 2
}`, "file://"+root+"/windows"), windowRows)
	w := open(t, windows, &clock{})
	epoch1 := append([][]any{
		windowRow(t0, "a/b=c%d 'x'", 1, 1),
		{t0.UnixMilli(), t0.Add(time.Minute).UnixMilli(), nil, 2, 2},
	}, rowsA...)
	epoch1 = append(epoch1, rowsB...)
	write(t, w, epoch1)
	commit(t, w, prepare(t, w, 1))
	write(t, w, manyRows(9))
	_ = prepare(t, w, 2)
	write(t, w, manyRows(5))
	if tmp := keysUnder(t, w.store, "_sluice_tmp/"); len(tmp) < 5 {
		t.Fatalf("only %d temporaries: the test would prove nothing", len(tmp))
	}

	// Every type with nulls, partitioned by an int column.
	typeRows := [][]any{
		{time.Date(2026, 11, 25, 13, 4, 5, 123e6, time.UTC).UnixMilli(), 42, 2.5, true, "login"},
		{nil, nil, nil, nil, nil},
		{int64(0), int64(math.MinInt64), math.Inf(-1), false, "ünïcødé ✓"},
		{int64(-1), int64(math.MaxInt64), -0.5, nil, "x"},
	}
	for _, name := range []string{"types", "by_time"} {
		parts := `["n"]`
		if name == "by_time" {
			parts = `["ts", "ok"]`
		}
		s := buildSink(t, fmt.Sprintf(`sink "parquet" %q {
  path         = %q
  partition_by = %s
  compression  = "snappy"
}`, name, "file://"+root+"/"+name, parts), allTypes)
		tw := open(t, s, &clock{})
		if err := tw.Write(ctx, batch(allTypes, typeRows...)); err != nil {
			t.Fatal(err)
		}
		commit(t, tw, prepare(t, tw, 1))
	}

	glob := func(name string) string { return sqlString(root + "/" + name + "/**/*.parquet") }
	version, res := run(
		`DESCRIBE SELECT * FROM read_parquet(`+glob("windows")+`, hive_partitioning = true)`,
		`SELECT COLUMNS(*)::VARCHAR FROM (SELECT epoch_ms(window_start), epoch_ms(window_end), action, events, users, window_start_date, window_start_hour
		   FROM read_parquet(`+glob("windows")+`, hive_partitioning = true))`,
		`SELECT count(*) FILTER (WHERE file LIKE '%/_sluice_tmp/%') FROM glob(`+sqlString(root+"/windows/**")+`)`,
		`DESCRIBE SELECT * FROM read_parquet(`+glob("types")+`, hive_partitioning = true)`,
		`SELECT COLUMNS(*)::VARCHAR FROM (SELECT epoch_ms(ts), n, x, ok, s FROM read_parquet(`+glob("types")+`, hive_partitioning = true))`,
		`DESCRIBE SELECT * FROM read_parquet(`+glob("by_time")+`, hive_partitioning = true)`,
		`SELECT COLUMNS(*)::VARCHAR FROM (SELECT epoch_ms(ts), ok, n FROM read_parquet(`+glob("by_time")+`, hive_partitioning = true, hive_types = {'ts': TIMESTAMPTZ}))`,
	)
	t.Logf("DuckDB %s", version)
	for i, r := range res {
		if r.Error != "" {
			t.Fatalf("query %d: %s", i, r.Error)
		}
	}
	describe := func(r duckResult) map[string]string {
		m := map[string]string{}
		for _, row := range r.Rows {
			m[row[0].(string)] = row[1].(string)
		}
		return m
	}
	for _, i := range []int{0, 3, 5} {
		var cols []string
		for _, row := range res[i].Rows {
			cols = append(cols, fmt.Sprintf("%s %s", row[0], row[1]))
		}
		t.Logf("DuckDB DESCRIBE: %s", strings.Join(cols, ", "))
	}
	check := func(what string, got, want any) {
		t.Helper()
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n got %v\nwant %v", what, got, want)
		}
	}

	check("window types", describe(res[0]), map[string]string{
		"window_start": "TIMESTAMP WITH TIME ZONE", "window_end": "TIMESTAMP WITH TIME ZONE",
		"events": "BIGINT", "users": "BIGINT",
		"window_start_date": "DATE", "window_start_hour": "VARCHAR", "action": "VARCHAR",
	})
	var wantWindows [][]any
	for _, r := range epoch1 {
		ws := time.UnixMilli(r[0].(int64)).UTC()
		wantWindows = append(wantWindows, strs(r[0], r[1], r[2], r[3], r[4], ws.Format(time.DateOnly), ws.Format("2006-01-02T15")))
	}
	check("window rows (epoch 1 only)", sortedJSON(res[1].Rows), sortedJSON(wantWindows))
	if n, _ := strconv.Atoi(fmt.Sprint(res[2].Rows[0][0])); n < 5 {
		t.Errorf("DuckDB's glob sees %d temporaries; the read ran while they existed", n)
	}

	check("types", describe(res[3]), map[string]string{
		"ts": "TIMESTAMP WITH TIME ZONE", "x": "DOUBLE", "ok": "BOOLEAN", "s": "VARCHAR", "n": "BIGINT",
	})
	var wantTypes [][]any
	for _, r := range typeRows {
		wantTypes = append(wantTypes, strs(r...))
	}
	check("type rows", sortedJSON(res[4].Rows), sortedJSON(wantTypes))

	// DuckDB does not infer timestamps from escaped folder values nor
	// booleans from true/false: both come back as VARCHAR.
	check("timestamp and bool partition types", describe(res[5]), map[string]string{
		"n": "BIGINT", "x": "DOUBLE", "s": "VARCHAR", "ts": "VARCHAR", "ok": "VARCHAR",
	})
	var wantByTime [][]any
	for _, r := range typeRows {
		wantByTime = append(wantByTime, strs(r[0], r[3], r[1]))
	}
	check("timestamp partition read with hive_types", sortedJSON(res[6].Rows), sortedJSON(wantByTime))
}
