package deltalog

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
)

// Stats are the per-file statistics of an add action: numRecords, and per
// column minValues, maxValues and nullCount. Values are JSON numbers
// (json.Number), strings (timestamps as RFC 3339 UTC with milliseconds,
// dates as 2006-01-02) or booleans.
type Stats struct {
	NumRecords *int64           `json:"numRecords,omitempty"`
	MinValues  map[string]any   `json:"minValues,omitempty"`
	MaxValues  map[string]any   `json:"maxValues,omitempty"`
	NullCount  map[string]int64 `json:"nullCount,omitempty"`
}

// ParseStats reads an add action's stats; "" gives empty Stats.
func ParseStats(s string) (*Stats, error) {
	var st Stats
	if s == "" {
		return &st, nil
	}
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	if err := dec.Decode(&st); err != nil {
		return nil, err
	}
	return &st, nil
}

// Encode returns the stats as the JSON string of an add action.
func (st *Stats) Encode() string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(st)
	return strings.TrimSuffix(buf.String(), "\n")
}

// MergeStats returns the stats of a file holding the rows of every file
// of list: record and null counts add up, minimums and maximums are the
// extremes. A column keeps a minimum (maximum, null count) only when every
// file has one; nil when a file has no record count.
func MergeStats(list []*Stats) *Stats {
	if len(list) == 0 {
		return nil
	}
	out := &Stats{MinValues: map[string]any{}, MaxValues: map[string]any{}, NullCount: map[string]int64{}}
	var rows int64
	for i, st := range list {
		if st.NumRecords == nil {
			return nil
		}
		rows += *st.NumRecords
		if i == 0 {
			for k, v := range st.MinValues {
				out.MinValues[k] = v
			}
			for k, v := range st.MaxValues {
				out.MaxValues[k] = v
			}
			for k, v := range st.NullCount {
				out.NullCount[k] = v
			}
			continue
		}
		mergeBound(out.MinValues, st.MinValues, -1)
		mergeBound(out.MaxValues, st.MaxValues, +1)
		for k, n := range out.NullCount {
			if m, ok := st.NullCount[k]; ok {
				out.NullCount[k] = n + m
			} else {
				delete(out.NullCount, k)
			}
		}
	}
	out.NumRecords = &rows
	return out
}

// mergeBound keeps in acc, for each column, the value of acc or of next
// that is smaller (sign -1) or larger (sign +1); a column next lacks, or
// whose values do not compare, is dropped.
func mergeBound(acc, next map[string]any, sign int) {
	for k, a := range acc {
		b, ok := next[k]
		if !ok {
			delete(acc, k)
			continue
		}
		c, ok := compareValues(a, b)
		if !ok {
			delete(acc, k)
			continue
		}
		if c*sign < 0 {
			acc[k] = b
		}
	}
}

// compareValues compares two stats values of one column: -1, 0 or +1,
// and false when they are not of one comparable kind.
func compareValues(a, b any) (int, bool) {
	switch x := a.(type) {
	case json.Number:
		y, ok := b.(json.Number)
		if !ok {
			return 0, false
		}
		if xi, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			if yi, err := strconv.ParseInt(string(y), 10, 64); err == nil {
				return cmp3(xi < yi, xi > yi), true
			}
		}
		xf, err1 := x.Float64()
		yf, err2 := y.Float64()
		if err1 != nil || err2 != nil {
			return 0, false
		}
		return cmp3(xf < yf, xf > yf), true
	case string:
		y, ok := b.(string)
		if !ok {
			return 0, false
		}
		return strings.Compare(x, y), true
	}
	return 0, false
}

func cmp3(less, more bool) int {
	switch {
	case less:
		return -1
	case more:
		return 1
	}
	return 0
}
