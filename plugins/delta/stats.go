package delta

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/sluice-io/sluice/internal/deltalog"
	"github.com/sluice-io/sluice/plugins/parquet"
	"github.com/sluice-io/sluice/record"
)

// statsPrefix is how many bytes of a string the statistics keep, as
// Spark keeps 32 characters (delta.dataSkippingStringPrefixLength).
const statsPrefix = 32

// columnStats accumulates the statistics of one column of one data file.
type columnStats struct {
	nulls int64
	set   bool // a non-null value was seen
	// ints for int and timestamp columns, floats for floats (nonFinite
	// when a NaN or infinity was seen: JSON cannot hold it), strs for
	// strings (long when a value was longer than statsPrefix).
	minI, maxI int64
	minF, maxF float64
	nonFinite  bool
	minS, maxS []byte
	long       bool
}

// fileStats accumulates the statistics of one data file.
type fileStats struct {
	rows int64
	cols []columnStats
}

// add accounts the rows of b listed in rows for the file columns cols.
func (fs *fileStats) add(b *record.Batch, cols []parquet.FileColumn, rows []int32) {
	if fs.cols == nil {
		fs.cols = make([]columnStats, len(cols))
	}
	fs.rows += int64(len(rows))
	for i, c := range cols {
		cs := &fs.cols[i]
		v := &b.Columns[c.Index]
		for _, r := range rows {
			if v.IsNull(int(r)) {
				cs.nulls++
				continue
			}
			switch c.Type {
			case record.ColumnInt, record.ColumnTimestamp:
				cs.addInt(v.Ints[r])
			case record.ColumnFloat:
				cs.addFloat(v.Floats[r])
			case record.ColumnString:
				cs.addString(v.StringBytes(int(r)))
			case record.ColumnBool:
				cs.set = true
			}
		}
	}
}

func (cs *columnStats) addInt(x int64) {
	if !cs.set {
		cs.minI, cs.maxI, cs.set = x, x, true
		return
	}
	cs.minI, cs.maxI = min(cs.minI, x), max(cs.maxI, x)
}

func (cs *columnStats) addFloat(x float64) {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		cs.nonFinite = true
		return
	}
	if !cs.set {
		cs.minF, cs.maxF, cs.set = x, x, true
		return
	}
	cs.minF, cs.maxF = min(cs.minF, x), max(cs.maxF, x)
}

func (cs *columnStats) addString(s []byte) {
	if len(s) > statsPrefix {
		cs.long = true
	}
	if !cs.set {
		cs.minS, cs.maxS, cs.set = append(cs.minS[:0], s...), append(cs.maxS[:0], s...), true
		return
	}
	if bytes.Compare(s, cs.minS) < 0 {
		cs.minS = append(cs.minS[:0], s...)
	}
	if bytes.Compare(s, cs.maxS) > 0 {
		cs.maxS = append(cs.maxS[:0], s...)
	}
}

// stats returns the file's statistics as Delta writes them.
func (fs *fileStats) stats(cols []parquet.FileColumn) *deltalog.Stats {
	rows := fs.rows
	st := &deltalog.Stats{NumRecords: &rows, MinValues: map[string]any{}, MaxValues: map[string]any{}, NullCount: map[string]int64{}}
	for i, c := range cols {
		var cs columnStats
		if i < len(fs.cols) {
			cs = fs.cols[i]
		}
		st.NullCount[c.Name] = cs.nulls
		if !cs.set {
			continue
		}
		switch c.Type {
		case record.ColumnInt:
			st.MinValues[c.Name] = json.Number(strconv.FormatInt(cs.minI, 10))
			st.MaxValues[c.Name] = json.Number(strconv.FormatInt(cs.maxI, 10))
		case record.ColumnTimestamp:
			st.MinValues[c.Name] = statsTime(cs.minI)
			st.MaxValues[c.Name] = statsTime(cs.maxI)
		case record.ColumnFloat:
			if !cs.nonFinite {
				st.MinValues[c.Name] = json.Number(strconv.FormatFloat(cs.minF, 'g', -1, 64))
				st.MaxValues[c.Name] = json.Number(strconv.FormatFloat(cs.maxF, 'g', -1, 64))
			}
		case record.ColumnString:
			// A prefix is a lower bound; a cut maximum would not be an
			// upper bound, so it is left out.
			st.MinValues[c.Name] = string(prefix(cs.minS))
			if !cs.long {
				st.MaxValues[c.Name] = string(cs.maxS)
			}
		}
	}
	return st
}

// statsTime writes a timestamp (Unix ms) as Spark writes it in stats.
func statsTime(ms int64) string {
	return time.UnixMilli(ms).UTC().Format("2006-01-02T15:04:05.000Z")
}

// prefix cuts s to at most statsPrefix bytes, at a character boundary.
func prefix(s []byte) []byte {
	if len(s) <= statsPrefix {
		return s
	}
	n := statsPrefix
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
