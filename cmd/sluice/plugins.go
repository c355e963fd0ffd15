package main

import (
	"fmt"
	"io"

	"github.com/sluice-io/sluice/internal/plugindoc"
	"github.com/sluice-io/sluice/plugins"
	"github.com/sluice-io/sluice/schema"
)

func pluginsCmd(args []string, stdout, stderr io.Writer) int {
	env := plugins.Global()
	switch len(args) {
	case 0:
		if err := plugindoc.WriteList(stdout, env); err != nil {
			fmt.Fprintln(stderr, "sluice plugins:", err)
			return exitProblems
		}
		return exitOK
	case 1:
	default:
		fmt.Fprintln(stderr, "usage: sluice plugins [NAME]")
		return exitUsage
	}
	found := env.Find(args[0])
	if len(found) == 0 {
		var names []string
		for _, p := range env.Plugins() {
			names = append(names, p.Name)
		}
		fmt.Fprintf(stderr, "sluice plugins: no plugin named %q.%s Run sluice plugins to list them.\n", args[0], schema.DidYouMean(args[0], names))
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
