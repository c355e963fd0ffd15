package config

import (
	"fmt"
	"math/big"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/sluice-io/sluice/plugins"
	"github.com/sluice-io/sluice/schema"
)

// This file decides whether a pipeline runs as tasks (several processes
// sharing its source partitions, docs/scaling.md) and checks, from the
// files alone, that its stateful stages then still give global results:
// every group a window keeps state for must live in one source partition.

// instances decodes a pipeline's instances argument: a whole number >= 1.
func (l *loader) instances(ctx *schema.Context, p *Pipeline, attr *hclsyntax.Attribute) {
	p.InstancesRange = attr.Expr.Range()
	var eval *hcl.EvalContext
	if ctx != nil {
		eval = ctx.Eval
	}
	v, diags := attr.Expr.Value(eval)
	if diags.HasErrors() {
		l.add(diags...)
		return
	}
	bad := &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Invalid instances",
		Detail:   "instances is a whole number: 1 (the default) runs the pipeline as one process owning every source partition; 2 or more lets several processes share it as tasks, see docs/scaling.md.",
		Subject:  p.InstancesRange.Ptr(),
	}
	if v.IsNull() || !v.IsKnown() || v.Type() != cty.Number {
		l.add(bad)
		return
	}
	f := v.AsBigFloat()
	n, acc := f.Int64()
	if acc != big.Exact || n < 1 || n > 1<<20 {
		l.add(bad)
		return
	}
	p.Instances = int(n)
}

// RunsAsTasks reports whether p runs as tasks: it declares instances
// above 1 and its source can be shared by several processes
// (plugins.TaskSplitter, e.g. a Pulsar failover subscription).
func RunsAsTasks(p *Pipeline) bool {
	ok, _ := splits(p)
	return ok && p.Instances > 1
}

// splits reports whether p's source splits into tasks, and where that is
// declared.
func splits(p *Pipeline) (bool, hcl.Range) {
	if len(p.Chain) == 0 || p.Chain[0].Plugin.Kind != plugins.KindSource || p.Chain[0].Component == nil {
		return false, hcl.Range{}
	}
	ts, ok := p.Chain[0].Component.(plugins.TaskSplitter)
	if !ok {
		return false, hcl.Range{}
	}
	return ts.SplitsTasks()
}

// TaskRefusals returns why p cannot run as it is declared with respect to
// tasks: instances above 1 on a source that cannot be shared, or, when it
// runs as tasks, a stateful stage whose groups may span source partitions.
// The loader reports them and the runner refuses with the same words.
func TaskRefusals(p *Pipeline) hcl.Diagnostics {
	if len(p.Chain) == 0 || p.Chain[0].Component == nil {
		return nil
	}
	var diags hcl.Diagnostics
	chain := p.Chain
	if at := RepartitionAt(p); at > 0 {
		// The windows after the shuffle are checked against its key,
		// those before it (none may be) against the source's routing.
		diags = repartitionRefusals(p, at)
		chain = p.Chain[:at]
	}
	return append(diags, sourceTaskRefusals(p, chain)...)
}

// sourceTaskRefusals returns why the stages of chain (p's chain up to its
// repartition block) cannot run as tasks of p's source partitions.
func sourceTaskRefusals(p *Pipeline, chain []*Stage) hcl.Diagnostics {
	src := chain[0]
	ok, at := splits(p)
	if !ok {
		if p.Instances > 1 {
			return hcl.Diagnostics{{
				Severity: hcl.DiagError,
				Summary:  "Source cannot be shared by several instances",
				Detail: fmt.Sprintf("Pipeline %q declares instances = %d, but %s cannot split its partitions among processes. "+
					"Use a source that can (source \"pulsar\" with subscription_type = \"failover\"), or write instances = 1.", p.Name, p.Instances, src.Title()),
				Subject: p.InstancesRange.Ptr(),
			}}
		}
		return nil
	}
	if p.Instances <= 1 {
		return nil
	}
	diags := src.Component.(plugins.TaskSplitter).CheckTasks()
	var routed []string
	var routedAt hcl.Range
	if kr, ok := src.Component.(plugins.KeyRouted); ok {
		routed, routedAt = kr.PartitionedBy()
	}
	first := true
	for _, s := range chain[1:] {
		if _, ok := s.Component.(plugins.OperatorStarter); !ok {
			if first {
				var d *hcl.Diagnostic
				if routed, d = rewrittenRouting(s, routed); d != nil {
					diags = append(diags, d)
				}
			}
			continue
		}
		if first {
			first = false
			unknown := unknownRouted(s, routed, routedAt)
			if len(unknown) > 0 {
				// A misspelt field: say that, not also that groups miss it.
				return append(diags, unknown...)
			}
		}
		var group []string
		if g, ok := s.Component.(plugins.Grouped); ok {
			group = g.GroupFields()
		}
		if d := groupSpansPartitions(p, s, group, routed, at); d != nil {
			diags = append(diags, d)
		}
	}
	return diags
}

