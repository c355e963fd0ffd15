package config

import (
	"fmt"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/sluice-io/sluice/internal/objstore"
	"github.com/sluice-io/sluice/schema"
)

// The defaults of a checkpoint block's arguments.
const (
	DefaultCheckpointEvery = 10 * time.Second
	// DefaultLeaseTimeout equals the lease package constant the runner
	// uses (runner/checkpoint), repeated here as a spec default.
	DefaultLeaseTimeout = 30 * time.Second
)

const (
	storeDoc = "Where checkpoints are written: a local folder (\"file:///var/lib/sluice/checkpoints\", or a path relative to this file's folder) " +
		"or an S3 prefix (\"s3://bucket/checkpoints?region=eu-west-1\", with the same options as the path of sink \"parquet\"). Each pipeline gets a folder of its own."
	everyDoc        = "How often a checkpoint is taken, in processing time."
	leaseTimeoutDoc = "How long a pipeline's lease on its checkpoints lasts after the last heartbeat of the process running it: " +
		"a second process refuses to run the pipeline while the lease is younger, and takes it over once it is older (a crashed process)."
)

// checkpointSpec declares the top-level checkpoint block.
var checkpointSpec = schema.NewSpec(
	schema.String("store", storeDoc).Example(`"file:///var/lib/sluice/checkpoints"`).Example(`"s3://bucket/checkpoints?region=eu-west-1"`),
	schema.Duration("every", everyDoc).WithDefault(schema.FormatDuration(DefaultCheckpointEvery)).Example(`"10s"`),
	schema.Duration("lease_timeout", leaseTimeoutDoc).WithDefault(schema.FormatDuration(DefaultLeaseTimeout)).Example(`"30s"`),
)

// pipelineCheckpointSpec declares a checkpoint block inside a pipeline:
// every argument it leaves out comes from the top-level block.
var pipelineCheckpointSpec = schema.NewSpec(
	schema.Bool("enabled", "Write false to run this pipeline without checkpoints while the others loaded with it take theirs.").WithDefault(true),
	schema.String("store", storeDoc+" Defaults to the store of the top-level checkpoint block.").AsOptional().Example(`"file:///var/lib/sluice/checkpoints"`),
	schema.Duration("every", everyDoc+" Defaults to the top-level block's.").AsOptional().Example(`"10s"`),
	schema.Duration("lease_timeout", leaseTimeoutDoc+" Defaults to the top-level block's.").AsOptional().Example(`"30s"`),
)

// checkpointBlock is a decoded checkpoint block, top-level or in a
// pipeline.
type checkpointBlock struct {
	values   *schema.Values
	location objstore.Location // zero when store is absent or has errors
}

// decodeCheckpoint decodes a checkpoint block of a file in dir against spec
// and checks its arguments.
func (l *loader) decodeCheckpoint(ctx *schema.Context, dir string, blk *hclsyntax.Block, spec *schema.Spec) *checkpointBlock {
	v, diags := schema.Decode(ctx, blk, spec)
	l.add(diags...)
	cb := &checkpointBlock{values: v}
	if v.Has("store") && !v.Invalid("store") {
		var ds hcl.Diagnostics
		cb.location, ds = objstore.ParseLocation(v.Text("store"), dir, "the checkpoint store")
		l.add(ds...)
	}
	for _, name := range []string{"every", "lease_timeout"} {
		if v.Has(name) && v.Duration(name) <= 0 {
			l.add(&hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  fmt.Sprintf("Invalid value for argument %q", name),
				Detail:   fmt.Sprintf("The checkpoint %s must be more than zero.", map[string]string{"every": "interval", "lease_timeout": "lease timeout"}[name]),
				Subject:  v.Range(name).Ptr(),
			})
		}
	}
	return cb
}

