package window

import (
	"fmt"
	"strings"
	"time"

	"github.com/sluice-io/sluice/record"

	"github.com/hashicorp/hcl/v2"

	"github.com/sluice-io/sluice/plugins"
	"github.com/sluice-io/sluice/schema"
)

// build returns the BuildFunc shared by the three kinds. It always returns a
// Window (never nil): with errors, its Out holds the columns that could be
// worked out, so that later stages are checked without a cascade of errors.
func build(k Kind) plugins.BuildFunc {
	return func(b *plugins.Build) (plugins.Component, hcl.Diagnostics) {
		args := b.Args
		w := &Window{Kind: k, EventTimeIndex: -1, Late: args.String("late")}
		var diags hcl.Diagnostics
		diags = append(diags, w.decodeTimes(args)...)
		diags = append(diags, w.decodeEmit(args.Text("emit"))...)
		w.emitAt = args.Range("emit")
		out := []record.Column{
			{Name: ColumnWindowStart, Type: record.ColumnTimestamp},
			{Name: ColumnWindowEnd, Type: record.ColumnTimestamp},
		}
		if b.Input.Raw {
			// The loader reports a window over unparsed bytes; field checks
			// would only repeat that error.
			w.Out = record.Schema{Columns: w.withFinal(out)}
			return w, diags
		}
		diags = append(diags, w.decodeEventTime(args.Text("event_time"), b.Input)...)
		if w.ProcessingTime && args.Has("watermark") {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Watermark with processing time",
				Detail:   "With event_time = \"processing_time\" a window closes as soon as processing time passes its end, and no record is ever late: there is no out-of-orderness to wait for. Remove watermark.",
				Subject:  args.Range("watermark").Ptr(),
			})
		}
		if w.ProcessingTime && args.Has("allowed_lateness") {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Allowed lateness with processing time",
				Detail:   "With event_time = \"processing_time\" no record is ever late, so a closed window never gets a late record to update it with. Remove allowed_lateness.",
				Subject:  args.Range("allowed_lateness").Ptr(),
			})
		}
		out, ds := w.decodeGroupBy(args.Elems("group_by"), b.Input, out)
		diags = append(diags, ds...)
		records := args.Has("keep") && !args.Has("aggregate")
		if records {
			out, ds = w.recordColumns(args, b.Input, out)
		} else {
			out, ds = w.decodeAggregates(args, b.Input, out)
		}
		diags = append(diags, ds...)
		diags = append(diags, w.decodeKeep(args, b.Input)...)
		// A result is identified by its window and group (docs/checkpoints.md: the
		// deterministic key), not by its aggregates; a kept record by its
		// window and all its fields.
		key := append([]string{ColumnWindowStart}, w.GroupBy...)
		if records {
			key = []string{ColumnWindowStart}
			for _, c := range out[2:] {
				key = append(key, c.Name)
			}
		}
		w.Out = record.Schema{Columns: w.withFinal(out), Key: key}
		return w, diags
	}
}

// withFinal appends the columns after the aggregates: revision with
// allowed lateness, then final with emit = "every D".
func (w *Window) withFinal(cols []record.Column) []record.Column {
	if w.AllowedLateness > 0 {
		cols = append(cols, record.Column{Name: ColumnRevision, Type: record.ColumnInt})
	}
	if w.EmitOnClose {
		return cols
	}
	return append(cols, record.Column{Name: ColumnFinal, Type: record.ColumnBool})
}

