// Command sluice runs streaming analytics pipelines declared in HCL files.
//
// This file only dispatches subcommands; each subcommand parses its flags and
// calls into the packages that do the work.
package main

import (
	"fmt"
	"io"
	"os"

	_ "github.com/sluice-io/sluice/plugins/all" // register every plugin
)

// Exit codes shared by every subcommand.
const (
	exitOK       = 0 // success
	exitProblems = 1 // pipeline or config errors, test failures
	exitUsage    = 2 // bad command line
)

const usage = `sluice runs streaming analytics pipelines declared in HCL files.

Usage:
  sluice lint    [--format text|json] PATH...   check pipeline files and folders
  sluice fmt     [-check] PATH...               format pipeline files canonically
  sluice graph   [--format dot|mermaid] PATH... draw the stage chain of each pipeline
  sluice plugins [NAME]                          list plugins, or document one
  sluice run     [--log-format text|json] PATH... run the pipelines until their input ends or a signal
  sluice test    [-run NAME] [-update] PATH...    run the test blocks: pipelines on fixtures, output compared
  sluice broker  [--addr HOST:PORT] [--data DIR] [--partitions N=TOPIC]...
                                                 a Pulsar-protocol broker for development (in memory, or kept in DIR)
  sluice produce [--url URL] [--key FIELD] TOPIC [FILE|-]
                                                 send NDJSON lines to a Pulsar topic, one message each
  sluice demo    [--duration D]                  the example pipeline on an embedded broker fed with live events

Exit codes: 0 ok, 1 problems found, 2 usage error.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes one command line and returns the exit code.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "lint":
		return lintCmd(rest, stdout, stderr)
	case "fmt":
		return fmtCmd(rest, stdout, stderr)
	case "graph":
		return graphCmd(rest, stdout, stderr)
	case "plugins":
		return pluginsCmd(rest, stdout, stderr)
	case "run":
		return runCmd(rest, stdout, stderr)
	case "test":
		return testCmd(rest, stdout, stderr)
	case "broker":
		return brokerCmd(rest, stdout, stderr)
	case "produce":
		return produceCmd(rest, stdout, stderr)
	case "demo":
		return demoCmd(rest, stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	fmt.Fprintf(stderr, "sluice: unknown command %q\n\n%s", cmd, usage)
	return exitUsage
}
