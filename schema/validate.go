package schema

import (
	"errors"
	"fmt"
	"regexp"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

var fieldName = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// Validate checks that a Spec is well formed: snake_case unique names, a doc
// on every field, defaults that fit their type, enums with values, scalar
// list and map elements, nested blocks with a spec, and examples that parse
// as HCL expressions. Plugin registration and the conformance test use it.
func (s *Spec) Validate() error {
	var errs []error
	seen := map[string]bool{}
	for _, f := range s.Fields {
		if err := f.validate(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", f.Name, err))
		}
		if seen[f.Name] {
			errs = append(errs, fmt.Errorf("%s: declared twice", f.Name))
		}
		seen[f.Name] = true
	}
	return errors.Join(errs...)
}

func (f *Field) validate() error {
	var errs []error
	if !fieldName.MatchString(f.Name) {
		errs = append(errs, errors.New("name must be snake_case"))
	}
	if len(f.Doc) < 10 {
		errs = append(errs, errors.New("doc is missing or too short"))
	}
	switch f.Type {
	case TypeList, TypeMap:
		if !f.Elem.scalar() {
			errs = append(errs, fmt.Errorf("element type %s is not a scalar", f.Elem))
		}
		if f.Elem == TypeEnum && len(f.Enum) == 0 {
			errs = append(errs, errors.New("enum elements without values"))
		}
	case TypeEnum:
		if len(f.Enum) == 0 {
			errs = append(errs, errors.New("enum without values"))
		}
	case TypeBlock:
		if f.Block == nil {
			errs = append(errs, errors.New("block without a spec"))
		} else if err := f.Block.Validate(); err != nil {
			errs = append(errs, err)
		}
		if f.Default != nil {
			errs = append(errs, errors.New("blocks cannot have defaults"))
		}
	default:
		if !f.Type.scalar() {
			errs = append(errs, fmt.Errorf("unknown type %d", int(f.Type)))
		}
	}
	if f.Default != nil && f.Type != TypeBlock {
		if _, err := defaultValue(f); err != nil {
			errs = append(errs, err)
		}
	}
	for _, ex := range f.Examples {
		if _, diags := hclsyntax.ParseExpression([]byte(ex), "example", hcl.InitialPos); diags.HasErrors() {
			errs = append(errs, fmt.Errorf("example %q does not parse: %s", ex, diags.Error()))
		}
	}
	return errors.Join(errs...)
}
