package plugindoc

import (
	"bytes"
	"fmt"
	"strings"
	"unicode"

	"github.com/sluice-io/sluice/plugins"
	"github.com/sluice-io/sluice/schema"
)

// Markdown renders the reference of every plugin in env as the Markdown
// document committed as docs/plugins.md: a title, a note that the file is
// generated, a table of contents grouped by kind in pipeline order, then one
// section per plugin with its summary, description, a table of arguments, a
// table per nested block and its examples in hcl fences. The output depends
// only on the declarations, never on registration order.
func Markdown(env *plugins.Environment) []byte {
	var b bytes.Buffer
	a := anchors{}
	b.WriteString("# Plugin reference\n\n")
	b.WriteString("This file is generated from the plugins' declarations by " +
		"`go test ./internal/plugindoc -update`; do not edit it by hand. " +
		"The same text is printed by `sluice plugins NAME`, and every " +
		"argument below is checked by `sluice lint`.\n")
	groups := byKind(env)

	// Anchors are assigned in document order, as GitHub does, so the table
	// of contents can link to sections written after it.
	a.add("Plugin reference")
	a.add("Contents")
	ids := map[*plugins.Plugin]string{}
	for _, g := range groups {
		a.add(kindTitle(g.kind))
		for _, p := range g.plugins {
			ids[p] = a.add(p.Header())
			a.addBlockHeadings(p)
		}
	}

	b.WriteString("\n## Contents\n")
	for _, g := range groups {
		fmt.Fprintf(&b, "\n- %s\n", kindTitle(g.kind))
		for _, p := range g.plugins {
			fmt.Fprintf(&b, "  - [`%s`](#%s): %s\n", p.Header(), ids[p], inline(p.Summary))
		}
	}
	for _, g := range groups {
		fmt.Fprintf(&b, "\n## %s\n", kindTitle(g.kind))
		for _, p := range g.plugins {
			writePluginMarkdown(&b, p)
		}
	}
	return b.Bytes()
}

// writePluginMarkdown writes the section of one plugin.
func writePluginMarkdown(b *bytes.Buffer, p *plugins.Plugin) {
	fmt.Fprintf(b, "\n### `%s`\n\n%s\n", p.Header(), strings.TrimSpace(p.Summary))
	if d := strings.TrimSpace(p.Description); d != "" {
		b.WriteString("\n" + shiftHeadings(d, 4) + "\n")
	}
	if lines := p.ContractText(); len(lines) > 0 {
		b.WriteString("\n#### Contract\n\n")
		for _, l := range lines {
			b.WriteString("- " + inline(l) + "\n")
		}
	}
	if p.Spec == nil || len(p.Spec.Fields) == 0 {
		b.WriteString("\nThis plugin takes no arguments.\n")
	} else {
		b.WriteString("\n#### Arguments\n")
		writeTable(b, p.Spec)
		writeBlockSections(b, p.Spec, "")
	}
	if len(p.Examples) > 0 {
		b.WriteString("\n#### Examples\n")
		for _, ex := range p.Examples {
			if ex.Title != "" {
				fmt.Fprintf(b, "\n%s:\n", strings.TrimSuffix(inline(ex.Title), ":"))
			}
			fmt.Fprintf(b, "\n```hcl\n%s\n```\n", strings.TrimRight(ex.Config, " \t\r\n"))
		}
	}
}

// writeBlockSections writes, for every nested block of spec, a heading with
// the block's path (`field "NAME"`, or `outer > inner` when nested deeper),
// its doc and the table of its arguments, recursively.
func writeBlockSections(b *bytes.Buffer, spec *schema.Spec, parent string) {
	for _, f := range spec.Fields {
		if f.Type != schema.TypeBlock || f.Block == nil {
			continue
		}
		path := blockPath(parent, f)
		fmt.Fprintf(b, "\n#### Block `%s`\n\n", path)
		b.WriteString(inline(f.Doc) + " " + blockUse(f) + "\n")
		if len(f.Block.Fields) == 0 {
			b.WriteString("\nThis block takes no arguments.\n")
			continue
		}
		writeTable(b, f.Block)
		writeBlockSections(b, f.Block, path)
	}
}

// blockPath names a nested block by the blocks that hold it.
func blockPath(parent string, f *schema.Field) string {
	if parent == "" {
		return blockHeader(f)
	}
	return parent + " > " + blockHeader(f)
}

// blockUse says how often a nested block may be written.
func blockUse(f *schema.Field) string {
	switch {
	case f.Repeated:
		return "It may be written any number of times."
	case f.Required():
		return "It must be written once."
	}
	return "It may be written at most once."
}

