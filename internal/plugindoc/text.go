package plugindoc

import (
	"io"
	"strings"

	"github.com/sluice-io/sluice/plugins"
	"github.com/sluice-io/sluice/schema"
)

// kindTitles names each kind's group in listings and docs.
var kindTitles = map[plugins.Kind]string{
	plugins.KindSource:     "Sources",
	plugins.KindParse:      "Parsers",
	plugins.KindStage:      "Stages",
	plugins.KindSink:       "Sinks",
	plugins.KindDeadLetter: "Dead letters",
}

// kindTitle returns the title of a kind's group.
func kindTitle(k plugins.Kind) string {
	if t, ok := kindTitles[k]; ok {
		return t
	}
	return string(k)
}

// byKind groups the environment's plugins by kind, in the order of
// env.Plugins() (pipeline order); kinds without plugins are left out.
func byKind(env *plugins.Environment) []group {
	var groups []group
	for _, p := range env.Plugins() {
		if n := len(groups); n > 0 && groups[n-1].kind == p.Kind {
			groups[n-1].plugins = append(groups[n-1].plugins, p)
			continue
		}
		groups = append(groups, group{kind: p.Kind, plugins: []*plugins.Plugin{p}})
	}
	return groups
}

// group is the plugins of one kind.
type group struct {
	kind    plugins.Kind
	plugins []*plugins.Plugin
}

// WriteList writes the compact listing of `sluice plugins`: the plugins of
// env grouped by kind in pipeline order, one line each with the block header
// and the summary, summaries aligned in one column and wrapped to about 80
// columns. It returns the error of writing to w.
func WriteList(w io.Writer, env *plugins.Environment) error {
	groups := byKind(env)
	width := 0
	for _, g := range groups {
		for _, p := range g.plugins {
			width = max(width, len(p.Header()))
		}
	}
	col := 2 + width + 2
	var b strings.Builder
	for i, g := range groups {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(kindTitle(g.kind) + ":\n")
		for _, p := range g.plugins {
			h := p.Header()
			first := "  " + h + strings.Repeat(" ", col-2-len(h))
			writeWrapped(&b, p.Summary, first, strings.Repeat(" ", col))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WritePlugin writes the full plain-text reference of one plugin, as shown
// by `sluice plugins NAME`: its header and summary, its description, every
// argument (type, required or default, doc, examples) with nested blocks
// indented under their own header, then the example blocks. Text is wrapped
// to about 80 columns. It returns the error of writing to w.
func WritePlugin(w io.Writer, p *plugins.Plugin) error {
	var b strings.Builder
	b.WriteString(p.Header() + "\n")
	writeWrapped(&b, p.Summary, "  ", "")
	if strings.TrimSpace(p.Description) != "" {
		b.WriteByte('\n')
		writeMarkdownText(&b, p.Description, "  ")
	}
	if lines := p.ContractText(); len(lines) > 0 {
		b.WriteString("\nContract:\n")
		for _, l := range lines {
			writeWrapped(&b, l, "  ", "    ")
		}
	}
	b.WriteString("\nArguments:\n")
	if p.Spec == nil || len(p.Spec.Fields) == 0 {
		b.WriteString("\n  This plugin takes no arguments.\n")
	} else {
		writeFieldsText(&b, p.Spec, "  ")
	}
	if len(p.Examples) > 0 {
		b.WriteString("\nExamples:\n")
		for _, ex := range p.Examples {
			b.WriteByte('\n')
			if ex.Title != "" {
				writeWrapped(&b, ex.Title, "  # ", "  # ")
			}
			for _, line := range strings.Split(strings.TrimRight(ex.Config, " \t\r\n"), "\n") {
				b.WriteString(strings.TrimRight("  "+line, " \t\r") + "\n")
			}
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// writeFieldsText writes every field of spec at the given indent, each
// preceded by a blank line: a headline with the name, type and whether it is
// required, then the doc and examples indented four more columns, then the
// fields of a nested block.
func writeFieldsText(b *strings.Builder, spec *schema.Spec, indent string) {
	for _, f := range spec.Fields {
		b.WriteByte('\n')
		body := indent + "    "
		head, kind := f.Name, f.TypeName()
		if f.Type == schema.TypeBlock {
			head, kind = blockHeader(f), ""
		}
		writeHeadline(b, indent+head+"  ", kind, status(f), body)
		writeWrapped(b, f.Doc, body, "")
		writeExamples(b, f, body)
		if f.Type == schema.TypeBlock && f.Block != nil {
			if len(f.Block.Fields) == 0 {
				b.WriteString("\n" + body + "This block takes no arguments.\n")
			}
			writeFieldsText(b, f.Block, body)
		}
	}
}

// writeHeadline writes the first line of an argument's entry: lead (its
// name), its type and its status, joined by a comma. When they do not fit in
// wrapWidth columns the status goes on a line of its own, indented by hang.
func writeHeadline(b *strings.Builder, lead, typ, status, hang string) {
	line := lead + status
	if typ != "" {
		line = lead + typ + ", " + status
	}
	if len(line) <= wrapWidth || typ == "" {
		b.WriteString(line + "\n")
		return
	}
	writeWrapped(b, typ, lead, hang)
	b.WriteString(hang + status + "\n")
}

// writeExamples writes the example values of f on one line when they fit,
// else one per line.
func writeExamples(b *strings.Builder, f *schema.Field, indent string) {
	switch {
	case len(f.Examples) == 0:
	case len(f.Examples) == 1:
		b.WriteString(indent + "Example: " + f.Examples[0] + "\n")
	case len(indent)+len("Examples: ")+len(strings.Join(f.Examples, ", ")) <= wrapWidth:
		b.WriteString(indent + "Examples: " + strings.Join(f.Examples, ", ") + "\n")
	default:
		b.WriteString(indent + "Examples:\n")
		for _, ex := range f.Examples {
			b.WriteString(indent + "  " + ex + "\n")
		}
	}
}

// blockHeader renders how a nested block is opened, e.g. `field "NAME"`.
func blockHeader(f *schema.Field) string {
	h := f.Name
	for _, l := range f.LabelNames {
		h += ` "` + strings.ToUpper(l) + `"`
	}
	return h
}

// status says whether an argument must be written: "required", "optional",
// "default VALUE", or for nested blocks "required block", "optional block"
// or "repeated block".
func status(f *schema.Field) string {
	switch {
	case f.Type == schema.TypeBlock && f.Repeated:
		return "repeated block"
	case f.Type == schema.TypeBlock && f.Required():
		return "required block"
	case f.Type == schema.TypeBlock:
		return "optional block"
	case f.Required():
		return "required"
	case f.Default != nil:
		return "default " + DefaultHCL(f)
	}
	return "optional"
}
