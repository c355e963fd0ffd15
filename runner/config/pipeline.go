package config

import (
	"fmt"
	"strings"

	"github.com/sluice-io/sluice/record"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/sluice-io/sluice/plugins"
	"github.com/sluice-io/sluice/schema"
)

// pipeline loads one pipeline block: its plugin blocks in order, each built
// against the record schema the blocks before it produce. The source, sink
// and dead_letter blocks are decoded in replaced, the others in ctx (see
// Options.Offline).
func (l *loader) pipeline(ctx, replaced *schema.Context, dir string, blk *hclsyntax.Block) {
	if !l.labels(blk, "name") {
		return
	}
	p := &Pipeline{Name: blk.Labels[0], DefRange: blk.DefRange(), NameRange: blk.LabelRanges[0], Dir: dir}
	if first := l.names[p.Name]; first != nil {
		l.add(&hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Duplicate pipeline name",
			Detail:   fmt.Sprintf("A pipeline named %q is already declared at %s; pipeline names must be unique across all files.", p.Name, schema.At(first.DefRange)),
			Subject:  p.NameRange.Ptr(),
		})
	} else {
		l.names[p.Name] = p
		l.project.Pipelines = append(l.project.Pipelines, p)
	}
	l.checkName("pipeline", p.Name, p.NameRange)

	for _, attr := range schema.SortedAttributes(blk.Body) {
		if attr.Name == "instances" {
			l.instances(ctx, p, attr)
			continue
		}
		l.add(&hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Unsupported argument",
			Detail:   fmt.Sprintf("A pipeline holds blocks (%s) and the instances argument; %q is not one of them.", strings.Join(plugins.BlockTypes, ", "), attr.Name),
			Subject:  attr.NameRange.Ptr(),
		})
	}

	b := &chainBuilder{l: l, ctx: ctx, replaced: replaced, p: p, known: true, sinkNames: map[string]*Stage{}, seen: map[string]bool{}}
	for _, sb := range blk.Body.Blocks {
		if sb.Type == "checkpoint" {
			l.pipelineCheckpoint(ctx, p, sb)
			continue
		}
		b.block(sb)
	}
	b.finishSinks()
	if !b.seen["source"] {
		l.add(NoSource(p))
	}
	for _, s := range append(append([]*Stage{}, p.Chain...), p.Sinks...) {
		l.add(notRunnable(s)...)
	}
	if p.DeadLetter != nil {
		l.add(notRunnable(p.DeadLetter)...)
	}
	if !b.seen["sink"] {
		l.add(&hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Pipeline has no sink",
			Detail:   fmt.Sprintf("Pipeline %q needs at least one sink block, for example sink \"console\" \"out\" {}.", p.Name),
			Subject:  p.DefRange.Ptr(),
		})
	}
	if !b.seen["dead_letter"] {
		for _, s := range append(append([]*Stage{}, p.Chain...), p.Sinks...) {
			for _, arg := range []string{"on_error", "late"} {
				if a := s.Args.Attr(arg); a != nil && a.Value == "dead_letter" {
					l.add(&hcl.Diagnostic{
						Severity: hcl.DiagWarning,
						Summary:  "No dead_letter block",
						Detail:   fmt.Sprintf("%s sends records to the dead letter, but pipeline %q declares no dead_letter block, so they are only logged and counted. Add dead_letter \"file\" { path = \"...\" } to keep them.", s.Title(), p.Name),
						Subject:  a.Range.Ptr(),
					})
				}
			}
		}
	}
}

// chainBuilder walks the blocks of one pipeline in order.
type chainBuilder struct {
	l         *loader
	ctx       *schema.Context // the blocks that run as written
	replaced  *schema.Context // source, sink and dead_letter blocks (Options.Offline)
	p         *Pipeline
	source    *Stage
	current   record.Schema // what the next stage receives
	known     bool          // false once a stage failed: later schemas are unknown
	firstSink *Stage
	sinkNames map[string]*Stage
	seen      map[string]bool // block types written, known plugin or not
}