// writeTable writes the arguments table of spec.
func writeTable(b *bytes.Buffer, spec *schema.Spec) {
	b.WriteString("\n| Argument | Type | Default/Required | Description |\n")
	b.WriteString("|----------|------|------------------|-------------|\n")
	for _, f := range spec.Fields {
		name, typ, use := "`"+f.Name+"`", cell(f.TypeName()), "optional"
		desc := cell(f.Doc)
		switch {
		case f.Type == schema.TypeBlock:
			name = "`" + cell(blockHeader(f)) + " { … }`"
			use = strings.TrimSuffix(status(f), " block")
			desc += " See the block's table below."
		case f.Required():
			use = "required"
		case f.Default != nil:
			use = "`" + cell(DefaultHCL(f)) + "`"
		}
		if f.Type == schema.TypeEnum || (f.Type != schema.TypeBlock && f.Elem == schema.TypeEnum && len(f.Enum) > 0) {
			typ = "`" + typ + "`"
		}
		if len(f.Examples) > 0 {
			ex := make([]string, len(f.Examples))
			for i, e := range f.Examples {
				ex[i] = "`" + cell(e) + "`"
			}
			label := "Example: "
			if len(ex) > 1 {
				label = "Examples: "
			}
			desc += " " + label + strings.Join(ex, ", ")
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s |\n", name, typ, use, desc)
	}
}

// inline joins the lines of s into one line.
func inline(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// cell makes s fit in one table cell: one line, pipes escaped.
func cell(s string) string {
	return strings.ReplaceAll(inline(s), "|", `\|`)
}

// shiftHeadings moves the ATX headings of a description so that the
// shallowest is at level base and the others keep their depth below it
// (at most 6), nesting them under the plugin's heading. Fenced code is kept.
func shiftHeadings(md string, base int) string {
	lines := strings.Split(md, "\n")
	top := 0
	for _, h := range headings(lines) {
		if top == 0 || h.level < top {
			top = h.level
		}
	}
	for _, h := range headings(lines) {
		l := lines[h.line]
		lines[h.line] = strings.Repeat("#", min(h.level-top+base, 6)) + l[h.level:]
	}
	return strings.Join(lines, "\n")
}

// heading is an ATX heading of a description.
type heading struct {
	line  int    // index of its line
	level int    // number of #
	text  string // its text, code marks removed
}

// headings finds the ATX headings among lines, outside fenced code.
func headings(lines []string) []heading {
	var out []heading
	fenced := false
	for i, l := range lines {
		t := strings.TrimSpace(l)
		if strings.HasPrefix(t, "```") || strings.HasPrefix(t, "~~~") {
			fenced = !fenced
			continue
		}
		level := len(l) - len(strings.TrimLeft(l, "#"))
		if fenced || level == 0 || level > 6 || (len(l) > level && l[level] != ' ') {
			continue
		}
		out = append(out, heading{line: i, level: level, text: strings.ReplaceAll(strings.TrimSpace(l[level:]), "`", "")})
	}
	return out
}

// anchors hands out the fragment identifiers GitHub gives headings: the
// text lower-cased, punctuation dropped, spaces turned into hyphens, and
// "-1", "-2"... appended to repeats.
type anchors map[string]int

// add returns the anchor of the next heading with the given text (without
// Markdown code marks).
func (a anchors) add(text string) string {
	var s strings.Builder
	for _, r := range strings.ToLower(text) {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_':
			s.WriteRune(r)
		case r == ' ':
			s.WriteByte('-')
		}
	}
	id := s.String()
	n := a[id]
	a[id] = n + 1
	if n > 0 {
		id = fmt.Sprintf("%s-%d", id, n)
	}
	return id
}

// addBlockHeadings registers the headings of one plugin's section after its
// title, in the order writePluginMarkdown writes them.
func (a anchors) addBlockHeadings(p *plugins.Plugin) {
	for _, h := range headings(strings.Split(p.Description, "\n")) {
		a.add(h.text)
	}
	if p.Spec != nil && len(p.Spec.Fields) > 0 {
		a.add("Arguments")
		var walk func(spec *schema.Spec, parent string)
		walk = func(spec *schema.Spec, parent string) {
			for _, f := range spec.Fields {
				if f.Type == schema.TypeBlock && f.Block != nil {
					path := blockPath(parent, f)
					a.add("Block " + path)
					if len(f.Block.Fields) > 0 {
						walk(f.Block, path)
					}
				}
			}
		}
		walk(p.Spec, "")
	}
	if len(p.Examples) > 0 {
		a.add("Examples")
	}
}