// decodeTimes reads and checks the durations of the kind.
func (w *Window) decodeTimes(args *schema.Values) hcl.Diagnostics {
	var diags hcl.Diagnostics
	get := func(name string, positive bool) (time.Duration, bool) {
		d, ds := duration(args, name, positive)
		diags = append(diags, ds...)
		return d, !ds.HasErrors()
	}
	switch w.Kind {
	case Tumbling, Sliding:
		size, sizeOK := get("size", true)
		offset, offsetOK := get("offset", false)
		w.Size, w.Offset = size, offset
		limit, limitName, limitOK := size, "size", sizeOK
		if w.Kind == Sliding {
			slide, ok := get("slide", true)
			w.Slide = slide
			if ok && sizeOK && slide > size {
				ok = false
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  `Invalid value for argument "slide"`,
					Detail:   fmt.Sprintf("The slide (%s) must not exceed the window size (%s): windows would leave gaps and drop the records between them. Make slide at most size, or use a tumbling window when they are equal.", schema.FormatDuration(slide), schema.FormatDuration(size)),
					Subject:  args.Range("slide").Ptr(),
				})
			}
			limit, limitName, limitOK = slide, "slide", ok
		} else {
			w.Slide = size
		}
		if offsetOK && limitOK && offset >= limit {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  `Invalid value for argument "offset"`,
				Detail:   fmt.Sprintf("The offset (%s) must be less than %s (%s): an offset of a whole %s or more gives the same windows as a smaller one. Write an offset below %s.", schema.FormatDuration(offset), limitName, schema.FormatDuration(limit), limitName, schema.FormatDuration(limit)),
				Subject:  args.Range("offset").Ptr(),
			})
		}
	case Session:
		w.Gap, _ = get("gap", true)
	}
	w.Watermark, _ = get("watermark", false)
	w.IdleTimeout, _ = get("idle_timeout", true)
	w.AllowedLateness, _ = get("allowed_lateness", false)
	w.latenessAt = args.Range("allowed_lateness")
	return diags
}

// duration reads a duration argument, which must be whole milliseconds and,
// when positive is set, greater than zero. Negative values are rejected by
// the schema already.
func duration(args *schema.Values, name string, positive bool) (time.Duration, hcl.Diagnostics) {
	d := args.Duration(name)
	written := schema.FormatDuration(d)
	if a := args.Attr(name); a != nil && a.Text.Value != "" {
		written = a.Text.Value
	}
	switch {
	case positive && d <= 0:
		return d, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  fmt.Sprintf("Invalid value for argument %q", name),
			Detail:   fmt.Sprintf("The %s must be greater than zero, not %q; write for example \"1s\" or \"5m\".", name, written),
			Subject:  args.Range(name).Ptr(),
		}}
	case d%time.Millisecond != 0:
		return d, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Duration finer than a millisecond",
			Detail:   fmt.Sprintf("Event times are carried in whole milliseconds, so %s must be a whole number of milliseconds; %q is %s. Write for example %q.", name, written, d, roundUp(d)),
			Subject:  args.Range(name).Ptr(),
		}}
	}
	return d, nil
}

// roundUp gives d rounded up to the millisecond, as a suggestion.
func roundUp(d time.Duration) string {
	return ((d + time.Millisecond - 1) / time.Millisecond * time.Millisecond).String()
}

// decodeEmit parses `emit`: "on_close" or "every D".
func (w *Window) decodeEmit(t schema.Text) hcl.Diagnostics {
	v := t.Value
	if v == "on_close" {
		w.EmitOnClose = true
		return nil
	}
	rest, every := strings.CutPrefix(v, "every")
	if every && strings.TrimSpace(rest) != "" && strings.TrimLeft(rest, " \t") != rest {
		from := len(v) - len(strings.TrimLeft(rest, " \t"))
		to := len(strings.TrimRight(v, " \t"))
		d, err := schema.ParseDuration(v[from:to])
		switch {
		case err != nil:
			return hcl.Diagnostics{{
				Severity: hcl.DiagError,
				Summary:  "Invalid emit interval",
				Detail:   fmt.Sprintf("The period of emit = \"every D\" must be a duration: %s.", err),
				Subject:  t.RangeOf(from, to).Ptr(),
			}}
		case d <= 0:
			return hcl.Diagnostics{{
				Severity: hcl.DiagError,
				Summary:  "Invalid emit interval",
				Detail:   fmt.Sprintf("The period of emit = \"every D\" must be greater than zero, not %q; write for example \"every 10s\", or \"on_close\" to emit each window once.", v[from:to]),
				Subject:  t.RangeOf(from, to).Ptr(),
			}}
		}
		w.EmitEvery = d
		return nil
	}
	detail := fmt.Sprintf("The emit argument must be \"on_close\" (each window once, when it closes) or \"every D\" with D a duration, such as \"every 10s\" (changed windows every D, then once more when they close); %q is neither.", v)
	if every && strings.TrimSpace(rest) != "" {
		detail += fmt.Sprintf(" Did you mean %q?", "every "+strings.TrimSpace(rest))
	} else if _, err := schema.ParseDuration(strings.TrimSpace(v)); err == nil {
		detail += fmt.Sprintf(" Did you mean %q?", "every "+strings.TrimSpace(v))
	} else if hint := schema.DidYouMean(strings.TrimSpace(v), []string{"on_close", "every"}); hint != "" {
		detail += hint
	}
	return hcl.Diagnostics{{
		Severity: hcl.DiagError,
		Summary:  "Invalid emit mode",
		Detail:   detail,
		Subject:  valueRange(t).Ptr(),
	}}
}