func (b *chainBuilder) block(blk *hclsyntax.Block) {
	l := b.l
	kind := plugins.BlockKind(blk.Type)
	if kind == "" {
		detail := fmt.Sprintf("Blocks of type %q are not expected in a pipeline.%s", blk.Type, schema.Hint(blk.Type, plugins.BlockTypes))
		for _, root := range rootBlocks {
			if root == blk.Type {
				detail = fmt.Sprintf("A %s block belongs at the top level of the file, not inside a pipeline.", blk.Type)
			}
		}
		l.add(&hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Unsupported block type", Detail: detail, Subject: blk.TypeRange.Ptr()})
		return
	}
	first := len(b.seen) == 0
	b.seen[blk.Type] = true
	if kind != plugins.KindSource && !b.seen["source"] {
		b.known = false // stages before the source: "Source is not first" says it
	}
	plugin, name, ok := b.lookup(blk, kind)
	if !ok {
		if kind != plugins.KindSink && kind != plugins.KindDeadLetter {
			b.known = false // the records after an unknown stage are unknown
		}
		return
	}
	ctx := b.ctx
	if kind == plugins.KindSource || kind == plugins.KindSink || kind == plugins.KindDeadLetter {
		ctx = b.replaced
	}
	args, diags := schema.Decode(ctx, blk, plugin.Spec)
	b.hintSiblings(blk, plugin, diags)
	l.add(diags...)
	st := &Stage{Plugin: plugin, Name: name, Args: args, DefRange: blk.DefRange(), Input: b.current, decodeFailed: !args.Complete()}
	if ctx != b.ctx {
		st.reported = append(st.reported, unresolved(ctx, blk.Body)...)
	}
	for _, d := range diags {
		if d.Severity == hcl.DiagError && d.Subject != nil {
			st.reported = append(st.reported, *d.Subject)
		}
	}
	for _, f := range plugin.Spec.Fields {
		if args.Invalid(f.Name) {
			st.reported = append(st.reported, args.Range(f.Name))
		}
	}
	st.reported = append(st.reported, headersAround(blk.Body, st.reported)...)

	switch kind {
	case plugins.KindSource:
		if b.source != nil {
			l.add(&hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Duplicate source",
				Detail:   fmt.Sprintf("A pipeline reads from exactly one source; the first one is %s at %s. Use a second pipeline for another source.", b.source.Title(), schema.At(b.source.DefRange)),
				Subject:  st.DefRange.Ptr(),
			})
			return
		}
		if !first {
			l.add(&hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Source is not first",
				Detail:   "The source block must be the first block of the pipeline: stages run in the order written, starting from the source.",
				Subject:  st.DefRange.Ptr(),
			})
		}
		b.source = st
		st.Input = record.Schema{}
		b.build(st)
		b.p.Chain = append([]*Stage{st}, b.p.Chain...)
	case plugins.KindParse, plugins.KindStage:
		if b.firstSink != nil {
			l.add(&hcl.Diagnostic{
				Severity: hcl.DiagWarning,
				Summary:  "Stage written after a sink",
				Detail:   fmt.Sprintf("Every sink receives the output of the last stage, so %s also applies to %s written above it. Move the sinks after the last stage to make that clear.", st.Title(), b.firstSink.Title()),
				Subject:  st.DefRange.Ptr(),
			})
		}
		if b.known && !b.checkInput(st, kind) {
			b.known = false
		}
		b.build(st)
		b.p.Chain = append(b.p.Chain, st)
	case plugins.KindSink:
		if prev := b.sinkNames[name]; prev != nil {
			l.add(&hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Duplicate sink name",
				Detail:   fmt.Sprintf("A sink named %q is already declared in this pipeline at %s; sink names must be unique within a pipeline.", name, schema.At(prev.DefRange)),
				Subject:  blk.LabelRanges[1].Ptr(),
			})
		} else {
			b.sinkNames[name] = st
		}
		l.checkName("sink", name, blk.LabelRanges[1])
		if b.firstSink == nil {
			b.firstSink = st
		}
		b.p.Sinks = append(b.p.Sinks, st)
	case plugins.KindDeadLetter:
		if prev := b.p.DeadLetter; prev != nil {
			l.add(duplicate("dead_letter block", st.DefRange, prev.DefRange))
			return
		}
		b.p.DeadLetter = st
		st.Input = record.Schema{}
		b.build(st)
	}
}

// hintSiblings adds to an "Unsupported argument" diagnostic which plugins of
// the same block type do take that argument (size in a session window).
func (b *chainBuilder) hintSiblings(blk *hclsyntax.Block, plugin *plugins.Plugin, diags hcl.Diagnostics) {
	for _, d := range diags {
		if d.Summary != "Unsupported argument" || d.Subject == nil {
			continue
		}
		for name, attr := range blk.Body.Attributes {
			if attr.NameRange != *d.Subject || plugin.Spec.Field(name) != nil {
				continue
			}
			var takers []string
			for _, other := range b.l.env.Plugins() {
				if other.Block == plugin.Block && other != plugin && other.Spec.Field(name) != nil {
					takers = append(takers, fmt.Sprintf("%s %q", other.Block, other.Name))
				}
			}
			if len(takers) > 0 {
				d.Detail += fmt.Sprintf(" (%q is an argument of %s.)", name, strings.Join(takers, " and "))
			}
		}
	}
}

// finish builds the sinks against the pipeline's final schema. It runs once
// per pipeline, after every block is read.
func (b *chainBuilder) finishSinks() {
	for _, st := range b.p.Sinks {
		st.Input = b.current
		b.build(st)
	}
}

