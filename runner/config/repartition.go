package config

import (
	"fmt"
	"slices"

	"github.com/hashicorp/hcl/v2"

	"github.com/sluice-io/sluice/plugins"
	"github.com/sluice-io/sluice/schema"
)

// This file checks a pipeline's repartition block (docs/scaling.md,
// "Repartition"): the runner splits the pipeline there in two halves
// joined by a partitioned topic, so every window after it must keep its
// state per group of the records one partition receives.

// RepartitionAt returns the index in p.Chain of p's repartition block, or
// -1 when it has none (or the block has errors).
func RepartitionAt(p *Pipeline) int {
	for i, s := range p.Chain {
		if _, ok := s.Component.(plugins.Repartitioner); ok && s.Plugin.Block == "repartition" {
			return i
		}
	}
	return -1
}

// repartitionRefusals returns why p's repartition block at chain index at
// cannot run: a second one, a window before it, a window after it whose
// group_by does not cover the key, or a stage between that rewrites a key
// field.
func repartitionRefusals(p *Pipeline, at int) hcl.Diagnostics {
	var diags hcl.Diagnostics
	rp := p.Chain[at]
	for _, s := range p.Chain[1:at] {
		if _, ok := s.Component.(plugins.OperatorStarter); ok {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Window before a repartition",
				Detail: fmt.Sprintf("%s comes after %s in pipeline %q. A repartition shuffles records, not window results: move it before the first window, where the records still carry their source partitions and event times.",
					rp.Title(), s.Title(), p.Name),
				Subject: rp.DefRange.Ptr(),
			})
			break
		}
	}
	key, keyAt := rp.Component.(plugins.Repartitioner).RepartitionKey()
	if w := firstWindow(p.Chain[at+1:]); w != nil {
		if d := eventTimeCrosses(rp, w, p.Chain[at+1:]); d != nil {
			diags = append(diags, d)
		}
	}
	for _, s := range p.Chain[at+1:] {
		if s.Plugin.Block == "repartition" {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Second repartition",
				Detail:   fmt.Sprintf("Pipeline %q already shuffles at %s; a pipeline may repartition once. Split it into two pipelines joined by a topic to shuffle again.", p.Name, rp.Title()),
				Subject:  s.DefRange.Ptr(),
			})
			continue
		}
		if fw, ok := s.Component.(plugins.FieldWriter); ok {
			for _, f := range fw.WrittenFields() {
				if slices.Contains(key, f) {
					diags = append(diags, &hcl.Diagnostic{
						Severity: hcl.DiagError,
						Summary:  "Stage changes a repartition key field",
						Detail: fmt.Sprintf("%s changes or drops %q, which %s routes records by: after it, records with equal values of %q may be in several partitions of the shuffle, so a window grouping by it would split its state across tasks. Change the field before the repartition block.",
							s.Title(), f, rp.Title(), f),
						Subject: s.DefRange.Ptr(),
					})
				}
			}
		}
		if _, ok := s.Component.(plugins.OperatorStarter); !ok {
			continue
		}
		var group []string
		if g, ok := s.Component.(plugins.Grouped); ok {
			group = g.GroupFields()
		}
		if d := groupMissesKey(p, rp, s, group, key, keyAt); d != nil {
			diags = append(diags, d)
		}
	}
	return diags
}

// groupMissesKey returns the error of a window s after the repartition
// block rp whose group_by lacks a field of the block's key: each task of
// the half after keeps s's state for the keys of its partition only.
func groupMissesKey(p *Pipeline, rp, s *Stage, group, key []string, keyAt hcl.Range) *hcl.Diagnostic {
	var missing []string
	for _, f := range key {
		if !slices.Contains(group, f) {
			missing = append(missing, f)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	subject := s.DefRange
	if a := s.Args.Attr("group_by"); a != nil {
		subject = a.Range
	}
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Window state would be split across tasks",
		Detail: fmt.Sprintf("%s in pipeline %q routes records by key = [%s] (%s), and each task after it keeps %s's state for the keys of its own partition only, but group_by misses %s. "+
			"Group by every key field, or repartition by fewer fields (a subset of group_by).",
			rp.Title(), p.Name, quoteList(key), schema.At(keyAt), s.Title(), quoteList(missing)),
		Subject: subject.Ptr(),
	}
}

// firstWindow returns the first stateful stage of chain, or nil.
func firstWindow(chain []*Stage) *Stage {
	for _, s := range chain {
		if _, ok := s.Component.(plugins.OperatorStarter); ok {
			return s
		}
	}
	return nil
}

// eventTimeCrosses returns the error of the first window w after the
// repartition block rp when its event time is not a field of rp's input
// that reaches w unchanged: the publishers before the shuffle compute the
// watermark from that field.
func eventTimeCrosses(rp, w *Stage, after []*Stage) *hcl.Diagnostic {
	et, ok := w.Component.(plugins.EventTimed)
	if !ok || et.EventTimeColumn() == plugins.ProcessingTime || et.EventTimeColumn() == "" {
		return nil
	}
	col := et.EventTimeColumn()
	_, _, found := rp.Input.Find(col)
	for _, s := range after {
		if s == w {
			break
		}
		if fw, ok := s.Component.(plugins.FieldWriter); ok && slices.Contains(fw.WrittenFields(), col) {
			found = false
		}
	}
	if found {
		return nil
	}
	subject := w.DefRange
	if a := w.Args.Attr("event_time"); a != nil {
		subject = a.Range
	}
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Event time made after a repartition",
		Detail: fmt.Sprintf("%s places records by %q, which is not a field of the records %s publishes, or is changed after it. The publishers before the shuffle compute the watermark from that field: make it before the repartition block.",
			w.Title(), col, rp.Title()),
		Subject: subject.Ptr(),
	}
}
