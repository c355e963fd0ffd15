// Package record is sluice's data model: the schema of the records one stage
// hands to the next (Schema, Column, ColumnType) and the batches of typed
// columns that carry them (Batch, Vector, Origin). Every stage, the runner
// and every plugin exchange records through these types; how a plugin's HCL
// arguments are declared and decoded lives in package schema instead.
package record

import (
	"fmt"
	"slices"
)

// ColumnType is the type of a record field.
type ColumnType uint8

// The record field types. Timestamps are carried as int64 Unix milliseconds.
const (
	ColumnInvalid ColumnType = iota
	ColumnString
	ColumnInt
	ColumnFloat
	ColumnBool
	ColumnTimestamp
	// ColumnStringMap is a map of strings to strings, such as a message's
	// properties. Only metadata columns have it; its values are encoded
	// by AppendStringMap into a string vector's bytes.
	ColumnStringMap
)

// ColumnTypeNames lists the names users write in `type = "..."`, in order.
var ColumnTypeNames = []string{"string", "int", "float", "bool", "timestamp"}

// String returns the name users write for the type.
func (t ColumnType) String() string {
	if t >= ColumnString && t <= ColumnTimestamp {
		return ColumnTypeNames[t-1]
	}
	if t == ColumnStringMap {
		return "map of strings"
	}
	return fmt.Sprintf("ColumnType(%d)", uint8(t))
}

// ParseColumnType returns the type named s, or false.
func ParseColumnType(s string) (ColumnType, bool) {
	for i, n := range ColumnTypeNames {
		if n == s {
			return ColumnType(i + 1), true
		}
	}
	return ColumnInvalid, false
}

// Numeric reports whether values of the type can be summed and averaged.
func (t ColumnType) Numeric() bool { return t == ColumnInt || t == ColumnFloat }

// Column is one named, typed field of a record.
type Column struct {
	Name string
	Type ColumnType
}

// Schema describes the records that one stage hands to the next: either raw
// message bytes (Raw, as a source yields them before a parse stage) or typed
// columns in order.
type Schema struct {
	Raw     bool
	Columns []Column
	// Key names the columns that identify a result row, such as a window
	// stage's window_start and group_by fields: two rows with equal key
	// values are versions of the same result (an update and the final
	// row of emit = "every D", or a row replayed after a restart). Sinks
	// use it for message keys, document ids and primary keys. It is nil
	// when the rows have no such identity.
	Key []string
	// Meta are the source's metadata columns, such as the message key of
	// a Pulsar source ("pulsar.key"): expressions and a window's
	// event_time read them by name, parse, filter and map carry them along
	// unchanged, but sinks do not write them and windows do not emit them.
	// Their names hold a dot ("pulsar.key"), so they never clash with
	// fields. In a batch their vectors follow the columns (the payload of
	// a raw record); see MetaIndex.
	Meta []Column
}

// Width is the number of vectors of a batch of the record: the payload of a
// raw record or its columns, then its metadata columns.
func (r Schema) Width() int { return r.base() + len(r.Meta) }

func (r Schema) base() int {
	if r.Raw {
		return 1
	}
	return len(r.Columns)
}

// vectorType is the type of batch vector i.
func (r Schema) vectorType(i int) ColumnType {
	switch b := r.base(); {
	case i >= b:
		return r.Meta[i-b].Type
	case r.Raw:
		return ColumnString
	}
	return r.Columns[i].Type
}

// MetaIndex returns the batch position of the metadata column named name,
// or -1.
func (r Schema) MetaIndex(name string) int {
	for j, c := range r.Meta {
		if c.Name == name {
			return r.base() + j
		}
	}
	return -1
}

// Find returns the batch position and type of the column or, failing
// that, the metadata column named name.
func (r Schema) Find(name string) (int, Column, bool) {
	if i := r.Index(name); i >= 0 {
		return i, r.Columns[i], true
	}
	if i := r.MetaIndex(name); i >= 0 {
		return i, r.Meta[i-r.base()], true
	}
	return -1, Column{}, false
}

// KeyColumns returns the positions of the Key columns (a window's
// window_start and group_by fields), which identify a record among the
// results, or nil when the records have no key or a key column is gone.
func (r Schema) KeyColumns() []int {
	if len(r.Key) == 0 {
		return nil
	}
	cols := make([]int, 0, len(r.Key))
	for _, name := range r.Key {
		i := r.Index(name)
		if i < 0 {
			return nil
		}
		cols = append(cols, i)
	}
	return cols
}

// RawSchema is the schema of unparsed message bytes.
func RawSchema() Schema { return Schema{Raw: true} }

// Index returns the position of the column named name, or -1.
func (r Schema) Index(name string) int {
	for i, c := range r.Columns {
		if c.Name == name {
			return i
		}
	}
	return -1
}

// Lookup returns the column named name.
func (r Schema) Lookup(name string) (Column, bool) {
	if i := r.Index(name); i >= 0 {
		return r.Columns[i], true
	}
	return Column{}, false
}

// Names returns the column names in order.
func (r Schema) Names() []string {
	out := make([]string, len(r.Columns))
	for i, c := range r.Columns {
		out[i] = c.Name
	}
	return out
}

// MetaNames returns the names of the metadata columns in order.
func (r Schema) MetaNames() []string {
	out := make([]string, len(r.Meta))
	for i, c := range r.Meta {
		out[i] = c.Name
	}
	return out
}

// With returns a copy of r where the column named c.Name is replaced by c,
// or c is appended when there is none. Replacing a key column drops the
// key: the rows are no longer identified by it.
func (r Schema) With(c Column) Schema {
	cols := make([]Column, len(r.Columns), len(r.Columns)+1)
	copy(cols, r.Columns)
	key := r.Key
	if i := r.Index(c.Name); i >= 0 {
		cols[i] = c
		if slices.Contains(key, c.Name) {
			key = nil
		}
	} else {
		cols = append(cols, c)
	}
	return Schema{Columns: cols, Key: key, Meta: r.Meta}
}

// Without returns a copy of r without the named columns.
func (r Schema) Without(names ...string) Schema {
	cols := make([]Column, 0, len(r.Columns))
	for _, c := range r.Columns {
		drop := false
		for _, n := range names {
			drop = drop || n == c.Name
		}
		if !drop {
			cols = append(cols, c)
		}
	}
	key := r.Key
	for _, n := range names {
		if slices.Contains(key, n) {
			key = nil // dropping a key column leaves the rows without identity
		}
	}
	return Schema{Columns: cols, Key: key, Meta: r.Meta}
}

// String renders the schema as "{name type, ...}" or "raw bytes", followed
// by " with metadata {name type, ...}" when it has metadata columns.
func (r Schema) String() string {
	s := "raw bytes"
	if !r.Raw {
		s = columnsText(r.Columns)
	}
	if len(r.Meta) > 0 {
		s += " with metadata " + columnsText(r.Meta)
	}
	return s
}

func columnsText(cols []Column) string {
	s := "{"
	for i, c := range cols {
		if i > 0 {
			s += ", "
		}
		s += c.Name + " " + c.Type.String()
	}
	return s + "}"
}
