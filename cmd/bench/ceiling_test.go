package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestCeilingEqualsNaive checks that the ceiling baseline gives exactly the
// naive baseline's rows and counts, on a generated file and on lines that
// take its encoding/json fallback, with several worker counts and buffer
// sizes (small ones make lines straddle reads and range boundaries).
func TestCeilingEqualsNaive(t *testing.T) {
	dir := t.TempDir()
	df, err := ensureData(dir, referenceParams(20_000))
	if err != nil {
		t.Fatal(err)
	}
	odd := filepath.Join(dir, "odd.ndjson")
	lines := []string{
		`{"user_id":1,"action":"click","ts":1714564800123,"device":"ios"}`,
		`{"action":"click","user_id":2,"ts":1714564800124,"device":"ios"}`,            // other field order
		`{"user_id":3,"action":"cl\u0069ck","ts":1714564800125,"device":"web"}`,       // escape
		`{"user_id":4,"action":"view","ts":1714564800126,"device":"ios","extra":"x"}`, // extra field
		`{"user_id":5, "action":"view","ts":1714564800127,"device":"ios"}`,            // space
		`{"user_id":6,"action":"view","ts":-5,"device":"android"}` + "\r",             // CRLF, negative ts
		`{"user_id":07,"action":"view","ts":1714564800128,"device":"ios"}`,            // bad: leading zero
		`{"user_id":8,"action":"view","ts":99999999999999999999,"device":"ios"}`,      // bad: overflows
		``,         // bad: empty
		`not json`, // bad
		`{"user_id":9,"action":"heartbeat","ts":1714564800129,"device":"ios"}`,           // filtered
		`{"user_id":10,"action":"` + strings.Repeat("a", 3000) + `","ts":1,"device":""}`, // longer than a small buffer
		`{"user_id":11,"action":"view","ts":1714564800130,"device":"ios"}`,               // no final newline
	}
	if err := os.WriteFile(odd, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path string
		workers    int
		buf        int
	}{
		{"generated, 2 workers, 256 KiB", df.Path, 2, ceilingBuffer},
		{"generated, 1 worker, 256 KiB", df.Path, 1, ceilingBuffer},
		{"generated, 3 workers, 100 B", df.Path, 3, 100},
		{"odd lines, 2 workers, 256 KiB", odd, 2, ceilingBuffer},
		{"odd lines, 4 workers, 64 B", odd, 4, 64},
		{"odd lines, more workers than lines", odd, 32, 64},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := os.Open(tt.path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			want, wantSt, err := naiveAggregate(f)
			if err != nil {
				t.Fatal(err)
			}
			got, gotSt, err := ceilingAggregate(tt.path, tt.workers, tt.buf)
			if err != nil {
				t.Fatal(err)
			}
			if gotSt != wantSt {
				t.Errorf("stats %+v, naive %+v", gotSt, wantSt)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("rows differ from naive:\n got %+v\nwant %+v", got, want)
			}
			if len(want) == 0 {
				t.Error("naive gave no rows: the comparison proves nothing")
			}
		})
	}
}

// TestScanReferenceEvent checks which lines the ceiling's fast path takes.
func TestScanReferenceEvent(t *testing.T) {
	tests := []struct {
		line   string
		ok     bool
		user   int64
		action string
		ts     int64
	}{
		{`{"user_id":123,"action":"click","ts":1714564800123,"device":"ios"}`, true, 123, "click", 1714564800123},
		{`{"user_id":0,"action":"","ts":-60000,"device":""}`, true, 0, "", -60000},
		{`{"user_id":123,"action":"click","ts":1714564800123,"device":"ios"} `, false, 0, "", 0},
		{`{"user_id":123,"action":"cl\"ick","ts":1,"device":"ios"}`, false, 0, "", 0},
		{`{"user_id":1234567890123456789,"action":"x","ts":1,"device":"ios"}`, false, 0, "", 0},
		{`{"user_id":01,"action":"x","ts":1,"device":"ios"}`, false, 0, "", 0},
		{`{"user_id":-,"action":"x","ts":1,"device":"ios"}`, false, 0, "", 0},
		{`{"user_id":1,"action":"x","ts":1,"device":"ios"`, false, 0, "", 0},
		{`{"user_id":1,"action":"x","ts":1}`, false, 0, "", 0},
		{`{"user_id":1,"action":"é","ts":1,"device":"ios"}`, false, 0, "", 0},
	}
	for _, tt := range tests {
		user, action, ts, ok := scanReferenceEvent([]byte(tt.line))
		if ok != tt.ok || ok && (user != tt.user || string(action) != tt.action || ts != tt.ts) {
			t.Errorf("%s: got %d %q %d %v, want %d %q %d %v", tt.line, user, action, ts, ok, tt.user, tt.action, tt.ts, tt.ok)
		}
	}
}

// TestCeilingMain checks the subcommand writes the naive subcommand's file.
func TestCeilingMain(t *testing.T) {
	dir := t.TempDir()
	df, err := ensureData(dir, referenceParams(5000))
	if err != nil {
		t.Fatal(err)
	}
	naiveOut, ceilingOut := filepath.Join(dir, "naive.ndjson"), filepath.Join(dir, "ceiling.ndjson")
	var stdout, stderr strings.Builder
	if code := naiveMain([]string{df.Path, naiveOut}, &stdout, &stderr); code != exitOK {
		t.Fatalf("naive exit %d: %s", code, stderr.String())
	}
	if code := ceilingMain([]string{df.Path, ceilingOut}, &stdout, &stderr); code != exitOK {
		t.Fatalf("ceiling exit %d: %s", code, stderr.String())
	}
	if !sameFile(naiveOut, ceilingOut) {
		t.Error("ceiling's output file differs from naive's")
	}
	if code := ceilingMain([]string{df.Path}, &stdout, &stderr); code != exitUsage {
		t.Errorf("one argument: exit %d, want %d", code, exitUsage)
	}
}
