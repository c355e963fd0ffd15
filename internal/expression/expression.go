// Package expression compiles the expr-lang programs written in pipeline
// files (filter conditions, map values, aggregate arguments) against the
// record schema that reaches them. Every problem becomes a diagnostic that
// points at the exact columns inside the string literal in the file.
package expression

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sluice-io/sluice/record"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/builtin"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/vm"
	"github.com/hashicorp/hcl/v2"

	"github.com/sluice-io/sluice/schema"
)

// UnknownField is the Extra of an "Unknown field in expression" diagnostic:
// the name the expression refers to, so callers can explain it further.
type UnknownField string

// Program is a compiled expression and the record field type it yields.
type Program struct {
	Source schema.Text
	Type   record.ColumnType
	VM     *vm.Program

	from, to int // the expression is Source.Value[from:to] (see CompilePart)
}

// Code returns the expression's text: Source.Value, or the part of it that
// CompilePart compiled.
func (p *Program) Code() string { return p.Source.Value[p.from:p.to] }

// goTypes gives the Go value each record field type has inside expressions.
// Timestamps are time.Time so that comparisons and date functions work.
var goTypes = map[record.ColumnType]any{
	record.ColumnString:    "",
	record.ColumnInt:       0,
	record.ColumnFloat:     0.0,
	record.ColumnBool:      false,
	record.ColumnTimestamp: time.Time{},
}

// Env returns the typed environment expressions over rec are checked with.
// Columns of unknown type (ColumnInvalid: their declaration had an error,
// already reported) are left out; see compileAt.
//
// Metadata columns are the fields of one struct per namespace: "pulsar.key"
// is `pulsar.key`.
func Env(rec record.Schema) map[string]any {
	env := make(map[string]any, len(rec.Columns))
	for _, c := range rec.Columns {
		if v, ok := goTypes[c.Type]; ok {
			env[c.Name] = v
		}
	}
	for _, ns := range namespaces(rec) {
		if _, clash := env[ns.name]; !clash {
			env[ns.name] = ns.zero()
		}
	}
	return env
}

// Compile checks src against rec and returns the program. what names the
// expression in messages, e.g. `the filter condition "where"`.
func Compile(src schema.Text, rec record.Schema, what string) (*Program, hcl.Diagnostics) {
	return compileAt(src, 0, len(src.Value), rec, what)
}

// CompileBool compiles a condition that must yield a bool.
func CompileBool(src schema.Text, rec record.Schema, what string) (*Program, hcl.Diagnostics) {
	p, diags := Compile(src, rec, what)
	if p != nil && p.Type != record.ColumnBool {
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Condition is not a bool",
			Detail:   fmt.Sprintf("%s must yield true or false, but %q yields %s. Compare it with something, e.g. %s != ...", upperFirst(what), src.Value, p.Type, strings.TrimSpace(src.Value)),
			Subject:  src.RangeOf(0, len(src.Value)).Ptr(),
		}}
	}
	return p, diags
}

// CompilePart checks the part src.Value[from:to] (byte offsets), such as one
// argument of an aggregate call, and reports positions relative to src.
func CompilePart(src schema.Text, from, to int, rec record.Schema, what string) (*Program, hcl.Diagnostics) {
	return compileAt(src, from, to, rec, what)
}

func compileAt(src schema.Text, from, to int, rec record.Schema, what string) (*Program, hcl.Diagnostics) {
	code := src.Value[from:to]
	if strings.TrimSpace(code) == "" {
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Empty expression",
			Detail:   upperFirst(what) + " must not be empty.",
			Subject:  src.RangeOf(from, to).Ptr(),
		}}
	}
	prog, err := expr.Compile(code, expr.Env(Env(rec)), nullSafeString)
	if err != nil {
		d := diagnose(err, src, from, code, rec, what)
		if d == nil {
			return nil, nil // refers to a column whose error is already reported
		}
		return nil, hcl.Diagnostics{d}
	}
	t, ok := columnType(prog.Node().Type())
	if prog.Node().Type() == reflect.TypeOf(time.Duration(0)) {
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Expression has no record type",
			Detail:   fmt.Sprintf("%s yields a duration, which is not one of %s. Convert it to a number, e.g. (%s).Milliseconds() or .Seconds().", upperFirst(what), strings.Join(record.ColumnTypeNames, ", "), strings.TrimSpace(code)),
			Subject:  src.RangeOf(from, to).Ptr(),
		}}
	}
	if !ok && prog.Node().Type() == reflect.TypeOf(map[string]string(nil)) {
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Expression has no record type",
			Detail:   fmt.Sprintf("%s yields a map of strings. Read one entry of it, e.g. %s[\"region\"].", upperFirst(what), strings.TrimSpace(code)),
			Subject:  src.RangeOf(from, to).Ptr(),
		}}
	}
	if !ok {
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Expression has no record type",
			Detail:   fmt.Sprintf("%s yields %s, which is not one of %s. Convert it, e.g. with int(), float() or string().", upperFirst(what), typeName(prog.Node().Type()), strings.Join(record.ColumnTypeNames, ", ")),
			Subject:  src.RangeOf(from, to).Ptr(),
		}}
	}
	return &Program{Source: src, Type: t, VM: prog, from: from, to: to}, nil
}

