package plugindoc

import (
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-io/sluice/schema"
)

// DefaultHCL returns f's default value written as HCL source, as a user would
// write it in a pipeline file: strings quoted (`"30s"`), numbers and booleans
// bare, lists as `["a", "b"]` and maps as `{ k = "v" }` with sorted keys. It
// returns "" when f has no default.
func DefaultHCL(f *schema.Field) string {
	if f.Default == nil {
		return ""
	}
	return hclValue(f.Type, f.Elem, f.Default)
}

// hclValue renders v, the Go value of an argument of type t (with element
// type elem for lists and maps), as HCL source.
func hclValue(t, elem schema.Type, v any) string {
	switch v := v.(type) {
	case string:
		if t == schema.TypeList || t == schema.TypeMap {
			return hclElem(elem, v)
		}
		return hclElem(t, v)
	case []string:
		parts := make([]string, len(v))
		for i, e := range v {
			parts[i] = hclElem(elem, e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case map[string]string:
		if len(v) == 0 {
			return "{}"
		}
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = hclKey(k) + " = " + hclElem(elem, v[k])
		}
		return "{ " + strings.Join(parts, ", ") + " }"
	case int64:
		return strconv.FormatInt(v, 10)
	case int:
		return strconv.Itoa(v)
	case float64:
		return hclFloat(v)
	case bool:
		return strconv.FormatBool(v)
	case time.Duration:
		return hclString(v.String())
	}
	return fmt.Sprint(v)
}

// hclElem renders one scalar written as the string s: quoted unless the
// type is a number or a boolean and s is a valid literal of it.
func hclElem(t schema.Type, s string) string {
	switch t {
	case schema.TypeInt:
		if _, err := strconv.ParseInt(s, 10, 64); err == nil {
			return s
		}
	case schema.TypeFloat:
		if _, err := strconv.ParseFloat(s, 64); err == nil {
			return s
		}
	case schema.TypeBool:
		if s == "true" || s == "false" {
			return s
		}
	}
	return hclString(s)
}

// hclFloat renders a float without an exponent for ordinary magnitudes.
func hclFloat(f float64) string {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return hclString(strconv.FormatFloat(f, 'g', -1, 64))
	}
	if a := math.Abs(f); a != 0 && (a < 1e-6 || a >= 1e21) {
		return strconv.FormatFloat(f, 'g', -1, 64)
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

var identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)

// hclKey renders a map key: bare when it is an identifier, quoted otherwise.
func hclKey(k string) string {
	if identifier.MatchString(k) {
		return k
	}
	return hclString(k)
}

// hclString quotes s as an HCL string literal, escaping what HCL would
// otherwise interpret: quotes, backslashes, control characters and the
// template sequences ${ and %{.
func hclString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i, r := range s {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case (r == '$' || r == '%') && strings.HasPrefix(s[i+1:], "{"):
			b.WriteRune(r)
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
