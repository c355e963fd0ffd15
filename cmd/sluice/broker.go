package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"

	"github.com/sluice-io/sluice/cmd/sluice/internal/observe"
	"github.com/sluice-io/sluice/internal/produce"
	"github.com/sluice-io/sluice/internal/pulsartest"
)

// partitionFlags collects repeated --partitions N=TOPIC values.
type partitionFlags map[string]int

// String lists the topics as N=TOPIC, comma-separated, "" for none.
func (p partitionFlags) String() string {
	var parts []string
	for topic, n := range p {
		parts = append(parts, fmt.Sprintf("%d=%s", n, topic))
	}
	slices.Sort(parts)
	return strings.Join(parts, ",")
}

func (p partitionFlags) Set(v string) error {
	n, topic, ok := strings.Cut(v, "=")
	count, err := strconv.Atoi(n)
	if !ok || err != nil || count < 1 || topic == "" {
		return fmt.Errorf("want N=TOPIC with N >= 1, e.g. 4=user-events")
	}
	p[topic] = count
	return nil
}

func (p partitionFlags) Type() string { return "N=TOPIC" }

// brokerFlags are the flags of sluice broker.
type brokerFlags struct {
	addr       string
	logFormat  string
	dataDir    string
	partitions partitionFlags
	metrics    string
}

func newBrokerCmd() *cobra.Command {
	f := brokerFlags{partitions: partitionFlags{}}
	cmd := &cobra.Command{
		Use:   "broker [flags]",
		Short: "A Pulsar-protocol broker for development (in memory, or kept in DIR)",
		Long: `A broker speaking the Pulsar binary protocol, for development and tests;
not a Pulsar replacement. It prints its URL on standard output and runs
until SIGINT/SIGTERM. It keeps everything in memory unless --data names a
directory, where a restarted broker finds its topics, messages and
subscription positions again (a message is on disk before its send is
acknowledged).`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return exitWith(runBroker(f, cmd.OutOrStdout(), cmd.ErrOrStderr()))
		},
	}
	cmd.Flags().StringVar(&f.addr, "addr", "127.0.0.1:6650", "`HOST:PORT` to listen on")
	addLogFormatFlag(cmd, &f.logFormat, "")
	cmd.Flags().StringVar(&f.dataDir, "data", "", "keep topics, messages, producers' sequence ids (for deduplication) and subscription positions "+
		"in this `DIR`, created if needed, so that they survive a restart (default: in memory only)")
	cmd.Flags().Var(f.partitions, "partitions", "create a partitioned topic of N partitions (repeatable)")
	cmd.Flags().StringVar(&f.metrics, "metrics", "", "serve Prometheus metrics of the --partitions topics, and /healthz, on `HOST:PORT`")
	mustRegister(cmd.RegisterFlagCompletionFunc("metrics", cobra.NoFileCompletions))
	mustRegister(cmd.RegisterFlagCompletionFunc("data", completeDirs))
	mustRegister(cmd.RegisterFlagCompletionFunc("addr", cobra.NoFileCompletions))
	mustRegister(cmd.RegisterFlagCompletionFunc("partitions", cobra.NoFileCompletions))
	return cmd
}

// runBroker is sluice broker: it serves until a signal.
func runBroker(f brokerFlags, stdout, stderr io.Writer) int {
	logger, err := newLogger(f.logFormat, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "sluice broker:", err)
		return exitUsage
	}
	b, err := pulsartest.Start(pulsartest.Options{Addr: f.addr, Logger: logger, DataDir: f.dataDir})
	if err != nil {
		fmt.Fprintln(stderr, "sluice broker:", err)
		return exitProblems
	}
	defer b.Close()
	for topic, n := range f.partitions {
		if err := b.CreateTopic(topic, n); err != nil {
			fmt.Fprintln(stderr, "sluice broker:", err)
			return exitProblems
		}
	}
	if f.dataDir == "" {
		logger.Info("broker listening (in memory: topics are lost when it stops)", "url", b.URL())
	} else {
		logger.Info("broker listening (state kept in the data directory)", "url", b.URL(), "data", f.dataDir)
	}
	if f.metrics != "" {
		topics := slices.Sorted(maps.Keys(f.partitions))
		server, err := observe.Start(observe.Options{
			Addr: f.metrics, Build: observe.ReadBuildInfo(), Logger: logger,
			Collectors: []prometheus.Collector{observe.NewBrokerCollector(b, func() []string { return topics })},
		})
		if err != nil {
			fmt.Fprintln(stderr, "sluice broker:", err)
			return exitProblems
		}
		defer server.Shutdown(context.Background())
		logger.Info("metrics endpoint listening", "url", "http://"+server.Addr().String()+"/metrics")
	}
	fmt.Fprintln(stdout, b.URL())
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	logger.Info("broker stopping")
	return exitOK
}

func newProduceCmd() *cobra.Command {
	var url, key string
	cmd := &cobra.Command{
		Use:   "produce [flags] TOPIC [FILE|-]",
		Short: "Send NDJSON lines to a Pulsar topic, one message each",
		Long: `Sends one Pulsar message per line of an NDJSON file, or of standard input
when FILE is - or missing, and prints how many it sent.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) < 1 || len(args) > 2 {
				return fmt.Errorf("want TOPIC and at most one FILE, got %d arguments", len(args))
			}
			return nil
		},
		ValidArgsFunction: func(_ *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
			if len(args) == 1 {
				return nil, cobra.ShellCompDirectiveDefault // FILE
			}
			return nil, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return exitWith(produceLines(url, key, args, cmd.OutOrStdout(), cmd.ErrOrStderr()))
		},
	}
	cmd.Flags().StringVar(&url, "url", "pulsar://127.0.0.1:6650", "Pulsar service `URL`")
	cmd.Flags().StringVar(&key, "key", "", "a top-level JSON `FIELD` whose value becomes each message's key")
	mustRegister(cmd.RegisterFlagCompletionFunc("url", cobra.NoFileCompletions))
	mustRegister(cmd.RegisterFlagCompletionFunc("key", cobra.NoFileCompletions))
	return cmd
}

// produceLines is sluice produce: args are TOPIC and an optional FILE.
func produceLines(url, key string, args []string, stdout, stderr io.Writer) int {
	var in io.Reader = os.Stdin
	if len(args) == 2 && args[1] != "-" {
		f, err := os.Open(args[1])
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
	opts := produce.Options{URL: url, Topic: args[0], Key: key, Unkeyed: func(line int, reason string) {
		unkeyed++
		fmt.Fprintf(stderr, "sluice produce: line %d sent without a key: %s\n", line, reason)
	}}
	n, err := produce.Run(ctx, opts, in)
	if err != nil {
		fmt.Fprintf(stderr, "sluice produce: %v (%d messages sent before)\n", err, n)
		return exitProblems
	}
	fmt.Fprintf(stdout, "%d messages sent to %s", n, args[0])
	if unkeyed > 0 {
		fmt.Fprintf(stdout, " (%d without a key)", unkeyed)
	}
	fmt.Fprintln(stdout)
	return exitOK
}
