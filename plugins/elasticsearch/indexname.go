package elasticsearch

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/sluice-io/sluice/record"
	"github.com/sluice-io/sluice/schema"
)

// IndexPart is one piece of an index name template: literal text, or the
// value of a column, formatted by Layout when the column is a timestamp.
type IndexPart struct {
	// Literal is the text of a literal part.
	Literal string
	// Column is the index of the column of a column part, -1 for a
	// literal.
	Column int
	// Name is the column's name.
	Name string
	// Type is the column's type.
	Type record.ColumnType
	// Layout is the Go time layout a timestamp is formatted with (UTC).
	Layout string

	at int // where a literal starts in the index argument
}

// dateLetters maps the pattern letters an index template accepts (Java
// DateTimeFormatter's, as Flink's connector writes them) to Go layouts.
var dateLetters = []struct{ pattern, layout string }{
	{"yyyy", "2006"}, {"yy", "06"}, {"MM", "01"}, {"dd", "02"}, {"HH", "15"}, {"mm", "04"}, {"ss", "05"},
}

// templateError is a problem at bytes [from, to) of the index argument.
type templateError struct {
	summary, detail string
	from, to        int
}

// parseIndex parses an index template such as "clicks-{window_start|yyyy.MM.dd}"
// against the input schema.
func parseIndex(s string, in record.Schema) ([]IndexPart, *templateError) {
	var parts []IndexPart
	for i := 0; i < len(s); {
		open := strings.IndexByte(s[i:], '{')
		if closeAt := strings.IndexByte(s[i:], '}'); closeAt >= 0 && (open < 0 || closeAt < open) {
			return nil, &templateError{"Unmatched brace in index", "A \"}\" closes nothing; write {column} or {column|yyyy.MM.dd}.", i + closeAt, i + closeAt + 1}
		}
		if open < 0 {
			parts = append(parts, IndexPart{Literal: s[i:], Column: -1, at: i})
			break
		}
		if open > 0 {
			parts = append(parts, IndexPart{Literal: s[i : i+open], Column: -1, at: i})
		}
		start := i + open
		end := strings.IndexByte(s[start:], '}')
		if end < 0 {
			return nil, &templateError{"Unclosed brace in index", "A \"{\" starts a column reference that is not closed with \"}\".", start, len(s)}
		}
		end += start
		p, err := parseRef(s, start+1, end, in)
		if err != nil {
			return nil, err
		}
		parts = append(parts, p)
		i = end + 1
	}
	return parts, checkLiterals(parts)
}

// parseRef parses the reference s[from:to], "column" or "column|pattern".
func parseRef(s string, from, to int, in record.Schema) (IndexPart, *templateError) {
	ref := s[from:to]
	name, pattern, hasPattern := strings.Cut(ref, "|")
	nameEnd := from + len(name)
	idx := in.Index(name)
	if idx < 0 {
		return IndexPart{}, &templateError{"Unknown column in index",
			fmt.Sprintf("The records reaching this sink have no column %q.%s Columns: %s.", name, schema.DidYouMean(name, in.Names()), strings.Join(in.Names(), ", ")),
			from, nameEnd}
	}
	c := in.Columns[idx]
	p := IndexPart{Column: idx, Name: name, Type: c.Type}
	switch {
	case c.Type == record.ColumnTimestamp && !hasPattern:
		return p, &templateError{"Timestamp without a date pattern",
			fmt.Sprintf("%q is a timestamp; say how it names the index, e.g. {%s|yyyy.MM.dd} for daily indices.", name, name), from, nameEnd}
	case c.Type != record.ColumnTimestamp && hasPattern:
		return p, &templateError{"Date pattern on a column that is not a timestamp",
			fmt.Sprintf("%q is a %s column; a date pattern applies to timestamps. Write {%s}.", name, c.Type, name), nameEnd, to}
	case c.Type == record.ColumnFloat:
		return p, &templateError{"Float column in index",
			fmt.Sprintf("%q is a float column, which cannot name an index; use a string, int, bool or timestamp column.", name), from, nameEnd}
	case !hasPattern:
		return p, nil
	}
	layout, err := dateLayout(pattern, nameEnd+1)
	if err != nil {
		return p, err
	}
	p.Layout = layout
	return p, nil
}

