package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/sluice-io/sluice/cmd/sluice/internal/dashboard"
	"github.com/sluice-io/sluice/cmd/sluice/internal/observe"
	"github.com/sluice-io/sluice/runner"
	"github.com/sluice-io/sluice/runner/config"
)

// runFlags are the flags of sluice run.
type runFlags struct {
	logFormat  string
	pipeline   string
	batchSize  int
	workers    int
	resetState bool
	// metrics overrides the listen address of the metrics block, or
	// serves the endpoint without one.
	metrics          string
	progressInterval time.Duration
}

func newRunCmd() *cobra.Command {
	var f runFlags
	cmd := &cobra.Command{
		Use:   "run [flags] PATH...",
		Short: "Run the pipelines until their input ends or a signal",
		Long: `Runs every pipeline of the files (every *.hcl below a folder) until their
bounded inputs end, or until SIGINT/SIGTERM: intake stops, the records in
flight reach the sinks and the exit code is 0. A fatal error exits 1. With a
checkpoint block, a run resumes from the last checkpoint. The files are
checked as sluice lint checks them first; with any error nothing runs.`,
		Args:              requirePaths,
		ValidArgsFunction: completePipelineFiles,
		RunE: func(cmd *cobra.Command, paths []string) error {
			return exitWith(runPipelines(paths, f, cmd.ErrOrStderr()))
		},
	}
	addLogFormatFlag(cmd, &f.logFormat, "")
	cmd.Flags().StringVar(&f.pipeline, "pipeline", "", "run only the pipeline with this `NAME`")
	cmd.Flags().IntVar(&f.batchSize, "batch-size", runner.DefaultBatchSize, "most records a source hands on at a time")
	cmd.Flags().IntVar(&f.workers, "workers", 0, "goroutines parsing and filtering in parallel (default: one per CPU)")
	cmd.Flags().BoolVar(&f.resetState, "reset-state", false, "start afresh when the last checkpoint cannot be restored (its windows changed); their open windows are lost")
	cmd.Flags().StringVar(&f.metrics, "metrics", "", "serve metrics, health, the JSON API and the dashboard on `HOST:PORT` (default: the metrics block's listen; none without one)")
	cmd.Flags().DurationVar(&f.progressInterval, "progress-interval", observe.DefaultProgressInterval, "log each pipeline's progress this often; 0 logs none")
	mustRegister(cmd.RegisterFlagCompletionFunc("pipeline", completePipelineNames))
	mustRegister(cmd.RegisterFlagCompletionFunc("metrics", cobra.NoFileCompletions))
	return cmd
}

// runPipelines is sluice run: it loads the files of paths and runs their
// pipelines until they end or a signal stops them.
func runPipelines(paths []string, f runFlags, stderr io.Writer) int {
	project, logger, code := loadForRun("run", paths, nil, f.logFormat, stderr)
	if code != exitOK {
		return code
	}
	pipelines, code := runnable(project, f.pipeline, logger, stderr)
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
	monitor := runner.NewMonitor()
	opts := runner.Options{Logger: logger, BatchSize: f.batchSize, Workers: f.workers, ResetState: f.resetState, Monitor: monitor}
	server, code := startMetricsServer(project.Metrics, f.metrics, monitor, logger, stderr)
	if code != exitOK {
		return code
	}
	watchCtx, stopWatching := context.WithCancel(context.Background())
	defer stopWatching()
	progress := &observe.Progress{Monitor: monitor, Logger: logger, Interval: f.progressInterval}
	go progress.Run(watchCtx)
	systemd := observe.StartSystemd(watchCtx, monitor, len(pipelines), logger)
	go func() {
		select {
		case <-ctx.Done(): // a signal: the shutdown begins
			systemd.Stopping()
		case <-watchCtx.Done():
		}
	}()
	_, err := runner.RunAll(ctx, pipelines, opts)
	systemd.Stopping()
	stopWatching()
	if server != nil {
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if serr := server.Shutdown(shutdownCtx); serr != nil {
			logger.Warn("metrics endpoint", "error", serr.Error())
		}
	}
	if err != nil {
		fmt.Fprintln(stderr, "sluice run:", err)
		return exitProblems
	}
	return exitOK
}

// loadForRun builds the logger of run or test (command name) and loads the
// files of paths; a code other than exitOK ends the command.
func loadForRun(name string, paths []string, opts *config.Options, logFormat string, stderr io.Writer) (*config.Project, *slog.Logger, int) {
	logger, err := newLogger(logFormat, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "sluice %s: %v\n", name, err)
		return nil, nil, exitUsage
	}
	project, diags := config.Load(paths, opts)
	if reportDiags(stderr, diags, sources(project)) {
		fmt.Fprintf(stderr, "sluice %s: the pipeline files have errors (see above); nothing was run\n", name)
		return nil, nil, exitProblems
	}
	return project, logger, exitOK
}

// runnable picks the pipelines to run and refuses what this build cannot
// run faithfully.
func runnable(project *config.Project, only string, logger *slog.Logger, stderr io.Writer) ([]*config.Pipeline, int) {
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

// startMetricsServer serves the endpoints of docs/observability.md on
// addr, or else on the metrics block's listen address; without either it
// serves nothing and returns nil.
func startMetricsServer(block *config.Metrics, addr string, monitor *runner.Monitor, logger *slog.Logger, stderr io.Writer) (*observe.Server, int) {
	webConfig := ""
	if block != nil {
		webConfig = block.WebConfigFile
		if addr == "" {
			addr = block.Listen
		}
	}
	if addr == "" {
		return nil, exitOK
	}
	server, err := observe.Start(observe.Options{Addr: addr, WebConfigFile: webConfig, Monitor: monitor, Dashboard: dashboard.Handler(), Build: observe.ReadBuildInfo(), Logger: logger})
	if err != nil {
		fmt.Fprintln(stderr, "sluice run:", err)
		return nil, exitProblems
	}
	if webConfig == "" {
		logger.Info("metrics endpoint listening", "url", "http://"+server.Addr().String()+"/metrics")
	} else {
		logger.Info("metrics endpoint listening (TLS and authentication as the web config file says)", "address", server.Addr().String(), "web_config_file", webConfig)
	}
	return server, exitOK
}