// columnType maps the static type expr-lang inferred to a record type.
func columnType(t reflect.Type) (record.ColumnType, bool) {
	if t == nil {
		return record.ColumnInvalid, false
	}
	if t == reflect.TypeOf(time.Time{}) {
		return record.ColumnTimestamp, true
	}
	switch t.Kind() {
	case reflect.String:
		return record.ColumnString, true
	case reflect.Bool:
		return record.ColumnBool, true
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return record.ColumnInt, true
	case reflect.Float32, reflect.Float64:
		return record.ColumnFloat, true
	}
	return record.ColumnInvalid, false
}

func typeName(t reflect.Type) string {
	if t == nil || t.Kind() == reflect.Interface {
		return "a value of unknown type"
	}
	return t.String()
}

// diagnose turns an expr-lang compile error into a positioned diagnostic. It
// returns nil for a reference to a column of unknown type: that column's own
// error is already reported.
func diagnose(err error, src schema.Text, from int, code string, rec record.Schema, what string) *hcl.Diagnostic {
	var fe *file.Error
	if !errors.As(err, &fe) {
		return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid expression", Detail: err.Error(), Subject: src.RangeOf(from, from+len(code)).Ptr()}
	}
	start := byteOffset(code, fe.From)
	end := byteOffset(code, fe.To)
	msg := fe.Message
	d := &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid expression"}
	switch {
	case strings.HasPrefix(msg, "unknown name "):
		name := strings.TrimPrefix(msg, "unknown name ")
		if c, ok := rec.Lookup(name); ok && c.Type == record.ColumnInvalid {
			return nil
		}
		end = start + len(name)
		if rest := strings.TrimLeft(code[min(start+len(name), len(code)):], " \t"); strings.HasPrefix(rest, "(") {
			d.Summary = "Unknown function in expression"
			d.Detail = fmt.Sprintf("There is no function named %q in %s.%s See the expr-lang language definition for the built-in functions.", name, what, schema.DidYouMean(name, builtin.Names))
			break
		}
		d.Summary = "Unknown field in expression"
		d.Detail = fmt.Sprintf("No field named %q reaches %s.", name, what)
		d.Extra = UnknownField(name)
		if hint := schema.DidYouMean(name, rec.Names()); hint != "" {
			d.Detail += hint
		} else if len(rec.Columns) > 0 {
			d.Detail += " Fields here: " + strings.Join(rec.Names(), ", ") + "."
		}
		if len(rec.Meta) > 0 {
			d.Detail += " Source metadata here: " + strings.Join(rec.MetaNames(), ", ") + "."
		}
	case strings.Contains(msg, " has no field ") && strings.HasPrefix(msg, "type struct {"):
		// A metadata namespace: expr names the generated struct type.
		field := msg[strings.LastIndex(msg, " has no field ")+len(" has no field "):]
		ns := strings.TrimSpace(code[:max(0, min(start, len(code)))])
		ns = strings.TrimSuffix(ns, ".")
		if i := strings.LastIndexAny(ns, " \t(!+-*/%<>=&|,[?:"); i >= 0 {
			ns = ns[i+1:]
		}
		d.Summary = "Unknown metadata field in expression"
		d.Detail = fmt.Sprintf("The source provides no metadata field %q to %s.%s Source metadata here: %s.",
			ns+"."+field, what, schema.DidYouMean(ns+"."+field, rec.MetaNames()), strings.Join(rec.MetaNames(), ", "))
	case isSyntaxError(msg):
		d.Summary = "Expression syntax error"
		d.Detail = fmt.Sprintf("%s in %s.", upperFirst(msg), what)
	default:
		d.Summary = "Type error in expression"
		d.Detail = fmt.Sprintf("%s in %s.", upperFirst(msg), what)
	}
	if end <= start {
		end = tokenEnd(code, start)
	}
	d.Subject = src.RangeOf(from+start, from+end).Ptr()
	return d
}

func isSyntaxError(msg string) bool {
	for _, p := range []string{"unexpected token", "unexpected end", "unexpected character", "unrecognized character", "literal not terminated", "unclosed", "expected", "invalid"} {
		if strings.HasPrefix(msg, p) {
			return !strings.Contains(msg, "expected bool") && !strings.HasPrefix(msg, "invalid operation")
		}
	}
	return false
}

// byteOffset converts a rune offset in s to a byte offset.
func byteOffset(s string, runes int) int {
	if runes <= 0 {
		return 0
	}
	i := 0
	for n := 0; n < runes && i < len(s); n++ {
		_, w := utf8.DecodeRuneInString(s[i:])
		i += w
	}
	return i
}

// tokenEnd returns the end of the word or symbol run starting at i, so that a
// caret covers at least one token.
func tokenEnd(s string, i int) int {
	if i >= len(s) {
		return i
	}
	j := i
	for j < len(s) && (s[j] == '_' || s[j] == '.' || s[j] >= '0' && s[j] <= '9' || s[j]|0x20 >= 'a' && s[j]|0x20 <= 'z') {
		j++
	}
	if j == i {
		_, w := utf8.DecodeRuneInString(s[i:])
		j = i + w
	}
	return j
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// nullSafeString replaces expr's string(x), which turns a null field into
// the text "<nil>", by one that fails on it like every other function, so
// that the row goes to the dead letter saying which field was null instead
// of carrying a made-up value.
var nullSafeString = expr.Function("string", func(params ...any) (any, error) {
	if params[0] == nil {
		return nil, errors.New("string() of a value that is nil")
	}
	return fmt.Sprint(params[0]), nil
}, new(func(any) string))