// dateLayout converts a date pattern, which starts at byte off of the
// index argument, to a Go layout.
func dateLayout(pattern string, off int) (string, *templateError) {
	if pattern == "" {
		return "", &templateError{"Empty date pattern", "Write a pattern after \"|\", e.g. yyyy.MM.dd.", off - 1, off}
	}
	var b strings.Builder
	for i := 0; i < len(pattern); {
		c := pattern[i]
		if c == '-' || c == '.' || c == '_' || (c >= '0' && c <= '9') {
			b.WriteByte(c)
			i++
			continue
		}
		matched := false
		for _, l := range dateLetters {
			if strings.HasPrefix(pattern[i:], l.pattern) {
				b.WriteString(l.layout)
				i += len(l.pattern)
				matched = true
				break
			}
		}
		if !matched {
			j := i + 1
			for j < len(pattern) && pattern[j] == c {
				j++
			}
			return "", &templateError{"Unknown date pattern", fmt.Sprintf("%q is not a date pattern of an index name; use yyyy, yy, MM, dd, HH, mm and ss (UTC), separated by -, . or _.", pattern[i:j]), off + i, off + j}
		}
	}
	return b.String(), nil
}

// checkLiterals checks the literal parts against Elasticsearch's rules for
// index names, so that a name no row could make valid is refused at lint.
func checkLiterals(parts []IndexPart) *templateError {
	for i, p := range parts {
		if p.Column >= 0 {
			continue
		}
		at := p.at
		for j := 0; j < len(p.Literal); j++ {
			c := p.Literal[j]
			switch {
			case c >= 'A' && c <= 'Z':
				return &templateError{"Index name not lowercase", "Elasticsearch index names are lowercase.", at + j, at + j + 1}
			case strings.IndexByte("\\/*?\"<>| ,#:", c) >= 0:
				return &templateError{"Invalid character in index", fmt.Sprintf("Index names cannot contain %q (nor \\ / * ? \" < > | space , # :).", string(c)), at + j, at + j + 1}
			}
		}
		if i == 0 && strings.IndexByte("-_+", p.Literal[0]) >= 0 {
			return &templateError{"Invalid index name start", "Index names cannot start with -, _ or +.", at, at + 1}
		}
	}
	if len(parts) == 0 {
		return &templateError{"Empty index", "Name the index to write, e.g. \"clicks\" or \"clicks-{window_start|yyyy.MM.dd}\".", 0, 0}
	}
	return nil
}

// indexDiag turns a template error into a diagnostic on the index argument.
func indexDiag(t schema.Text, err *templateError) *hcl.Diagnostic {
	r := t.Range
	if err.to > err.from {
		r = t.RangeOf(err.from, err.to)
	}
	return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: err.summary, Detail: err.detail, Subject: &r}
}

// appendIndex appends the index name of row of b. It reports the name of
// a column whose value is null, which names no index.
func appendIndex(dst []byte, parts []IndexPart, b *record.Batch, row int) ([]byte, string) {
	for i := range parts {
		p := &parts[i]
		if p.Column < 0 {
			dst = append(dst, p.Literal...)
			continue
		}
		v := &b.Columns[p.Column]
		if v.IsNull(row) {
			return dst, p.Name
		}
		switch p.Type {
		case record.ColumnString:
			dst = append(dst, v.StringBytes(row)...)
		case record.ColumnInt:
			dst = strconv.AppendInt(dst, v.Ints[row], 10)
		case record.ColumnBool:
			dst = strconv.AppendBool(dst, v.Bools[row])
		case record.ColumnTimestamp:
			dst = time.UnixMilli(v.Ints[row]).UTC().AppendFormat(dst, p.Layout)
		}
	}
	return dst, ""
}

// staticIndex returns the index name when the template has no column,
// else "".
func staticIndex(parts []IndexPart) string {
	if len(parts) == 1 && parts[0].Column < 0 {
		return parts[0].Literal
	}
	return ""
}
