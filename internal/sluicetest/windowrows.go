package sluicetest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	pq "github.com/parquet-go/parquet-go"
)

// WindowRow is one row of the crash tests' window: the count of events and
// of distinct users per action in one window.
type WindowRow struct {
	Start, End int64 // Unix ms
	Action     string
	Events     int64
	Users      int64
}

// String shows the row as the crash tests report it.
func (r WindowRow) String() string {
	return fmt.Sprintf("%s %s events=%d users=%d", time.UnixMilli(r.Start).UTC().Format("15:04"), r.Action, r.Events, r.Users)
}

// DecodeWindowRows decodes a Parquet file of WindowRows: the columns
// window_start, window_end, action, events and users, none null.
func DecodeWindowRows(data []byte) ([]WindowRow, error) {
	f, err := pq.OpenFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, err
	}
	var names []string
	for _, fl := range f.Schema().Fields() {
		names = append(names, fl.Name())
	}
	if want := []string{"window_start", "window_end", "action", "events", "users"}; !slices.Equal(names, want) {
		return nil, fmt.Errorf("columns %v, want %v", names, want)
	}
	var out []WindowRow
	for _, rg := range f.RowGroups() {
		rr := rg.Rows()
		buf := make([]pq.Row, 64)
		for {
			n, err := rr.ReadRows(buf)
			for _, values := range buf[:n] {
				r, err := windowRow(values, names)
				if err != nil {
					return nil, err
				}
				out = append(out, r)
			}
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return nil, err
			}
		}
		_ = rr.Close()
	}
	return out, nil
}

// windowRow makes a WindowRow of the values of one Parquet row.
func windowRow(values pq.Row, names []string) (WindowRow, error) {
	var r WindowRow
	for _, v := range values {
		if v.IsNull() {
			return r, fmt.Errorf("a null %s", names[v.Column()])
		}
		switch v.Column() {
		case 0:
			r.Start = v.Int64()
		case 1:
			r.End = v.Int64()
		case 2:
			r.Action = string(v.ByteArray())
		case 3:
			r.Events = v.Int64()
		case 4:
			r.Users = v.Int64()
		}
	}
	return r, nil
}
