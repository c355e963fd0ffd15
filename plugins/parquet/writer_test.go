package parquet

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/sluice-io/sluice/record"

	pq "github.com/parquet-go/parquet-go"
)

// manyRows returns n window rows of distinct minutes on one day.
func manyRows(n int) [][]any {
	rows := make([][]any, n)
	for i := range rows {
		rows[i] = windowRow(t0.Add(-time.Duration(i)*time.Minute), fmt.Sprintf("action-%d", i%7), i, i%13)
	}
	return rows
}

// fileStats commits what w holds as epoch 1 and returns the rows and row
// groups of each committed file, in name order.
func fileStats(t *testing.T, w *Writer) (rows, groups []int) {
	t.Helper()
	commit(t, w, prepare(t, w, 1))
	for _, k := range parquetKeys(t, w.store) {
		data, err := w.store.Get(context.Background(), k)
		if err != nil {
			t.Fatal(err)
		}
		f, err := pq.OpenFile(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, int(f.NumRows()))
		groups = append(groups, len(f.RowGroups()))
	}
	return rows, groups
}

func TestRolling(t *testing.T) {
	tests := []struct {
		name       string
		args       string
		batches    []int // rows per Write
		advance    time.Duration
		wantRows   []int
		wantGroups []int
	}{
		{name: "one file", args: ``, batches: []int{5, 5}, wantRows: []int{10}, wantGroups: []int{1}},
		{name: "roll_rows inside a batch", args: `roll_rows = 3`, batches: []int{7},
			wantRows: []int{3, 3, 1}, wantGroups: []int{1, 1, 1}},
		{name: "roll_rows across batches", args: `roll_rows = 4`, batches: []int{3, 3, 3},
			wantRows: []int{4, 4, 1}, wantGroups: []int{1, 1, 1}},
		{name: "row groups", args: `row_group_size = 2`, batches: []int{3, 4},
			wantRows: []int{7}, wantGroups: []int{4}},
		{name: "row groups and roll_rows", args: "row_group_size = 2\nroll_rows = 5", batches: []int{12},
			wantRows: []int{5, 5, 2}, wantGroups: []int{3, 3, 1}},
		{name: "roll_bytes", args: `roll_bytes = "2KiB"`, batches: []int{10, 10, 10, 10, 10, 10, 10, 10},
			wantRows: []int{40, 40}, wantGroups: []int{1, 1}}, // about 50 bytes a row, buffered
		{name: "roll_interval", args: `roll_interval = "1m"`, batches: []int{2, 2, 2}, advance: 30 * time.Second,
			wantRows: []int{4, 2}, wantGroups: []int{1, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := buildSink(t, "sink \"parquet\" \"lake\" {\npath = \"out\"\n"+tt.args+"\n}", windowRows)
			clk := &clock{t: t0}
			w := openMem(t, s, clk)
			all := manyRows(100)
			for _, n := range tt.batches {
				write(t, w, all[:n])
				all = all[n:]
				clk.advance(tt.advance)
			}
			rows, groups := fileStats(t, w)
			if fmt.Sprint(rows) != fmt.Sprint(tt.wantRows) || fmt.Sprint(groups) != fmt.Sprint(tt.wantGroups) {
				t.Errorf("files hold %v rows in %v row groups, want %v in %v", rows, groups, tt.wantRows, tt.wantGroups)
			}
		})
	}
}

func TestWriteEmptyBatch(t *testing.T) {
	s := buildSink(t, `sink "parquet" "lake" {
  path = "out"
  partition_by = ["action"]
}`, windowRows)
	w := openMem(t, s, &clock{})
	if err := w.Write(context.Background(), record.NewBatch(windowRows, 0)); err != nil {
		t.Fatal(err)
	}
	if m := prepare(t, w, 1); m != nil {
		t.Errorf("manifest %s after an empty batch", m)
	}
}
