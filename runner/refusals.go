package runner

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/sluice-io/sluice/plugins"
	"github.com/sluice-io/sluice/runner/config"
	"github.com/sluice-io/sluice/schema"
)

// Refusal is the error of a run refused because of what the pipeline files
// say, before anything is opened or read. Its Diagnostic is made by package
// config, which reports the same one when the files are loaded: whatever
// Run refuses, `sluice lint` reported in the same words at the same place
// (the only exception, config.BlockHasErrors, follows from errors lint
// reported).
type Refusal struct {
	Pipeline   string
	Diagnostic *hcl.Diagnostic
}

// Error is one line: the pipeline, the place in its file and the
// diagnostic's detail.
func (r *Refusal) Error() string {
	d := r.Diagnostic
	where := ""
	if d.Subject != nil {
		where = schema.At(*d.Subject) + ": "
	}
	return fmt.Sprintf("pipeline %q: %s%s", r.Pipeline, where, strings.TrimSuffix(d.Detail, "."))
}

// refuse returns the Refusal of pipeline with the first error of diags, or
// nil when there is none. It is the one way this package refuses a run from
// the files alone, and it is always called with a diagnostic made by
// package config: TestRefusalTwins finds every call and checks that lint
// reports the same diagnostic.
func refuse(pipeline string, diags ...*hcl.Diagnostic) error {
	for _, d := range diags {
		if d != nil && d.Severity == hcl.DiagError {
			return &Refusal{Pipeline: pipeline, Diagnostic: d}
		}
	}
	return nil
}

// checkResumable refuses a pipeline that takes checkpoints from a source
// that cannot resume, as the loader does.
func checkResumable(p *config.Pipeline) error {
	return refuse(p.Name, config.ResumeRefusals(p)...)
}

// runnableOrRefused refuses a stage that cannot run, as the loader does
// (config.Runnable): it has errors, or its plugin is not supported by
// this build's runner.
func runnableOrRefused(p *config.Pipeline, s *config.Stage) error {
	switch {
	case s.Component == nil:
		return refuse(p.Name, config.BlockHasErrors(s))
	case !config.Runnable(s):
		return refuse(p.Name, config.NotSupported(s))
	}
	return nil
}

// sourceOpener returns what the plan reads: the replacement of
// opts.Source, or the source's own component.
func sourceOpener(p *config.Pipeline, opts *Options) (plugins.Opener, error) {
	if len(p.Chain) == 0 || p.Chain[0].Plugin.Kind != plugins.KindSource {
		return nil, refuse(p.Name, config.NoSource(p))
	}
	src := p.Chain[0]
	if opts.Source != nil {
		return opts.Source(src), nil
	}
	if err := runnableOrRefused(p, src); err != nil {
		return nil, err
	}
	return src.Component.(plugins.Opener), nil
}
