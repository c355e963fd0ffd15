package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/sluice-io/sluice/internal/produce"
	"github.com/sluice-io/sluice/internal/pulsartest"
)

// partitionFlags collects repeated --partitions N=TOPIC values.
type partitionFlags map[string]int

func (p partitionFlags) String() string { return fmt.Sprint(map[string]int(p)) }

func (p partitionFlags) Set(v string) error {
	n, topic, ok := strings.Cut(v, "=")
	count, err := strconv.Atoi(n)
	if !ok || err != nil || count < 1 || topic == "" {
		return fmt.Errorf("want N=TOPIC with N >= 1, e.g. 4=user-events")
	}
	p[topic] = count
	return nil
}

func brokerCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("broker", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:6650", "address to listen on")
	logFormat := fs.String("log-format", "", "log format: text or json (default: text on a terminal, json otherwise)")
	dataDir := fs.String("data", "", "keep topics, messages, producers' sequence ids (for deduplication) and subscription positions "+
		"in this directory, created if needed, so that they survive a restart (default: in memory only)")
	parts := partitionFlags{}
	fs.Var(parts, "partitions", "create a partitioned topic: N=TOPIC (repeatable)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: sluice broker [--addr 127.0.0.1:6650] [--data DIR] [--partitions N=TOPIC]...")
		fmt.Fprintln(stderr, "A broker speaking the Pulsar binary protocol, for development and tests; not a Pulsar replacement.")
		fmt.Fprintln(stderr, "It keeps everything in memory unless --data names a directory, where a restarted broker finds its topics,")
		fmt.Fprintln(stderr, "messages and subscription positions again (a message is on disk before its send is acknowledged).")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if fs.NArg() != 0 {
		fs.Usage()
		return exitUsage
	}
	logger, err := newLogger(*logFormat, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "sluice broker:", err)
		return exitUsage
	}
	b, err := pulsartest.Start(pulsartest.Options{Addr: *addr, Logger: logger, DataDir: *dataDir})
	if err != nil {
		fmt.Fprintln(stderr, "sluice broker:", err)
		return exitProblems
	}
	defer b.Close()
	for topic, n := range parts {
		if err := b.CreateTopic(topic, n); err != nil {
			fmt.Fprintln(stderr, "sluice broker:", err)
			return exitProblems
		}
	}
	if *dataDir == "" {
		logger.Info("broker listening (in memory: topics are lost when it stops)", "url", b.URL())
	} else {
		logger.Info("broker listening (state kept in the data directory)", "url", b.URL(), "data", *dataDir)
	}
	fmt.Fprintln(stdout, b.URL())
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	logger.Info("broker stopping")
	return exitOK
}

func produceCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("produce", flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("url", "pulsar://127.0.0.1:6650", "Pulsar service URL")
	key := fs.String("key", "", "a top-level JSON field whose value becomes each message's key")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: sluice produce [--url pulsar://127.0.0.1:6650] [--key FIELD] TOPIC [FILE|-]")
		fmt.Fprintln(stderr, "Sends one message per line of an NDJSON file (or standard input).")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if fs.NArg() < 1 || fs.NArg() > 2 {
		fs.Usage()
		return exitUsage
	}
	var in io.Reader = os.Stdin
	if fs.NArg() == 2 && fs.Arg(1) != "-" {
		f, err := os.Open(fs.Arg(1))
		if err != nil {
			fmt.Fprintln(stderr, "sluice produce:", err)
			return exitProblems
		}
		defer f.Close()
		in = f
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	unkeyed := 0
	opts := produce.Options{URL: *url, Topic: fs.Arg(0), Key: *key, Unkeyed: func(line int, reason string) {
		unkeyed++
		fmt.Fprintf(stderr, "sluice produce: line %d sent without a key: %s\n", line, reason)
	}}
	n, err := produce.Run(ctx, opts, in)
	if err != nil {
		fmt.Fprintf(stderr, "sluice produce: %v (%d messages sent before)\n", err, n)
		return exitProblems
	}
	fmt.Fprintf(stdout, "%d messages sent to %s", n, fs.Arg(0))
	if unkeyed > 0 {
		fmt.Fprintf(stdout, " (%d without a key)", unkeyed)
	}
	fmt.Fprintln(stdout)
	return exitOK
}
