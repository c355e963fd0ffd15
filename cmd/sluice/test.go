package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/sluice-io/sluice/runner"
	"github.com/sluice-io/sluice/cmd/sluice/internal/pipetest"
)

func testCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(stderr)
	only := fs.String("run", "", "run only the test with this name")
	update := fs.Bool("update", false, "write each test's actual output to its expect file instead of comparing")
	logFormat := fs.String("log-format", "", "log format: text or json (default: text on a terminal, json otherwise)")
	verbose := fs.Bool("v", false, "log what the pipelines do")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: sluice test [-run NAME] [-update] [-v] PATH...")
		fs.PrintDefaults()
	}
	project, logger, code := loadForRun(fs, args, logFormat, stderr)
	if code != exitOK {
		return code
	}
	tests := project.Tests
	if *only != "" {
		tests = nil
		for _, t := range project.Tests {
			if t.Name == *only {
				tests = append(tests, t)
			}
		}
		if len(tests) == 0 {
			fmt.Fprintf(stderr, "sluice test: no test named %q\n", *only)
			return exitUsage
		}
	}
	if len(tests) == 0 {
		fmt.Fprintln(stdout, "no test blocks found")
		return exitOK
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	opts := runner.Options{}
	if *verbose {
		opts.Logger = logger
	}
	failed := 0
	for _, t := range tests {
		r := pipetest.Run(ctx, project, t, opts)
		where := t.DefRange.String()
		switch {
		case r.Err != nil:
			failed++
			fmt.Fprintf(stdout, "FAIL %s (%s): %v\n", t.Name, where, r.Err)
		case *update:
			if err := pipetest.Update(r); err != nil {
				failed++
				fmt.Fprintf(stdout, "FAIL %s (%s): %v\n", t.Name, where, err)
				continue
			}
			fmt.Fprintf(stdout, "UPDATED %s: %d rows written to %s\n", t.Name, r.Rows, t.Expect)
		case r.Pass:
			fmt.Fprintf(stdout, "ok   %s: %d rows (%s)\n", t.Name, r.Rows, counts(r.Stats))
		default:
			failed++
			fmt.Fprintf(stdout, "FAIL %s (%s): output differs from %s (%s)\n", t.Name, where, t.Expect, counts(r.Stats))
			for _, line := range strings.SplitAfter(r.Diff, "\n") {
				if line != "" {
					fmt.Fprint(stdout, "    ", line)
				}
			}
		}
	}
	fmt.Fprintf(stdout, "%s: %d passed, %d failed\n", plural(len(tests), "test"), len(tests)-failed, failed)
	if failed > 0 {
		return exitProblems
	}
	return exitOK
}

func counts(s runner.Stats) string {
	return fmt.Sprintf("in %d, filtered %d, late %d, dead %d", s.In, s.Filtered, s.Late, s.Dead)
}
