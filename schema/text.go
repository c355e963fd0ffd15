package schema

import (
	"bytes"
	"strconv"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// Text is a string argument together with where it was written, so that a
// diagnostic about part of the string (a field name inside an expression)
// can point at the exact columns in the file, escapes and heredocs included.
type Text struct {
	Value string
	Range hcl.Range // the whole value expression, quotes included

	parts []textPart // literal pieces; empty when the string was computed
}

// textPart is one literal piece of a quoted string or heredoc.
type textPart struct {
	value   string  // decoded text of the piece
	offset  int     // where value starts within Text.Value
	src     []byte  // the piece's source bytes
	start   hcl.Pos // where src starts in the file
	heredoc bool    // no backslash escapes inside heredocs
}

// RangeOf returns the file range of Value[from:to] (byte offsets). When the
// string was computed rather than written literally (a function call or an
// interpolation), it returns the range of the whole value.
func (t Text) RangeOf(from, to int) hcl.Range {
	if to < from {
		to = from
	}
	start, ok1 := t.pos(from, false)
	end, ok2 := t.pos(to, true)
	if !ok1 || !ok2 {
		return t.Range
	}
	return hcl.Range{Filename: t.Range.Filename, Start: start, End: end}
}

// pos maps a byte offset in Value to a file position. With end set, an offset
// at the boundary of two pieces maps to the end of the earlier piece.
func (t Text) pos(off int, end bool) (hcl.Pos, bool) {
	for i, p := range t.parts {
		last := i == len(t.parts)-1
		if off < p.offset || off > p.offset+len(p.value) {
			continue
		}
		if off == p.offset+len(p.value) && !end && !last {
			continue
		}
		return p.pos(off - p.offset)
	}
	return hcl.Pos{}, false
}

// pos walks the piece's source, decoding escapes, until n decoded bytes are
// behind it, and returns the source position reached.
func (p textPart) pos(n int) (hcl.Pos, bool) {
	src := p.src
	// A flush heredoc (<<-) strips the same indentation from every line but
	// the first (whose range already starts after it): skip it after each
	// newline.
	indent := 0
	if extra := decodedLen(src, p.heredoc) - len(p.value); extra > 0 {
		if lines := bytes.Count(bytes.TrimSuffix(src, []byte("\n")), []byte("\n")); lines > 0 {
			indent = extra / lines
		}
	}
	pos := p.start
	advance := func(size int, chunk []byte) {
		for k := 0; k < size; {
			r, w := utf8.DecodeRune(chunk[k:])
			if r == '\n' {
				pos.Line++
				pos.Column = 1
			} else {
				pos.Column++
			}
			k += w
		}
		pos.Byte += size
	}
	i, done := 0, 0
	for {
		if i > 0 && src[i-1] == '\n' && indent > 0 {
			skip := 0
			for skip < indent && i+skip < len(src) && (src[i+skip] == ' ' || src[i+skip] == '\t') {
				skip++
			}
			advance(skip, src[i:])
			i += skip
		}
		if done >= n {
			return pos, true
		}
		if i >= len(src) {
			return pos, false
		}
		size, out := step(src[i:], p.heredoc)
		advance(size, src[i:])
		i += size
		done += out
	}
}

// decodedLen is the number of decoded bytes src yields.
func decodedLen(src []byte, heredoc bool) int {
	total := 0
	for i := 0; i < len(src); {
		size, out := step(src[i:], heredoc)
		i += size
		total += out
	}
	return total
}

// step reads one source unit (a character or an escape sequence) and returns
// how many source bytes it spans and how many decoded bytes it yields.
func step(src []byte, heredoc bool) (size, out int) {
	if len(src) >= 3 && (src[0] == '$' || src[0] == '%') && src[1] == src[0] && src[2] == '{' {
		return 3, 2 // "$${" and "%%{" escape a template sequence
	}
	if !heredoc && src[0] == '\\' && len(src) >= 2 {
		switch src[1] {
		case 'u', 'U':
			digits := 4
			if src[1] == 'U' {
				digits = 8
			}
			if len(src) >= 2+digits {
				if v, err := strconv.ParseUint(string(src[2:2+digits]), 16, 32); err == nil {
					return 2 + digits, utf8.RuneLen(rune(v))
				}
			}
		}
		return 2, 1
	}
	_, w := utf8.DecodeRune(src)
	return w, w
}

// textOf builds the Text of a string value written by expr. src returns the
// bytes of a file by name (nil when unknown).
func textOf(value string, expr hcl.Expression, src func(string) []byte) Text {
	t := Text{Value: value, Range: expr.Range()}
	tmpl, ok := expr.(*hclsyntax.TemplateExpr)
	if !ok || value == "" {
		return t // computed, or empty: point at the whole value
	}
	file := src(t.Range.Filename)
	if file == nil {
		return t
	}
	heredoc := t.Range.Start.Byte+1 < len(file) && file[t.Range.Start.Byte] == '<' && file[t.Range.Start.Byte+1] == '<'
	offset := 0
	for _, part := range tmpl.Parts {
		lit, ok := part.(*hclsyntax.LiteralValueExpr)
		if !ok || lit.Val.Type() != cty.String || !lit.Val.IsKnown() || lit.Val.IsNull() {
			return Text{Value: value, Range: t.Range}
		}
		r := lit.SrcRange
		if r.End.Byte > len(file) || r.Start.Byte > r.End.Byte {
			return Text{Value: value, Range: t.Range}
		}
		s := lit.Val.AsString()
		t.parts = append(t.parts, textPart{value: s, offset: offset, src: file[r.Start.Byte:r.End.Byte], start: r.Start, heredoc: heredoc})
		offset += len(s)
	}
	if offset != len(value) {
		return Text{Value: value, Range: t.Range}
	}
	return t
}

// VerbatimText returns a Text whose value was written byte for byte, without
// escapes, starting at start in filename. Tests and generated configs use it.
func VerbatimText(filename string, start hcl.Pos, value string) Text {
	t := Text{Value: value, Range: hcl.Range{Filename: filename, Start: start, End: start}}
	p := textPart{value: value, src: []byte(value), start: start, heredoc: true}
	t.parts = []textPart{p}
	t.Range.End, _ = p.pos(len(value))
	return t
}
