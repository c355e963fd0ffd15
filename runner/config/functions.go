package config

import (
	"fmt"
	"os"
	"path/filepath"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"

	"github.com/sluice-io/sluice/schema"
)

// maxFileFunctionSize bounds what file() reads: it is meant for secrets and
// small snippets, not data.
const maxFileFunctionSize = 1 << 20

// evalContext returns the functions a pipeline file may call: env(name[,
// default]) and file(path), with relative paths resolved against dir.
// Nothing else that touches the system is available. Offline, an unset
// variable without a default and a file that cannot be read yield an
// unknown value instead of an error (Options.Offline).
func evalContext(dir string, getenv func(string) (string, bool), offline bool) *hcl.EvalContext {
	return &hcl.EvalContext{Functions: map[string]function.Function{
		"env":  envFunction(getenv, offline),
		"file": fileFunction(dir, offline),
	}}
}

// unresolved returns where, in body and the blocks nested in it, an
// argument's value is unknown: it holds an env() or file() call that could
// not be resolved offline.
func unresolved(ctx *schema.Context, body *hclsyntax.Body) []hcl.Range {
	var out []hcl.Range
	for _, attr := range schema.SortedAttributes(body) {
		if v, diags := attr.Expr.Value(ctx.Eval); !diags.HasErrors() && !v.IsWhollyKnown() {
			out = append(out, attr.Expr.Range())
		}
	}
	for _, blk := range body.Blocks {
		out = append(out, unresolved(ctx, blk.Body)...)
	}
	return out
}

func envFunction(getenv func(string) (string, bool), offline bool) function.Function {
	return function.New(&function.Spec{
		Description: "Returns the value of an environment variable, or the default when it is not set.",
		Params:      []function.Parameter{{Name: "name", Type: cty.String}},
		VarParam:    &function.Parameter{Name: "default", Type: cty.String},
		Type:        function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			if len(args) > 2 {
				return cty.NilVal, function.NewArgErrorf(2, "env takes a name and at most one default, not %d arguments", len(args))
			}
			name := args[0].AsString()
			if name == "" {
				return cty.NilVal, function.NewArgErrorf(0, "the variable name must not be empty")
			}
			if v, ok := getenv(name); ok {
				return cty.StringVal(v), nil
			}
			if len(args) == 2 {
				return args[1], nil
			}
			if offline {
				return cty.UnknownVal(cty.String), nil
			}
			return cty.NilVal, fmt.Errorf("environment variable %s is not set and no default is given; set it or write env(%q, \"default\")", name, name)
		},
	})
}

func fileFunction(dir string, offline bool) function.Function {
	return function.New(&function.Spec{
		Description: "Returns the contents of a UTF-8 text file; a relative path is relative to the pipeline file's folder.",
		Params:      []function.Parameter{{Name: "path", Type: cty.String}},
		Type:        function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			v, err := readFileArgument(dir, args[0].AsString())
			if err != nil && offline {
				return cty.UnknownVal(cty.String), nil
			}
			return v, err
		},
	})
}

// readFileArgument reads the file file() names, path being relative to dir.
func readFileArgument(dir, path string) (cty.Value, error) {
	if !filepath.IsAbs(path) {
		path = filepath.Join(dir, path)
	}
	info, err := os.Stat(path)
	if err != nil {
		return cty.NilVal, fmt.Errorf("cannot read %s: %w", path, unwrapPathError(err))
	}
	if info.IsDir() {
		return cty.NilVal, fmt.Errorf("%s is a folder, not a file", path)
	}
	if !info.Mode().IsRegular() {
		return cty.NilVal, fmt.Errorf("%s is not a regular file", path)
	}
	if info.Size() > maxFileFunctionSize {
		return cty.NilVal, fmt.Errorf("%s is %d bytes; file() reads at most 1 MiB", path, info.Size())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return cty.NilVal, fmt.Errorf("cannot read %s: %w", path, unwrapPathError(err))
	}
	if !utf8.Valid(b) {
		return cty.NilVal, fmt.Errorf("%s is not UTF-8 text", path)
	}
	return cty.StringVal(string(b)), nil
}

func unwrapPathError(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}
