// Package schema is the one place where sluice's HCL surface is declared.
//
// A plugin (or a top-level block such as checkpoint) describes its arguments
// and nested blocks once, as a Spec value built with small constructors:
//
//	spec := schema.NewSpec(
//		schema.String("path", "The NDJSON file to read.").Example(`"events.ndjson"`),
//		schema.Bool("follow", "Keep reading as the file grows.").WithDefault(false),
//	)
//
// From that single declaration come decoding of an HCL body into Values,
// every validation diagnostic (unknown arguments with a did-you-mean hint,
// wrong types, missing required arguments, bad enums, durations and sizes),
// the `sluice plugins` listing and the generated reference docs.
//
// The records that flow between stages (their schema, batches of typed
// columns) are declared in package record, not here.
package schema

import (
	"fmt"
	"strings"
)

// Type is the type of an argument's value.
type Type int

// The argument types a Spec can declare.
const (
	TypeString   Type = iota + 1 // a string
	TypeInt                      // a whole number
	TypeFloat                    // a number
	TypeBool                     // true or false
	TypeDuration                 // a string such as "90s", "1m30s", "2h"
	TypeByteSize                 // a string such as "64MiB" or a whole number of bytes
	TypeEnum                     // one of a fixed set of strings
	TypeExpr                     // a string holding an expression, checked against the record schema
	TypeList                     // a list of Elem values
	TypeMap                      // a map from names to Elem values, in the order written
	TypeBlock                    // a nested block described by its own Spec
)

// String returns the name of the type as the docs show it.
func (t Type) String() string {
	switch t {
	case TypeString:
		return "string"
	case TypeInt:
		return "int"
	case TypeFloat:
		return "float"
	case TypeBool:
		return "bool"
	case TypeDuration:
		return "duration"
	case TypeByteSize:
		return "byte size"
	case TypeEnum:
		return "enum"
	case TypeExpr:
		return "expression"
	case TypeList:
		return "list"
	case TypeMap:
		return "map"
	case TypeBlock:
		return "block"
	}
	return fmt.Sprintf("Type(%d)", int(t))
}

// scalar reports whether t may be the element type of a list or map.
func (t Type) scalar() bool {
	return t >= TypeString && t <= TypeExpr
}

// Field declares one argument or nested block. Build it with the
// constructors (String, Int, ..., Block) and refine it with its methods;
// a Field with neither a default nor Optional is required.
type Field struct {
	Name     string
	Type     Type
	Elem     Type     // element type of a TypeList or TypeMap
	Enum     []string // allowed values of a TypeEnum (or of a list/map of enums)
	Doc      string   // one or more sentences; mandatory
	Default  any      // the value used when the argument is absent; nil if none
	Optional bool     // absent is fine even without a default
	Examples []string // HCL source of example values, e.g. `"1m"`

	// For TypeBlock only.
	Block      *Spec    // the nested block's own declaration
	LabelNames []string // names of the block's labels, e.g. {"name"}
	Repeated   bool     // the block may appear more than once
}

// Required reports whether the argument must be written.
func (f *Field) Required() bool {
	return f.Default == nil && !f.Optional && !(f.Type == TypeBlock && f.Repeated)
}

// WithDefault sets the value used when the argument is absent. The value's Go
// type follows the argument's type: string, int64 (int is accepted),
// float64, bool, time.Duration, []string or map[string]string.
func (f *Field) WithDefault(v any) *Field {
	if i, ok := v.(int); ok {
		v = int64(i)
	}
	f.Default = v
	return f
}

// AsOptional marks an argument without a default as optional.
func (f *Field) AsOptional() *Field {
	f.Optional = true
	return f
}

// Example adds an example value, written as HCL source.
func (f *Field) Example(hcl string) *Field {
	f.Examples = append(f.Examples, hcl)
	return f
}

// Labels names the labels of a nested block.
func (f *Field) Labels(names ...string) *Field {
	f.LabelNames = names
	return f
}

// Many allows a nested block to appear any number of times (zero included).
func (f *Field) Many() *Field {
	f.Repeated = true
	return f
}

// TypeName describes the argument's type for docs and messages, such as
// "list of string" or `enum "drop" | "dead_letter"`.
func (f *Field) TypeName() string {
	switch f.Type {
	case TypeList:
		return "list of " + elemName(f.Elem, f.Enum)
	case TypeMap:
		return "map of " + elemName(f.Elem, f.Enum)
	case TypeEnum:
		return elemName(TypeEnum, f.Enum)
	}
	return f.Type.String()
}

func elemName(t Type, enum []string) string {
	if t != TypeEnum {
		return t.String()
	}
	quoted := make([]string, len(enum))
	for i, e := range enum {
		quoted[i] = fmt.Sprintf("%q", e)
	}
	return strings.Join(quoted, " | ")
}

func newField(name string, t Type, doc string) *Field {
	return &Field{Name: name, Type: t, Doc: doc}
}

// String declares a string argument.
func String(name, doc string) *Field { return newField(name, TypeString, doc) }

// Int declares a whole-number argument.
func Int(name, doc string) *Field { return newField(name, TypeInt, doc) }

// Float declares a numeric argument.
func Float(name, doc string) *Field { return newField(name, TypeFloat, doc) }

// Bool declares a boolean argument.
func Bool(name, doc string) *Field { return newField(name, TypeBool, doc) }

// Duration declares a duration argument written as a string ("90s", "1m30s").
func Duration(name, doc string) *Field { return newField(name, TypeDuration, doc) }

// ByteSize declares a size argument written as a string ("64MiB") or a
// whole number of bytes.
func ByteSize(name, doc string) *Field { return newField(name, TypeByteSize, doc) }

// Expr declares an argument holding an expression program as a string. The
// program is checked by the plugin against the record schema that reaches it.
func Expr(name, doc string) *Field { return newField(name, TypeExpr, doc) }

// Enum declares a string argument restricted to the given values.
func Enum(name, doc string, values ...string) *Field {
	f := newField(name, TypeEnum, doc)
	f.Enum = values
	return f
}

// List declares a list argument whose elements have type elem.
func List(name string, elem Type, doc string) *Field {
	f := newField(name, TypeList, doc)
	f.Elem = elem
	return f
}

// EnumList declares a list argument whose elements are restricted to values.
func EnumList(name, doc string, values ...string) *Field {
	f := List(name, TypeEnum, doc)
	f.Enum = values
	return f
}

// Map declares an argument holding an object whose values have type elem.
// The order in which the entries are written is kept.
func Map(name string, elem Type, doc string) *Field {
	f := newField(name, TypeMap, doc)
	f.Elem = elem
	return f
}

// Block declares a nested block described by spec.
func Block(name, doc string, spec *Spec) *Field {
	f := newField(name, TypeBlock, doc)
	f.Block = spec
	return f
}

// Spec declares the arguments and nested blocks of one HCL body.
type Spec struct {
	Fields []*Field
}

// NewSpec returns a Spec holding fields in the order given, which is also
// the order of the docs.
func NewSpec(fields ...*Field) *Spec {
	return &Spec{Fields: fields}
}

// Field returns the declaration named name, or nil.
func (s *Spec) Field(name string) *Field {
	if s == nil {
		return nil
	}
	for _, f := range s.Fields {
		if f.Name == name {
			return f
		}
	}
	return nil
}

// names returns the names of the fields of the given kind (attributes when
// blocks is false), for did-you-mean hints.
func (s *Spec) names(blocks bool) []string {
	var out []string
	for _, f := range s.Fields {
		if (f.Type == TypeBlock) == blocks {
			out = append(out, f.Name)
		}
	}
	return out
}
