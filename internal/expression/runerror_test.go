package expression

import (
	"errors"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"

	"github.com/sluice-io/sluice/schema"
)

// TestRunErrors checks that every run-time failure reaches users in the
// pipeline's terms, the same from the closures and from the VM: the stage,
// the expression's place in the file, the problem and the expression.
func TestRunErrors(t *testing.T) {
	nulls := row{nil, nil, nil, nil, nil}
	odd := row{-3, "{x", int64(1700000000000), 0.5, true}
	empty := row{0, "", int64(0), 0.0, false}
	tests := []struct {
		src  string
		row  row
		want string // the whole message; "" for no error
	}{
		{"price > 10", nulls, `filter "where" at t.hcl:1:10: field "price" is null in "price > 10"`},
		{"price > user_id", nulls, `filter "where" at t.hcl:1:10: fields "price" and "user_id" are null in "price > user_id"`},
		{"lower(action) == 'x'", nulls, `filter "where" at t.hcl:1:10: field "action" is null in "lower(action) == 'x'"`},
		{"!ok", nulls, `filter "where" at t.hcl:1:10: field "ok" is null in "!ok"`},
		{"ok ? 1 : 2", nulls, `filter "where" at t.hcl:1:10: field "ok" is null in "ok ? 1 : 2"`},
		{"ts.Hour()", nulls, `filter "where" at t.hcl:1:10: field "ts" is null in "ts.Hour()"`},
		{"int(action)", nulls, `filter "where" at t.hcl:1:10: field "action" is null in "int(action)"`},
		{"len(action)", nulls, `filter "where" at t.hcl:1:10: field "action" is null in "len(action)"`},
		{"action[10:20]", nulls, `filter "where" at t.hcl:1:10: field "action" is null in "action[10:20]"`},
		{"(action ?? 'x') + action", nulls, `filter "where" at t.hcl:1:10: field "action" is null in "(action ?? 'x') + action"`},
		{"user_id % 0", odd, `filter "where" at t.hcl:1:10: division by zero in "user_id % 0"`},
		{"7 % (user_id + 3)", odd, `filter "where" at t.hcl:1:10: division by zero in "7 % (user_id + 3)"`},
		{"(user_id ?? 1) % 0", nulls, `filter "where" at t.hcl:1:10: division by zero in "(user_id ?? 1) % 0"`},
		{"int(action)", odd, `filter "where" at t.hcl:1:10: int() cannot convert "{x" to a number in "int(action)"`},
		{"float(action)", empty, `filter "where" at t.hcl:1:10: float() cannot convert "" to a number in "float(action)"`},
		{"split(action, ',')[3]", odd, `filter "where" at t.hcl:1:10: index 3 is out of range (length 1) in "split(action, ',')[3]"`},
		{"duration(action) > duration('1s')", odd, `filter "where" at t.hcl:1:10: invalid duration "{x" in "duration(action) > duration('1s')"`},
		{"date(action) > now()", odd, `filter "where" at t.hcl:1:10: invalid date "{x" in "date(action) > now()"`},
		{"int(fromJSON(action))", odd, `filter "where" at t.hcl:1:10: invalid JSON: invalid character 'x' looking for beginning of object key string in "int(fromJSON(action))"`},
		{"int(fromJSON('{}'))", odd, `filter "where" at t.hcl:1:10: int() cannot convert an object in "int(fromJSON('{}'))"`},
		{"repeat(action, user_id)", odd, `filter "where" at t.hcl:1:10: invalid argument for repeat (expected positive integer, got -3) in "repeat(action, user_id)"`},
		{"min(1, price)", odd, `filter "where" at t.hcl:1:10: the result 0.5 is a float, but the expression was checked to yield an int: convert it with int(), float() or string() in "min(1, price)"`},
		// No error: results of named Go types, and ints for floats.
		{"ts.Month()", odd, ""},
		{"max(price, user_id + 10)", odd, ""},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			p, diags := Compile(literal(tt.src), events, "the test expression")
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			for _, e := range []*Evaluator{p.Evaluator(events), p.VMEvaluator(events)} {
				e.Named(`filter "where"`).Bind(batchOf(tt.row))
				_, err := e.Eval(0)
				if tt.want == "" {
					if err != nil {
						t.Fatalf("fast=%v: %v", e.Fast(), err)
					}
					continue
				}
				var re *RunError
				if !errors.As(err, &re) || err.Error() != tt.want {
					t.Fatalf("fast=%v: error\n %v\nwant\n %s", e.Fast(), err, tt.want)
				}
			}
		})
	}
}

// TestRunErrorPlaces checks how errors name an unnamed expression, one that
// is not written in a file, and the part of a string CompilePart compiled
// (an aggregate's argument).
func TestRunErrorPlaces(t *testing.T) {
	agg := schema.VerbatimText("p.hcl", hcl.Pos{Line: 7, Column: 14, Byte: 80}, "sum(price * 2)")
	part, diags := CompilePart(agg, 4, 13, events, "the argument")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	whole, _ := Compile(schema.Text{Value: "price * 2"}, events, "x")
	tests := []struct {
		e    *Evaluator
		want string
	}{
		{part.Evaluator(events).Named(`window aggregate "revenue"`), `window aggregate "revenue" at p.hcl:7:18: field "price" is null in "price * 2"`},
		{part.Evaluator(events), `expression at p.hcl:7:18: field "price" is null in "price * 2"`},
		{whole.Evaluator(events).Named(`map "total"`), `map "total": field "price" is null in "price * 2"`},
	}
	for _, tt := range tests {
		tt.e.Bind(batchOf(row{1, "a", 0, nil, true}))
		if _, err := tt.e.Eval(0); err == nil || err.Error() != tt.want {
			t.Errorf("error\n %v\nwant\n %s", err, tt.want)
		}
	}
}

// TestProblemNoGoWords runs the translation over messages of Go's and
// expr's run time no rule knows.
func TestProblemNoGoWords(t *testing.T) {
	tests := []struct {
		msg   string
		nulls []string
		want  string
	}{
		{"runtime error: invalid operation: <nil> + int", nil, "invalid operation: null + int"},
		{"something odd", []string{"a"}, `field "a" is null`},
		{"cannot fetch Hour from <nil>", []string{"a", "b", "c"}, `fields "a", "b" and "c" are null`},
		{"interface conversion: interface {} is string, not float64", nil, "a string where a float is needed"},
		{"cannot fetch x from map[string]interface {}", nil, `an object has no field or method "x"`},
		{"runtime error: index out of range [5] with length 3", nil, "index 5 is out of range (length 3)"},
		{"invalid argument for abs (type string)", nil, "abs() cannot take a string"},
	}
	for _, tt := range tests {
		got := problem(errors.New(tt.msg), tt.nulls)
		if got != tt.want {
			t.Errorf("problem(%q, %q) = %q, want %q", tt.msg, tt.nulls, got, tt.want)
		}
		for _, w := range []string{"<nil>", "interface", "runtime error", "float64", "map[", "reflect"} {
			if strings.Contains(got, w) {
				t.Errorf("problem(%q) = %q says %q", tt.msg, got, w)
			}
		}
	}
}
