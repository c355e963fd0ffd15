package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/sluice-io/sluice/internal/graph"
	"github.com/sluice-io/sluice/runner/config"
)

func graphCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("graph", flag.ContinueOnError)
	fs.SetOutput(stderr)
	format := fs.String("format", "dot", "output format: dot or mermaid")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: sluice graph [--format dot|mermaid] PATH...")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if *format != "dot" && *format != "mermaid" {
		fmt.Fprintf(stderr, "sluice graph: unknown format %q (want dot or mermaid)\n", *format)
		return exitUsage
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return exitUsage
	}
	project, diags := config.Load(fs.Args(), nil)
	if reportDiags(stderr, diags, sources(project)) {
		return exitProblems
	}
	write := graph.WriteDOT
	if *format == "mermaid" {
		write = graph.WriteMermaid
	}
	if err := write(stdout, project.Pipelines); err != nil {
		fmt.Fprintln(stderr, "sluice graph:", err)
		return exitProblems
	}
	return exitOK
}