// decodeEventTime checks that event_time names a timestamp field of in.
func (w *Window) decodeEventTime(t schema.Text, in record.Schema) hcl.Diagnostics {
	w.EventTime = t.Value
	if t.Value == ProcessingTime {
		w.ProcessingTime = true
		return nil
	}
	// The event time may be a field or a metadata column of the source,
	// such as pulsar.publish_time.
	i, col, ok := in.Find(t.Value)
	if !ok {
		return hcl.Diagnostics{unknownField(t, in, "event_time", in.MetaNames())}
	}
	if typ := col.Type; typ != record.ColumnTimestamp {
		return hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Event time is not a timestamp",
			Detail: fmt.Sprintf("The field %q is %s, but event_time needs a timestamp. Declare it with type = \"timestamp\" (and a unit such as \"s\", \"ms\" or \"rfc3339\") in its field block of the parse stage, or pick a timestamp field.",
				t.Value, article(typ)),
			Subject: valueRange(t).Ptr(),
		}}
	}
	w.EventTimeIndex = i
	return nil
}

// valueRange is the range of the whole string inside its quotes, or the
// quoted value itself when it is empty (an empty literal has no inside).
func valueRange(t schema.Text) hcl.Range {
	if t.Value == "" {
		return t.Range
	}
	return t.RangeOf(0, len(t.Value))
}

// unknownField is the error for a name that is not a field of in (nor
// one of meta, the source metadata the argument may name).
func unknownField(t schema.Text, in record.Schema, arg string, meta []string) *hcl.Diagnostic {
	what := "field"
	if len(meta) > 0 {
		what = "field or source metadata"
	}
	detail := fmt.Sprintf("No %s named %q reaches this window's %s.", what, t.Value, arg)
	hint := schema.DidYouMean(t.Value, append(in.Names(), meta...))
	detail += hint
	switch {
	case len(meta) > 0:
		detail += " Fields here: " + strings.Join(in.Names(), ", ") + "; source metadata: " + strings.Join(meta, ", ") + "."
	case hint == "" && len(in.Columns) > 0:
		detail += " Fields here: " + strings.Join(in.Names(), ", ") + "."
	}
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Unknown field",
		Detail:   detail,
		Subject:  valueRange(t).Ptr(),
	}
}

