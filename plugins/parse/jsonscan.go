package parse

// The JSON runtime: a schema-driven scanner that reads each message once,
// matches keys against the declared fields and decodes only their values.
//
// Decisions beyond encoding/json's (documented for users in the plugin's
// description where they matter):
//
//   - A key that appears twice: the later value wins, as encoding/json does
//     when decoding into a struct; objects on a declared path merge the same
//     way. Every occurrence must still be a valid value of the field's type.
//   - null is "absent": a null optional field is null in the output, a null
//     required field is bad ("required field \"ts\" is null"), and a null
//     object on a declared path leaves the fields below it absent.
//   - A value on a declared path that is neither an object nor null is bad
//     (`field "id" (path "user.id"): want object at "user", got number 5`).
//   - Numbers must be JSON numbers (no quoted numbers). An int field rejects
//     fractions, exponents and values beyond int64; a float field accepts any
//     JSON number within float64's range. Timestamp numbers may have
//     fractions and exponents and are floored to milliseconds.
//   - A lone UTF-16 surrogate in a \u escape becomes U+FFFD, as in
//     encoding/json; invalid UTF-8 makes the message bad.
//   - Values of undeclared keys are skipped but still checked to be valid
//     JSON, nested at most 10000 levels deep.

import (
	"fmt"
	"sync"

	"github.com/sluice-io/sluice/record"
)

// maxDepth bounds the nesting of skipped values, like encoding/json's.
const maxDepth = 10000

// Parse parses every raw record of in (a raw batch: one string column of
// message bytes) and appends the typed rows to out, a batch whose schema is
// j.Output(), copying in.Origins for the rows it keeps (when in tracks
// origins). A record that cannot be parsed is not appended: bad is called
// with its row index in in and the reason, such as `field "user_id": want
// int, got string "oops"` or "missing required field \"ts\"". The caller
// applies OnError. Parse never stops early and never panics: every row is
// either appended or reported, exactly once.
//
// The field plan is compiled from j.Fields on the first call; j must not be
// changed afterwards. Parse may be called concurrently for different batches.
func (j *JSON) Parse(in, out *record.Batch, bad func(row int, reason string)) {
	j.once.Do(func() { j.plan = newJSONPlan(j.Fields) })
	p := j.plan
	if reason := checkBatches(p.fields, in, out); reason != "" {
		for i := 0; i < in.Rows; i++ {
			bad(i, reason)
		}
		return
	}
	s := p.pool.Get().(*jsonScanner)
	defer p.pool.Put(s)
	raw := &in.Columns[0]
	for i := 0; i < in.Rows; i++ {
		line := raw.StringBytes(i)
		if s.layoutLine(line, in, out, i) {
			continue
		}
		if !s.scanLine(line) {
			bad(i, s.reason)
			continue
		}
		s.row.appendRow(p.fields, in, out, i)
		s.learnLayout()
	}
}

// jsonPlan is the declared fields of a *JSON as a tree of object keys.
type jsonPlan struct {
	fields []Field
	root   jsonNode
	nodes  int // jsonNodes in the tree, numbered by their id
	// layoutRest is how many messages a scanner does not try a layout
	// for after it failed on messages of that layout (jsonscan_layout.go).
	layoutRest int
	pool       sync.Pool // *jsonScanner
}

// jsonNode is an object on a declared path: the keys read from it.
type jsonNode struct {
	id   int // index of the node's key guesses in a jsonScanner
	keys []jsonKey
}

// jsonKey is one key of a jsonNode: fields read from its value (leaf),
// and/or fields below it when the value is an object (child).
type jsonKey struct {
	name  string
	path  string // dotted path from the root, for reasons
	leaf  []int  // indexes of the fields whose value this is
	child *jsonNode
	under int // a field below child, named in reasons
	// plain is set when the name can be matched byte for byte against a
	// key in a message: it holds no quote, backslash or control character.
	plain bool
	// intScale is the power of ten plainNumber multiplies by for the key's
	// single int (0) or numeric timestamp (0 or 3) field; -1 when the key
	// is anything else.
	intScale int
	// str is the field of a key read into a single string field, or -1.
	str int
	// quoted is the plain name and its closing quote as a little-endian
	// word, the bytes of mask: set when they fit in eight bytes.
	quoted, mask uint64
}

