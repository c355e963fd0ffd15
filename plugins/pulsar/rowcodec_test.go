package pulsar

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/sluice-io/sluice/record"
)

// randomSchema returns a schema of up to 12 columns of every field type
// (or raw bytes) and up to 3 metadata columns, maps of strings included.
func randomSchema(rng *rand.Rand) record.Schema {
	var s record.Schema
	if rng.IntN(6) == 0 {
		s.Raw = true
	} else {
		for i := range rng.IntN(12) + 1 {
			s.Columns = append(s.Columns, record.Column{Name: fmt.Sprintf("f%d", i), Type: record.ColumnType(rng.IntN(5) + 1)})
		}
	}
	for i := range rng.IntN(4) {
		t := record.ColumnType(rng.IntN(6) + 1)
		s.Meta = append(s.Meta, record.Column{Name: fmt.Sprintf("m.%d", i), Type: t})
	}
	return s
}

// appendRandomRow appends a row of random values, a fifth of them null.
func appendRandomRow(rng *rand.Rand, b *record.Batch) {
	for i := range b.Columns {
		v := &b.Columns[i]
		if rng.IntN(5) == 0 {
			v.AppendNull()
			continue
		}
		switch v.Type {
		case record.ColumnInt, record.ColumnTimestamp:
			v.AppendInt([]int64{0, -1, math.MinInt64, math.MaxInt64, rng.Int64() - rng.Int64()}[rng.IntN(5)])
		case record.ColumnFloat:
			v.AppendFloat([]float64{0, math.Copysign(0, -1), math.Inf(1), math.NaN(), rng.NormFloat64() * 1e9}[rng.IntN(5)])
		case record.ColumnBool:
			v.AppendBool(rng.IntN(2) == 0)
		case record.ColumnString:
			s := make([]byte, rng.IntN(300))
			for j := range s {
				s[j] = byte(rng.IntN(256))
			}
			v.AppendString(s)
		case record.ColumnStringMap:
			m := map[string]string{}
			for j := range rng.IntN(4) {
				m[fmt.Sprintf("k%d", j)] = fmt.Sprintf("v%d", rng.IntN(100))
			}
			v.AppendStringMap(m)
		}
	}
	b.Rows++
}

// sameVectors reports the first difference between the vectors of a and
// b, floats compared by their bits; "" when there is none.
func sameVectors(a, b *record.Batch) string {
	if a.Rows != b.Rows {
		return fmt.Sprintf("%d rows, want %d", b.Rows, a.Rows)
	}
	for i := range a.Columns {
		va, vb := &a.Columns[i], &b.Columns[i]
		for r := range a.Rows {
			if va.IsNull(r) != vb.IsNull(r) {
				return fmt.Sprintf("vector %d row %d: null %v, want %v", i, r, vb.IsNull(r), va.IsNull(r))
			}
			if va.IsNull(r) {
				continue
			}
			var same bool
			switch va.Type {
			case record.ColumnInt, record.ColumnTimestamp:
				same = va.Ints[r] == vb.Ints[r]
			case record.ColumnFloat:
				same = math.Float64bits(va.Floats[r]) == math.Float64bits(vb.Floats[r])
			case record.ColumnBool:
				same = va.Bools[r] == vb.Bools[r]
			default:
				same = string(va.StringBytes(r)) == string(vb.StringBytes(r))
			}
			if !same {
				return fmt.Sprintf("vector %d row %d differs", i, r)
			}
		}
	}
	return ""
}

// TestRowCodecRoundTrip encodes random rows of random schemas and decodes
// them back, into a batch that already holds rows.
func TestRowCodecRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 300 {
		s := randomSchema(rng)
		c := newRowCodec(s)
		in := record.NewBatch(s, 0)
		for range rng.IntN(40) {
			appendRandomRow(rng, in)
		}
		msg := startMessage(nil)
		for r := range in.Rows {
			msg = c.appendRow(msg, in, r)
		}
		finishMessage(msg, in.Rows)

		out := record.NewBatch(s, 0)
		appendRandomRow(rng, out) // decoding appends
		n, data, err := messageRows(msg)
		if err != nil || n != in.Rows {
			t.Fatalf("round %d: header: %d rows, %v; want %d", round, n, err, in.Rows)
		}
		for range n {
			if data, err = c.decodeRow(out, data); err != nil {
				t.Fatalf("round %d (%s): %v", round, s, err)
			}
			out.Rows++
		}
		if len(data) != 0 {
			t.Fatalf("round %d: %d bytes left over", round, len(data))
		}
		if err := out.Validate(); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		// Compare the decoded rows (after the first) with the input.
		tail := record.NewBatch(s, 0)
		for r := 1; r < out.Rows; r++ {
			for i := range out.Columns {
				tail.Columns[i].AppendFrom(&out.Columns[i], r)
			}
			tail.Rows++
		}
		if d := sameVectors(in, tail); d != "" {
			t.Fatalf("round %d (%s): %s", round, s, d)
		}
	}
}

