package main

import (
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sluice-io/sluice/plugins"
	"github.com/sluice-io/sluice/runner/config"
)

// completePipelineFiles completes PATH arguments: *.hcl files and folders.
func completePipelineFiles(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
	return []cobra.Completion{"hcl"}, cobra.ShellCompDirectiveFilterFileExt
}

// completeDirs completes a flag that names a folder.
func completeDirs(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
	return nil, cobra.ShellCompDirectiveFilterDirs
}

// completePluginNames completes the NAME of `sluice plugins NAME` from the
// plugin registry: each name once, with the blocks it names as its
// description.
func completePluginNames(_ *cobra.Command, args []string, prefix string) ([]cobra.Completion, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	kinds := map[string][]string{}
	var names []string
	for _, p := range plugins.Global().Plugins() {
		if !strings.HasPrefix(p.Name, prefix) {
			continue
		}
		if _, seen := kinds[p.Name]; !seen {
			names = append(names, p.Name)
		}
		kinds[p.Name] = append(kinds[p.Name], p.Block)
	}
	slices.Sort(names)
	out := make([]cobra.Completion, 0, len(names))
	for _, n := range names {
		out = append(out, cobra.CompletionWithDesc(n, strings.Join(kinds[n], ", ")))
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// completePipelineNames completes --pipeline NAME from the pipelines
// declared in the PATH arguments already on the command line.
func completePipelineNames(_ *cobra.Command, paths []string, prefix string) ([]cobra.Completion, cobra.ShellCompDirective) {
	var names []cobra.Completion
	for _, p := range loadForCompletion(paths).Pipelines {
		if strings.HasPrefix(p.Name, prefix) {
			names = append(names, p.Name)
		}
	}
	return names, cobra.ShellCompDirectiveNoFileComp
}

// completeTestNames completes --run NAME from the test blocks declared in
// the PATH arguments already on the command line.
func completeTestNames(_ *cobra.Command, paths []string, prefix string) ([]cobra.Completion, cobra.ShellCompDirective) {
	var names []cobra.Completion
	for _, t := range loadForCompletion(paths).Tests {
		if strings.HasPrefix(t.Name, prefix) {
			names = append(names, t.Name)
		}
	}
	return names, cobra.ShellCompDirectiveNoFileComp
}

// loadForCompletion loads the files of paths for their names, offline
// (unset environment variables do not matter); errors in them do not
// matter to completion.
func loadForCompletion(paths []string) *config.Project {
	if len(paths) == 0 {
		return &config.Project{}
	}
	project, _ := config.Load(paths, &config.Options{Offline: true})
	return project
}
