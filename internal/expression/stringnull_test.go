package expression

import (
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"

	"github.com/sluice-io/sluice/record"
	"github.com/sluice-io/sluice/schema"
)

// TestStringOfNull: string(x) of a null field fails, saying which field,
// instead of yielding the text "<nil>"; of a value it is fmt's text.
func TestStringOfNull(t *testing.T) {
	rec := record.Schema{Columns: []record.Column{{Name: "id", Type: record.ColumnInt}}}
	p, diags := Compile(schema.VerbatimText("t.hcl", hcl.Pos{Line: 1, Column: 1}, "string(id)"), rec, "the id")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	b := record.NewBatch(rec, 2)
	b.Columns[0].AppendInt(42)
	b.Columns[0].AppendNull()
	b.Rows = 2
	ev := p.Evaluator(rec)
	ev.Bind(b)
	if v, err := ev.Eval(0); err != nil || v.Str != "42" {
		t.Errorf("string(42) = %+v, %v", v, err)
	}
	if v, err := ev.Eval(1); err == nil || !strings.Contains(err.Error(), `field "id" is null`) {
		t.Errorf("string(null) = %+v, %v; want an error naming the null field", v, err)
	}
}
