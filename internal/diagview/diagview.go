// Package diagview renders diagnostics for people and programs. One view
// model (View) feeds both the caret text output and the JSON output, as in
// Terraform's command/format.
package diagview

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
)

// Pos is a position in a file: 1-based line and column, 0-based byte offset.
type Pos struct {
	Line   int `json:"line"`
	Column int `json:"column"`
	Byte   int `json:"byte"`
}

// View is one diagnostic, ready to print.
type View struct {
	Severity string `json:"severity"` // "error" or "warning"
	Summary  string `json:"summary"`
	Detail   string `json:"detail"`
	Filename string `json:"filename,omitempty"`
	Start    *Pos   `json:"start,omitempty"`
	End      *Pos   `json:"end,omitempty"`

	// Snippet is the source line the diagnostic starts on, and the byte
	// offsets within it to highlight; absent when the source is unknown.
	Snippet *Snippet `json:"snippet,omitempty"`
}

// Snippet is a source line with a highlighted part.
type Snippet struct {
	Line           int    `json:"line"`
	Code           string `json:"code"`
	HighlightStart int    `json:"highlight_start_offset"`
	HighlightEnd   int    `json:"highlight_end_offset"`
}

// New builds the views of diags, sorted by file and position (errors before
// warnings at the same place). files supplies source bytes by name.
func New(diags hcl.Diagnostics, files map[string][]byte) []View {
	views := make([]View, 0, len(diags))
	for _, d := range diags {
		views = append(views, newView(d, files))
	}
	sort.SliceStable(views, func(i, j int) bool {
		a, b := views[i], views[j]
		if a.Filename != b.Filename {
			return a.Filename < b.Filename
		}
		ab, bb := -1, -1
		if a.Start != nil {
			ab = a.Start.Byte
		}
		if b.Start != nil {
			bb = b.Start.Byte
		}
		if ab != bb {
			return ab < bb
		}
		return a.Severity == "error" && b.Severity != "error"
	})
	return views
}

func newView(d *hcl.Diagnostic, files map[string][]byte) View {
	v := View{Severity: "error", Summary: d.Summary, Detail: d.Detail}
	if d.Severity == hcl.DiagWarning {
		v.Severity = "warning"
	}
	if d.Subject == nil {
		return v
	}
	r := *d.Subject
	v.Filename = r.Filename
	if r.Start.Line == 0 {
		return v // about the whole file
	}
	v.Start = &Pos{Line: r.Start.Line, Column: r.Start.Column, Byte: r.Start.Byte}
	v.End = &Pos{Line: r.End.Line, Column: r.End.Column, Byte: r.End.Byte}
	src := files[r.Filename]
	if src == nil || r.Start.Byte > len(src) {
		return v
	}
	lineStart := strings.LastIndexByte(string(src[:r.Start.Byte]), '\n') + 1
	lineEnd := len(src)
	if i := strings.IndexByte(string(src[lineStart:]), '\n'); i >= 0 {
		lineEnd = lineStart + i
	}
	code := strings.TrimRight(string(src[lineStart:lineEnd]), "\r")
	hiStart := r.Start.Byte - lineStart
	hiEnd := r.End.Byte - lineStart
	if hiEnd > len(code) || r.End.Line != r.Start.Line {
		hiEnd = len(code)
	}
	if hiStart > len(code) {
		hiStart = len(code)
	}
	if hiEnd < hiStart {
		hiEnd = hiStart
	}
	v.Snippet = &Snippet{Line: r.Start.Line, Code: code, HighlightStart: hiStart, HighlightEnd: hiEnd}
	return v
}

// WriteText prints views as `file:line:col: severity: summary`, the source
// line with carets under the subject, and the detail.
func WriteText(w io.Writer, views []View) error {
	var b strings.Builder
	for i, v := range views {
		if i > 0 {
			b.WriteByte('\n')
		}
		switch {
		case v.Start != nil:
			fmt.Fprintf(&b, "%s:%d:%d: %s: %s\n", v.Filename, v.Start.Line, v.Start.Column, v.Severity, v.Summary)
		case v.Filename != "":
			fmt.Fprintf(&b, "%s: %s: %s\n", v.Filename, v.Severity, v.Summary)
		default:
			fmt.Fprintf(&b, "%s: %s\n", v.Severity, v.Summary)
		}
		if s := v.Snippet; s != nil {
			gutter := fmt.Sprintf("%5d | ", s.Line)
			code := strings.ReplaceAll(s.Code, "\t", " ")
			fmt.Fprintf(&b, "%s%s\n", gutter, code)
			pad := utf8.RuneCountInString(code[:s.HighlightStart])
			width := utf8.RuneCountInString(code[s.HighlightStart:s.HighlightEnd])
			if width < 1 {
				width = 1
			}
			fmt.Fprintf(&b, "%s| %s%s\n", strings.Repeat(" ", len(gutter)-2), strings.Repeat(" ", pad), strings.Repeat("^", width))
		}
		if v.Detail != "" {
			for _, line := range strings.Split(v.Detail, "\n") {
				fmt.Fprintf(&b, "  %s\n", line)
			}
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteJSON prints views as one JSON array.
func WriteJSON(w io.Writer, views []View) error {
	if views == nil {
		views = []View{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(views)
}

// Count returns the number of errors and warnings.
func Count(views []View) (errors, warnings int) {
	for _, v := range views {
		if v.Severity == "error" {
			errors++
		} else {
			warnings++
		}
	}
	return errors, warnings
}
