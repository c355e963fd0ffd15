package parse

import (
	"testing"

	"github.com/sluice-io/sluice/record"
)

// TestParseCarriesMetadata checks that a source's metadata columns reach
// the parsed records of the messages that parse, row for row, and that a
// rejected message takes its metadata with it.
func TestParseCarriesMetadata(t *testing.T) {
	meta := []record.Column{{Name: "src.key", Type: record.ColumnString}, {Name: "src.time", Type: record.ColumnTimestamp}}
	fields := []Field{{Name: "n", Type: record.ColumnInt, Path: []string{"n"}, Required: true}}
	csvFields := []Field{{Name: "n", Type: record.ColumnInt, Required: true}}
	tests := []struct {
		name   string
		parser interface {
			Output() record.Schema
			Transform(in, out *record.Batch, reject func(int, string))
		}
		msgs []string
	}{
		{"json", &JSON{Fields: fields, Meta: meta, OnError: OnErrorDeadLetter}, []string{`{"n":1}`, `{"n":"bad"}`, `{"n":3}`}},
		{"csv", &CSV{Fields: csvFields, Meta: meta, OnError: OnErrorDeadLetter, Delimiter: ','}, []string{"1", "bad", "3"}},
	}
	for _, tt := range tests {
		in := messages(meta, tt.msgs)
		name, p := tt.name, tt.parser
		out := record.NewBatch(p.Output(), 3)
		var rejected []int
		p.Transform(in, out, func(row int, _ string) { rejected = append(rejected, row) })
		if err := out.Validate(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if out.Rows != 2 || len(rejected) != 1 || rejected[0] != 1 {
			t.Fatalf("%s: %d rows, rejected %v", name, out.Rows, rejected)
		}
		if k := out.Columns[1]; k.String(0) != "k0" || !k.IsNull(1) {
			t.Errorf("%s: keys %q/%v, want k0 and null", name, k.String(0), k.IsNull(1))
		}
		if ts := out.Columns[2].Ints; ts[0] != 100 || ts[1] != 102 {
			t.Errorf("%s: times %v, want [100 102]", name, ts)
		}
		if got := p.Output().String(); got != "{n int} with metadata {src.key string, src.time timestamp}" {
			t.Errorf("%s: output %s", name, got)
		}
	}
}

// messages is a raw batch of msgs with metadata: keys k0, k1, then null;
// times 100, 101, 102.
func messages(meta []record.Column, msgs []string) *record.Batch {
	in := record.NewBatch(record.Schema{Raw: true, Meta: meta}, len(msgs))
	for i, msg := range msgs {
		in.Columns[0].AppendString([]byte(msg))
		if i == 2 {
			in.Columns[1].AppendNull()
		} else {
			in.Columns[1].AppendString([]byte{'k', byte('0' + i)})
		}
		in.Columns[2].AppendInt(int64(100 + i))
		in.Origins = append(in.Origins, record.Origin{Offset: int64(i)})
		in.Rows++
	}
	return in
}
