package schema

import (
	"fmt"
	"math/big"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// Context carries what decoding needs besides the body: the HCL evaluation
// context (functions such as env and file) and the source bytes of the files,
// used to point diagnostics inside string literals.
type Context struct {
	Eval   *hcl.EvalContext
	Source func(filename string) []byte // may return nil
}

func (c *Context) source(name string) []byte {
	if c == nil || c.Source == nil {
		return nil
	}
	return c.Source(name)
}

func (c *Context) eval() *hcl.EvalContext {
	if c == nil {
		return nil
	}
	return c.Eval
}

// Decode checks body against spec and returns its values. It reports every
// problem it finds, not just the first; the returned Values hold whatever
// could be decoded, so callers can go on checking after errors.
func Decode(ctx *Context, block *hclsyntax.Block, spec *Spec) (*Values, hcl.Diagnostics) {
	v := &Values{
		Spec:      spec,
		Type:      block.Type,
		Labels:    block.Labels,
		DefRange:  block.DefRange(),
		BodyRange: block.Body.SrcRange,
		attrs:     map[string]*Attr{},
		blocks:    map[string][]*Values{},
	}
	for _, r := range block.LabelRanges {
		v.LabelRanges = append(v.LabelRanges, r)
	}
	diags := decodeBody(ctx, v, block.Body)
	return v, diags
}

func decodeBody(ctx *Context, v *Values, body *hclsyntax.Body) hcl.Diagnostics {
	var diags hcl.Diagnostics
	spec := v.Spec
	for _, attr := range SortedAttributes(body) {
		f := spec.Field(attr.Name)
		switch {
		case f == nil:
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Unsupported argument",
				Detail:   fmt.Sprintf("An argument named %q is not expected in %s.%s", attr.Name, describe(v), hintFor(attr.Name, spec.names(false))),
				Subject:  attr.NameRange.Ptr(),
				Context:  attr.SrcRange.Ptr(),
			})
		case f.Type == TypeBlock:
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Unsupported argument",
				Detail:   fmt.Sprintf("%q is a block, not an argument: write %s { ... } without the equals sign.", attr.Name, blockHeader(f)),
				Subject:  attr.NameRange.Ptr(),
				Context:  attr.SrcRange.Ptr(),
			})
		default:
			a, ds, ok := decodeAttr(ctx, f, attr)
			diags = append(diags, ds...)
			if !ok {
				v.incomplete = true
				if v.invalid == nil {
					v.invalid = map[string]hcl.Range{}
				}
				v.invalid[f.Name] = attr.Expr.Range()
				continue
			}
			if a != nil {
				v.attrs[f.Name] = a
			}
		}
	}
	for _, blk := range body.Blocks {
		f := spec.Field(blk.Type)
		if f == nil || f.Type != TypeBlock {
			detail := fmt.Sprintf("Blocks of type %q are not expected in %s.%s", blk.Type, describe(v), hintFor(blk.Type, spec.names(true)))
			if f != nil {
				detail = fmt.Sprintf("%q is an argument, not a block: write %s = ... instead.", blk.Type, blk.Type)
			}
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Unsupported block type",
				Detail:   detail,
				Subject:  blk.TypeRange.Ptr(),
				Context:  blk.DefRange().Ptr(),
			})
			continue
		}
		if ds := checkLabels(blk, f); ds.HasErrors() {
			diags = append(diags, ds...)
			v.incomplete = true
			continue
		}
		prev := v.blocks[f.Name]
		if len(prev) > 0 && !f.Repeated {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  fmt.Sprintf("Duplicate %s block", f.Name),
				Detail:   fmt.Sprintf("Only one %s block is allowed here; the first one is at %s.", f.Name, At(prev[0].DefRange)),
				Subject:  blk.DefRange().Ptr(),
			})
			continue
		}
		if dup := sameLabels(prev, blk.Labels); dup != nil {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  fmt.Sprintf("Duplicate %s %q", f.Name, strings.Join(blk.Labels, " ")),
				Detail:   fmt.Sprintf("%s %q is already declared at %s; names must be unique.", f.Name, strings.Join(blk.Labels, " "), At(dup.DefRange)),
				Subject:  blk.LabelRanges[len(blk.LabelRanges)-1].Ptr(),
				Context:  blk.DefRange().Ptr(),
			})
			continue
		}
		sub, ds := Decode(ctx, blk, f.Block)
		diags = append(diags, ds...)
		v.incomplete = v.incomplete || sub.incomplete
		v.blocks[f.Name] = append(prev, sub)
	}
	for _, f := range spec.Fields {
		if !f.Required() || v.Has(f.Name) {
			continue
		}
		v.incomplete = true
		if f.Type == TypeBlock {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Missing required block",
				Detail:   fmt.Sprintf("%s needs a %s block: %s", describe(v), f.Name, firstSentence(f.Doc)),
				Subject:  v.DefRange.Ptr(),
			})
			continue
		}
		if _, written := body.Attributes[f.Name]; written || writtenAsBlock(body, f.Name) {
			continue // written but invalid: already reported
		}
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Missing required argument",
			Detail:   fmt.Sprintf("The argument %q is required in %s: %s%s", f.Name, describe(v), firstSentence(f.Doc), exampleOf(f)),
			Subject:  v.DefRange.Ptr(),
		})
	}
	return diags
}

