package window

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/sluice-io/sluice/internal/expression"
	"github.com/sluice-io/sluice/plugins/window/agg"
	"github.com/sluice-io/sluice/record"
	"github.com/sluice-io/sluice/schema"
)

// Keep is a window's `keep = "max(x)"` or `keep = "min(x)"`: which of a
// window's rows it emits (docs/event-time.md, "Keeping the largest rows").
//
// With aggregates, x names one of them, and each closing window emits only
// its group rows whose x equals the largest (smallest) x among that window's
// rows. Without aggregates, x is an expression over the input fields, and
// each (window, group) emits the input records whose x equals the largest
// (smallest) x of its records, with all their fields. Either way every
// tie is emitted, and rows with a null x are never kept.
type Keep struct {
	Max bool // max(x); false for min(x)
	// Aggregate is the index in Window.Aggregates of the aggregate x names,
	// with aggregates; -1 without.
	Aggregate int
	// Arg is x compiled over the input fields, without aggregates; nil with.
	Arg *expression.Program
	// Source is x as written.
	Source string
}

// fingerprint describes the keep for StateFingerprint.
func (k *Keep) fingerprint() string {
	fn := "min"
	if k.Max {
		fn = "max"
	}
	return fmt.Sprintf("keep=%s(%q) records=%v\n", fn, k.Source, k.Arg != nil)
}

// tiesFunc returns the agg state function that keeps the tied records.
func (k *Keep) tiesFunc() agg.Func {
	if k.Max {
		return agg.TiesMax
	}
	return agg.TiesMin
}

// recordColumns returns the output of a window that keeps records:
// window_start, window_end, then every input field in input order.
func (w *Window) recordColumns(args *schema.Values, in record.Schema, out []record.Column) ([]record.Column, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	out = out[:2]
	for _, c := range in.Columns {
		if c.Name == ColumnWindowStart || c.Name == ColumnWindowEnd {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Duplicate output column",
				Detail:   fmt.Sprintf("Without aggregates, keep emits the input records with every field after window_start and window_end, but the input already has a field %q. Rename it in a map stage before this window.", c.Name),
				Subject:  args.Range("keep").Ptr(),
			})
			continue
		}
		out = append(out, c)
	}
	return out, diags
}

// decodeKeep checks `keep` against the window (kind, emit mode, and the
// aggregates already decoded) and the input record in.
func (w *Window) decodeKeep(args *schema.Values, in record.Schema) hcl.Diagnostics {
	if !args.Has("keep") {
		return nil
	}
	text := args.Text("keep")
	at := args.Range("keep").Ptr()
	bad := func(summary, detail string, subject *hcl.Range) hcl.Diagnostics {
		return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: summary, Detail: detail, Subject: subject}}
	}
	if !w.EmitOnClose { // session windows have no keep argument
		return bad("Keep is not available here", "keep chooses among a window's rows when it closes, so it needs emit = \"on_close\": rows emitted before the window closes could turn out not to be the largest.", at)
	}
	if w.AllowedLateness > 0 {
		return bad("Keep is not available here", "keep chooses among a window's rows when it closes, so it cannot take allowed_lateness: a late record could make other rows the largest, and the rows emitted would have to be withdrawn. Remove allowed_lateness or keep.", at)
	}
	c, diags := splitCall(text)
	if c == nil {
		return diags
	}
	nameAt := text.RangeOf(c.nameAt.from, c.nameAt.to).Ptr()
	if c.name != "max" && c.name != "min" {
		return append(diags, bad("Invalid keep", fmt.Sprintf("keep is \"max(x)\" or \"min(x)\": it emits the rows whose x is the largest or the smallest of their window; %q is neither.%s", c.name, schema.DidYouMean(c.name, []string{"max", "min"})), nameAt)...)
	}
	if len(c.args) != 1 {
		return append(diags, bad("Wrong number of arguments", fmt.Sprintf("keep = \"%s(x)\" takes one argument, but %d %s given.", c.name, len(c.args), plural(len(c.args), "is", "are")), text.RangeOf(c.open, c.close+1).Ptr())...)
	}
	k := &Keep{Max: c.name == "max", Aggregate: -1}
	x := c.args[0]
	k.Source = text.Value[x.from:x.to]
	xAt := text.RangeOf(x.from, x.to).Ptr()
	if args.Has("aggregate") {
		var names []string
		for i, a := range w.Aggregates {
			names = append(names, a.Name)
			if a.Name == k.Source {
				k.Aggregate = i
			}
		}
		if k.Aggregate < 0 {
			return append(diags, bad("Unknown aggregate", fmt.Sprintf("With aggregates, keep names one of them, and the window emits the group rows whose value is the largest or smallest of their window; %q is not an aggregate of this window.%s Aggregates here: %s. (Without aggregate, keep takes an expression over the input fields and emits the records themselves.)", k.Source, schema.DidYouMean(k.Source, names), strings.Join(names, ", ")), xAt)...)
		}
		if t := w.Aggregates[k.Aggregate].Type; !agg.Orderable(t) {
			return append(diags, bad("Wrong argument type", fmt.Sprintf("keep orders rows by %q, which is %s; it needs an int, float, timestamp or string.", k.Source, article(t)), xAt)...)
		}
	} else {
		prog, ds := expression.CompilePart(text, x.from, x.to, in, "the argument of keep")
		diags = append(diags, ds...)
		if prog == nil {
			return diags
		}
		if !agg.Orderable(prog.Type) {
			return append(diags, bad("Wrong argument type", fmt.Sprintf("keep orders records by %q, which is %s; it needs an int, float, timestamp or string.", k.Source, article(prog.Type)), xAt)...)
		}
		k.Arg = prog
	}
	if !diags.HasErrors() {
		w.Keep = k
	}
	return diags
}

// keepRows removes from o.closing (the rows of one closing window) every
// row whose kept aggregate is not the largest (smallest) of them, or null.
func (o *Operator) keepRows() {
	k := o.w.Keep
	best, found := agg.Value{}, false
	for i := range o.closing {
		v := o.closing[i].g.states[k.Aggregate].Result()
		if v.Null {
			continue
		}
		if c := compareValues(v, best); !found || (k.Max && c > 0) || (!k.Max && c < 0) {
			best, found = v, true
		}
	}
	kept := o.closing[:0]
	for _, c := range o.closing {
		if v := c.g.states[k.Aggregate].Result(); !v.Null && compareValues(v, best) == 0 {
			kept = append(kept, c)
		}
	}
	clear(o.closing[len(kept):])
	o.closing = kept
}

// compareValues orders two non-null aggregate results of one orderable
// type as max(x) does: floats totally (-0 before +0, NaN largest).
func compareValues(a, b agg.Value) int {
	switch a.Type {
	case record.ColumnFloat:
		ka, kb := floatKey(a.F), floatKey(b.F)
		if a.F == 0 && b.F == 0 { // floatKey makes -0 equal to 0; max(x) does not
			ka, kb = signKey(a.F), signKey(b.F)
		}
		switch {
		case ka < kb:
			return -1
		case ka > kb:
			return 1
		}
		return 0
	case record.ColumnString:
		return strings.Compare(a.S, b.S)
	}
	switch {
	case a.I < b.I:
		return -1
	case a.I > b.I:
		return 1
	}
	return 0
}

// signKey orders -0 before +0.
func signKey(f float64) uint64 {
	if 1/f < 0 {
		return 0
	}
	return 1
}