// groupSpansPartitions returns the error of a stateful stage s grouping by
// group when the source routes records by routed: nil when every field of
// routed is in group, so that each group lives in one partition.
func groupSpansPartitions(p *Pipeline, s *Stage, group, routed []string, splitAt hcl.Range) *hcl.Diagnostic {
	var missing []string
	for _, f := range routed {
		if !slices.Contains(group, f) {
			missing = append(missing, f)
		}
	}
	if len(routed) > 0 && len(missing) == 0 {
		return nil
	}
	subject := s.DefRange
	if a := s.Args.Attr("group_by"); a != nil {
		subject = a.Range
	}
	src := p.Chain[0].Title()
	why := fmt.Sprintf("%s does not declare partitioned_by, so records of one group may be in any partition", src)
	if len(routed) > 0 {
		why = fmt.Sprintf("%s routes records by partitioned_by = [%s], which group_by does not cover (missing %s), so records of one group may be in several partitions", src, quoteList(routed), quoteList(missing))
	}
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Window state would be split across instances",
		Detail: fmt.Sprintf("Pipeline %q may run as several processes, each owning some partitions (%s at %s), and each task keeps %s's state for its own partition only; %s. "+
			"Fix it in one of these ways: have the producer key messages by the grouped fields and declare them with partitioned_by on the source; "+
			"group by every partitioned_by field; or run a single instance with instances = 1 in the pipeline.",
			p.Name, "the source's failover subscription", schema.At(splitAt), s.Title(), why),
		Subject: subject.Ptr(),
	}
}

// rewrittenRouting returns the routing fields still intact after stage s,
// and an error when s changes one of them: records are then
// no longer grouped by the value the producer keyed them with.
func rewrittenRouting(s *Stage, routed []string) ([]string, *hcl.Diagnostic) {
	fw, ok := s.Component.(plugins.FieldWriter)
	if !ok {
		return routed, nil
	}
	for _, f := range fw.WrittenFields() {
		if slices.Contains(routed, f) {
			return routed, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Stage changes a partitioned_by field",
				Detail: fmt.Sprintf("%s changes or drops %q, which the source declares in partitioned_by: after it, records with equal values of %q may come from several partitions, so a window grouping by it would split its state across instances. "+
					"Key the messages by the final value in the producer, or run a single instance with instances = 1 in the pipeline.", s.Title(), f, f),
				Subject: s.DefRange.Ptr(),
			}
		}
	}
	return routed, nil
}

// unknownRouted reports partitioned_by fields the first stateful stage s
// does not receive: the declaration names the parsed record's fields.
func unknownRouted(s *Stage, routed []string, at hcl.Range) hcl.Diagnostics {
	if s.Input.Raw {
		return nil
	}
	var diags hcl.Diagnostics
	for _, f := range routed {
		if _, _, ok := s.Input.Find(f); ok {
			continue
		}
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Unknown partitioned_by field",
			Detail:   fmt.Sprintf("partitioned_by names %q, but %s receives no such field. partitioned_by lists fields of the parsed records, as group_by does.", f, s.Title()),
			Subject:  at.Ptr(),
		})
	}
	return diags
}

func quoteList(fields []string) string {
	q := make([]string, len(fields))
	for i, f := range fields {
		q[i] = fmt.Sprintf("%q", f)
	}
	return strings.Join(q, ", ")
}
