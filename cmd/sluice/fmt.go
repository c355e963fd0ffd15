package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/hashicorp/hcl/v2"

	"github.com/sluice-io/sluice/internal/diagview"
	"github.com/sluice-io/sluice/internal/hclfmt"
	"github.com/sluice-io/sluice/runner/config"
)

func fmtCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("fmt", flag.ContinueOnError)
	fs.SetOutput(stderr)
	check := fs.Bool("check", false, "do not rewrite files; list those that are not formatted and exit 1")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: sluice fmt [-check] PATH...")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return exitUsage
	}
	files, diags := config.ExpandPaths(fs.Args())
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
		if *check {
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
