package config

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"

	"github.com/sluice-io/sluice/plugins"
)

// This file checks, from the files alone, that every sink can apply the
// rows a pipeline sends it (docs/event-time.md, "Row kinds and sink
// contracts"): a window that re-emits results makes a changelog of
// inserts, updates and deletes, which a sink appending every row would
// turn into duplicates.

// ChangelogRefusals returns why p's sinks cannot take what its stages
// emit: a changelog into a sink that appends, and a window reading the
// changelog of another window, which would count each result once per
// revision.
func ChangelogRefusals(p *Pipeline) hcl.Diagnostics {
	if len(p.Chain) == 0 {
		return nil
	}
	var diags hcl.Diagnostics
	var emitter *Stage
	var why string
	for _, s := range p.Chain[1:] {
		if _, ok := s.Component.(plugins.OperatorStarter); ok && emitter != nil {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Window after a changelog",
				Detail: fmt.Sprintf("%s reads the rows of %s, which %s, so it would count one result once per revision. "+
					"Make the first window emit each result once (no allowed_lateness, emit = \"on_close\"), or compute the second aggregation from an upsert sink's table in another pipeline.",
					s.Title(), emitter.Title(), why),
				Subject: s.DefRange.Ptr(),
			})
		}
		if ce, ok := s.Component.(plugins.ChangeEmitter); ok {
			if w, _ := ce.EmitsChanges(); w != "" {
				emitter, why = s, w
			}
		}
	}
	if emitter == nil {
		return diags
	}
	for _, sk := range p.Sinks {
		if sk.Component == nil {
			continue
		}
		if mode, at := sinkChanges(sk); mode == plugins.ChangesAppend {
			fix := "Write to a sink that upserts by key (sink \"postgres\" with mode = \"upsert\", sink \"elasticsearch\", sink \"kafka\" or sink \"pulsar\"), or make the window emit each result once."
			if c := sk.Plugin.Contract; c != nil && c.Changes == plugins.ChangesUpsert {
				fix = fmt.Sprintf("This sink upserts by key, but not as configured here (%s): change the configuration at this position, or make the window emit each result once.", c.ChangesNote)
			} else if sk.Plugin.Spec != nil && sk.Plugin.Spec.Field("changelog") != nil {
				fix = "Set changelog = true on this sink to write each row's kind in an op column, for readers to fold (docs/event-time.md), write to a sink that upserts by key (sink \"postgres\" with mode = \"upsert\", sink \"elasticsearch\", sink \"kafka\" or sink \"pulsar\"), or make the window emit each result once."
			}
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Sink cannot apply updates",
				Detail: fmt.Sprintf("%s %s, so pipeline %q emits updates of earlier rows; %s appends every row, so its readers would see each result once per revision. %s",
					emitter.Title(), why, p.Name, sk.Title(), fix),
				Subject: at.Ptr(),
			})
		}
	}
	return diags
}

// sinkChanges returns how sink applies a changelog, and where that is
// decided: its configuration (plugins.ChangeApplier) or its plugin's
// contract (the block's header).
func sinkChanges(sink *Stage) (plugins.ChangeMode, hcl.Range) {
	if ca, ok := sink.Component.(plugins.ChangeApplier); ok {
		mode, at := ca.AppliesChanges()
		if at.Filename == "" {
			at = sink.DefRange
		}
		return mode, at
	}
	if c := sink.Plugin.Contract; c != nil {
		return c.Changes, sink.DefRange
	}
	return plugins.ChangesAppend, sink.DefRange
}
