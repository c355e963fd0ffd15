package expression

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/sluice-io/sluice/schema"
)

// RunError is an expression that failed on one record, told in the terms of
// the pipeline file rather than Go's: which block and argument, where the
// expression is written, what went wrong, and the expression. Its Error is
// one line, the reason a dead letter carries, e.g.
//
//	filter "where" at pipelines/x.hcl:12:14: field "price" is null in "price > 10"
type RunError struct {
	// Stage names the block and argument, e.g. `filter "where"` (see
	// Evaluator.Named); "expression" when the evaluator was not named.
	Stage string
	// At is where the expression is written. Its Filename is empty when the
	// expression did not come from a file.
	At hcl.Range
	// Expr is the expression's text.
	Expr string
	// Problem says what failed, e.g. `field "price" is null` or `division
	// by zero`.
	Problem string
}

// Error returns `STAGE at FILE:LINE:COL: PROBLEM in "EXPR"`, without the
// position when the expression has none.
func (e *RunError) Error() string {
	at := ""
	if e.At.Filename != "" {
		at = " at " + schema.At(e.At)
	}
	return fmt.Sprintf("%s%s: %s in %q", e.Stage, at, e.Problem, e.Expr)
}

// runError explains err, a failure of p's evaluation in a row where the
// fields nulls (read by p) are null.
func runError(p *Program, stage string, err error, nulls []string) *RunError {
	if stage == "" {
		stage = "expression"
	}
	return &RunError{Stage: stage, At: p.Source.RangeOf(p.from, p.to), Expr: p.Code(), Problem: problem(err, nulls)}
}

// problem says in the pipeline's terms why an evaluation failed: err is what
// the closures, a builtin or expr's VM reported (messages written for Go
// programmers, such as "interface conversion: interface {} is nil, not
// string"), nulls the fields the program reads that are null in the row.
//
// A message about a nil value, or one no rule knows, in a row with null
// fields is about those fields: the VM sees a null field as nil.
func problem(err error, nulls []string) string {
	var plain plainProblem
	if errors.As(err, &plain) {
		return string(plain)
	}
	msg := strings.TrimPrefix(vmError(err).Error(), "runtime error: ")
	if len(nulls) > 0 && aboutNil(msg) {
		return nullProblem(nulls)
	}
	var syntax *json.SyntaxError
	var unmarshal *json.UnmarshalTypeError
	if errors.As(err, &syntax) || errors.As(err, &unmarshal) {
		return "invalid JSON: " + msg
	}
	for _, r := range problemRules {
		if m := r.re.FindStringSubmatch(msg); m != nil {
			return r.explain(m)
		}
	}
	if len(nulls) > 0 {
		return nullProblem(nulls)
	}
	return goWords.Replace(msg)
}

// aboutNil reports whether a run-time message is about a nil operand.
func aboutNil(msg string) bool {
	for _, s := range []string{"<nil>", "is nil", "zero Value", "nil pointer"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// nullProblem is `field "a" is null`, or `fields "a" and "b" are null`.
func nullProblem(names []string) string {
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = fmt.Sprintf("%q", n)
	}
	if len(quoted) == 1 {
		return "field " + quoted[0] + " is null"
	}
	return "fields " + strings.Join(quoted[:len(quoted)-1], ", ") + " and " + quoted[len(quoted)-1] + " are null"
}

// problemRule rewrites one family of run-time messages.
type problemRule struct {
	re      *regexp.Regexp
	explain func(m []string) string
}

// problemRules rewrite the messages of Go's run time, expr's VM and builtins,
// and of the closures (which reproduce the VM's), first match wins.
var problemRules = []problemRule{
	{regexp.MustCompile(`^integer divide by zero$`), func([]string) string { return "division by zero" }},
	{regexp.MustCompile(`^invalid operation: (int|float)\((.*)\)$`), func(m []string) string {
		if kind, ok := goKinds[m[2]]; ok {
			return fmt.Sprintf("%s() cannot convert %s", m[1], kind)
		}
		return fmt.Sprintf("%s() cannot convert %q to a number", m[1], m[2])
	}},
	{regexp.MustCompile(`^index out of range: (-?\d+) \(array length is (\d+)\)$`), func(m []string) string {
		return fmt.Sprintf("index %s is out of range (length %s)", m[1], m[2])
	}},
	{regexp.MustCompile(`^(?:index out of range|slice bounds out of range) \[(.*)\] with (?:length|capacity) (\d+)$`), func(m []string) string {
		return fmt.Sprintf("index %s is out of range (length %s)", m[1], m[2])
	}},
	{regexp.MustCompile(`^time: (.*)$`), func(m []string) string { return m[1] }},
	{regexp.MustCompile(`^invalid date (.*)$`), func(m []string) string { return fmt.Sprintf("invalid date %q", m[1]) }},
	{regexp.MustCompile(`^invalid argument for (\w+) \(type (.+)\)$`), func(m []string) string {
		return fmt.Sprintf("%s() cannot take %s", m[1], kindOfGoType(m[2]))
	}},
	{regexp.MustCompile(`^interface conversion: interface \{\} is (.+), not (.+)$`), func(m []string) string {
		return fmt.Sprintf("%s where %s is needed", kindOfGoType(m[1]), kindOfGoType(m[2]))
	}},
	{regexp.MustCompile(`^cannot fetch (\S+) from (.+)$`), func(m []string) string {
		return fmt.Sprintf("%s has no field or method %q", kindOfGoType(m[2]), m[1])
	}},
}

// plainProblem is an error already told in the pipeline's terms.
type plainProblem string

func (p plainProblem) Error() string { return string(p) }

// goKinds name the Go types of expression values as the pipeline does.
var goKinds = map[string]string{
	"<nil>":                   "null",
	"string":                  "a string",
	"int":                     "an int",
	"int64":                   "an int",
	"float64":                 "a float",
	"bool":                    "a bool",
	"time.Time":               "a timestamp",
	"time.Duration":           "a duration",
	"time.Month":              "a month",
	"time.Weekday":            "a weekday",
	"map[string]interface {}": "an object",
	"map[string]string":       "a map of strings",
	"[]interface {}":          "an array",
	"[]string":                "an array of strings",
	"interface {}":            "a value",
}

// kindOfGoType names a Go type of an expression value, e.g. "a string".
func kindOfGoType(t string) string {
	if k, ok := goKinds[t]; ok {
		return k
	}
	return "a value of type " + goWords.Replace(t)
}

// goWords replaces Go type names inside messages no rule knows.
var goWords = strings.NewReplacer(
	"<nil>", "null",
	"map[string]interface {}", "object",
	"[]interface {}", "array",
	"interface {}", "value",
	"float64", "float",
	"int64", "int",
	"time.Time", "timestamp",
	"time.Duration", "duration",
)
