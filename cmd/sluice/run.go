package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/sluice-io/sluice/internal/objstore"
	"github.com/sluice-io/sluice/runner"
	"github.com/sluice-io/sluice/runner/checkpoint"
	"github.com/sluice-io/sluice/runner/config"
)

func runCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	logFormat := fs.String("log-format", "", "log format: text or json (default: text on a terminal, json otherwise)")
	only := fs.String("pipeline", "", "run only the pipeline with this name")
	batch := fs.Int("batch-size", runner.DefaultBatchSize, "most records a source hands on at a time")
	workers := fs.Int("workers", 0, "goroutines parsing and filtering in parallel (default: one per CPU)")
	resetState := fs.Bool("reset-state", false, "start afresh when the last checkpoint cannot be restored (its windows changed); their open windows are lost")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: sluice run [--log-format text|json] [--pipeline NAME] [--reset-state] PATH...")
		fs.PrintDefaults()
	}
	project, logger, code := loadForRun(fs, args, logFormat, stderr)
	if code != exitOK {
		return code
	}
	pipelines, code := runnable(project, *only, logger, stderr)
	if code != exitOK {
		return code
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	finished := make(chan struct{})
	defer close(finished)
	go func() {
		select {
		case <-ctx.Done():
			stop() // a second signal kills the process the usual way
			logger.Info("signal received: intake stopped, finishing what is in flight (a second signal kills)")
		case <-finished:
		}
	}()
	opts := runner.Options{Logger: logger, BatchSize: *batch, Workers: *workers, ResetState: *resetState}
	if c := project.Checkpoint; c != nil {
		store, err := objstore.Open(ctx, c.Location)
		if err != nil {
			fmt.Fprintf(stderr, "sluice run: %s: opening the checkpoint store %s: %v\n", c.DefRange, c.Location, err)
			return exitProblems
		}
		defer store.Close()
		opts.Checkpoints = checkpoint.NewStore(store)
		opts.Checkpoints.Warn = func(key string, err error) {
			logger.Warn("skipping a checkpoint that cannot be read", "key", key, "error", err.Error())
		}
		opts.CheckpointEvery = c.Every
		logger.Info("checkpoints enabled", "store", c.Location.String(), "every", c.Every.String())
	}
	if _, err := runner.RunAll(ctx, pipelines, opts); err != nil {
		fmt.Fprintln(stderr, "sluice run:", err)
		return exitProblems
	}
	return exitOK
}

// loadForRun parses the flags of run or test, builds the logger and loads
// the files; a code other than exitOK ends the command. logFormat is read
// after parsing.
func loadForRun(fs *flag.FlagSet, args []string, logFormat *string, stderr io.Writer) (*config.Project, *slog.Logger, int) {
	if err := fs.Parse(args); err != nil {
		return nil, nil, exitUsage
	}
	logger, err := newLogger(*logFormat, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "sluice %s: %v\n", fs.Name(), err)
		return nil, nil, exitUsage
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return nil, nil, exitUsage
	}
	project, diags := config.Load(fs.Args(), nil)
	if reportDiags(stderr, diags, sources(project)) {
		fmt.Fprintf(stderr, "sluice %s: the pipeline files have errors (see above); nothing was run\n", fs.Name())
		return nil, nil, exitProblems
	}
	return project, logger, exitOK
}

// runnable picks the pipelines to run and refuses what this build cannot
// run faithfully.
func runnable(project *config.Project, only string, logger *slog.Logger, stderr io.Writer) ([]*config.Pipeline, int) {
	if project.Metrics != nil {
		logger.Warn("the metrics endpoint is not yet served by this build; each pipeline's counters are logged when it ends", "listen", project.Metrics.Listen)
	}
	pipelines := project.Pipelines
	if only != "" {
		p := project.Pipeline(only)
		if p == nil {
			fmt.Fprintf(stderr, "sluice run: no pipeline named %q; the files declare: %s\n", only, names(project.Pipelines))
			return nil, exitUsage
		}
		pipelines = []*config.Pipeline{p}
	}
	if len(pipelines) == 0 {
		fmt.Fprintln(stderr, "sluice run: the files declare no pipeline")
		return nil, exitProblems
	}
	return pipelines, exitOK
}

func names(ps []*config.Pipeline) string {
	s := ""
	for i, p := range ps {
		if i > 0 {
			s += ", "
		}
		s += p.Name
	}
	return s
}

// newLogger returns the slog logger of run and test: text on a terminal,
// JSON otherwise, unless format says which.
func newLogger(format string, w io.Writer) (*slog.Logger, error) {
	if format == "" {
		format = "json"
		if f, ok := w.(*os.File); ok {
			if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
				format = "text"
			}
		}
	}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, nil)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, nil)), nil
	}
	return nil, fmt.Errorf("unknown log format %q (want text or json)", format)
}
