package runner

import (
	"context"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"

	"github.com/sluice-io/sluice/plugins"
	"github.com/sluice-io/sluice/record"
	"github.com/sluice-io/sluice/runner/config"
	"github.com/sluice-io/sluice/schema"
)

// refusalTwins lists every refusal Run makes from the pipeline files alone,
// by the package config function that makes its diagnostic (the argument
// of refuse), with a file that triggers it and what lint reports for that
// file.
var refusalTwins = []struct {
	site     string // the config function refuse is called with
	file     string // a case of testdata/lint; "" for src
	src      string // pipeline source when file is ""
	pipeline string // the pipeline Run is asked to run
	lint     string // the diagnostic lint reports: "LINE:COL: Summary"
	// twin is true when Run refuses with lint's very diagnostic; false
	// when its refusal follows from lint's errors (config.BlockHasErrors
	// says "run sluice lint"): a file that lints clean never gets it.
	twin bool
}{
	{site: "ResumeRefusals", file: "run_refused_generate_checkpointed.hcl", pipeline: "generated",
		lint: "17:3: Source cannot resume from a checkpoint", twin: true},
	{site: "ResumeRefusals", file: "run_refused_pulsar_shared_checkpointed.hcl", pipeline: "clicks",
		lint: "10:5: Subscription type cannot resume from a checkpoint", twin: true},
	{site: "TaskRefusals", file: "tasks_instances_not_splittable.hcl", pipeline: "clicks",
		lint: "4:15: Source cannot be shared by several instances", twin: true},
	{site: "ChangelogRefusals", file: "changelog_into_file.hcl", pipeline: "clicks",
		lint: "18:3: Sink cannot apply updates", twin: true},
	{site: "NoSource", file: "order_no_source.hcl", pipeline: "clicks",
		lint: "4:1: Pipeline has no source", twin: true},
	{site: "NotSupported", pipeline: "drafted", src: `pipeline "drafted" {
  source "draft" {}
  sink "console" "out" {}
}
`, lint: "2:3: Not supported by sluice run", twin: true},
	{site: "BlockHasErrors", file: "run_refused_block_has_errors.hcl", pipeline: "clicks",
		lint: "11:21: Unknown field in expression"},
}

// TestRefusalTwins checks, for every refusal of refusalTwins, that lint
// reports it at its place and that Run refuses with the same diagnostic
// before opening anything.
func TestRefusalTwins(t *testing.T) {
	opts := &config.Options{Plugins: withDraftSource(t)}
	for _, tt := range refusalTwins {
		name := tt.site + "/" + tt.file
		if tt.file == "" {
			name += tt.pipeline
		}
		t.Run(name, func(t *testing.T) {
			var project *config.Project
			var diags hcl.Diagnostics
			if tt.file != "" {
				project, diags = config.Load([]string{filepath.Join("../testdata/lint", tt.file)}, opts)
			} else {
				project, diags = config.LoadSources([]config.Source{{Name: "draft.hcl", Bytes: []byte(tt.src)}}, opts)
			}
			var lint *hcl.Diagnostic
			var got []string
			for _, d := range diags {
				at := fmt.Sprintf("%d:%d: %s", d.Subject.Start.Line, d.Subject.Start.Column, d.Summary)
				got = append(got, at)
				if at == tt.lint && d.Severity == hcl.DiagError {
					lint = d
				}
			}
			if lint == nil {
				t.Fatalf("lint does not report %q; it reports %q", tt.lint, got)
			}
			p := project.Pipeline(tt.pipeline)
			if p == nil {
				t.Fatalf("no pipeline %q", tt.pipeline)
			}
			_, err := Run(context.Background(), p, Options{})
			var refusal *Refusal
			if !errors.As(err, &refusal) {
				t.Fatalf("Run: %v, want a refusal", err)
			}
			if !tt.twin {
				if refusal.Diagnostic.Summary != config.BlockHasErrors(p.Chain[0]).Summary || !strings.Contains(err.Error(), "run sluice lint") {
					t.Fatalf("Run refused with %q, want a refusal saying to run sluice lint", err)
				}
				return
			}
			d := refusal.Diagnostic
			if d.Summary != lint.Summary || d.Detail != lint.Detail || *d.Subject != *lint.Subject {
				t.Fatalf("Run refused with\n  %s: %s: %s\nlint reported\n  %s: %s: %s", d.Subject, d.Summary, d.Detail, lint.Subject, lint.Summary, lint.Detail)
			}
			if want := strings.TrimSuffix(lint.Detail, "."); !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), schema.At(*lint.Subject)) {
				t.Fatalf("Run's error %q does not say %q at %s", err, want, schema.At(*lint.Subject))
			}
		})
	}
}

// TestRefusalSitesHaveTwins fails when a call of refuse in the runner's
// code is not listed in refusalTwins (a new refusal without a lint twin
// and a test), or when refusalTwins lists a site the code no longer has.
// Every refusal must go through refuse, with a diagnostic made by package
// config.
func TestRefusalSitesHaveTwins(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	found := map[string]bool{}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			if id, ok := call.Fun.(*ast.Ident); !ok || id.Name != "refuse" {
				return true
			}
			site := configCall(call)
			if site == "" {
				t.Errorf("%s: refuse must be called with a diagnostic made by a package config function, as refuse(p.Name, config.NoSource(p))", fset.Position(call.Pos()))
				return true
			}
			found[site] = true
			return true
		})
	}
	listed := map[string]bool{}
	for _, tt := range refusalTwins {
		listed[tt.site] = true
		if !found[tt.site] {
			t.Errorf("refusalTwins lists %s, which no call of refuse uses any more", tt.site)
		}
	}
	for site := range found {
		if !listed[site] {
			t.Errorf("refuse is called with config.%s, which refusalTwins does not list: add a case with a file lint reports it for", site)
		}
	}
	if len(found) == 0 {
		t.Fatal("no call of refuse found")
	}
}

// configCall returns F when the diagnostic argument of a call of refuse is
// a call config.F(...), "" otherwise.
func configCall(call *ast.CallExpr) string {
	if len(call.Args) != 2 {
		return ""
	}
	arg, ok := call.Args[1].(*ast.CallExpr)
	if !ok {
		return ""
	}
	sel, ok := arg.Fun.(*ast.SelectorExpr)
	if !ok {
		return ""
	}
	if pkg, ok := sel.X.(*ast.Ident); !ok || pkg.Name != "config" {
		return ""
	}
	return sel.Sel.Name
}

// withDraftSource returns the bundled plugins plus source "draft", which
// lint accepts but this build cannot run (its component has no Open).
func withDraftSource(t *testing.T) *plugins.Environment {
	t.Helper()
	env := plugins.Global().Clone()
	err := env.Register(&plugins.Plugin{Kind: plugins.KindSource, Block: "source", Name: "draft", Summary: "A source that cannot run yet.",
		Spec:  schema.NewSpec(),
		Build: func(*plugins.Build) (plugins.Component, hcl.Diagnostics) { return draftSource{}, nil }})
	if err != nil {
		t.Fatal(err)
	}
	return env
}

type draftSource struct{}

func (draftSource) Output() record.Schema { return record.RawSchema() }
