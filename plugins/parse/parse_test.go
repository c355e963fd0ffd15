package parse

import (
	"reflect"
	"testing"

	"github.com/sluice-io/sluice/record"

	"github.com/sluice-io/sluice/plugins"
	"github.com/sluice-io/sluice/plugins/plugintest"
)

var standard = plugintest.Events

func TestJSON(t *testing.T) {
	tests := []struct {
		name  string
		src   string
		want  *JSON
		diags []string
	}{
		{
			name: "defaults",
			src: `parse "json" {
  field "user_id" { type = "int" }
  field "ts" { type = "timestamp" }
}`,
			want: &JSON{OnError: OnErrorDeadLetter, Fields: []Field{
				{Name: "user_id", Type: record.ColumnInt, Required: true, Path: []string{"user_id"}},
				{Name: "ts", Type: record.ColumnTimestamp, Unit: "ms", Required: true, Path: []string{"ts"}},
			}},
		},
		{
			name: "everything",
			src: `parse "json" {
  field "ts" {
    type     = "timestamp"
    unit     = "rfc3339"
    required = false
    path     = "meta.time"
  }
  field "_ok2" { type = "bool" }
  on_error = "fail"
}`,
			want: &JSON{OnError: OnErrorFail, Fields: []Field{
				{Name: "ts", Type: record.ColumnTimestamp, Unit: "rfc3339", Path: []string{"meta", "time"}},
				{Name: "_ok2", Type: record.ColumnBool, Required: true, Path: []string{"_ok2"}},
			}},
		},
		{
			name:  "no fields",
			src:   `parse "json" { on_error = "drop" }`,
			diags: []string{"1:1: Missing field block"},
		},
		{
			name: "bad names",
			src: `parse "json" {
  field "user id" { type = "int" }
  field "1st" { type = "int" }
  field "in" { type = "int" }
}`,
			diags: []string{"2:9: Invalid field name", "3:9: Invalid field name", "4:9: Invalid field name"},
		},
		{
			name: "unit on a non-timestamp",
			src: `parse "json" {
  field "user_id" {
    type = "int"
    unit = "s"
  }
}`,
			diags: []string{"4:5: Unit only applies to timestamps"},
		},
		{
			name: "bad paths",
			src: `parse "json" {
  field "a" {
    type = "int"
    path = "payload..id"
  }
  field "b" {
    type = "int"
    path = ""
  }
  field "c" {
    type = "int"
    path = ".x"
  }
  field "d" {
    type = "int"
    path = "x."
  }
}`,
			diags: []string{"4:20: Invalid field path", "8:12: Invalid field path", "12:13: Invalid field path", "16:14: Invalid field path"},
		},
		{
			name: "bad type, unit and on_error",
			src: `parse "json" {
  field "a" { type = "integer" }
  field "b" {
    type = "timestamp"
    unit = "sec"
  }
  on_error = "skip"
}`,
			diags: []string{
				`7:14: Invalid value for argument "on_error"`,
				`2:22: Invalid value for argument "type"`,
				`5:12: Invalid value for argument "unit"`,
			},
		},
		{
			name:  "missing type",
			src:   "parse \"json\" {\n  field \"a\" {}\n}",
			diags: []string{"2:3: Missing required argument"},
		},
		{
			name:  "duplicate field",
			src:   "parse \"json\" {\n  field \"a\" { type = \"int\" }\n  field \"a\" { type = \"int\" }\n}",
			diags: []string{`3:9: Duplicate field "a"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := plugintest.Expect(t, JSONPlugin, tt.src, record.RawSchema(), tt.diags, tt.want)
			if c == nil {
				return
			}
		})
	}
}

func TestCSV(t *testing.T) {
	tests := []struct {
		name  string
		src   string
		want  *CSV
		diags []string
	}{
		{
			name: "defaults",
			src: `parse "csv" {
  field "action" { type = "string" }
}`,
			want: &CSV{OnError: OnErrorDeadLetter, Delimiter: ',', Header: true, Fields: []Field{
				{Name: "action", Type: record.ColumnString, Required: true},
			}},
		},
		{
			name: "tab without header",
			src: `parse "csv" {
  delimiter = "\t"
  header    = false
  field "x" {
    type     = "float"
    required = false
  }
  on_error = "drop"
}`,
			want: &CSV{OnError: OnErrorDrop, Delimiter: '\t', Fields: []Field{
				{Name: "x", Type: record.ColumnFloat},
			}},
		},
		{
			name: "path is json only",
			src: `parse "csv" {
  field "a" {
    type = "int"
    path = "x.y"
  }
}`,
			diags: []string{"4:5: Unsupported argument"},
		},
		{
			name: "long delimiter",
			src: `parse "csv" {
  delimiter = ";;"
  field "a" { type = "int" }
}`,
			diags: []string{"2:15: Invalid delimiter"},
		},
		{
			name: "empty delimiter",
			src: `parse "csv" {
  delimiter = ""
  field "a" { type = "int" }
}`,
			diags: []string{"2:15: Invalid delimiter"},
		},
		{
			name: "quote delimiter and bad name",
			src: `parse "csv" {
  delimiter = "\""
  field "a-b" { type = "int" }
}`,
			diags: []string{"3:9: Invalid field name", "2:15: Invalid delimiter"},
		},
		{
			name:  "no fields",
			src:   `parse "csv" { header = false }`,
			diags: []string{"1:1: Missing field block"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := plugintest.Expect(t, CSVPlugin, tt.src, record.RawSchema(), tt.diags, tt.want)
			if c == nil {
				return
			}
		})
	}
}

// TestExamples builds every documented example and checks that the first
// one of each parser yields the standard test schema.
func TestExamples(t *testing.T) {
	for _, p := range []*plugins.Plugin{JSONPlugin, CSVPlugin} {
		for i, ex := range p.Examples {
			c, diags := plugintest.Build(p, ex.Config, record.RawSchema())
			if len(diags) > 0 {
				t.Fatalf("%s example %q: %s", p.Header(), ex.Title, diags.Error())
			}
			if i == 0 && !reflect.DeepEqual(c.Output(), standard) {
				t.Errorf("%s example %q: output %v, want %v", p.Header(), ex.Title, c.Output(), standard)
			}
		}
	}
}

func TestSuggestName(t *testing.T) {
	for in, want := range map[string]string{"user id": "user_id", "1st": "f_1st", "in": "in_", "a-b": "a_b", "%": "f_"} {
		if got := suggestName(in); got != want {
			t.Errorf("suggestName(%q) = %q, want %q", in, got, want)
		}
	}
}
