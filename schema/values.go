package schema

import (
	"fmt"
	"time"

	"github.com/hashicorp/hcl/v2"
)

// Values holds the decoded arguments and nested blocks of one HCL body,
// checked against its Spec. Getters return the written value or, when the
// argument is absent, its declared default. Asking for a name the Spec does
// not declare, or with the wrong getter, is a programming error and panics.
type Values struct {
	Spec        *Spec
	Type        string      // the block type, e.g. "source"
	Labels      []string    // the block labels as written
	LabelRanges []hcl.Range // where each label was written
	DefRange    hcl.Range   // the block header: type and labels
	BodyRange   hcl.Range   // the body, braces included

	attrs  map[string]*Attr
	blocks map[string][]*Values

	incomplete bool                 // a declared argument or block is missing or invalid
	invalid    map[string]hcl.Range // arguments written with a value that failed to decode
}

// Complete reports whether every declared argument and nested block decoded
// without error. Unknown extra arguments do not make Values incomplete, so a
// plugin can still be built (and its output schema known) despite them.
func (v *Values) Complete() bool { return !v.incomplete }

// Attr is one written argument.
type Attr struct {
	Field     *Field
	NameRange hcl.Range
	Range     hcl.Range // the value expression
	Value     any       // string, int64, float64, bool, time.Duration, or nil for lists and maps
	Text      Text      // the written string, for string-like types
	Elems     []Elem    // the elements of a list or map, in the order written
}

// Elem is one element of a list or one entry of a map.
type Elem struct {
	Key      string    // map key; empty in lists
	KeyRange hcl.Range // map key's range
	Value    any       // as Attr.Value
	Text     Text      // the written string, for string-like element types
	Range    hcl.Range
}

func (v *Values) field(name string, types ...Type) *Field {
	f := v.Spec.Field(name)
	if f == nil {
		panic(fmt.Sprintf("schema: %s has no argument %q", v.Type, name))
	}
	for _, t := range types {
		if f.Type == t {
			return f
		}
	}
	panic(fmt.Sprintf("schema: argument %q is a %s, not %v", name, f.Type, types))
}

// Has reports whether the argument or block was written.
func (v *Values) Has(name string) bool {
	return v.attrs[name] != nil || len(v.blocks[name]) > 0
}

// Attr returns the written argument, or nil when it is absent.
func (v *Values) Attr(name string) *Attr {
	return v.attrs[name]
}

// Invalid reports whether the argument was written with a value that failed
// to decode (and was reported). Getters then return its default, so checks
// that relate it to other arguments should be skipped.
func (v *Values) Invalid(name string) bool {
	_, bad := v.invalid[name]
	return bad
}

// Range returns where the argument's value was written, or the block header
// when it is absent (the place to report a problem with a default).
func (v *Values) Range(name string) hcl.Range {
	if a := v.attrs[name]; a != nil {
		return a.Range
	}
	if r, bad := v.invalid[name]; bad {
		return r
	}
	if b := v.blocks[name]; len(b) > 0 {
		return b[0].DefRange
	}
	return v.DefRange
}

func (v *Values) value(name string, types ...Type) any {
	f := v.field(name, types...)
	if a := v.attrs[name]; a != nil {
		return a.Value
	}
	if f.Default == nil {
		return nil
	}
	val, err := defaultValue(f)
	if err != nil {
		panic(fmt.Sprintf("schema: bad default of %q: %v", name, err))
	}
	return val
}

// String returns a string, enum or expression argument ("" when absent
// without a default).
func (v *Values) String(name string) string {
	s, _ := v.value(name, TypeString, TypeEnum, TypeExpr).(string)
	return s
}

// Text returns a string-like argument with its position in the file. An
// absent argument yields its default with the block header as its range.
func (v *Values) Text(name string) Text {
	if a := v.attrs[name]; a != nil {
		v.field(name, TypeString, TypeEnum, TypeExpr, TypeDuration, TypeByteSize)
		return a.Text
	}
	return Text{Value: v.String(name), Range: v.DefRange}
}

