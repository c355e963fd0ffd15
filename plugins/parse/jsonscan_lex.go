package parse

// The lexical layer of the JSON runtime: strings, escapes and skipping
// values that no field reads.

import (
	"bytes"
	"fmt"
	"unicode/utf8"
)

// strPlain marks the ASCII bytes that a string can hold without an escape.
var strPlain = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// stringEnd checks the string at b[i] == '"' and returns the offset after
// its closing quote and whether it holds escapes. It checks that the bytes
// beyond ASCII are valid UTF-8.
func (s *jsonScanner) stringEnd(b []byte, i int) (end int, esc, ok bool) {
	j := i + 1
	for {
		for j < len(b) && strPlain[b[j]] {
			j++
		}
		if j >= len(b) {
			end, ok = s.syntax(b, j)
			return end, esc, ok
		}
		switch c := b[j]; c {
		case '"':
			return j + 1, esc, true
		case '\\':
			esc = true
			if j+1 >= len(b) {
				end, ok = s.syntax(b, j+1)
				return end, esc, ok
			}
			switch b[j+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				j += 2
			case 'u':
				for h := j + 2; h < j+6; h++ {
					if h >= len(b) || unhex(b[h]) < 0 {
						if h >= len(b) {
							end, ok = s.syntax(b, h)
							return end, esc, ok
						}
						return h, esc, s.fail(fmt.Sprintf("line is not valid JSON: invalid \\u escape in string at byte %d", j))
					}
				}
				j += 6
			default:
				return j, esc, s.fail(fmt.Sprintf("line is not valid JSON: invalid escape %s in string at byte %d", quoted(b[j:j+2]), j))
			}
		default:
			if c >= utf8.RuneSelf {
				r, n := utf8.DecodeRune(b[j:])
				if r == utf8.RuneError && n == 1 {
					return j, esc, s.fail(fmt.Sprintf("invalid UTF-8 at byte %d", j))
				}
				j += n
				continue
			}
			return j, esc, s.fail(fmt.Sprintf("line is not valid JSON: control character U+%04X in string at byte %d", c, j))
		}
	}
}

func unhex(c byte) rune {
	switch {
	case c-'0' <= 9:
		return rune(c - '0')
	case c-'a' <= 5:
		return rune(c-'a') + 10
	case c-'A' <= 5:
		return rune(c-'A') + 10
	}
	return -1
}

// unescape appends the checked string contents src, escapes decoded, to
// dst.
func unescape(dst, src []byte) []byte {
	for {
		k := bytes.IndexByte(src, '\\')
		if k < 0 {
			return append(dst, src...)
		}
		dst = append(dst, src[:k]...)
		src = src[k:]
		switch c := src[1]; c {
		case 'u':
			r := hex4(src[2:6])
			src = src[6:]
			if utf16Surrogate(r) {
				if r < 0xDC00 && len(src) >= 6 && src[0] == '\\' && src[1] == 'u' {
					if lo := hex4(src[2:6]); lo >= 0xDC00 && lo <= 0xDFFF {
						r = 0x10000 + (r-0xD800)<<10 + (lo - 0xDC00)
						src = src[6:]
						dst = utf8.AppendRune(dst, r)
						continue
					}
				}
				r = utf8.RuneError
			}
			dst = utf8.AppendRune(dst, r)
			continue
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		default: // '"', '\\', '/'
			dst = append(dst, c)
		}
		src = src[2:]
	}
}

func hex4(b []byte) rune {
	return unhex(b[0])<<12 | unhex(b[1])<<8 | unhex(b[2])<<4 | unhex(b[3])
}

func utf16Surrogate(r rune) bool { return r >= 0xD800 && r <= 0xDFFF }

// skip checks the value at b[i] without decoding it and returns the offset
// after it. It keeps open containers on s.stack rather than recursing.
func (s *jsonScanner) skip(b []byte, i int) (int, bool) {
	stack := s.stack[:0]
	defer func() { s.stack = stack[:0] }()
	var ok bool
	for {
		// A value starts at b[i].
		if i >= len(b) {
			return s.syntax(b, i)
		}
		switch c := b[i]; {
		case c == '"':
			if i, _, ok = s.stringEnd(b, i); !ok {
				return i, false
			}
		case c == '{' || c == '[':
			if len(stack) >= maxDepth {
				return i, s.fail(fmt.Sprintf("line is not valid JSON: nested more than %d levels deep at byte %d", maxDepth, i))
			}
			close := byte('}')
			if c == '[' {
				close = ']'
			}
			if i = skipWS(b, i+1); i < len(b) && b[i] == close {
				i++
				break
			}
			stack = append(stack, close)
			if c == '{' {
				if i, ok = s.skipKey(b, i); !ok {
					return i, false
				}
			}
			continue
		case c == 't':
			if i, ok = s.literal(b, i, "true"); !ok {
				return i, false
			}
		case c == 'f':
			if i, ok = s.literal(b, i, "false"); !ok {
				return i, false
			}
		case c == 'n':
			if i, ok = s.literal(b, i, "null"); !ok {
				return i, false
			}
		case c == '-' || c-'0' <= 9:
			var end int
			if end, ok = lexNumber(&s.num, b, i, false); !ok {
				return s.badNumber(b, end)
			}
			i = end
		default:
			return s.syntax(b, i)
		}
		// A value ended before b[i]: close containers or go to the next.
		for {
			if len(stack) == 0 {
				return i, true
			}
			if i = skipWS(b, i); i >= len(b) {
				return s.syntax(b, i)
			}
			top := stack[len(stack)-1]
			if b[i] == top {
				stack = stack[:len(stack)-1]
				i++
				continue
			}
			if b[i] != ',' {
				return s.syntax(b, i)
			}
			i = skipWS(b, i+1)
			if top == '}' {
				if i, ok = s.skipKey(b, i); !ok {
					return i, false
				}
			}
			break
		}
	}
}

// skipKey checks `"key" :` at b[i] and returns the offset of the value.
func (s *jsonScanner) skipKey(b []byte, i int) (int, bool) {
	if i >= len(b) || b[i] != '"' {
		return s.syntax(b, i)
	}
	end, _, ok := s.stringEnd(b, i)
	if !ok {
		return end, false
	}
	if i = skipWS(b, end); i >= len(b) || b[i] != ':' {
		return s.syntax(b, i)
	}
	return skipWS(b, i+1), true
}
