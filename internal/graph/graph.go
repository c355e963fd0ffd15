// Package graph draws the stage chain of pipelines as Graphviz DOT or
// Mermaid: the source, each stage in order, the fan-out to every sink and,
// dashed, the dead letter.
package graph

import (
	"fmt"
	"io"
	"strings"

	"github.com/sluice-io/sluice/runner/config"
)

// node is one box of the drawing.
type node struct {
	id, label string
}

// edge joins two nodes; dashed edges lead to the dead letter.
type edge struct {
	from, to string
	dashed   bool
}

// layout turns pipelines into nodes and edges shared by both formats.
func layout(pipelines []*config.Pipeline) (groups [][]node, edges []edge, names []string) {
	for pi, p := range pipelines {
		var nodes []node
		id := func(i int) string { return fmt.Sprintf("p%d_%d", pi, i) }
		prev := ""
		for i, st := range p.Chain {
			n := node{id(i), label(st)}
			nodes = append(nodes, n)
			if prev != "" {
				edges = append(edges, edge{from: prev, to: n.id})
			}
			prev = n.id
		}
		for i, st := range p.Sinks {
			n := node{id(len(p.Chain) + i), label(st)}
			nodes = append(nodes, n)
			if prev != "" {
				edges = append(edges, edge{from: prev, to: n.id})
			}
		}
		if dl := p.DeadLetter; dl != nil {
			n := node{id(len(p.Chain) + len(p.Sinks)), label(dl)}
			nodes = append(nodes, n)
			for i, st := range p.Chain {
				if deadLetters(st) {
					edges = append(edges, edge{from: id(i), to: n.id, dashed: true})
				}
			}
		}
		groups = append(groups, nodes)
		names = append(names, p.Name)
	}
	return groups, edges, names
}

// deadLetters reports whether a stage can send records to the dead letter:
// a parse with on_error = "dead_letter", a window with late = "dead_letter",
// and filter and map stages (an expression failing on a record).
func deadLetters(st *config.Stage) bool {
	for _, arg := range []string{"on_error", "late"} {
		if st.Plugin.Spec.Field(arg) != nil {
			return st.Args.String(arg) == "dead_letter"
		}
	}
	return st.Plugin.Block == "filter" || st.Plugin.Block == "map"
}

func label(st *config.Stage) string {
	return strings.ReplaceAll(st.Title(), `"`, "'")
}

// WriteDOT draws the pipelines in Graphviz DOT.
func WriteDOT(w io.Writer, pipelines []*config.Pipeline) error {
	groups, edges, names := layout(pipelines)
	var b strings.Builder
	b.WriteString("digraph sluice {\n  rankdir=LR;\n  node [shape=box, fontname=\"Helvetica\"];\n")
	for i, nodes := range groups {
		fmt.Fprintf(&b, "  subgraph cluster_%d {\n    label=%q;\n", i, "pipeline "+names[i])
		for _, n := range nodes {
			fmt.Fprintf(&b, "    %s [label=%q];\n", n.id, n.label)
		}
		b.WriteString("  }\n")
	}
	for _, e := range edges {
		style := ""
		if e.dashed {
			style = " [style=dashed, label=\"dead letter\"]"
		}
		fmt.Fprintf(&b, "  %s -> %s%s;\n", e.from, e.to, style)
	}
	b.WriteString("}\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteMermaid draws the pipelines as a Mermaid flowchart.
func WriteMermaid(w io.Writer, pipelines []*config.Pipeline) error {
	groups, edges, names := layout(pipelines)
	var b strings.Builder
	b.WriteString("flowchart LR\n")
	for i, nodes := range groups {
		fmt.Fprintf(&b, "  subgraph g%d [\"pipeline %s\"]\n", i, names[i])
		for _, n := range nodes {
			fmt.Fprintf(&b, "    %s[\"%s\"]\n", n.id, n.label)
		}
		b.WriteString("  end\n")
	}
	for _, e := range edges {
		arrow := "-->"
		if e.dashed {
			arrow = "-. dead letter .->"
		}
		fmt.Fprintf(&b, "  %s %s %s\n", e.from, arrow, e.to)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