// Int returns a whole-number argument.
func (v *Values) Int(name string) int64 {
	i, _ := v.value(name, TypeInt).(int64)
	return i
}

// Float returns a numeric argument.
func (v *Values) Float(name string) float64 {
	f, _ := v.value(name, TypeFloat).(float64)
	return f
}

// Bool returns a boolean argument.
func (v *Values) Bool(name string) bool {
	b, _ := v.value(name, TypeBool).(bool)
	return b
}

// Duration returns a duration argument.
func (v *Values) Duration(name string) time.Duration {
	d, _ := v.value(name, TypeDuration).(time.Duration)
	return d
}

// ByteSize returns a size argument in bytes.
func (v *Values) ByteSize(name string) int64 {
	n, _ := v.value(name, TypeByteSize).(int64)
	return n
}

// Elems returns the elements of a list or map argument in the order
// written, or its default's elements (with the block header as range).
func (v *Values) Elems(name string) []Elem {
	f := v.field(name, TypeList, TypeMap)
	if a := v.attrs[name]; a != nil {
		return a.Elems
	}
	var out []Elem
	switch d := f.Default.(type) {
	case []string:
		for _, s := range d {
			out = append(out, Elem{Value: s, Text: Text{Value: s, Range: v.DefRange}, Range: v.DefRange})
		}
	case map[string]string:
		for _, k := range sortedKeys(d) {
			out = append(out, Elem{Key: k, KeyRange: v.DefRange, Value: d[k], Text: Text{Value: d[k], Range: v.DefRange}, Range: v.DefRange})
		}
	}
	return out
}

// Strings returns a list of strings (or of enums).
func (v *Values) Strings(name string) []string {
	elems := v.Elems(name)
	out := make([]string, 0, len(elems))
	for _, e := range elems {
		s, _ := e.Value.(string)
		out = append(out, s)
	}
	return out
}

// Blocks returns every nested block of the given type, in the order written.
func (v *Values) Blocks(name string) []*Values {
	v.field(name, TypeBlock)
	return v.blocks[name]
}

// Block returns the nested block of the given type, or nil when absent.
func (v *Values) Block(name string) *Values {
	if b := v.Blocks(name); len(b) > 0 {
		return b[0]
	}
	return nil
}

// Label returns the i-th label, or "".
func (v *Values) Label(i int) string {
	if i < len(v.Labels) {
		return v.Labels[i]
	}
	return ""
}

// defaultValue converts a field's declared default into the value a getter
// returns.
func defaultValue(f *Field) (any, error) {
	switch f.Type {
	case TypeDuration:
		s, ok := f.Default.(string)
		if !ok {
			return nil, fmt.Errorf("default of a duration must be a string like \"30s\", not %T", f.Default)
		}
		return ParseDuration(s)
	case TypeByteSize:
		switch d := f.Default.(type) {
		case string:
			return ParseByteSize(d)
		case int64:
			return d, nil
		}
		return nil, fmt.Errorf("default of a byte size must be a string like \"64MiB\", not %T", f.Default)
	case TypeInt:
		if i, ok := f.Default.(int64); ok {
			return i, nil
		}
	case TypeFloat:
		switch d := f.Default.(type) {
		case float64:
			return d, nil
		case int64:
			return float64(d), nil
		}
	case TypeBool:
		if b, ok := f.Default.(bool); ok {
			return b, nil
		}
	case TypeString, TypeExpr:
		if s, ok := f.Default.(string); ok {
			return s, nil
		}
	case TypeEnum:
		if s, ok := f.Default.(string); ok {
			for _, e := range f.Enum {
				if e == s {
					return s, nil
				}
			}
			return nil, fmt.Errorf("default %q is not one of the allowed values", s)
		}
	case TypeList:
		if _, ok := f.Default.([]string); ok {
			return nil, nil
		}
	case TypeMap:
		if _, ok := f.Default.(map[string]string); ok {
			return nil, nil
		}
	}
	return nil, fmt.Errorf("default %v (%T) does not fit type %s", f.Default, f.Default, f.TypeName())
}