// checkpoint loads the top-level checkpoint block of a file in dir.
func (l *loader) checkpoint(ctx *schema.Context, dir string, blk *hclsyntax.Block) {
	if !l.labels(blk) {
		return
	}
	if prev := l.project.Checkpoint; prev != nil {
		l.add(duplicate("checkpoint", blk.DefRange(), prev.DefRange))
		return
	}
	from := len(l.diags)
	cb := l.decodeCheckpoint(ctx, dir, blk, checkpointSpec)
	if attr := blk.Body.Attributes["enabled"]; attr != nil {
		for _, d := range l.diags[from:] {
			if d.Summary == "Unsupported argument" && d.Subject != nil && *d.Subject == attr.NameRange {
				d.Detail = "enabled belongs in a pipeline's own checkpoint block, to run that pipeline without checkpoints. " +
					"Without a top-level checkpoint block, only the pipelines with a checkpoint block of their own take checkpoints."
			}
		}
	}
	v := cb.values
	l.project.Checkpoint = &Checkpoint{
		Store:        v.Text("store").Value,
		Location:     cb.location,
		Every:        v.Duration("every"),
		LeaseTimeout: v.Duration("lease_timeout"),
		DefRange:     blk.DefRange(),
	}
}

// pipelineCheckpoint loads the checkpoint block of pipeline p; it is
// resolved against the top-level block once every file is read.
func (l *loader) pipelineCheckpoint(ctx *schema.Context, p *Pipeline, blk *hclsyntax.Block) {
	if !l.labels(blk) {
		return
	}
	if prev := p.ownCheckpoint; prev != nil {
		l.add(duplicate("checkpoint block in a pipeline", blk.DefRange(), prev.values.DefRange))
		return
	}
	p.ownCheckpoint = l.decodeCheckpoint(ctx, p.Dir, blk, pipelineCheckpointSpec)
}

// resolveCheckpoints gives every pipeline the checkpoint settings it runs
// with, and checks that the pipelines taking checkpoints can resume from
// them.
func (l *loader) resolveCheckpoints() {
	for _, p := range l.project.Pipelines {
		p.Checkpoint = l.resolveCheckpoint(p)
		if p.Checkpoint != nil {
			l.add(ResumeRefusals(p)...)
		}
	}
}

// resolveCheckpoint returns p's settings: the arguments of its own block
// over those of the top-level block, over the defaults.
func (l *loader) resolveCheckpoint(p *Pipeline) *Checkpoint {
	top, own := l.project.Checkpoint, p.ownCheckpoint
	if own == nil {
		if top == nil {
			return nil
		}
		c := *top
		return &c
	}
	v := own.values
	if !v.Bool("enabled") {
		for _, name := range []string{"store", "every", "lease_timeout"} {
			if v.Has(name) {
				l.add(&hcl.Diagnostic{
					Severity: hcl.DiagWarning,
					Summary:  "Argument without effect",
					Detail:   fmt.Sprintf("enabled = false runs pipeline %q without checkpoints, so %s is not used; remove it.", p.Name, name),
					Subject:  v.Range(name).Ptr(),
				})
			}
		}
		return nil
	}
	c := &Checkpoint{Every: DefaultCheckpointEvery, LeaseTimeout: DefaultLeaseTimeout, DefRange: v.DefRange}
	if top != nil {
		c.Store, c.Location, c.Every, c.LeaseTimeout = top.Store, top.Location, top.Every, top.LeaseTimeout
	}
	switch {
	case v.Has("store"):
		c.Store, c.Location = v.Text("store").Value, own.location
	case v.Invalid("store"):
		c.Store, c.Location = "", objstore.Location{}
	case top == nil:
		l.add(&hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Missing checkpoint store",
			Detail: fmt.Sprintf("The checkpoint block of pipeline %q needs a store, since no top-level checkpoint block gives one: "+
				"write store = \"file:///var/lib/sluice/checkpoints\" (or an s3:// prefix) inside it, or a top-level checkpoint block.", p.Name),
			Subject: v.DefRange.Ptr(),
		})
	}
	if v.Has("every") {
		c.Every = v.Duration("every")
	}
	if v.Has("lease_timeout") {
		c.LeaseTimeout = v.Duration("lease_timeout")
	}
	return c
}