func writtenAsBlock(body *hclsyntax.Body, name string) bool {
	for _, b := range body.Blocks {
		if b.Type == name {
			return true
		}
	}
	return false
}

// describe names a block for messages, such as `source "file"`.
func describe(v *Values) string {
	s := v.Type
	for _, l := range v.Labels {
		s += fmt.Sprintf(" %q", l)
	}
	return s
}

func blockHeader(f *Field) string {
	s := f.Name
	for _, l := range f.LabelNames {
		s += fmt.Sprintf(" %q", strings.ToUpper(l))
	}
	return s
}

func hintFor(name string, candidates []string) string {
	if len(candidates) == 0 {
		return " This block takes none."
	}
	return Hint(name, candidates)
}

// Hint returns ` Did you mean "x"?` for a likely typo of name, otherwise
// ` Expected one of: a, b, c.` (or "" without candidates), to end a detail.
func Hint(name string, candidates []string) string {
	if h := DidYouMean(name, candidates); h != "" {
		return h
	}
	if len(candidates) == 0 {
		return ""
	}
	return " Expected one of: " + strings.Join(candidates, ", ") + "."
}

// exampleOf returns " For example: name = EXAMPLE." from the field's first
// example, or "".
func exampleOf(f *Field) string {
	if len(f.Examples) == 0 {
		return ""
	}
	return fmt.Sprintf(" For example: %s = %s.", f.Name, f.Examples[0])
}

func firstSentence(doc string) string {
	if i := strings.Index(doc, ". "); i >= 0 {
		return doc[:i+1]
	}
	return doc
}

// SortedAttributes returns a body's attributes in the order written (the
// parser keeps them in a map).
func SortedAttributes(body *hclsyntax.Body) []*hclsyntax.Attribute {
	attrs := make([]*hclsyntax.Attribute, 0, len(body.Attributes))
	for _, a := range body.Attributes {
		attrs = append(attrs, a)
	}
	sort.Slice(attrs, func(i, j int) bool { return attrs[i].SrcRange.Start.Byte < attrs[j].SrcRange.Start.Byte })
	return attrs
}

func checkLabels(blk *hclsyntax.Block, f *Field) hcl.Diagnostics {
	want := len(f.LabelNames)
	switch {
	case len(blk.Labels) < want:
		return hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  fmt.Sprintf("Missing %s label", f.LabelNames[len(blk.Labels)]),
			Detail:   fmt.Sprintf("A %s block needs %d label(s): %s { ... }.", f.Name, want, blockHeader(f)),
			Subject:  blk.DefRange().Ptr(),
		}}
	case len(blk.Labels) > want:
		detail := fmt.Sprintf("A %s block takes no labels.", f.Name)
		if want > 0 {
			detail = fmt.Sprintf("A %s block takes %d label(s): %s { ... }.", f.Name, want, blockHeader(f))
		}
		return hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Extraneous label for " + f.Name,
			Detail:   detail,
			Subject:  blk.LabelRanges[want].Ptr(),
			Context:  blk.DefRange().Ptr(),
		}}
	}
	return nil
}

func sameLabels(prev []*Values, labels []string) *Values {
	if len(labels) == 0 {
		return nil
	}
	for _, p := range prev {
		if strings.Join(p.Labels, "\x00") == strings.Join(labels, "\x00") {
			return p
		}
	}
	return nil
}

