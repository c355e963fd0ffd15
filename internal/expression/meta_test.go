package expression

import (
	"strings"
	"testing"

	"github.com/sluice-io/sluice/record"

	"github.com/sluice-io/sluice/schema"
)

// withMeta is a parsed record carrying a Pulsar source's metadata.
var withMeta = record.Schema{
	Columns: []record.Column{{Name: "action", Type: record.ColumnString}},
	Meta: []record.Column{
		{Name: "pulsar.key", Type: record.ColumnString},
		{Name: "pulsar.properties", Type: record.ColumnStringMap},
		{Name: "pulsar.publish_time", Type: record.ColumnTimestamp},
		{Name: "pulsar.event_time", Type: record.ColumnTimestamp},
	},
}

// metaBatch holds two rows: one with every metadata value, one with a null
// key and event time and no properties.
func metaBatch() *record.Batch {
	b := record.NewBatch(withMeta, 2)
	b.Columns[0].AppendString([]byte("click"))
	b.Columns[1].AppendString([]byte("user-7"))
	b.Columns[2].AppendString(record.AppendStringMap(nil, map[string]string{"region": "eu", "tier": "gold"}))
	b.Columns[3].AppendInt(1700000000000)
	b.Columns[4].AppendInt(1699999999000)
	b.Columns[0].AppendString([]byte("view"))
	b.Columns[1].AppendNull()
	b.Columns[2].AppendString(nil)
	b.Columns[3].AppendInt(1700000001000)
	b.Columns[4].AppendNull()
	b.Rows = 2
	return b
}

func TestMetadataInExpressions(t *testing.T) {
	tests := []struct {
		src  string
		want [2]any // per row: int64, string, bool
		fast bool
	}{
		{src: "pulsar.key", want: [2]any{"user-7", ""}, fast: true},
		{src: "pulsar.key == 'user-7' && action == 'click'", want: [2]any{true, false}, fast: true},
		{src: "pulsar.properties['region']", want: [2]any{"eu", ""}, fast: true},
		{src: "pulsar.properties.tier + '/' + action", want: [2]any{"gold/click", "/view"}, fast: true},
		{src: "'region' in pulsar.properties", want: [2]any{true, false}},
		{src: "pulsar.publish_time", want: [2]any{int64(1700000000000), int64(1700000001000)}, fast: true},
		{src: "pulsar.publish_time.Year()", want: [2]any{int64(2023), int64(2023)}},
		{src: "pulsar.event_time.Year()", want: [2]any{int64(2023), int64(1)}}, // null reads as the zero time
		{src: "pulsar.publish_time - pulsar.event_time > duration('0s')", want: [2]any{true, true}},
	}
	b := metaBatch()
	for _, tt := range tests {
		prog, diags := Compile(schema.Text{Value: tt.src}, withMeta, "the test")
		if diags.HasErrors() {
			t.Errorf("%s: %v", tt.src, diags)
			continue
		}
		for _, e := range []*Evaluator{prog.Evaluator(withMeta), prog.VMEvaluator(withMeta)} {
			e.Bind(b)
			for row := range 2 {
				v, err := e.Eval(row)
				if err != nil {
					t.Errorf("%s row %d (fast %v): %v", tt.src, row, e.Fast(), err)
					continue
				}
				if got := valueOf(v); got != tt.want[row] {
					t.Errorf("%s row %d (fast %v) = %v (%T), want %v", tt.src, row, e.Fast(), got, got, tt.want[row])
				}
			}
		}
		if got := prog.Evaluator(withMeta).Fast(); got != tt.fast {
			t.Errorf("%s: fast path %v, want %v", tt.src, got, tt.fast)
		}
	}
}

func TestMetadataErrors(t *testing.T) {
	tests := []struct{ src, want string }{
		{"pulsar.nope", `no metadata field "pulsar.nope"`},
		{"pulsar.properties", `pulsar.properties["region"]`},
		{"kafka.key", "Source metadata here: pulsar.key, pulsar.properties"},
	}
	for _, tt := range tests {
		_, diags := Compile(schema.Text{Value: tt.src}, withMeta, "the test")
		if !diags.HasErrors() || !strings.Contains(diags.Error(), tt.want) {
			t.Errorf("%s: diagnostics %v, want one containing %q", tt.src, diags, tt.want)
		}
	}
}
