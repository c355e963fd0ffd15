package esfake

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// The field types of a mapping the double knows, as Elasticsearch names
// them.
const (
	TypeText    = "text" // dynamic strings: text with a keyword sub-field
	TypeKeyword = "keyword"
	TypeLong    = "long"
	TypeInteger = "integer"
	TypeFloat   = "float"
	TypeDouble  = "double"
	TypeBoolean = "boolean"
	TypeDate    = "date"
	TypeObject  = "object"
)

// mapping is an index's mapping: a field type per path (dotted for the
// fields of objects), and whether fields that are not mapped are added
// ("true"), refused ("strict") or ignored ("false").
type mapping struct {
	dynamic string
	fields  map[string]string
}

func newMapping() *mapping { return &mapping{dynamic: "true", fields: map[string]string{}} }

// mappingError is a document that does not fit the mapping: a 400 item
// error of the given type.
type mappingError struct {
	typ, reason string
	causedBy    *errorBody
}

// dateText matches the strings dynamic mapping detects as dates
// (strict_date_optional_time: a date, optionally a time and a zone).
var dateText = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$`)

// check checks doc (a decoded JSON object) against the mapping without
// changing it, and returns the fields dynamic mapping would add.
func (m *mapping) check(id string, doc map[string]any) (map[string]string, *mappingError) {
	added := map[string]string{}
	if err := m.checkObject("", id, doc, added); err != nil {
		return nil, err
	}
	return added, nil
}

func (m *mapping) checkObject(prefix, id string, obj map[string]any, added map[string]string) *mappingError {
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := m.checkValue(prefix+k, id, obj[k], added); err != nil {
			return err
		}
	}
	return nil
}

func (m *mapping) checkValue(path, id string, v any, added map[string]string) *mappingError {
	if arr, ok := v.([]any); ok {
		for _, e := range arr {
			if err := m.checkValue(path, id, e, added); err != nil {
				return err
			}
		}
		return nil
	}
	if v == nil {
		return nil
	}
	typ, mapped := m.fields[path]
	if !mapped {
		typ, mapped = added[path]
	}
	if !mapped {
		switch m.dynamic {
		case "strict":
			parent, name := "_doc", path
			if i := strings.LastIndexByte(path, '.'); i >= 0 {
				parent, name = path[:i], path[i+1:]
			}
			return &mappingError{typ: "strict_dynamic_mapping_exception",
				reason: fmt.Sprintf("[1:2] mapping set to strict, dynamic introduction of [%s] within [%s] is not allowed", name, parent)}
		case "false":
			return nil
		}
		typ = dynamicType(v)
		added[path] = typ
	}
	if obj, ok := v.(map[string]any); ok {
		if typ != TypeObject {
			return parseError(path, typ, id, v, "illegal_argument_exception", "cannot parse an object as a "+typ)
		}
		return m.checkObject(path+".", id, obj, added)
	}
	if typ == TypeObject {
		return &mappingError{typ: "document_parsing_exception",
			reason: fmt.Sprintf("[1:2] object mapping for [%s] tried to parse field [%s] as object, but found a concrete value", path, path[strings.LastIndexByte(path, '.')+1:])}
	}
	return checkScalar(path, typ, id, v)
}

// dynamicType is the type dynamic mapping gives a field first seen with
// value v.
func dynamicType(v any) string {
	switch v := v.(type) {
	case string:
		if dateText.MatchString(v) {
			return TypeDate
		}
		return TypeText
	case json.Number:
		if strings.ContainsAny(string(v), ".eE") {
			return TypeFloat
		}
		return TypeLong
	case bool:
		return TypeBoolean
	case map[string]any:
		return TypeObject
	}
	return TypeText
}

// checkScalar checks a JSON scalar against a field type, coercing as
// Elasticsearch does by default (numbers in strings, floats truncated into
// longs).
func checkScalar(path, typ, id string, v any) *mappingError {
	switch typ {
	case TypeText, TypeKeyword:
		return nil
	case TypeLong, TypeInteger:
		f, err := number(v)
		if err != nil {
			return parseError(path, typ, id, v, "illegal_argument_exception", err.Error())
		}
		limit := float64(math.MaxInt64)
		if typ == TypeInteger {
			limit = math.MaxInt32
		}
		if f > limit || f < -limit-1 {
			return parseError(path, typ, id, v, "illegal_argument_exception", fmt.Sprintf("Value [%v] is out of range for a %s", v, typ))
		}
	case TypeFloat, TypeDouble:
		if _, err := number(v); err != nil {
			return parseError(path, typ, id, v, "illegal_argument_exception", err.Error())
		}
	case TypeBoolean:
		switch v {
		case true, false, "true", "false", "":
			return nil
		}
		return parseError(path, typ, id, v, "illegal_argument_exception", fmt.Sprintf("Failed to parse value [%v] as only [true] or [false] are allowed.", v))
	case TypeDate:
		switch v := v.(type) {
		case json.Number:
			return nil // epoch milliseconds
		case string:
			if dateText.MatchString(v) {
				return nil
			}
			if _, err := strconv.ParseInt(v, 10, 64); err == nil {
				return nil
			}
		}
		return parseError(path, typ, id, v, "illegal_argument_exception",
			fmt.Sprintf("failed to parse date field [%v] with format [strict_date_optional_time||epoch_millis]", v))
	}
	return nil
}

// number reads a numeric value: a JSON number or a string holding one.
func number(v any) (float64, error) {
	switch v := v.(type) {
	case json.Number:
		return strconv.ParseFloat(string(v), 64)
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil {
			return 0, fmt.Errorf("For input string: %q", v)
		}
		return f, nil
	case bool:
		return 0, fmt.Errorf("Current token (VALUE_%s) not numeric, can not use numeric value accessors", strings.ToUpper(strconv.FormatBool(v)))
	}
	return 0, fmt.Errorf("Current token not numeric")
}

// parseError is the 400 error of a value that does not fit its field.
func parseError(path, typ, id string, v any, causeType, cause string) *mappingError {
	preview, _ := json.Marshal(v)
	p := strings.Trim(string(preview), `"`)
	return &mappingError{
		typ:      "document_parsing_exception",
		reason:   fmt.Sprintf("[1:2] failed to parse field [%s] of type [%s] in document with id '%s'. Preview of field's value: '%s'", path, typ, id, p),
		causedBy: &errorBody{Type: causeType, Reason: cause},
	}
}

