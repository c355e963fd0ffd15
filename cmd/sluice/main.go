// Command sluice runs streaming analytics pipelines declared in HCL files.
//
// This package only parses command lines (with cobra) and calls into the
// packages that do the work; docs/running.md documents the commands.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	_ "github.com/sluice-io/sluice/plugins/all" // register every plugin
	"github.com/sluice-io/sluice/schema"
)

// Exit codes shared by every subcommand.
const (
	exitOK       = 0 // success
	exitProblems = 1 // pipeline or config errors, test failures, a failed run
	exitUsage    = 2 // bad command line
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes one command line and returns the exit code. Help goes to
// stdout; diagnostics, logs and usage errors go to stderr.
func run(args []string, stdout, stderr io.Writer) int {
	root := newRootCmd(stdout, stderr)
	if len(args) == 0 {
		root.SetOut(stderr)
		_ = root.Help()
		return exitUsage
	}
	if isCompletionRequest(args) {
		// A shell asks for completions of the line after __complete; its
		// last word is the one being completed and stays as typed.
		if len(args) > 2 {
			line := args[1 : len(args)-1]
			if cmd, _, err := root.Find(line); err == nil {
				args = slices.Concat(args[:1], normalizeSingleDash(cmd, line), args[len(args)-1:])
			}
		}
	} else {
		cmd, rest, err := root.Find(args)
		if err != nil {
			unknownCommand(root, rest, stderr)
			return exitUsage
		}
		args = normalizeSingleDash(cmd, args)
	}
	root.SetArgs(slices.Clone(args))
	cmd, err := root.ExecuteC()
	if err == nil {
		return exitOK
	}
	var code exitCode
	if errors.As(err, &code) {
		return int(code)
	}
	path := cmd.CommandPath()
	msg, _, _ := strings.Cut(err.Error(), "\n")
	fmt.Fprintf(stderr, "%s: %s\nRun '%s --help' for usage.\n", path, msg, path)
	return exitUsage
}

// exitCode is the error a command returns when it has already reported
// what went wrong: the process exits with this code. Any other error a
// command returns is a bad command line: run prints it with a hint and
// exits 2.
type exitCode int

func (c exitCode) Error() string { return fmt.Sprintf("exit status %d", int(c)) }

// exitWith turns a command's exit code into the error cobra expects: nil
// for exitOK.
func exitWith(code int) error {
	if code == exitOK {
		return nil
	}
	return exitCode(code)
}

const rootLong = `sluice runs streaming analytics pipelines declared in HCL files: read
events, parse them, filter and reshape them, aggregate them in event-time
windows with watermarks, and write the results out.

Exit codes: 0 ok, 1 problems found (lint errors, test failures, a failed
run), 2 usage error.`

// newRootCmd builds the whole command tree writing to stdout and stderr;
// every call returns a fresh tree, so that flag values never leak from one
// command line to the next.
func newRootCmd(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "sluice",
		Short:         "Streaming analytics pipelines declared in HCL files",
		Long:          rootLong,
		Version:       buildVersion(),
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	root.SetOut(stdout) // before the completion command is made: it keeps the writer
	root.SetErr(stderr)
	root.SetVersionTemplate("{{.Version}}")
	root.SetUsageTemplate(usageTemplate)
	root.AddCommand(
		newLintCmd(), newFmtCmd(), newGraphCmd(), newPluginsCmd(),
		newRunCmd(), newTestCmd(), newBrokerCmd(), newProduceCmd(),
		newDemoCmd(), newStatusCmd(), newVersionCmd(), newNexmarkCmd(), newDeltaCmd(),
	)
	root.SetHelpCommand(newHelpCmd())
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	root.InitDefaultHelpFlag()
	root.InitDefaultVersionFlag()
	return root
}

// newHelpCmd is sluice help [COMMAND]: cobra's help command, except that
// an unknown command is a usage error.
func newHelpCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "help [COMMAND]",
		Short: "Help about any command",
		Long:  "Prints the help of a command (the same as sluice COMMAND --help), or of sluice.",
		ValidArgsFunction: func(c *cobra.Command, args []string, prefix string) ([]cobra.Completion, cobra.ShellCompDirective) {
			parent, _, err := c.Root().Find(args)
			if err != nil {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			var names []cobra.Completion
			for _, sub := range parent.Commands() {
				if sub.IsAvailableCommand() && strings.HasPrefix(sub.Name(), prefix) {
					names = append(names, cobra.CompletionWithDesc(sub.Name(), sub.Short))
				}
			}
			return names, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(c *cobra.Command, args []string) error {
			target, rest, err := c.Root().Find(args)
			if err != nil || len(rest) > 0 {
				return fmt.Errorf("no command %q", strings.Join(args, " "))
			}
			target.InitDefaultHelpFlag()
			return target.Help()
		},
	}
}

// unknownCommand reports a command name the tree does not know; rest is
// what follows the known part of the command line.
func unknownCommand(root *cobra.Command, rest []string, stderr io.Writer) {
	name := ""
	for _, a := range rest {
		if !strings.HasPrefix(a, "-") {
			name = a
			break
		}
	}
	var names []string
	for _, c := range root.Commands() {
		if c.IsAvailableCommand() {
			names = append(names, c.Name())
		}
	}
	fmt.Fprintf(stderr, "sluice: unknown command %q.%s\nRun 'sluice --help' for the list of commands.\n", name, schema.DidYouMean(name, names))
}

// isCompletionRequest reports whether args are a shell's request for
// completions (cobra's hidden __complete command).
func isCompletionRequest(args []string) bool {
	return args[0] == cobra.ShellCompRequestCmd || args[0] == cobra.ShellCompNoDescRequestCmd
}

// usageTemplate is cobra's default usage template with a footer that names
// the way to see a command's flags.
const usageTemplate = `Usage:{{if .Runnable}}
  {{.UseLine}}{{end}}{{if .HasAvailableSubCommands}}
  {{.CommandPath}} COMMAND{{end}}{{if gt (len .Aliases) 0}}

Aliases:
  {{.NameAndAliases}}{{end}}{{if .HasExample}}

Examples:
{{.Example}}{{end}}{{if .HasAvailableSubCommands}}

Commands:{{range .Commands}}{{if (or .IsAvailableCommand (eq .Name "help"))}}
  {{rpad .Name .NamePadding }} {{.Short}}{{end}}{{end}}{{end}}{{if .HasAvailableLocalFlags}}

Flags:
{{.LocalFlags.FlagUsages | trimTrailingWhitespaces}}{{end}}{{if .HasAvailableInheritedFlags}}

Global Flags:
{{.InheritedFlags.FlagUsages | trimTrailingWhitespaces}}{{end}}{{if .HasAvailableSubCommands}}

Run '{{.CommandPath}} COMMAND --help' for the flags and arguments of a command.{{end}}
`