// lookup finds the plugin a block names and checks its labels.
func (b *chainBuilder) lookup(blk *hclsyntax.Block, kind plugins.Kind) (*plugins.Plugin, string, bool) {
	l := b.l
	switch blk.Type {
	case "filter", "map":
		if !l.labels(blk) {
			return nil, "", false
		}
		p, ok := l.env.Lookup(blk.Type, blk.Type)
		if !ok {
			l.add(&hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Unknown stage", Detail: fmt.Sprintf("The %s stage is not available in this build.", blk.Type), Subject: blk.TypeRange.Ptr()})
		}
		return p, "", ok
	case "sink":
		kind := "kind"
		if len(blk.Labels) > 0 {
			kind = "kind:" + blk.Labels[0]
		}
		if !l.labels(blk, kind, "name") {
			return nil, "", false
		}
	default:
		if !l.labels(blk, "kind:"+strings.Join(l.env.Names(blk.Type), `" | "`)) {
			return nil, "", false
		}
	}
	p, ok := l.env.Lookup(blk.Type, blk.Labels[0])
	if !ok {
		word := map[plugins.Kind]string{plugins.KindSource: "source", plugins.KindParse: "parser", plugins.KindStage: "window", plugins.KindSink: "sink", plugins.KindDeadLetter: "dead letter"}[kind]
		known := l.env.Names(blk.Type)
		l.add(&hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  fmt.Sprintf("Unknown %s kind", word),
			Detail:   fmt.Sprintf("unknown %s kind %q; known: %s.%s", word, blk.Labels[0], strings.Join(known, ", "), schema.DidYouMean(blk.Labels[0], known)),
			Subject:  blk.LabelRanges[0].Ptr(),
		})
		return nil, "", false
	}
	name := ""
	if blk.Type == "sink" {
		name = blk.Labels[1]
	}
	return p, name, true
}

// checkInput enforces the order rules about raw and typed records.
func (b *chainBuilder) checkInput(st *Stage, kind plugins.Kind) bool {
	in := st.Input
	switch {
	case kind == plugins.KindParse && !in.Raw:
		b.l.add(&hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Nothing to parse",
			Detail:   fmt.Sprintf("%s needs raw message bytes, but the records reaching it are already typed (%s). Remove it, or make the source yield raw bytes (source \"generate\" does with format = \"json\").", st.Title(), in),
			Subject:  st.DefRange.Ptr(),
		})
		return false
	case kind == plugins.KindStage && in.Raw:
		src := "the source"
		if b.source != nil {
			src = b.source.Title()
		}
		b.l.add(&hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Missing parse stage",
			Detail:   fmt.Sprintf("%s needs typed records, but %s yields raw bytes. Add a parse block before it, for example parse \"json\" { field \"user_id\" { type = \"int\" } }.", st.Title(), src),
			Subject:  st.DefRange.Ptr(),
		})
		return false
	}
	return true
}

// build runs the plugin's Build when everything before it is known, and
// moves the current schema on. A block whose arguments partly failed to
// decode is still built, so that its other arguments are checked and the
// stages after it see its output; the Build diagnostics that fall inside a
// problem already reported are dropped as follow-on errors.
func (b *chainBuilder) build(st *Stage) {
	passes := st.Plugin.Kind != plugins.KindSink && st.Plugin.Kind != plugins.KindDeadLetter
	if !b.known {
		return
	}
	c, diags := st.Plugin.Build(&plugins.Build{Pipeline: b.p.Name, Args: st.Args, Input: st.Input, Dir: b.p.Dir})
	for _, d := range diags {
		if !st.alreadyReported(d) {
			b.l.add(d)
		}
	}
	if c == nil {
		b.known = !passes
		return
	}
	// A component built with errors still tells what it outputs, so the
	// stages after it are checked too; it is not kept for running.
	if !diags.HasErrors() && !st.decodeFailed {
		st.Component = c
	}
	st.Output = c.Output()
	if passes {
		b.current = st.Output
	}
}

// headersAround returns the headers of the blocks nested in body that hold
// one of the ranges: a problem a plugin finds with such a block as a whole
// (an auth block without a usable method) follows from the one reported
// inside it.
func headersAround(body *hclsyntax.Body, ranges []hcl.Range) []hcl.Range {
	var out []hcl.Range
	for _, blk := range body.Blocks {
		for _, r := range ranges {
			if r.Filename == blk.Body.SrcRange.Filename && blk.Body.SrcRange.Start.Byte <= r.Start.Byte && r.End.Byte <= blk.Body.SrcRange.End.Byte {
				out = append(out, blk.DefRange())
				break
			}
		}
		out = append(out, headersAround(blk.Body, ranges)...)
	}
	return out
}

// alreadyReported reports whether d is a follow-on of a decoding error of
// the stage: it overlaps a range such an error pointed at or an argument that
// failed to decode, or (when decoding failed) it is about the whole block.
func (st *Stage) alreadyReported(d *hcl.Diagnostic) bool {
	if d.Subject == nil || !st.decodeFailed {
		return false
	}
	s := *d.Subject
	if s == st.DefRange {
		return true
	}
	for _, r := range st.reported {
		if r.Filename == s.Filename && r.Start.Byte < max(s.End.Byte, s.Start.Byte+1) && s.Start.Byte < max(r.End.Byte, r.Start.Byte+1) {
			return true
		}
	}
	return false
}