// TestRowCodecRefusals: a message that is not rows of the codec's schema
// fails with errRowFormat and leaves the batch as it was.
func TestRowCodecRefusals(t *testing.T) {
	s := record.Schema{Columns: []record.Column{{Name: "s", Type: record.ColumnString}, {Name: "b", Type: record.ColumnBool}, {Name: "i", Type: record.ColumnInt}}}
	c := newRowCodec(s)
	good := record.NewBatch(s, 1)
	good.Columns[0].AppendText("hello")
	good.Columns[1].AppendBool(true)
	good.Columns[2].AppendInt(300)
	good.Rows = 1
	row := c.appendRow(nil, good, 0)
	tests := []struct {
		name string
		msg  []byte
	}{
		{"empty", nil},
		{"another format", append([]byte{9, 1, 0, 0, 0}, row...)},
		{"more rows than bytes", []byte{rowFormat, 0xff, 0xff, 0, 0, 0}},
		{"a string cut short", append(startMessageWith(1), row[:3]...)},
		{"a bool that is not 0 or 1", append(startMessageWith(1), append(append([]byte{}, row[:7]...), 7, 0x80)...)},
		{"an int cut short", append(startMessageWith(1), row[:len(row)-1]...)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := record.NewBatch(s, 1)
			n, data, err := messageRows(tc.msg)
			for i := 0; err == nil && i < n; i++ {
				if data, err = c.decodeRow(out, data); err == nil {
					out.Rows++
				}
			}
			if !errors.Is(err, errRowFormat) {
				t.Fatalf("err = %v, want errRowFormat", err)
			}
			if err := out.Validate(); err != nil {
				t.Fatalf("the batch was left changed: %v", err)
			}
		})
	}
}

func startMessageWith(rows int) []byte {
	m := startMessage(nil)
	finishMessage(m, rows)
	return m
}

func TestSchemaFingerprint(t *testing.T) {
	base := record.Schema{Columns: []record.Column{{Name: "a", Type: record.ColumnInt}}, Meta: []record.Column{{Name: "pulsar.key", Type: record.ColumnString}}}
	others := []record.Schema{
		{Columns: []record.Column{{Name: "a", Type: record.ColumnFloat}}, Meta: base.Meta},
		{Columns: []record.Column{{Name: "b", Type: record.ColumnInt}}, Meta: base.Meta},
		{Columns: base.Columns},
		{Raw: true, Meta: base.Meta},
		{Columns: append([]record.Column{}, base.Columns[0], record.Column{Name: "pulsar.key", Type: record.ColumnString}), Meta: nil},
	}
	fp := schemaFingerprint(base)
	withKey := base
	withKey.Key = []string{"a"}
	if schemaFingerprint(withKey) != fp {
		t.Error("the key changed the fingerprint: it does not change the encoding")
	}
	for i, o := range others {
		if schemaFingerprint(o) == fp {
			t.Errorf("schema %d (%s) has the fingerprint of %s", i, o, base)
		}
	}
}

// FuzzRowDecode decodes arbitrary bytes as a message of rows of a schema
// with every vector type: it never panics, and leaves a valid batch.
func FuzzRowDecode(f *testing.F) {
	s := record.Schema{
		Columns: []record.Column{
			{Name: "s", Type: record.ColumnString}, {Name: "i", Type: record.ColumnInt}, {Name: "f", Type: record.ColumnFloat},
			{Name: "b", Type: record.ColumnBool}, {Name: "t", Type: record.ColumnTimestamp},
		},
		Meta: []record.Column{{Name: "m.props", Type: record.ColumnStringMap}},
	}
	c := newRowCodec(s)
	rng := rand.New(rand.NewPCG(3, 4))
	in := record.NewBatch(s, 0)
	for range 3 {
		appendRandomRow(rng, in)
	}
	msg := startMessage(nil)
	for r := range in.Rows {
		msg = c.appendRow(msg, in, r)
	}
	finishMessage(msg, in.Rows)
	f.Add(msg)
	f.Add([]byte{rowFormat, 1, 0, 0, 0, 0xff})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, msg []byte) {
		out := record.NewBatch(s, 0)
		n, data, err := messageRows(msg)
		for i := 0; err == nil && i < n; i++ {
			if data, err = c.decodeRow(out, data); err == nil {
				out.Rows++
			}
		}
		if verr := out.Validate(); verr != nil {
			t.Fatalf("after %v: %v", err, verr)
		}
		if err == nil {
			// What decodes encodes to bytes that decode the same.
			again := startMessage(nil)
			for r := range out.Rows {
				again = c.appendRow(again, out, r)
			}
			finishMessage(again, out.Rows)
			back := record.NewBatch(s, 0)
			_, data, _ := messageRows(again)
			for range out.Rows {
				if data, err = c.decodeRow(back, data); err != nil {
					t.Fatalf("re-encoded rows do not decode: %v", err)
				}
				back.Rows++
			}
			if d := sameVectors(out, back); d != "" {
				t.Fatal(d)
			}
		}
	})
}
