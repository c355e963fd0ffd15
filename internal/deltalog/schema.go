package deltalog

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Field is one top-level column of a table schema (a Spark StructField).
// Type is a primitive type name: "string", "long", "double", "boolean",
// "timestamp", "date"…; nested types are kept as written in Raw.
type Field struct {
	Name     string
	Type     string
	Nullable bool
	// Raw is the field's JSON as read from a log; written back unchanged
	// when the schema is encoded again, so that metadata and nested types
	// sluice does not write survive.
	Raw json.RawMessage
}

// structJSON and fieldJSON are the Spark StructType JSON encoding.
type structJSON struct {
	Type   string            `json:"type"`
	Fields []json.RawMessage `json:"fields"`
}

type fieldJSON struct {
	Name     string          `json:"name"`
	Type     json.RawMessage `json:"type"`
	Nullable bool            `json:"nullable"`
	Metadata map[string]any  `json:"metadata"`
}

// ParseSchema reads a metaData schemaString.
func ParseSchema(s string) ([]Field, error) {
	var st structJSON
	if err := json.Unmarshal([]byte(s), &st); err != nil {
		return nil, fmt.Errorf("table schema: %w", err)
	}
	if st.Type != "struct" {
		return nil, fmt.Errorf("table schema: type %q, want \"struct\"", st.Type)
	}
	out := make([]Field, 0, len(st.Fields))
	for _, raw := range st.Fields {
		var f fieldJSON
		if err := json.Unmarshal(raw, &f); err != nil {
			return nil, fmt.Errorf("table schema: %w", err)
		}
		var prim string
		if json.Unmarshal(f.Type, &prim) != nil {
			prim = "nested"
		}
		out = append(out, Field{Name: f.Name, Type: prim, Nullable: f.Nullable, Raw: raw})
	}
	return out, nil
}

// SchemaString encodes fields as a schemaString (one line of JSON).
func SchemaString(fields []Field) string {
	st := structJSON{Type: "struct", Fields: make([]json.RawMessage, 0, len(fields))}
	for _, f := range fields {
		if f.Raw != nil {
			st.Fields = append(st.Fields, f.Raw)
			continue
		}
		t, _ := json.Marshal(f.Type)
		raw, _ := json.Marshal(fieldJSON{Name: f.Name, Type: t, Nullable: f.Nullable, Metadata: map[string]any{}})
		st.Fields = append(st.Fields, raw)
	}
	out, _ := json.Marshal(st)
	return string(out)
}

// FindField returns the index of the field named name, compared without
// case as Delta compares column names, or -1.
func FindField(fields []Field, name string) int {
	for i, f := range fields {
		if strings.EqualFold(f.Name, name) {
			return i
		}
	}
	return -1
}
