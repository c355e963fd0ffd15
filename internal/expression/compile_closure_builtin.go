package expression

// The builtin functions and string helpers of the fast path (see
// compile_closure.go).

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
	"unsafe"

	"github.com/expr-lang/expr/ast"
)

func (c *closureCompiler) builtin(n *ast.BuiltinNode, k kind) (closure, bool) {
	args := make([]closure, len(n.Arguments))
	for i, a := range n.Arguments {
		var ok bool
		if args[i], ok = c.compile(a); !ok {
			return closure{}, false
		}
	}
	str := func(i int) bool { return len(args) > i && args[i].k == kindString }
	switch {
	case (n.Name == "lower" || n.Name == "upper") && len(args) == 1 && str(0):
		x, upper := args[0].s, n.Name == "upper"
		return closure{k: kindString, s: func(f *frame) string { return changeCase(f, x(f), upper) }}, true
	case n.Name == "trim" && len(args) == 1 && str(0):
		x := args[0].s
		return closure{k: kindString, s: func(f *frame) string { return strings.TrimSpace(x(f)) }}, true
	case n.Name == "trim" && len(args) == 2 && str(0) && str(1):
		x, y := args[0].s, args[1].s
		return closure{k: kindString, s: func(f *frame) string { return strings.Trim(x(f), y(f)) }}, true
	case (n.Name == "trimPrefix" || n.Name == "trimSuffix") && (len(args) == 1 && str(0) || len(args) == 2 && str(0) && str(1)):
		x, y := args[0].s, func(*frame) string { return " " }
		if len(args) == 2 {
			y = args[1].s
		}
		g := strings.TrimPrefix
		if n.Name == "trimSuffix" {
			g = strings.TrimSuffix
		}
		return closure{k: kindString, s: func(f *frame) string { return g(x(f), y(f)) }}, true
	case (n.Name == "hasPrefix" || n.Name == "hasSuffix") && len(args) == 2 && str(0) && str(1):
		x, y := args[0].s, args[1].s
		g := strings.HasPrefix
		if n.Name == "hasSuffix" {
			g = strings.HasSuffix
		}
		return closure{k: kindBool, b: func(f *frame) bool { return g(x(f), y(f)) }}, true
	case n.Name == "len" && len(args) == 1 && str(0):
		x := args[0].s
		return closure{k: kindInt, i: func(f *frame) int { return utf8.RuneCountInString(x(f)) }}, true
	case n.Name == "abs" && len(args) == 1 && args[0].k == kindInt:
		x := args[0].i
		return closure{k: kindInt, i: func(f *frame) int {
			if v := x(f); v < 0 {
				return -v
			} else {
				return v
			}
		}}, true
	case n.Name == "abs" && len(args) == 1 && args[0].k == kindFloat:
		x := args[0].f
		return closure{k: kindFloat, f: func(f *frame) float64 {
			if v := x(f); v < 0 {
				return -v
			} else {
				return v
			}
		}}, true
	case n.Name == "int" && len(args) == 1:
		return toInt(args[0])
	case n.Name == "float" && len(args) == 1:
		return toFloat(args[0])
	}
	return closure{}, false
}

// toInt is builtin.Int: floats truncate, strings go through strconv.Atoi.
func toInt(a closure) (closure, bool) {
	switch a.k {
	case kindInt:
		return a, true
	case kindFloat:
		x := a.f
		return closure{k: kindInt, i: func(f *frame) int { return int(x(f)) }}, true
	case kindString:
		x := a.s
		return closure{k: kindInt, i: func(f *frame) int {
			s := x(f)
			v, err := strconv.Atoi(s)
			if err != nil {
				f.fail(fmt.Errorf("invalid operation: int(%s)", s))
			}
			return v
		}}, true
	}
	return closure{}, false
}

// toFloat is builtin.Float: strings go through strconv.ParseFloat.
func toFloat(a closure) (closure, bool) {
	switch a.k {
	case kindInt, kindFloat:
		return closure{k: kindFloat, f: a.float()}, true
	case kindString:
		x := a.s
		return closure{k: kindFloat, f: func(f *frame) float64 {
			s := x(f)
			v, err := strconv.ParseFloat(s, 64)
			if err != nil {
				f.fail(fmt.Errorf("invalid operation: float(%s)", s))
			}
			return v
		}}, true
	}
	return closure{}, false
}

// changeCase is strings.ToLower / ToUpper writing ASCII results into the
// frame's scratch arena instead of a new allocation. Non-ASCII strings go
// through the strings package, which handles Unicode case mapping.
func changeCase(f *frame, s string, upper bool) string {
	change := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			if upper {
				return strings.ToUpper(s)
			}
			return strings.ToLower(s)
		}
		change = change || (upper && 'a' <= c && c <= 'z') || (!upper && 'A' <= c && c <= 'Z')
	}
	if !change {
		return s
	}
	start := len(f.scratch)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case upper && 'a' <= c && c <= 'z':
			c -= 'a' - 'A'
		case !upper && 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		}
		f.scratch = append(f.scratch, c)
	}
	return arenaString(f.scratch[start:])
}

// concat joins two strings in the frame's scratch arena.
func concat(f *frame, a, b string) string {
	if a == "" {
		return b
	}
	if b == "" {
		return a
	}
	start := len(f.scratch)
	f.scratch = append(f.scratch, a...)
	f.scratch = append(f.scratch, b...)
	return arenaString(f.scratch[start:])
}

// arenaString views bytes of the scratch arena as a string. The arena only
// grows during a row (a reallocation leaves earlier strings on the old
// array), and it is reused for the next row: such strings are valid until
// the next evaluation, as Value documents.
func arenaString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}
