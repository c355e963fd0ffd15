package plugindoc

import (
	"regexp"
	"strings"
)

// wrapWidth is the column plain-text docs are wrapped at.
const wrapWidth = 80

// minText is the least room a wrapped line is given, however deep its indent.
const minText = 30

// wrapWords fills words greedily into lines of at most first bytes for the
// first line and rest bytes for the others. A word longer than its line gets
// a line of its own.
func wrapWords(s string, first, rest int) []string {
	width := max(first, minText)
	var lines []string
	var line strings.Builder
	for _, w := range strings.Fields(s) {
		if line.Len() > 0 && line.Len()+1+len(w) > width {
			lines = append(lines, line.String())
			line.Reset()
			width = max(rest, minText)
		}
		if line.Len() > 0 {
			line.WriteByte(' ')
		}
		line.WriteString(w)
	}
	if line.Len() > 0 {
		lines = append(lines, line.String())
	}
	return lines
}

// writeWrapped writes s filled to wrapWidth columns, the first line starting
// with indent and the others with hang, or with indent too when hang is
// empty. indent may hold text, such as a name that the filled words follow.
func writeWrapped(b *strings.Builder, s, indent, hang string) {
	if hang == "" {
		hang = indent
	}
	for i, line := range wrapWords(s, wrapWidth-len(indent), wrapWidth-len(hang)) {
		if i == 0 {
			b.WriteString(indent)
		} else {
			b.WriteString(hang)
		}
		b.WriteString(line)
		b.WriteByte('\n')
	}
}

var listItem = regexp.MustCompile(`^\s{0,3}([-*+]|[0-9]+[.)])\s+`)

// writeMarkdownText writes Markdown as plain text indented by indent:
// paragraphs are refilled to wrapWidth, list items get a hanging indent,
// fenced and indented code and headings are kept as written. Paragraphs are
// separated by one blank line.
func writeMarkdownText(b *strings.Builder, md, indent string) {
	lines := strings.Split(strings.ReplaceAll(strings.TrimSpace(md), "\r\n", "\n"), "\n")
	var para []string // pending lines of the current paragraph or list item
	hang := ""        // the hanging indent of the pending list item
	first := true     // nothing written yet
	sep := func() {
		if !first {
			b.WriteByte('\n')
		}
		first = false
	}
	flush := func() {
		if len(para) == 0 {
			return
		}
		text := strings.Join(para, " ")
		if hang == "" {
			writeWrapped(b, text, indent, "")
		} else {
			writeWrapped(b, text, indent, indent+hang)
		}
		para, hang = nil, ""
	}
	inList := false // the previous block was a list item: no blank line between items
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		trimmed := strings.TrimSpace(line)
		switch {
		case trimmed == "":
			flush()
			if i+1 < len(lines) && !listItem.MatchString(lines[i+1]) {
				inList = false
			}
		case strings.HasPrefix(trimmed, "```") || strings.HasPrefix(trimmed, "~~~"):
			flush()
			sep()
			fence := trimmed[:3]
			for i++; i < len(lines) && !strings.HasPrefix(strings.TrimSpace(lines[i]), fence); i++ {
				b.WriteString(strings.TrimRight(indent+"    "+lines[i], " \t"))
				b.WriteByte('\n')
			}
			inList = false
		case strings.HasPrefix(line, "    ") || strings.HasPrefix(line, "\t"):
			if len(para) > 0 {
				para = append(para, trimmed) // a continuation line of a list item
				continue
			}
			sep()
			for ; i < len(lines) && (strings.HasPrefix(lines[i], "    ") || strings.HasPrefix(lines[i], "\t")); i++ {
				code, tab := strings.CutPrefix(lines[i], "\t")
				if !tab {
					code = lines[i][4:]
				}
				b.WriteString(strings.TrimRight(indent+"    "+code, " \t") + "\n")
			}
			i--
			inList = false
		case strings.HasPrefix(trimmed, "#"):
			flush()
			sep()
			b.WriteString(indent + strings.TrimSpace(strings.TrimLeft(trimmed, "#")) + "\n")
			inList = false
		case listItem.MatchString(line):
			flush()
			if !inList {
				sep()
			}
			inList = true
			m := listItem.FindString(line)
			marker := strings.TrimSpace(m)
			para = []string{marker, line[len(m):]}
			hang = strings.Repeat(" ", len(marker)+1)
		default:
			if len(para) == 0 {
				sep()
				inList = false
			}
			para = append(para, trimmed)
		}
	}
	flush()
}
