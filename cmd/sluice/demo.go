package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/sluice-io/sluice/cmd/sluice/internal/demo"
)

func demoCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	duration := fs.Duration("duration", 0, "stop after this long (default: until Ctrl-C)")
	logFormat := fs.String("log-format", "text", "log format: text or json")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: sluice demo [--duration D]")
		fmt.Fprintln(stderr, "Starts an in-memory Pulsar-protocol broker, produces user events into it and runs pipelines/user_activity_pulsar.hcl, printing per-minute counts as windows close.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil || fs.NArg() != 0 {
		if err == nil {
			fs.Usage()
		}
		return exitUsage
	}
	logger, err := newLogger(*logFormat, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "sluice demo:", err)
		return exitUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *duration)
		defer cancel()
	}
	if err := demo.Run(ctx, demo.Options{Logger: logger}); err != nil {
		fmt.Fprintln(stderr, "sluice demo:", err)
		return exitProblems
	}
	return exitOK
}
