package record

import "testing"

func TestOpView(t *testing.T) {
	rec := Schema{Columns: []Column{{Name: "n", Type: ColumnInt}}, Meta: []Column{{Name: "m", Type: ColumnString}}}
	b := NewBatch(rec, 3)
	for i, k := range []RowKind{Insert, Update, Delete} {
		b.Columns[0].AppendInt(int64(i))
		b.Columns[1].AppendText("meta")
		b.AppendKind(k)
		b.Rows++
	}
	out := WithOp(rec)
	var view Batch
	for range 2 { // the op column is reused
		OpView(&view, b, out)
		if err := view.Validate(); err != nil {
			t.Fatal(err)
		}
		if view.Rows != 3 || view.Columns[1].String(0) != "insert" || view.Columns[1].String(1) != "update" || view.Columns[1].String(2) != "delete" {
			t.Fatalf("op column %q %q %q", view.Columns[1].String(0), view.Columns[1].String(1), view.Columns[1].String(2))
		}
		if view.Columns[0].Ints[2] != 2 || view.Columns[2].String(0) != "meta" {
			t.Fatal("the other columns moved")
		}
	}
	if len(rec.Columns) != 1 || out.Columns[1].Name != OpColumn {
		t.Fatalf("WithOp changed its argument or misnamed the column: %v %v", rec, out)
	}
}
