package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/sluice-io/sluice/internal/diagview"
	"github.com/sluice-io/sluice/runner/config"
)

func newLintCmd() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "lint [flags] PATH...",
		Short: "Check pipeline files and folders",
		Long: `Checks pipeline files and folders (every *.hcl below a folder) and
reports every problem at once, each at its exact place. Exit code 1 when
there is an error; warnings alone exit 0.`,
		Args:              requirePaths,
		ValidArgsFunction: completePipelineFiles,
		RunE: func(cmd *cobra.Command, paths []string) error {
			return exitWith(lint(paths, format, cmd.OutOrStdout(), cmd.ErrOrStderr()))
		},
	}
	addEnumFlag(cmd, &format, "format", "text", "output `FORMAT`: text or json (a list of diagnostics)", "text", "json")
	return cmd
}

// requirePaths is the argument check of commands that take PATH...
func requirePaths(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("no PATH given: name pipeline files or folders")
	}
	return nil
}

func lint(paths []string, format string, stdout, stderr io.Writer) int {
	project, diags := config.Load(paths, nil)
	views := diagview.New(diags, sources(project))
	errs, warns := diagview.Count(views)
	if format == "json" {
		if err := diagview.WriteJSON(stdout, views); err != nil {
			fmt.Fprintln(stderr, "sluice lint:", err)
			return exitProblems
		}
	} else {
		if err := diagview.WriteText(stdout, views); err != nil {
			fmt.Fprintln(stderr, "sluice lint:", err)
			return exitProblems
		}
		if len(views) > 0 {
			fmt.Fprintln(stdout)
		}
		fmt.Fprintf(stdout, "%s, %s: %s, %s\n", plural(len(project.Names), "file"), plural(len(project.Pipelines), "pipeline"), plural(errs, "error"), plural(warns, "warning"))
	}
	if errs > 0 {
		return exitProblems
	}
	return exitOK
}

// sources returns the bytes of every parsed file, for snippets.
func sources(p *config.Project) map[string][]byte {
	out := make(map[string][]byte, len(p.Files))
	for name, f := range p.Files {
		out[name] = f.Bytes
	}
	return out
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
