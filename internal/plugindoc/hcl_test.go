package plugindoc_test

import (
	"testing"

	"github.com/sluice-io/sluice/internal/plugindoc"
	"github.com/sluice-io/sluice/schema"
)

func TestDefaultHCL(t *testing.T) {
	tests := []struct {
		name  string
		field *schema.Field
		want  string
	}{
		{"no default", schema.String("path", "The file to read."), ""},
		{"optional", schema.String("path", "The file to read.").AsOptional(), ""},
		{"string", schema.String("s", "A string argument.").WithDefault("a b"), `"a b"`},
		{"string escapes", schema.String("s", "A string argument.").WithDefault("q\"\\\n\t${x}%{y}$z"), `"q\"\\\n\t$${x}%%{y}$z"`},
		{"control character", schema.String("s", "A string argument.").WithDefault("a\x01"), `"a\u0001"`},
		{"empty string", schema.String("s", "A string argument.").WithDefault(""), `""`},
		{"enum", schema.Enum("e", "An enum argument.", "drop", "fail").WithDefault("drop"), `"drop"`},
		{"expression", schema.Expr("x", "An expression argument.").WithDefault("a == 'b'"), `"a == 'b'"`},
		{"duration", schema.Duration("d", "A duration argument.").WithDefault("30s"), `"30s"`},
		{"byte size string", schema.ByteSize("b", "A byte size argument.").WithDefault("64MiB"), `"64MiB"`},
		{"byte size number", schema.ByteSize("b", "A byte size argument.").WithDefault(int64(1024)), `1024`},
		{"int", schema.Int("i", "An int argument.").WithDefault(0), `0`},
		{"negative int", schema.Int("i", "An int argument.").WithDefault(-5), `-5`},
		{"float", schema.Float("f", "A float argument.").WithDefault(0.25), `0.25`},
		{"whole float", schema.Float("f", "A float argument.").WithDefault(2.0), `2`},
		{"large float", schema.Float("f", "A float argument.").WithDefault(1e300), `1e+300`},
		{"bool", schema.Bool("b", "A bool argument.").WithDefault(false), `false`},
		{"empty list", schema.List("l", schema.TypeString, "A list argument.").WithDefault([]string{}), `[]`},
		{"string list", schema.List("l", schema.TypeString, "A list argument.").WithDefault([]string{"a", "b"}), `["a", "b"]`},
		{"int list", schema.List("l", schema.TypeInt, "A list argument.").WithDefault([]string{"1", "2"}), `[1, 2]`},
		{"float list", schema.List("l", schema.TypeFloat, "A list argument.").WithDefault([]string{"0.5"}), `[0.5]`},
		{"bool list", schema.List("l", schema.TypeBool, "A list argument.").WithDefault([]string{"true"}), `[true]`},
		{"int list bad element", schema.List("l", schema.TypeInt, "A list argument.").WithDefault([]string{"x"}), `["x"]`},
		{"enum list", schema.EnumList("l", "A list argument.", "a", "b").WithDefault([]string{"b"}), `["b"]`},
		{"empty map", schema.Map("m", schema.TypeString, "A map argument.").WithDefault(map[string]string{}), `{}`},
		{"map sorted", schema.Map("m", schema.TypeExpr, "A map argument.").WithDefault(map[string]string{"z": "1", "a": "count()"}), `{ a = "count()", z = "1" }`},
		{"map odd key", schema.Map("m", schema.TypeString, "A map argument.").WithDefault(map[string]string{"a b": "x", "_k-1": "y"}), `{ _k-1 = "y", "a b" = "x" }`},
		{"int map", schema.Map("m", schema.TypeInt, "A map argument.").WithDefault(map[string]string{"n": "3"}), `{ n = 3 }`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := plugindoc.DefaultHCL(tt.field); got != tt.want {
				t.Errorf("DefaultHCL = %s, want %s", got, tt.want)
			}
		})
	}
}
