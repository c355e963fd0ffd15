package main

import (
	"bytes"
	"fmt"
	"io"
	"os"

	"github.com/hashicorp/hcl/v2"
	"github.com/spf13/cobra"

	"github.com/sluice-io/sluice/internal/diagview"
	"github.com/sluice-io/sluice/internal/hclfmt"
	"github.com/sluice-io/sluice/runner/config"
)

func newFmtCmd() *cobra.Command {
	var check bool
	cmd := &cobra.Command{
		Use:   "fmt [flags] PATH...",
		Short: "Format pipeline files canonically",
		Long: `Rewrites pipeline files (every *.hcl below a folder) in canonical HCL
format and prints the name of each file it changed. With --check nothing is
rewritten: the files that are not formatted are listed and the exit code
is 1.`,
		Args:              requirePaths,
		ValidArgsFunction: completePipelineFiles,
		RunE: func(cmd *cobra.Command, paths []string) error {
			return exitWith(formatFiles(paths, check, cmd.OutOrStdout(), cmd.ErrOrStderr()))
		},
	}
	cmd.Flags().BoolVar(&check, "check", false, "do not rewrite files; list those that are not formatted and exit 1")
	return cmd
}

// formatFiles formats the files of paths, or only lists the unformatted
// ones when check is set.
func formatFiles(paths []string, check bool, stdout, stderr io.Writer) int {
	files, diags := config.ExpandPaths(paths)
	srcs := map[string][]byte{}
	code := exitOK
	for _, name := range files {
		src, err := os.ReadFile(name)
		if err != nil {
			fmt.Fprintf(stderr, "sluice fmt: %v\n", err)
			code = exitProblems
			continue
		}
		srcs[name] = src
		out, ds := hclfmt.Format(name, src)
		if ds.HasErrors() {
			diags = append(diags, ds...)
			continue
		}
		if bytes.Equal(out, src) {
			continue
		}
		fmt.Fprintln(stdout, name)
		if check {
			code = exitProblems
			continue
		}
		if err := os.WriteFile(name, out, 0o644); err != nil {
			fmt.Fprintf(stderr, "sluice fmt: %v\n", err)
			code = exitProblems
		}
	}
	if reportDiags(stderr, diags, srcs) {
		code = exitProblems
	}
	return code
}

// reportDiags prints diagnostics as text and reports whether any is an error.
func reportDiags(w io.Writer, diags hcl.Diagnostics, srcs map[string][]byte) bool {
	if len(diags) == 0 {
		return false
	}
	_ = diagview.WriteText(w, diagview.New(diags, srcs))
	return diags.HasErrors()
}
