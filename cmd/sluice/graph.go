package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/sluice-io/sluice/internal/graph"
	"github.com/sluice-io/sluice/runner/config"
)

func newGraphCmd() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "graph [flags] PATH...",
		Short: "Draw the stage chain of each pipeline",
		Long: `Draws each pipeline's stage chain, sinks and dead letter as a Graphviz DOT
graph or a Mermaid flowchart, on standard output.`,
		Args:              requirePaths,
		ValidArgsFunction: completePipelineFiles,
		RunE: func(cmd *cobra.Command, paths []string) error {
			return exitWith(drawGraph(paths, format, cmd.OutOrStdout(), cmd.ErrOrStderr()))
		},
	}
	addEnumFlag(cmd, &format, "format", "dot", "output `FORMAT`: dot or mermaid", "dot", "mermaid")
	return cmd
}

func drawGraph(paths []string, format string, stdout, stderr io.Writer) int {
	project, diags := config.Load(paths, nil)
	if reportDiags(stderr, diags, sources(project)) {
		return exitProblems
	}
	write := graph.WriteDOT
	if format == "mermaid" {
		write = graph.WriteMermaid
	}
	if err := write(stdout, project.Pipelines); err != nil {
		fmt.Fprintln(stderr, "sluice graph:", err)
		return exitProblems
	}
	return exitOK
}
