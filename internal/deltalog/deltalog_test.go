package deltalog

import (
	"encoding/json"
	"reflect"
	"testing"
)

func TestPathEncoding(t *testing.T) {
	tests := []struct{ key, path string }{
		{"part-1.parquet", "part-1.parquet"},
		{"ts=2026-11-25 13%3A04%3A05/part-1.parquet", "ts=2026-11-25%2013%253A04%253A05/part-1.parquet"},
		{"city=Zürich/a b.parquet", "city=Z%C3%BCrich/a%20b.parquet"},
	}
	for _, tt := range tests {
		if got := EncodePath(tt.key); got != tt.path {
			t.Errorf("EncodePath(%q) = %q, want %q", tt.key, got, tt.path)
		}
		if got, err := DecodePath(tt.path); err != nil || got != tt.key {
			t.Errorf("DecodePath(%q) = %q, %v; want %q", tt.path, got, err, tt.key)
		}
	}
}

func TestMergeStats(t *testing.T) {
	parse := func(s string) *Stats {
		st, err := ParseStats(s)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	tests := []struct {
		name string
		in   []string
		want string
	}{
		{"bounds and counts", []string{
			`{"numRecords":2,"minValues":{"n":5,"s":"b","t":"2026-01-01T00:00:00.000Z"},"maxValues":{"n":9007199254740993,"s":"c"},"nullCount":{"n":0,"s":1}}`,
			`{"numRecords":3,"minValues":{"n":-1,"s":"a","t":"2025-01-01T00:00:00.000Z"},"maxValues":{"n":7,"s":"d"},"nullCount":{"n":2,"s":0}}`,
		}, `{"numRecords":5,"minValues":{"n":-1,"s":"a","t":"2025-01-01T00:00:00.000Z"},"maxValues":{"n":9007199254740993,"s":"d"},"nullCount":{"n":2,"s":1}}`},
		{"a bound one file lacks is dropped", []string{
			`{"numRecords":1,"minValues":{"x":1.5},"maxValues":{"x":2},"nullCount":{"x":0}}`,
			`{"numRecords":1,"nullCount":{"x":1}}`,
		}, `{"numRecords":2,"nullCount":{"x":1}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var list []*Stats
			for _, s := range tt.in {
				list = append(list, parse(s))
			}
			if got := MergeStats(list).Encode(); got != tt.want {
				t.Errorf("MergeStats = %s\nwant %s", got, tt.want)
			}
		})
	}
	if MergeStats([]*Stats{parse(`{"minValues":{}}`)}) != nil {
		t.Error("MergeStats without numRecords: want nil")
	}
}

func TestSchemaRoundTrip(t *testing.T) {
	src := `{"type":"struct","fields":[{"name":"a","type":"long","nullable":true,"metadata":{}},` +
		`{"name":"m","type":{"type":"map","keyType":"string","valueType":"string","valueContainsNull":true},"nullable":false,"metadata":{"comment":"kept"}}]}`
	fields, err := ParseSchema(src)
	if err != nil {
		t.Fatal(err)
	}
	if fields[0].Type != "long" || fields[1].Type != "nested" || fields[1].Nullable || FindField(fields, "M") != 1 {
		t.Errorf("fields %+v", fields)
	}
	added := append(fields, Field{Name: "b", Type: "timestamp", Nullable: true})
	var got, want any
	if err := json.Unmarshal([]byte(SchemaString(added)), &got); err != nil {
		t.Fatal(err)
	}
	wantSrc := src[:len(src)-2] + `,{"name":"b","type":"timestamp","nullable":true,"metadata":{}}]}`
	if err := json.Unmarshal([]byte(wantSrc), &want); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("SchemaString = %s\nwant %s", SchemaString(added), wantSrc)
	}
}

func TestProtocolCheck(t *testing.T) {
	for _, tt := range []struct {
		p  Protocol
		ok bool
	}{
		{Protocol{MinReaderVersion: 1, MinWriterVersion: 2}, true},
		{Protocol{MinReaderVersion: 1, MinWriterVersion: 1}, true},
		{Protocol{MinReaderVersion: 3, MinWriterVersion: 7, ReaderFeatures: []string{"deletionVectors"}}, false},
		{Protocol{MinReaderVersion: 1, MinWriterVersion: 4}, false},
	} {
		if err := tt.p.Check(); (err == nil) != tt.ok {
			t.Errorf("Check(%+v) = %v", tt.p, err)
		}
	}
}