func newJSONPlan(fields []Field) *jsonPlan {
	p := &jsonPlan{fields: fields, layoutRest: layoutRest}
	for k, f := range fields {
		path := f.Path
		if len(path) == 0 {
			path = []string{f.Name}
		}
		node := &p.root
		dotted := ""
		for d, name := range path {
			if d > 0 {
				dotted += "."
			}
			dotted += name
			e := node.find([]byte(name))
			if e == nil {
				node.keys = append(node.keys, jsonKey{name: name, path: dotted, under: k, plain: plainName(name)})
				e = &node.keys[len(node.keys)-1]
			}
			if d == len(path)-1 {
				e.leaf = append(e.leaf, k)
				break
			}
			if e.child == nil {
				p.nodes++
				e.child = &jsonNode{id: p.nodes}
				e.under = k
			}
			node = e.child
		}
	}
	p.nodes++ // the root is node 0
	p.root.setFastPaths(fields)
	p.pool.New = func() any { return newJSONScanner(p) }
	return p
}

// find returns the key named key, or nil.
func (n *jsonNode) find(key []byte) *jsonKey {
	if k := n.index(key); k >= 0 {
		return &n.keys[k]
	}
	return nil
}

// index returns the index of the key named key, or -1.
func (n *jsonNode) index(key []byte) int {
	for i := range n.keys {
		name := n.keys[i].name
		if len(key) == len(name) && (len(key) == 0 || key[0] == name[0]) && string(key) == name {
			return i
		}
	}
	return -1
}

// jsonScanner is the reusable memory of one Parse call.
type jsonScanner struct {
	plan   *jsonPlan
	row    rowBuffer
	stack  []byte // open containers while skipping a value
	keyBuf []byte // an unescaped key
	tmp    []byte // an unescaped timestamp string
	num    number // the number being decoded
	reason string
	// guess holds, per jsonNode id, the key expected after each key (see
	// "Key guesses" in jsonscan_guess.go).
	guess  [][]int32
	layout // the keys of the last message, to read the next one by (jsonscan_layout.go)
}

// scanLine decodes one message into s.row; on failure it sets s.reason and
// returns false.
//
// The first attempt checks UTF-8 only inside strings, as it reads them
// (outside strings JSON allows only ASCII, so a message read to its end is
// then valid UTF-8). A message that fails is read again in order, the whole
// message checked first, so that its reason is the first problem found in
// that order.
func (s *jsonScanner) scanLine(b []byte) bool {
	return s.scan(b, false) || s.scan(b, true)
}

// scan is one attempt of scanLine; strict checks the whole message for
// invalid UTF-8 before reading it.
func (s *jsonScanner) scan(b []byte, strict bool) bool {
	s.row.reset(len(s.plan.fields))
	s.seen = s.seen[:0]
	i := skipWS(b, 0)
	if i == len(b) {
		return s.fail("empty line")
	}
	if strict {
		if at := invalidUTF8(b); at >= 0 {
			return s.fail(fmt.Sprintf("invalid UTF-8 at byte %d", at))
		}
	}
	if b[i] != '{' {
		return s.notObject(b, i)
	}
	i, ok := s.object(b, i, &s.plan.root)
	if !ok {
		return false
	}
	if i = skipWS(b, i); i < len(b) {
		return s.fail(fmt.Sprintf("line is not valid JSON: unexpected %s after the object at byte %d", describeByte(b[i]), i))
	}
	if reason := s.row.missing(s.plan.fields); reason != "" {
		return s.fail(reason)
	}
	return true
}

func (s *jsonScanner) fail(reason string) bool {
	s.reason = reason
	return false
}

// syntax fails with "unexpected ..." at b[i].
func (s *jsonScanner) syntax(b []byte, i int) (int, bool) {
	if i >= len(b) {
		return i, s.fail(fmt.Sprintf("line is not valid JSON: unexpected end of input at byte %d", len(b)))
	}
	return i, s.fail(fmt.Sprintf("line is not valid JSON: unexpected %s at byte %d", describeByte(b[i]), i))
}

// notObject fails for a message whose first value is not an object.
func (s *jsonScanner) notObject(b []byte, i int) bool {
	kind := ""
	switch c := b[i]; {
	case c == '[':
		kind = "an array"
	case c == '"':
		kind = "a string"
	case c == '-' || c-'0' <= 9:
		kind = "a number"
	case c == 't' || c == 'f' || c == 'n':
		word, what := "null", "null"
		if c == 't' {
			word, what = "true", "a bool"
		} else if c == 'f' {
			word, what = "false", "a bool"
		}
		if _, ok := s.literal(b, i, word); !ok {
			return false // not even that literal: the reason is the syntax error
		}
		kind = what
	default:
		_, ok := s.syntax(b, i)
		return ok
	}
	return s.fail("line is not a JSON object but " + kind)
}