// decodeAttr decodes one written argument. ok is false when the value is
// invalid or unknown (an expression broken by a syntax error, already
// reported); a nil Attr with ok means null, which counts as not set.
func decodeAttr(ctx *Context, f *Field, attr *hclsyntax.Attribute) (*Attr, hcl.Diagnostics, bool) {
	a := &Attr{Field: f, NameRange: attr.NameRange, Range: attr.Expr.Range()}
	switch f.Type {
	case TypeList:
		elems, diags, ok := decodeList(ctx, f, attr.Expr)
		a.Elems = elems
		return a, diags, ok && !diags.HasErrors()
	case TypeMap:
		elems, diags, ok := decodeMap(ctx, f, attr.Expr)
		a.Elems = elems
		return a, diags, ok && !diags.HasErrors()
	}
	val, diags := attr.Expr.Value(ctx.eval())
	if diags.HasErrors() || !val.IsKnown() {
		return nil, diags, false
	}
	if val.IsNull() {
		if f.Required() {
			return nil, append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Required argument is null",
				Detail:   fmt.Sprintf("The argument %q is required and cannot be null.", f.Name),
				Subject:  attr.Expr.Range().Ptr(),
			}), false
		}
		return nil, diags, true // null means "not set", as in Terraform
	}
	e, ds := decodeScalar(ctx, f, f.Type, attr.Expr, val, fmt.Sprintf("argument %q", f.Name))
	diags = append(diags, ds...)
	if ds.HasErrors() {
		return nil, diags, false
	}
	a.Value, a.Text = e.Value, e.Text
	return a, diags, true
}

func decodeList(ctx *Context, f *Field, expr hcl.Expression) ([]Elem, hcl.Diagnostics, bool) {
	what := fmt.Sprintf("element of %q", f.Name)
	if tuple, ok := expr.(*hclsyntax.TupleConsExpr); ok {
		var out []Elem
		var diags hcl.Diagnostics
		known := true
		for _, item := range tuple.Exprs {
			val, ds := item.Value(ctx.eval())
			diags = append(diags, ds...)
			if ds.HasErrors() || !val.IsKnown() {
				known = false
				continue
			}
			e, ds := decodeScalar(ctx, f, f.Elem, item, val, what)
			diags = append(diags, ds...)
			if !ds.HasErrors() {
				out = append(out, e)
			}
		}
		return out, diags, known
	}
	val, diags := expr.Value(ctx.eval())
	if diags.HasErrors() || !val.IsWhollyKnown() {
		return nil, diags, false
	}
	if val.IsNull() {
		return nil, diags, true
	}
	if !val.Type().IsListType() && !val.Type().IsTupleType() && !val.Type().IsSetType() {
		return nil, append(diags, typeError(expr, fmt.Sprintf("argument %q", f.Name), f.TypeName(), friendlyType(val))), false
	}
	var out []Elem
	for it := val.ElementIterator(); it.Next(); {
		_, ev := it.Element()
		e, ds := decodeScalar(ctx, f, f.Elem, expr, ev, what)
		diags = append(diags, ds...)
		if !ds.HasErrors() {
			out = append(out, e)
		}
	}
	return out, diags, true
}

func decodeMap(ctx *Context, f *Field, expr hcl.Expression) ([]Elem, hcl.Diagnostics, bool) {
	obj, ok := expr.(*hclsyntax.ObjectConsExpr)
	if !ok {
		val, diags := expr.Value(ctx.eval())
		if diags.HasErrors() || !val.IsWhollyKnown() {
			return nil, diags, false
		}
		if val.IsNull() {
			return nil, diags, true
		}
		if !val.Type().IsObjectType() && !val.Type().IsMapType() {
			return nil, append(diags, typeError(expr, fmt.Sprintf("argument %q", f.Name), f.TypeName(), friendlyType(val))), false
		}
		var out []Elem
		for it := val.ElementIterator(); it.Next(); {
			k, ev := it.Element()
			e, ds := decodeScalar(ctx, f, f.Elem, expr, ev, fmt.Sprintf("%q in %q", k.AsString(), f.Name))
			diags = append(diags, ds...)
			if !ds.HasErrors() {
				e.Key, e.KeyRange = k.AsString(), expr.Range()
				out = append(out, e)
			}
		}
		return out, diags, true
	}
	var out []Elem
	var diags hcl.Diagnostics
	known := true
	seen := map[string]hcl.Range{}
	for _, item := range obj.Items {
		kv, ds := item.KeyExpr.Value(ctx.eval())
		diags = append(diags, ds...)
		if ds.HasErrors() || !kv.IsKnown() {
			known = false
			continue
		}
		if kv.IsNull() || !kv.IsKnown() || kv.Type() != cty.String {
			if conv, err := convert.Convert(kv, cty.String); err == nil && !conv.IsNull() {
				kv = conv
			} else {
				diags = append(diags, typeError(item.KeyExpr, fmt.Sprintf("a key of %q", f.Name), "string", "a name"))
				continue
			}
		}
		key := kv.AsString()
		if first, dup := seen[key]; dup {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Duplicate key",
				Detail:   fmt.Sprintf("%q appears twice in %q; the first one is at %s.", key, f.Name, At(first)),
				Subject:  item.KeyExpr.Range().Ptr(),
			})
			continue
		}
		seen[key] = item.KeyExpr.Range()
		val, ds := item.ValueExpr.Value(ctx.eval())
		diags = append(diags, ds...)
		if ds.HasErrors() || !val.IsKnown() {
			known = false
			continue
		}
		e, ds := decodeScalar(ctx, f, f.Elem, item.ValueExpr, val, fmt.Sprintf("%q in %q", key, f.Name))
		diags = append(diags, ds...)
		if !ds.HasErrors() {
			e.Key, e.KeyRange = key, item.KeyExpr.Range()
			out = append(out, e)
		}
	}
	return out, diags, known
}

