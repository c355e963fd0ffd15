package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/sluice-io/sluice/cmd/sluice/internal/pipetest"
	"github.com/sluice-io/sluice/runner"
	"github.com/sluice-io/sluice/runner/config"
)

// testFlags are the flags of sluice test.
type testFlags struct {
	run       string
	update    bool
	logFormat string
	verbose   bool
}

func newTestCmd() *cobra.Command {
	var f testFlags
	cmd := &cobra.Command{
		Use:   "test [flags] PATH...",
		Short: "Run the test blocks: pipelines on fixtures, output compared",
		Long: `Runs each test block of the files (every *.hcl below a folder) offline:
the pipeline reads the test's input file instead of its source, and what
reaches its sinks is compared with the expect file. A mismatch prints a
unified diff and exits 1. With --update the actual output is written to
each expect file instead (a missing one is created).`,
		Args:              requirePaths,
		ValidArgsFunction: completePipelineFiles,
		RunE: func(cmd *cobra.Command, paths []string) error {
			return exitWith(runTests(paths, f, cmd.OutOrStdout(), cmd.ErrOrStderr()))
		},
	}
	cmd.Flags().StringVar(&f.run, "run", "", "run only the test with this `NAME`")
	cmd.Flags().BoolVar(&f.update, "update", false, "write each test's actual output to its expect file instead of comparing (creating a missing one)")
	addLogFormatFlag(cmd, &f.logFormat, "")
	cmd.Flags().BoolVarP(&f.verbose, "verbose", "v", false, "log what the pipelines do")
	mustRegister(cmd.RegisterFlagCompletionFunc("run", completeTestNames))
	return cmd
}

// runTests is sluice test: it runs the selected test blocks of the files of
// paths and prints one line per test.
func runTests(paths []string, f testFlags, stdout, stderr io.Writer) int {
	project, logger, created, code := loadTests(paths, f, stderr)
	defer created.RemoveUnwritten()
	if code != exitOK {
		return code
	}
	tests, code := selectTests(project.Tests, f.run, stderr)
	if code != exitOK || len(tests) == 0 {
		if code == exitOK {
			fmt.Fprintln(stdout, "no test blocks found")
		}
		return code
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	opts := runner.Options{}
	if f.verbose {
		opts.Logger = logger
	}
	failed := 0
	for _, t := range tests {
		r := pipetest.Run(ctx, project, t, opts)
		if !report(stdout, r, f.update, created) {
			failed++
		}
	}
	fmt.Fprintf(stdout, "%s: %d passed, %d failed\n", plural(len(tests), "test"), len(tests)-failed, failed)
	if failed > 0 {
		return exitProblems
	}
	return exitOK
}

// loadTests loads the files of paths for sluice test, offline: the
// source, sink and dead_letter blocks are replaced, so env() and file()
// calls in them need not resolve. With --update it first creates the
// missing expect files, empty, so that the loader accepts them; created
// lists them until the test fills them.
func loadTests(paths []string, f testFlags, stderr io.Writer) (*config.Project, *slog.Logger, *pipetest.Created, int) {
	opts := &config.Options{Offline: true}
	var created *pipetest.Created
	if f.update {
		first, _ := config.Load(paths, opts)
		var err error
		if created, err = pipetest.CreateMissingExpect(first.Tests); err != nil {
			fmt.Fprintln(stderr, "sluice test:", err)
			return nil, nil, created, exitProblems
		}
	}
	project, logger, code := loadForRun("test", paths, opts, f.logFormat, stderr)
	return project, logger, created, code
}

// selectTests returns the tests named only, or all of them when only is "".
func selectTests(all []*config.Test, only string, stderr io.Writer) ([]*config.Test, int) {
	if only == "" {
		return all, exitOK
	}
	var tests []*config.Test
	for _, t := range all {
		if t.Name == only {
			tests = append(tests, t)
		}
	}
	if len(tests) == 0 {
		fmt.Fprintf(stderr, "sluice test: no test named %q\n", only)
		return nil, exitUsage
	}
	return tests, exitOK
}

// report prints the outcome of one test (writing its expect file when
// update is set) and reports whether it passed.
func report(stdout io.Writer, r pipetest.Result, update bool, created *pipetest.Created) bool {
	t := r.Test
	where := t.DefRange.String()
	switch {
	case r.Err != nil:
		fmt.Fprintf(stdout, "FAIL %s (%s): %v\n", t.Name, where, r.Err)
		return false
	case update:
		if err := pipetest.Update(r); err != nil {
			fmt.Fprintf(stdout, "FAIL %s (%s): %v\n", t.Name, where, err)
			return false
		}
		created.Written(t.Expect)
		fmt.Fprintf(stdout, "UPDATED %s: %d rows written to %s\n", t.Name, r.Rows, t.Expect)
	case r.Pass:
		fmt.Fprintf(stdout, "ok   %s: %d rows (%s)\n", t.Name, r.Rows, counts(r.Stats))
	default:
		fmt.Fprintf(stdout, "FAIL %s (%s): output differs from %s (%s)\n", t.Name, where, t.Expect, counts(r.Stats))
		for _, line := range strings.SplitAfter(r.Diff, "\n") {
			if line != "" {
				fmt.Fprint(stdout, "    ", line)
			}
		}
		return false
	}
	return true
}

func counts(s runner.Stats) string {
	return fmt.Sprintf("in %d, filtered %d, late %d, dead %d", s.In, s.Filtered, s.Late, s.Dead)
}
