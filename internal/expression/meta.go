package expression

import (
	"reflect"
	"strconv"
	"strings"

	"github.com/sluice-io/sluice/record"

	"github.com/expr-lang/expr/ast"
)

// This file makes a record's metadata columns (record.Schema.Meta, such as
// "pulsar.key") readable in expressions as the fields of one struct value
// per namespace: `pulsar.key`, `pulsar.publish_time`,
// `pulsar.properties["region"]`. A null metadata value reads as its type's
// zero value ("" for a string, the zero time for a timestamp).

// namespace is the metadata columns whose names start with one prefix.
type namespace struct {
	name  string       // "pulsar"
	typ   reflect.Type // a struct with one field per column, tagged expr:"<field>"
	cols  []int        // the batch position of each struct field's column
	types []record.ColumnType
}

// namespaces groups the metadata columns of rec by the part of their name
// before the first dot; columns without a dot are left out.
func namespaces(rec record.Schema) []namespace {
	var out []namespace
	index := map[string]int{}
	fields := map[string][]reflect.StructField{}
	for j, c := range rec.Meta {
		prefix, field, ok := strings.Cut(c.Name, ".")
		t, known := metaGoType(c.Type)
		if !ok || !known {
			continue
		}
		n, seen := index[prefix]
		if !seen {
			n = len(out)
			index[prefix] = n
			out = append(out, namespace{name: prefix})
		}
		ns := &out[n]
		fields[prefix] = append(fields[prefix], reflect.StructField{
			Name: "F" + strconv.Itoa(len(ns.cols)),
			Type: t,
			Tag:  reflect.StructTag(`expr:"` + field + `"`),
		})
		ns.cols = append(ns.cols, rec.MetaIndex(rec.Meta[j].Name))
		ns.types = append(ns.types, c.Type)
	}
	for i := range out {
		// StructOf returns the same type for the same fields, so the type
		// checked at compile time is the one values are built with.
		out[i].typ = reflect.StructOf(fields[out[i].name])
	}
	return out
}

// metaGoType is the Go type of a metadata column inside expressions.
func metaGoType(t record.ColumnType) (reflect.Type, bool) {
	if t == record.ColumnStringMap {
		return reflect.TypeOf(map[string]string(nil)), true
	}
	v, ok := goTypes[t]
	if !ok {
		return nil, false
	}
	return reflect.TypeOf(v), true
}

// zero is the value the namespace has in a type-checking environment.
func (ns *namespace) zero() any { return reflect.Zero(ns.typ).Interface() }

// value builds the namespace's struct for row of cols.
func (ns *namespace) value(cols []record.Vector, row int) any {
	v := reflect.New(ns.typ).Elem()
	for i, c := range ns.cols {
		vec := &cols[c]
		if vec.IsNull(row) {
			continue
		}
		if ns.types[i] == record.ColumnStringMap {
			v.Field(i).Set(reflect.ValueOf(record.DecodeStringMap(vec.StringBytes(row))))
			continue
		}
		v.Field(i).Set(reflect.ValueOf(box(vec, row)))
	}
	return v.Interface()
}

// member compiles `ns.field` (a metadata column) and `ns.map["key"]` (an
// entry of a map metadata column) for the fast path.
func (c *closureCompiler) member(n *ast.MemberNode, k kind) (closure, bool) {
	key, ok := n.Property.(*ast.StringNode)
	if !ok {
		return closure{}, false
	}
	if name, ok := metaName(n.Node); ok {
		if k != kindString {
			return closure{}, false
		}
		col, t := metaColumn(c.in, name)
		if col < 0 || t != record.ColumnStringMap {
			return closure{}, false
		}
		c.read(col)
		want := key.Value
		return closure{k: k, s: func(f *frame) string {
			v, _ := record.LookupStringMap(f.cols[col].StringBytes(f.row), want)
			return arenaString(v)
		}}, true
	}
	id, ok := n.Node.(*ast.IdentifierNode)
	if !ok {
		return closure{}, false
	}
	col, t := metaColumn(c.in, id.Value+"."+key.Value)
	if col < 0 {
		return closure{}, false
	}
	return c.column(col, t, k)
}

// metaColumn returns the batch position and type of the metadata column
// named name, or -1.
func metaColumn(rec record.Schema, name string) (int, record.ColumnType) {
	col := rec.MetaIndex(name)
	if col < 0 {
		return -1, record.ColumnInvalid
	}
	return col, rec.Meta[col-(rec.Width()-len(rec.Meta))].Type
}

// metaName returns the column name a `ns.field` node reads.
func metaName(n ast.Node) (string, bool) {
	m, ok := n.(*ast.MemberNode)
	if !ok {
		return "", false
	}
	id, ok := m.Node.(*ast.IdentifierNode)
	key, ok2 := m.Property.(*ast.StringNode)
	if !ok || !ok2 {
		return "", false
	}
	return id.Value + "." + key.Value, true
}
