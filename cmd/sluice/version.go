package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version, VCS revision and Go version of this build",
		Long: `Prints the module version of this build ("(devel)" for a build from a
working tree), the VCS revision it was built from and whether the tree had
uncommitted changes, and the Go version and platform. sluice --version
prints the same.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprint(cmd.OutOrStdout(), buildVersion())
			return nil
		},
	}
}

// buildVersion describes this binary from its embedded build information.
func buildVersion() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		info = nil
	}
	return describeBuild(info, runtime.GOOS+"/"+runtime.GOARCH)
}

// describeBuild is the text of sluice version for info (nil when the
// binary carries no build information), several lines ending in a newline:
//
//	sluice v1.2.0
//	revision 0123abcd… (2026-01-02T03:04:05Z, modified)
//	go1.26.0 linux/amd64
func describeBuild(info *debug.BuildInfo, platform string) string {
	version, goVersion := "unknown", "go version unknown"
	settings := map[string]string{}
	if info != nil {
		version, goVersion = info.Main.Version, info.GoVersion
		for _, s := range info.Settings {
			settings[s.Key] = s.Value
		}
	}
	if version == "" {
		version = "unknown"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "sluice %s\n", version)
	if rev := settings["vcs.revision"]; rev != "" {
		var notes []string
		if t := settings["vcs.time"]; t != "" {
			notes = append(notes, t)
		}
		if settings["vcs.modified"] == "true" {
			notes = append(notes, "modified")
		}
		fmt.Fprintf(&b, "revision %s", rev)
		if len(notes) > 0 {
			fmt.Fprintf(&b, " (%s)", strings.Join(notes, ", "))
		}
		b.WriteString("\n")
	} else {
		b.WriteString("revision unknown (built without VCS information)\n")
	}
	fmt.Fprintf(&b, "%s %s\n", goVersion, platform)
	return b.String()
}