// decodeScalar converts one value of type t written by expr. what names the
// value for messages ("argument \"size\"").
func decodeScalar(ctx *Context, f *Field, t Type, expr hcl.Expression, val cty.Value, what string) (Elem, hcl.Diagnostics) {
	e := Elem{Range: expr.Range()}
	if !val.IsKnown() || val.IsNull() {
		return e, hcl.Diagnostics{typeError(expr, what, elemName(t, f.Enum), "null")}
	}
	switch t {
	case TypeInt, TypeFloat:
		n, err := convert.Convert(val, cty.Number)
		if err != nil {
			return e, hcl.Diagnostics{typeError(expr, what, t.String(), friendlyType(val))}
		}
		bf := n.AsBigFloat()
		if t == TypeFloat {
			e.Value, _ = bf.Float64()
			return e, nil
		}
		i, acc := bf.Int64()
		if !bf.IsInt() || acc != big.Exact {
			return e, hcl.Diagnostics{valueError(expr, what, fmt.Sprintf("%s must be a whole number that fits in 64 bits, not %s.", what, bf.Text('g', 10)))}
		}
		e.Value = i
		return e, nil
	case TypeBool:
		b, err := convert.Convert(val, cty.Bool)
		if err != nil {
			return e, hcl.Diagnostics{typeError(expr, what, "bool", friendlyType(val))}
		}
		e.Value = b.True()
		return e, nil
	case TypeByteSize:
		if val.Type() == cty.Number {
			n, acc := val.AsBigFloat().Int64()
			if acc != big.Exact || n < 0 {
				return e, hcl.Diagnostics{valueError(expr, what, fmt.Sprintf("%s must be a whole, non-negative number of bytes or a size such as \"64MiB\".", what))}
			}
			e.Value = n
			return e, nil
		}
	}
	s, err := convert.Convert(val, cty.String)
	if err != nil {
		return e, hcl.Diagnostics{typeError(expr, what, elemName(t, f.Enum), friendlyType(val))}
	}
	str := s.AsString()
	e.Text = textOf(str, expr, ctx.source)
	e.Value = str
	switch t {
	case TypeDuration:
		d, err := ParseDuration(str)
		if err != nil {
			return e, hcl.Diagnostics{valueError(expr, what, "Invalid duration: "+err.Error()+".")}
		}
		e.Value = d
	case TypeByteSize:
		n, err := ParseByteSize(str)
		if err != nil {
			return e, hcl.Diagnostics{valueError(expr, what, "Invalid size: "+err.Error()+".")}
		}
		e.Value = n
	case TypeEnum:
		for _, allowed := range f.Enum {
			if allowed == str {
				return e, nil
			}
		}
		return e, hcl.Diagnostics{valueError(expr, what, fmt.Sprintf("%q is not allowed for %s; use one of %s.%s", str, what, elemName(TypeEnum, f.Enum), DidYouMean(str, f.Enum)))}
	}
	return e, nil
}

func friendlyType(v cty.Value) string {
	t := v.Type()
	switch {
	case t.IsTupleType() || t.IsListType() || t.IsSetType():
		return "a list"
	case t.IsObjectType() || t.IsMapType():
		return "an object"
	case t == cty.Number:
		return "a number"
	case t == cty.Bool:
		return "a bool"
	case t == cty.String:
		return fmt.Sprintf("the string %q", v.AsString())
	}
	return t.FriendlyName()
}

func typeError(expr hcl.Expression, what, want, got string) *hcl.Diagnostic {
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Incorrect argument type",
		Detail:   fmt.Sprintf("%s must be %s, not %s.", upperFirst(what), withArticle(want), got),
		Subject:  expr.Range().Ptr(),
	}
}

func valueError(expr hcl.Expression, what, detail string) *hcl.Diagnostic {
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Invalid value for " + what,
		Detail:   upperFirst(detail),
		Subject:  expr.Range().Ptr(),
	}
}

func withArticle(t string) string {
	if strings.HasPrefix(t, "\"") {
		return "one of " + t
	}
	if strings.IndexByte("aeiou", t[0]) >= 0 {
		return "an " + t
	}
	return "a " + t
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
