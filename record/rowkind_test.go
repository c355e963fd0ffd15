package record

import (
	"slices"
	"testing"
)

func TestRowKindNames(t *testing.T) {
	for i, name := range []string{"insert", "update", "delete"} {
		k := RowKind(i)
		if k.String() != name {
			t.Errorf("RowKind(%d) is %q, want %q", i, k, name)
		}
		if got, ok := ParseRowKind(name); !ok || got != k {
			t.Errorf("ParseRowKind(%q) = %v, %v", name, got, ok)
		}
	}
	if _, ok := ParseRowKind("upsert"); ok {
		t.Error(`ParseRowKind("upsert") succeeded`)
	}
	if s := RowKind(7).String(); s != "RowKind(7)" {
		t.Errorf("RowKind(7) is %q", s)
	}
}

// kindBatch is a one-int-column batch.
func kindBatch() *Batch { return NewBatch(Schema{Columns: []Column{{"x", ColumnInt}}}, 4) }

// appendWithKind appends x with kind k.
func appendWithKind(b *Batch, x int64, k RowKind) {
	b.Columns[0].AppendInt(x)
	b.AppendKind(k)
	b.Rows++
}

// TestAppendKind checks that inserts leave Kinds empty, the first other
// kind back-fills inserts, Kind reads both forms, and Reset empties it.
func TestAppendKind(t *testing.T) {
	tests := []struct {
		name  string
		kinds []RowKind
		held  []RowKind // b.Kinds afterwards
	}{
		{"no rows", nil, nil},
		{"inserts only", []RowKind{Insert, Insert, Insert}, nil},
		{"an update after inserts", []RowKind{Insert, Insert, Update}, []RowKind{Insert, Insert, Update}},
		{"a delete first", []RowKind{Delete, Insert}, []RowKind{Delete, Insert}},
		{"inserts after a change", []RowKind{Insert, Update, Insert, Insert}, []RowKind{Insert, Update, Insert, Insert}},
	}
	for _, tt := range tests {
		b := kindBatch()
		for i, k := range tt.kinds {
			appendWithKind(b, int64(i), k)
		}
		if !slices.Equal(b.Kinds, tt.held) {
			t.Errorf("%s: Kinds %v, want %v", tt.name, b.Kinds, tt.held)
		}
		for i, k := range tt.kinds {
			if b.Kind(i) != k {
				t.Errorf("%s: Kind(%d) = %v, want %v", tt.name, i, b.Kind(i), k)
			}
		}
		if err := b.Validate(); err != nil {
			t.Errorf("%s: %v", tt.name, err)
		}
		if b.HasChanges() != (tt.held != nil) {
			t.Errorf("%s: HasChanges %v", tt.name, b.HasChanges())
		}
		b.Reset()
		if len(b.Kinds) != 0 || b.HasChanges() {
			t.Errorf("%s: kinds after Reset: %v", tt.name, b.Kinds)
		}
	}
}

func TestValidateKinds(t *testing.T) {
	b := kindBatch()
	appendWithKind(b, 1, Update)
	b.Columns[0].AppendInt(2)
	b.Rows++ // a row appended without its kind
	if b.Validate() == nil {
		t.Error("Validate accepted 1 kind for 2 rows")
	}
	b.Kinds = append(b.Kinds, Insert)
	if err := b.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
	b.Kinds[0] = Delete + 1
	if b.Validate() == nil {
		t.Error("Validate accepted an unknown kind")
	}
}

// TestAppendKinds copies the kinds of selected rows, between batches with
// and without kinds, as a filter does.
func TestAppendKinds(t *testing.T) {
	src := func(kinds ...RowKind) *Batch {
		b := kindBatch()
		for i, k := range kinds {
			appendWithKind(b, int64(i), k)
		}
		return b
	}
	tests := []struct {
		name      string
		dst, from *Batch
		rows      []int32
		want      []RowKind // the destination's Kind of every row
		held      bool      // the destination holds kinds afterwards
	}{
		{"inserts into inserts", src(Insert), src(Insert, Insert, Insert), []int32{0, 2}, []RowKind{Insert, Insert, Insert}, false},
		{"changes into inserts", src(Insert, Insert), src(Insert, Update, Delete), []int32{2, 0, 1}, []RowKind{Insert, Insert, Delete, Insert, Update}, true},
		{"inserts into changes", src(Update), src(Insert, Insert), []int32{1, 0}, []RowKind{Update, Insert, Insert}, true},
		{"no rows", src(Update), src(Insert), nil, []RowKind{Update}, true},
		{"into an empty batch", src(), src(Delete, Insert), []int32{0}, []RowKind{Delete}, true},
	}
	for _, tt := range tests {
		tt.dst.AppendKinds(tt.from, tt.rows)
		for _, r := range tt.rows {
			tt.dst.Columns[0].AppendFrom(&tt.from.Columns[0], int(r))
		}
		tt.dst.Rows += len(tt.rows)
		if err := tt.dst.Validate(); err != nil {
			t.Errorf("%s: %v", tt.name, err)
		}
		var got []RowKind
		for i := range tt.dst.Rows {
			got = append(got, tt.dst.Kind(i))
		}
		if !slices.Equal(got, tt.want) || (len(tt.dst.Kinds) != 0) != tt.held {
			t.Errorf("%s: kinds %v (held %v), want %v (held %v)", tt.name, got, tt.dst.Kinds, tt.want, tt.held)
		}
	}
}

// BenchmarkAppendKindInsert is the cost of recording an insert's kind in a
// batch of inserts: nothing but a test.
func BenchmarkAppendKindInsert(b *testing.B) {
	bt := kindBatch()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if bt.Rows == 1024 {
			bt.Rows = 0
		}
		bt.AppendKind(Insert)
		bt.Rows++
	}
	if len(bt.Kinds) != 0 {
		b.Fatal("inserts were recorded")
	}
}