// skipWS returns the offset of the first non-whitespace byte at or after i.
func skipWS(b []byte, i int) int {
	for i < len(b) && b[i] <= ' ' && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// object reads the object at b[i] == '{', decoding the keys of node, and
// returns the offset after it.
func (s *jsonScanner) object(b []byte, i int, node *jsonNode) (int, bool) {
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1, true
	}
	guess := s.guess[node.id]
	after := 0 // the index in guess after the previous key
	for {
		if i >= len(b) || b[i] != '"' {
			return s.syntax(b, i)
		}
		k, end, ok := s.key(b, i, node, guess, after)
		if !ok {
			return end, false
		}
		if i = skipWS(b, end); i >= len(b) || b[i] != ':' {
			return s.syntax(b, i)
		}
		if i = skipWS(b, i+1); i >= len(b) {
			return s.syntax(b, i)
		}
		if node.id == 0 {
			s.seen = append(s.seen, int32(k))
		}
		if k >= 0 {
			if key := &node.keys[k]; len(key.leaf) > 0 {
				i, ok = s.leaf(b, i, key)
			} else {
				i, ok = s.member(b, i, key)
			}
			after = k + 1
		} else {
			i, ok = s.skip(b, i)
			after = len(node.keys) + 1
		}
		if !ok {
			return i, false
		}
		if i = skipWS(b, i); i < len(b) {
			switch b[i] {
			case ',':
				i = skipWS(b, i+1)
				continue
			case '}':
				return i + 1, true
			}
		}
		return s.syntax(b, i)
	}
}

// member reads the value at b[i] of a declared key.
func (s *jsonScanner) member(b []byte, i int, k *jsonKey) (int, bool) {
	if len(k.leaf) > 0 {
		return s.leaf(b, i, k)
	}
	switch b[i] {
	case '{':
		return s.object(b, i, k.child)
	case 'n':
		return s.literal(b, i, "null")
	}
	f := &s.plan.fields[k.under]
	return s.wrongType(b, i, fmt.Sprintf("field %s: want object at %q", fieldName(f), k.path))
}

// wrongType fails for the value at b[i] with "<prefix>, got <value>".
func (s *jsonScanner) wrongType(b []byte, i int, prefix string) (int, bool) {
	got := ""
	switch c := b[i]; {
	case c == '{':
		got = "object"
	case c == '[':
		got = "array"
	case c == 't' || c == 'f' || c == 'n':
		end, ok := s.skip(b, i)
		if !ok {
			return end, false
		}
		got = "bool " + string(b[i:end])
		if c == 'n' {
			got = "null"
		}
	case c == '"':
		end, _, ok := s.stringEnd(b, i)
		if !ok {
			return end, false
		}
		got = "string " + shown(b[i:end])
	case c == '-' || c-'0' <= 9:
		end, ok := lexNumber(&s.num, b, i, false)
		if !ok {
			return s.badNumber(b, end)
		}
		got = "number " + shown(b[i:end])
	default:
		return s.syntax(b, i)
	}
	return i, s.fail(prefix + ", got " + got)
}

func (s *jsonScanner) badNumber(b []byte, i int) (int, bool) {
	if i < len(b) && b[i]-'0' <= 9 {
		return i, s.fail(fmt.Sprintf("line is not valid JSON: invalid number at byte %d", i))
	}
	return s.syntax(b, i)
}

// literal reads the literal word at b[i].
func (s *jsonScanner) literal(b []byte, i int, word string) (int, bool) {
	for j := 0; j < len(word); j++ {
		if i+j >= len(b) || b[i+j] != word[j] {
			return s.syntax(b, i+j)
		}
	}
	return i + len(word), true
}

