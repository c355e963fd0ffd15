package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/sluice-io/sluice/internal/plugindoc"
	"github.com/sluice-io/sluice/plugins"
	"github.com/sluice-io/sluice/schema"
)

func newPluginsCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "plugins [NAME]",
		Short: "List plugins, or document one",
		Long: `Without NAME, lists every plugin, one line each. With NAME, documents
the plugins of that name (arguments, types, defaults, examples), generated
from their declarations: "file" names a source, a sink and a dead letter.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				return fmt.Errorf("want at most one plugin NAME, got %d arguments", len(args))
			}
			return nil
		},
		ValidArgsFunction: completePluginNames,
		RunE: func(cmd *cobra.Command, args []string) error {
			name := ""
			if len(args) == 1 {
				name = args[0]
			}
			return exitWith(describePlugins(name, cmd.OutOrStdout(), cmd.ErrOrStderr()))
		},
	}
}

// describePlugins lists every plugin when name is "", or documents the
// plugins called name.
func describePlugins(name string, stdout, stderr io.Writer) int {
	env := plugins.Global()
	if name == "" {
		if err := plugindoc.WriteList(stdout, env); err != nil {
			fmt.Fprintln(stderr, "sluice plugins:", err)
			return exitProblems
		}
		return exitOK
	}
	found := env.Find(name)
	if len(found) == 0 {
		var names []string
		for _, p := range env.Plugins() {
			names = append(names, p.Name)
		}
		fmt.Fprintf(stderr, "sluice plugins: no plugin named %q.%s Run sluice plugins to list them.\n", name, schema.DidYouMean(name, names))
		return exitUsage
	}
	for i, p := range found {
		if i > 0 {
			fmt.Fprintln(stdout)
		}
		if err := plugindoc.WritePlugin(stdout, p); err != nil {
			fmt.Fprintln(stderr, "sluice plugins:", err)
			return exitProblems
		}
	}
	return exitOK
}
