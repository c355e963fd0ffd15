package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/sluice-io/sluice/cmd/sluice/internal/dashboard"
	"github.com/sluice-io/sluice/cmd/sluice/internal/demo"
	"github.com/sluice-io/sluice/cmd/sluice/internal/observe"
	"github.com/sluice-io/sluice/runner"
)

func newDemoCmd() *cobra.Command {
	var duration time.Duration
	var logFormat, metrics string
	cmd := &cobra.Command{
		Use:   "demo [flags]",
		Short: "The example pipeline on an embedded broker fed with live events",
		Long: `Starts an in-memory Pulsar-protocol broker, produces user events into it
and runs pipelines/user_activity_pulsar.hcl, printing per-minute counts as
windows close, until Ctrl-C (or --duration).`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return exitWith(runDemo(duration, logFormat, metrics, cmd.ErrOrStderr()))
		},
	}
	cmd.Flags().DurationVar(&duration, "duration", 0, "stop after this long, e.g. 30s (default: until Ctrl-C)")
	cmd.Flags().StringVar(&metrics, "metrics", "", "serve metrics, health, the JSON API and the dashboard on HOST:PORT, e.g. 127.0.0.1:9464")
	addLogFormatFlag(cmd, &logFormat, "text")
	return cmd
}

// noArgs is the argument check of commands that take no argument.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("unexpected argument %q: %s takes none", args[0], cmd.Name())
	}
	return nil
}

func runDemo(duration time.Duration, logFormat, metrics string, stderr io.Writer) int {
	logger, err := newLogger(logFormat, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "sluice demo:", err)
		return exitUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, duration)
		defer cancel()
	}
	opts := demo.Options{Logger: logger}
	if metrics != "" {
		opts.Monitor = runner.NewMonitor()
		server, err := observe.Start(observe.Options{Addr: metrics, Monitor: opts.Monitor, Dashboard: dashboard.Handler(), Build: observe.ReadBuildInfo(), Logger: logger})
		if err != nil {
			fmt.Fprintln(stderr, "sluice demo:", err)
			return exitProblems
		}
		defer func() {
			shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = server.Shutdown(shutdownCtx)
		}()
		logger.Info("dashboard and metrics", "url", "http://"+server.Addr().String()+"/")
	}
	if err := demo.Run(ctx, opts); err != nil {
		fmt.Fprintln(stderr, "sluice demo:", err)
		return exitProblems
	}
	return exitOK
}