// leaf decodes the value at b[i] into the slots of k's fields.
func (s *jsonScanner) leaf(b []byte, i int, k *jsonKey) (int, bool) {
	fields, slots := s.plan.fields, s.row.slots
	switch c := b[i]; {
	case c == '"':
		if k.str >= 0 {
			// A plain string read into one string field: the common case.
			if j := plainStringEnd(b, i); j >= 0 {
				sl := &slots[k.str]
				sl.set, sl.null, sl.esc, sl.str = true, false, false, b[i+1:j]
				return j + 1, true
			}
		}
		end, esc, ok := s.stringEnd(b, i)
		if !ok {
			return end, false
		}
		text := b[i+1 : end-1]
		for _, fi := range k.leaf {
			f, sl := &fields[fi], &slots[fi]
			switch {
			case f.Type == record.ColumnString:
				sl.set, sl.null, sl.esc = true, false, esc
				if esc {
					sl.off = int32(len(s.row.scratch))
					s.row.scratch = unescape(s.row.scratch, text)
					sl.end = int32(len(s.row.scratch))
				} else {
					sl.str = text
				}
			case f.Type == record.ColumnTimestamp:
				// A string is RFC 3339 text, whatever the unit of numbers.
				t := text
				if esc {
					s.tmp = unescape(s.tmp[:0], text)
					t = s.tmp
				}
				v, ok := parseRFC3339(t)
				if !ok {
					return i, s.fail(fmt.Sprintf("field %s: want %s, got string %s", fieldName(f), wantText(f), shown(b[i:end])))
				}
				sl.set, sl.null, sl.i = true, false, v
			default:
				return s.wrongType(b, i, fmt.Sprintf("field %s: want %s", fieldName(f), want(f)))
			}
		}
		return end, true
	case c == '-' || c-'0' <= 9:
		if k.intScale >= 0 {
			// A plain whole number read into one int or numeric timestamp
			// field: the common case.
			if v, end, ok := plainNumber(b, i, k.intScale); ok {
				sl := &slots[k.leaf[0]]
				sl.set, sl.null, sl.i = true, false, v
				return end, true
			}
		}
		end, ok := lexNumber(&s.num, b, i, false)
		if !ok {
			return s.badNumber(b, end)
		}
		for _, fi := range k.leaf {
			if !s.setNumber(&fields[fi], &slots[fi], &s.num) {
				return i, false
			}
		}
		return end, true
	case c == 't' || c == 'f':
		word := "true"
		if c == 'f' {
			word = "false"
		}
		end, ok := s.literal(b, i, word)
		if !ok {
			return end, false
		}
		for _, fi := range k.leaf {
			f, sl := &fields[fi], &slots[fi]
			if f.Type != record.ColumnBool {
				return s.wrongType(b, i, fmt.Sprintf("field %s: want %s", fieldName(f), want(f)))
			}
			sl.set, sl.null, sl.b = true, false, c == 't'
		}
		return end, true
	case c == 'n':
		end, ok := s.literal(b, i, "null")
		if !ok {
			return end, false
		}
		for _, fi := range k.leaf {
			slots[fi].set, slots[fi].null = true, true
		}
		return end, true
	case c == '{' || c == '[':
		f := &fields[k.leaf[0]]
		return s.wrongType(b, i, fmt.Sprintf("field %s: want %s", fieldName(f), want(f)))
	}
	return s.syntax(b, i)
}

// plainNumber is the fast path for the most common number: it reads the
// number at b[i] (i < len(b)) when it is a whole number of at most 15 digits
// without a leading zero, and returns it times 10^scale (scale 0 or 3) and
// the offset after it; anything else is for lexNumber.
func plainNumber(b []byte, i, scale int) (v int64, end int, ok bool) {
	j := i
	neg := b[j] == '-'
	if neg {
		j++
	}
	start := j
	v, n := leadingDigits(b, j)
	j += n
	if n == 0 || n > 15 || n > 1 && b[start] == '0' || j < len(b) && (b[j] == '.' || b[j]|0x20 == 'e') {
		return 0, i, false
	}
	if scale == 3 {
		v *= 1000
	}
	if neg {
		v = -v
	}
	return v, j, true
}

// plainStringEnd returns the offset of the closing quote of the string at
// b[i] when it holds printable ASCII only, nothing escaped, or -1.
func plainStringEnd(b []byte, i int) int {
	if i >= len(b) || b[i] != '"' {
		return -1
	}
	j := i + 1
	for j < len(b) && strPlain[b[j]] {
		j++
	}
	if j < len(b) && b[j] == '"' {
		return j
	}
	return -1
}

// setNumber stores the number n in the slot of field f.
func (s *jsonScanner) setNumber(f *Field, sl *slot, n *number) bool {
	var why int
	switch {
	case f.Type == record.ColumnInt:
		sl.i, why = n.toInt()
	case f.Type == record.ColumnFloat:
		sl.f, why = n.toFloat()
	case f.Type == record.ColumnTimestamp && f.Unit != "rfc3339":
		sl.i, why = n.scaled(unitScale(f.Unit))
	default:
		return s.fail(fmt.Sprintf("field %s: want %s, got number %s", fieldName(f), want(f), shown(n.text)))
	}
	if why != numOK {
		return s.fail(numberReason(f, n.text, why))
	}
	sl.set, sl.null = true, false
	return true
}

// numberReason says why the number text does not fit field f.
func numberReason(f *Field, text []byte, why int) string {
	prefix := fmt.Sprintf("field %s: want %s, got ", fieldName(f), want(f))
	switch why {
	case numFraction:
		return prefix + "fractional number " + shown(text)
	case numExponent:
		return prefix + "number " + shown(text) + " with an exponent"
	}
	rng := "int64"
	switch f.Type {
	case record.ColumnFloat:
		rng = "float64"
	case record.ColumnTimestamp:
		rng = "timestamp"
	}
	return prefix + "number " + shown(text) + " beyond the " + rng + " range"
}
