// Package filter declares the `filter { where = EXPR }` stage, which keeps
// the records for which a condition holds.
package filter

import (
	"sync"

	"github.com/hashicorp/hcl/v2"

	"github.com/sluice-io/sluice/record"

	"github.com/sluice-io/sluice/internal/expression"
	"github.com/sluice-io/sluice/plugins"
	"github.com/sluice-io/sluice/schema"
)

// Filter is the configuration of a filter stage.
type Filter struct {
	// Where is the compiled condition; it yields a bool and a record is kept
	// when it yields true.
	Where *expression.Program
	// Input is the schema of the records reaching the stage, which is also
	// its output.
	Input record.Schema

	runs sync.Pool // *filterRun, reused from batch to batch
}

// Output returns the input unchanged: a filter only removes records.
func (f *Filter) Output() record.Schema { return f.Input }

// Plugin declares `filter`.
var Plugin = &plugins.Plugin{
	Kind:    plugins.KindStage,
	Block:   "filter",
	Name:    "filter",
	Summary: "Keeps the records for which a condition is true and drops the others.",
	Description: "The condition is an expression over the fields of the records reaching the stage, " +
		"checked at lint time; it must yield a bool. A record for which the condition fails at " +
		"run time (for example a division by zero) goes to the dead letter. Dropped records do " +
		"not move event time.",
	Spec: schema.NewSpec(
		schema.Expr("where", "The condition a record must meet to be kept: an expression over the record's fields that yields true or false.").
			Example(`"action != 'heartbeat'"`).Example(`"user_id > 0 && device in ['ios', 'android']"`),
	),
	Examples: []plugins.Example{
		{Title: "Drop heartbeats", Config: `filter { where = "action != 'heartbeat'" }`},
		{Title: "Mobile clicks only", Config: `filter { where = "action == 'click' && device in ['ios', 'android']" }`},
	},
	Build: func(b *plugins.Build) (plugins.Component, hcl.Diagnostics) {
		// With errors the filter is still returned: its output is its input,
		// so the stages after it can be checked.
		prog, diags := expression.CompileBool(b.Args.Text("where"), b.Input, "the filter condition")
		return &Filter{Where: prog, Input: b.Input}, diags
	},
}

func init() { plugins.Register(Plugin) }
