// Package graph draws the stage chain of pipelines as Graphviz DOT or
// Mermaid: the source, each stage in order, the fan-out to every sink and,
// dashed, the dead letter. Edges carrying updates or deletes (after a
// window that re-emits results) are labeled with the row kinds they carry.
package graph

import (
	"fmt"
	"io"
	"strings"

	"github.com/sluice-io/sluice/plugins"
	"github.com/sluice-io/sluice/runner/config"
)

// node is one box of the drawing.
type node struct {
	id, label string
}

// edge joins two nodes; dashed edges lead to the dead letter. kinds names
// the row kinds an edge carries when it carries updates or deletes ("":
// inserts only).
type edge struct {
	from, to string
	dashed   bool
	kinds    string
}

// layout turns pipelines into nodes and edges shared by both formats.
func layout(pipelines []*config.Pipeline) (groups [][]node, edges []edge, names []string) {
	for pi, p := range pipelines {
		var nodes []node
		id := func(i int) string { return fmt.Sprintf("p%d_%d", pi, i) }
		prev, kinds := "", ""
		for i, st := range p.Chain {
			n := node{id(i), label(st)}
			nodes = append(nodes, n)
			if prev != "" {
				edges = append(edges, edge{from: prev, to: n.id, kinds: kinds})
			}
			prev = n.id
			if k := emittedKinds(st); k != "" || isWindow(st) {
				kinds = k
			}
		}
		for i, st := range p.Sinks {
			n := node{id(len(p.Chain) + i), label(st)}
			nodes = append(nodes, n)
			if prev != "" {
				edges = append(edges, edge{from: prev, to: n.id, kinds: kinds})
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

// emittedKinds names the row kinds a stage emits when they include updates
// or deletes (plugins.ChangeEmitter), "" otherwise.
func emittedKinds(st *config.Stage) string {
	ce, ok := st.Component.(plugins.ChangeEmitter)
	if !ok {
		return ""
	}
	ks := ce.EmittedKinds()
	if len(ks) <= 1 {
		return ""
	}
	names := make([]string, len(ks))
	for i, k := range ks {
		names[i] = k.String()
	}
	return strings.Join(names, ", ")
}

// isWindow reports whether st is a stateful stage: what it emits replaces
// the kinds of its input.
func isWindow(st *config.Stage) bool {
	_, ok := st.Component.(plugins.OperatorStarter)
	return ok
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
		switch {
		case e.dashed:
			style = " [style=dashed, label=\"dead letter\"]"
		case e.kinds != "":
			style = fmt.Sprintf(" [label=%q]", e.kinds)
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
		switch {
		case e.dashed:
			arrow = "-. dead letter .->"
		case e.kinds != "":
			arrow = "-- " + e.kinds + " -->"
		}
		fmt.Fprintf(&b, "  %s %s %s\n", e.from, arrow, e.to)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
