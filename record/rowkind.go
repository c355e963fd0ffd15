package record

import "fmt"

// RowKind says what a row does to the results a stage emitted before, as
// Flink's RowKind does (without update-before): a window that re-emits a
// result makes a changelog, keyed by its output schema's Key.
type RowKind uint8

// The row kinds. Insert is the zero value: a batch without kinds holds
// inserts only.
const (
	// Insert adds a result: the first row of its key.
	Insert RowKind = iota
	// Update replaces the result with the same key (Schema.Key).
	Update
	// Delete removes the result with the same key; its other columns hold
	// the values last emitted for that key.
	Delete
)

// RowKindNames lists the names of the kinds, in order: what an op column
// holds and what the docs call them.
var RowKindNames = []string{"insert", "update", "delete"}

// String returns the kind's name: "insert", "update" or "delete".
func (k RowKind) String() string {
	if int(k) < len(RowKindNames) {
		return RowKindNames[k]
	}
	return fmt.Sprintf("RowKind(%d)", uint8(k))
}

// ParseRowKind returns the kind named s ("insert", "update", "delete").
func ParseRowKind(s string) (RowKind, bool) {
	for i, n := range RowKindNames {
		if n == s {
			return RowKind(i), true
		}
	}
	return Insert, false
}

// Kind returns the kind of row i: Insert when the batch holds no kinds.
func (b *Batch) Kind(i int) RowKind {
	if i < len(b.Kinds) {
		return b.Kinds[i]
	}
	return Insert
}

// HasChanges reports whether some row of the batch is an Update or a
// Delete.
func (b *Batch) HasChanges() bool {
	for _, k := range b.Kinds {
		if k != Insert {
			return true
		}
	}
	return false
}

// AppendKind records k as the kind of the row being appended, row b.Rows:
// call it with the row's values, before counting the row (b.Rows++). An
// Insert into a batch of inserts costs nothing; the first other kind
// back-fills Inserts for the rows before it, and from then on every row
// appended must get its kind.
func (b *Batch) AppendKind(k RowKind) {
	if k == Insert && len(b.Kinds) == 0 {
		return
	}
	b.fillKinds(b.Rows)
	b.Kinds = append(b.Kinds, k)
}

// AppendKinds records the kinds of rows of src as those of the rows being
// appended from them, from row b.Rows on, as Vector.AppendRows copies
// their values: call it before adding len(rows) to b.Rows. It does nothing
// when neither batch holds kinds.
func (b *Batch) AppendKinds(src *Batch, rows []int32) {
	if len(src.Kinds) == 0 {
		if len(b.Kinds) != 0 {
			b.fillKinds(b.Rows + len(rows))
		}
		return
	}
	b.fillKinds(b.Rows)
	for _, r := range rows {
		b.Kinds = append(b.Kinds, src.Kind(int(r)))
	}
}

// fillKinds appends Inserts to b.Kinds until it holds n kinds.
func (b *Batch) fillKinds(n int) {
	for len(b.Kinds) < n {
		b.Kinds = append(b.Kinds, Insert)
	}
}
