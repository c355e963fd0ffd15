package config

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"

	"github.com/sluice-io/sluice/plugins"
)

// This file makes the diagnostics of the refusals `sluice run` can make from
// the pipeline files alone. The loader reports them, positioned, and the
// runner refuses to run with the same diagnostic (runner.Refusal), so that
// whatever `sluice run` refuses, `sluice lint` already reported with the
// same words.

// NoSource is the error of a pipeline without a source block.
func NoSource(p *Pipeline) *hcl.Diagnostic {
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Pipeline has no source",
		Detail:   fmt.Sprintf("Pipeline %q needs a source block as its first block, for example source \"file\" { path = \"events.ndjson\" }.", p.Name),
		Subject:  p.DefRange.Ptr(),
	}
}

// BlockHasErrors is the refusal to run a stage that was loaded with errors
// (its Component is nil). The loader never reports it: it reports the
// errors themselves, so a file that lints clean never gets it.
func BlockHasErrors(s *Stage) *hcl.Diagnostic {
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Block has errors",
		Detail:   fmt.Sprintf("%s has errors; run sluice lint to see them.", s.Title()),
		Subject:  s.DefRange.Ptr(),
	}
}

// NotSupported is the error of a stage whose plugin this build's runner
// cannot run (its component lacks the runtime interface of its kind, see
// Runnable).
func NotSupported(s *Stage) *hcl.Diagnostic {
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Not supported by sluice run",
		Detail:   fmt.Sprintf("%s is not yet supported by sluice run in this build.", s.Title()),
		Subject:  s.DefRange.Ptr(),
	}
}

// Runnable reports whether the stage's component has the runtime interface
// its kind needs: a source plugins.Opener, a parser or stage a
// plugins.Transformer or plugins.OperatorStarter, a sink a
// plugins.SinkOpener, a dead letter a plugins.DeadLetterOpener. A stage
// without a component (it has errors) is not runnable.
func Runnable(s *Stage) bool {
	var ok bool
	switch s.Plugin.Kind {
	case plugins.KindSource:
		_, ok = s.Component.(plugins.Opener)
	case plugins.KindParse, plugins.KindStage:
		_, transform := s.Component.(plugins.Transformer)
		_, operator := s.Component.(plugins.OperatorStarter)
		_, shuffle := s.Component.(plugins.Repartitioner)
		ok = transform || operator || shuffle && s.Plugin.Block == "repartition"
	case plugins.KindSink:
		_, ok = s.Component.(plugins.SinkOpener)
	case plugins.KindDeadLetter:
		_, ok = s.Component.(plugins.DeadLetterOpener)
	}
	return ok
}

// notRunnable returns NotSupported for a stage built without errors that
// is not Runnable, or nothing.
func notRunnable(s *Stage) hcl.Diagnostics {
	if s.Component == nil || Runnable(s) {
		return nil
	}
	return hcl.Diagnostics{NotSupported(s)}
}

// ResumeRefusals returns why pipeline p cannot take checkpoints: its source
// is not plugins.Resumable (an error at the source block), or its
// CheckResumable reports problems (returned as they are). It returns nil
// when the source can resume, or has errors of its own.
func ResumeRefusals(p *Pipeline) hcl.Diagnostics {
	if len(p.Chain) == 0 || p.Chain[0].Plugin.Kind != plugins.KindSource || p.Chain[0].Component == nil {
		return nil
	}
	src := p.Chain[0]
	r, ok := src.Component.(plugins.Resumable)
	if !ok {
		return hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Source cannot resume from a checkpoint",
			Detail: fmt.Sprintf("%s cannot resume from a checkpoint: it records no position to restart from, and pipeline %q takes checkpoints. "+
				"Write checkpoint { enabled = false } inside the pipeline to run it without checkpoints (the other pipelines keep theirs).", src.Title(), p.Name),
			Subject: src.DefRange.Ptr(),
		}}
	}
	return r.CheckResumable()
}