// decodeGroupBy checks the key fields and appends them to out.
func (w *Window) decodeGroupBy(elems []schema.Elem, in record.Schema, out []record.Column) ([]record.Column, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	seen := map[string]hcl.Range{}
	for _, e := range elems {
		t := e.Text
		subject := valueRange(t)
		col, ok := in.Lookup(t.Value)
		switch {
		case !ok:
			diags = append(diags, unknownField(t, in, "group_by", nil))
			continue
		case t.Value == ColumnWindowStart || t.Value == ColumnWindowEnd:
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Duplicate output column",
				Detail:   fmt.Sprintf("Every window outputs a %q column, so it cannot also be a group_by field. Rename the field in a map stage before this window.", t.Value),
				Subject:  subject.Ptr(),
			})
			continue
		case w.addedColumn(t.Value) != "":
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Duplicate output column",
				Detail:   fmt.Sprintf("%s, so it cannot also be a group_by field. Rename the field in a map stage before this window.", w.addedColumn(t.Value)),
				Subject:  subject.Ptr(),
			})
			continue
		}
		if first, dup := seen[t.Value]; dup {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Duplicate group_by field",
				Detail:   fmt.Sprintf("%q is already listed in group_by at %s; list each field once.", t.Value, schema.At(first)),
				Subject:  subject.Ptr(),
			})
			continue
		}
		seen[t.Value] = subject
		w.GroupBy = append(w.GroupBy, col.Name)
		w.GroupByIndex = append(w.GroupByIndex, in.Index(col.Name))
		out = append(out, col)
	}
	return out, diags
}

// decodeAggregates compiles the aggregate calls and appends their columns.
func (w *Window) decodeAggregates(args *schema.Values, in record.Schema, out []record.Column) ([]record.Column, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	elems := args.Elems("aggregate")
	if !args.Has("aggregate") && !args.Invalid("aggregate") {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Missing required argument",
			Detail:   "A window needs aggregate, the columns it computes over each window, for example aggregate = { events = \"count()\" }; or keep = \"max(x)\" without aggregate to emit the records with the largest x.",
			Subject:  args.DefRange.Ptr(),
		})
	}
	if len(elems) == 0 && args.Has("aggregate") {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "No aggregates",
			Detail:   "A window needs at least one aggregate column, for example aggregate = { events = \"count()\" }.",
			Subject:  args.Range("aggregate").Ptr(),
		})
	}
	for _, e := range elems {
		if d := w.clash(e.Key, out, e.KeyRange); d != nil {
			diags = append(diags, d)
			continue
		}
		a, ds := ParseAggregate(e.Key, e.Text, in)
		diags = append(diags, ds...)
		if a == nil {
			// Keep the column, of unknown type, so that later stages
			// referring to it raise no follow-on errors.
			out = append(out, record.Column{Name: e.Key, Type: record.ColumnInvalid})
			continue
		}
		w.Aggregates = append(w.Aggregates, *a)
		out = append(out, record.Column{Name: a.Name, Type: a.Type})
	}
	return out, diags
}

// clash reports an aggregate named like an output column before it.
func (w *Window) clash(name string, out []record.Column, at hcl.Range) *hcl.Diagnostic {
	var why string
	switch {
	case name == ColumnWindowStart || name == ColumnWindowEnd:
		why = fmt.Sprintf("every window outputs a %q column", name)
	case w.addedColumn(name) != "":
		why = w.addedColumn(name)
	default:
		for _, g := range w.GroupBy {
			if g == name {
				why = fmt.Sprintf("%q is a group_by field", name)
			}
		}
		for _, c := range out[2+len(w.GroupBy):] {
			if c.Name == name {
				why = fmt.Sprintf("another aggregate is named %q", name) // only via computed maps
			}
		}
	}
	if why == "" {
		return nil
	}
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Duplicate output column",
		Detail:   fmt.Sprintf("The aggregate %q would be a second output column of that name: %s. Give the aggregate another name.", name, why),
		Subject:  at.Ptr(),
	}
}

// addedColumn says why name is a column the window adds after the
// aggregates (revision, final), or returns "".
func (w *Window) addedColumn(name string) string {
	switch {
	case name == ColumnRevision && w.AllowedLateness > 0:
		return fmt.Sprintf("allowed_lateness adds a %q column", name)
	case name == ColumnFinal && !w.EmitOnClose:
		return fmt.Sprintf("emit = \"every D\" adds a %q column", name)
	}
	return ""
}

// article gives the type name with "a" or "an", as in "an int".
func article(t record.ColumnType) string {
	if t == record.ColumnInt {
		return "an int"
	}
	return "a " + t.String()
}