// apply adds the fields dynamic mapping found.
func (m *mapping) apply(added map[string]string) {
	for k, t := range added {
		m.fields[k] = t
	}
}

// parseMappings reads the "mappings" of an index creation request:
// "dynamic" and nested "properties" with a "type" each.
func parseMappings(raw map[string]any) (*mapping, error) {
	m := newMapping()
	if raw == nil {
		return m, nil
	}
	if d, ok := raw["dynamic"]; ok {
		switch s := fmt.Sprint(d); s {
		case "true", "false", "strict":
			m.dynamic = s
		default:
			return nil, fmt.Errorf("unknown dynamic setting %q", s)
		}
	}
	return m, m.addProperties("", raw["properties"])
}

func (m *mapping) addProperties(prefix string, props any) error {
	if props == nil {
		return nil
	}
	obj, ok := props.(map[string]any)
	if !ok {
		return fmt.Errorf("properties of [%s] must be an object", strings.TrimSuffix(prefix, "."))
	}
	for name, def := range obj {
		d, ok := def.(map[string]any)
		if !ok {
			return fmt.Errorf("mapping of field [%s%s] must be an object", prefix, name)
		}
		typ, _ := d["type"].(string)
		if sub, ok := d["properties"]; ok || typ == "" {
			typ = TypeObject
			if err := m.addProperties(prefix+name+".", sub); err != nil {
				return err
			}
		}
		switch typ {
		case TypeText, TypeKeyword, TypeLong, TypeInteger, TypeFloat, TypeDouble, TypeBoolean, TypeDate, TypeObject:
		default:
			return fmt.Errorf("no handler for type [%s] declared on field [%s%s] (esfake knows text, keyword, long, integer, float, double, boolean, date and object)", typ, prefix, name)
		}
		m.fields[prefix+name] = typ
	}
	return nil
}

// properties renders the mapping as Elasticsearch returns it.
func (m *mapping) properties() map[string]any {
	root := map[string]any{}
	paths := make([]string, 0, len(m.fields))
	for p := range m.fields {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		parts := strings.Split(p, ".")
		node := root
		for _, part := range parts[:len(parts)-1] {
			obj, _ := node[part].(map[string]any)
			if obj == nil {
				obj = map[string]any{}
				node[part] = obj
			}
			props, _ := obj["properties"].(map[string]any)
			if props == nil {
				props = map[string]any{}
				obj["properties"] = props
			}
			node = props
		}
		leaf := parts[len(parts)-1]
		if m.fields[p] == TypeObject {
			if _, ok := node[leaf]; !ok {
				node[leaf] = map[string]any{"properties": map[string]any{}}
			}
			continue
		}
		def := map[string]any{"type": m.fields[p]}
		if m.fields[p] == TypeText {
			def["fields"] = map[string]any{"keyword": map[string]any{"type": "keyword", "ignore_above": 256}}
		}
		node[leaf] = def
	}
	return root
}
