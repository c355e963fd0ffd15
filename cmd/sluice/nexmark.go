package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	"github.com/spf13/cobra"

	"github.com/sluice-io/sluice/internal/ndjson"
	"github.com/sluice-io/sluice/internal/produce"
	"github.com/sluice-io/sluice/plugins/nexmark"
	sluicepulsar "github.com/sluice-io/sluice/plugins/pulsar"
	"github.com/sluice-io/sluice/record"
)

// nexmarkFlags are the flags of sluice nexmark generate.
type nexmarkFlags struct {
	events     int64
	stream     string
	partitions int
	eventRate  int64
	baseTime   string
	output     string
	url        string
	topic      string
}

// newNexmarkCmd is sluice nexmark, whose one subcommand is generate.
func newNexmarkCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "nexmark COMMAND",
		Short: "Nexmark benchmark events for other tools (source \"nexmark\" yields them in pipelines)",
		Long: `Commands for the Nexmark streaming benchmark. source "nexmark" generates its
events inside a pipeline; sluice nexmark generate writes the same events out,
so that other engines can run the same queries on the same input
(docs/nexmark.md).`,
		Args: noArgs,
	}
	cmd.AddCommand(newNexmarkGenerateCmd())
	return cmd
}

func newNexmarkGenerateCmd() *cobra.Command {
	var f nexmarkFlags
	cmd := &cobra.Command{
		Use:   "generate --events N [flags]",
		Short: "Write Nexmark events as NDJSON to a file, standard output or a Pulsar topic",
		Long: `Writes the first N Nexmark events, the same ones source "nexmark" yields, as
NDJSON: one object per event with the fields of its kind (date_time and
expires in RFC 3339, UTC, milliseconds). With --stream all every event is
written with a "type" field ("person", "auction" or "bid"); otherwise only
the events of that kind. With --topic the events go to a Pulsar topic, one
message each; with --partitions P as well, the topic must have P partitions
and event i goes to partition i mod P.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := f.check(cmd); err != nil {
				return err
			}
			return exitWith(generateNexmark(f, cmd.OutOrStdout(), cmd.ErrOrStderr()))
		},
	}
	fl := cmd.Flags()
	fl.Int64Var(&f.events, "events", 0, "number of events of every kind, `N` >= 1 (required)")
	fl.StringVar(&f.stream, "stream", "all", "`KIND` of events to write: bid, auction, person or all")
	fl.IntVar(&f.partitions, "partitions", 1, "with --topic, send event i to partition i mod `P` of the topic")
	fl.Int64Var(&f.eventRate, "event-rate", nexmark.DefaultEventRate, "events per second of event time")
	fl.StringVar(&f.baseTime, "base-time", nexmark.DefaultBaseTime, "event time of event 0, `RFC3339`")
	fl.StringVarP(&f.output, "output", "o", "-", "NDJSON `FILE` to write, - for standard output")
	fl.StringVar(&f.url, "url", "pulsar://127.0.0.1:6650", "Pulsar service `URL` (with --topic)")
	fl.StringVar(&f.topic, "topic", "", "Pulsar `TOPIC` to send the events to instead of writing a file")
	mustRegister(cmd.MarkFlagRequired("events"))
	mustRegister(cmd.RegisterFlagCompletionFunc("stream", cobra.FixedCompletions(
		[]cobra.Completion{"bid", "auction", "person", "all"}, cobra.ShellCompDirectiveNoFileComp)))
	for _, name := range []string{"events", "partitions", "event-rate", "base-time", "url", "topic"} {
		mustRegister(cmd.RegisterFlagCompletionFunc(name, cobra.NoFileCompletions))
	}
	return cmd
}

// check reports a bad command line.
func (f *nexmarkFlags) check(cmd *cobra.Command) error {
	switch {
	case f.events < 1:
		return fmt.Errorf("--events must be 1 or more, not %d", f.events)
	case f.stream != "all" && nexmark.Columns(nexmark.Stream(f.stream)) == nil:
		return fmt.Errorf("--stream must be bid, auction, person or all, not %q", f.stream)
	case f.eventRate < 1:
		return fmt.Errorf("--event-rate must be 1 or more, not %d", f.eventRate)
	case f.partitions < 1:
		return fmt.Errorf("--partitions must be 1 or more, not %d", f.partitions)
	case f.topic != "" && cmd.Flags().Changed("output"):
		return errors.New("--output and --topic exclude each other: write to a file or to a topic")
	case f.topic == "" && f.partitions > 1:
		return errors.New("--partitions splits events over a topic's partitions: it needs --topic")
	case f.topic == "" && cmd.Flags().Changed("url"):
		return errors.New("--url needs --topic")
	}
	if _, err := nexmark.ParseBaseTime(f.baseTime); err != nil {
		return fmt.Errorf("--base-time: %v", err)
	}
	return nil
}

// generateNexmark is sluice nexmark generate with checked flags.
func generateNexmark(f nexmarkFlags, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var n int64
	var err error
	where := f.output
	switch {
	case f.topic != "":
		where = "topic " + f.topic
		n, err = nexmarkToPulsar(ctx, f)
	case f.output == "-":
		where = "standard output"
		n, err = nexmarkToWriter(ctx, f, stdout)
	default:
		n, err = nexmarkToFile(ctx, f)
	}
	if err != nil {
		fmt.Fprintf(stderr, "sluice nexmark generate: %v (%d events written before)\n", err, n)
		return exitProblems
	}
	fmt.Fprintf(stderr, "sluice nexmark generate: %d events written to %s\n", n, where)
	return exitOK
}

func nexmarkToFile(ctx context.Context, f nexmarkFlags) (int64, error) {
	out, err := os.Create(f.output)
	if err != nil {
		return 0, err
	}
	n, err := nexmarkToWriter(ctx, f, out)
	if cerr := out.Close(); err == nil && cerr != nil {
		err = cerr
	}
	return n, err
}

func nexmarkToWriter(ctx context.Context, f nexmarkFlags, w io.Writer) (int64, error) {
	bw := bufio.NewWriterSize(w, 1<<16)
	n, err := writeNexmark(ctx, f, func(_ int, line []byte) error {
		_, err := bw.Write(line)
		return err
	})
	if err != nil {
		return n, err
	}
	return n, bw.Flush()
}

// writeNexmark hands emit each selected event of ids 0 to f.events-1 as
// one NDJSON line (newline included), with the partition it belongs to,
// and returns how many it handed.
func writeNexmark(ctx context.Context, f nexmarkFlags, emit func(partition int, line []byte) error) (int64, error) {
	baseTime, err := nexmark.ParseBaseTime(f.baseTime)
	if err != nil {
		return 0, err
	}
	gen := nexmark.NewGenerator(f.eventRate, baseTime)
	type kindOut struct {
		batch  *record.Batch
		enc    *ndjson.Encoder
		prefix []byte // `{"type":"KIND",` with --stream all
	}
	kinds := map[nexmark.Stream]*kindOut{}
	for _, s := range nexmark.Streams {
		rec := record.Schema{Columns: nexmark.Columns(s)}
		kinds[s] = &kindOut{batch: record.NewBatch(rec, 1), enc: ndjson.NewEncoder(rec), prefix: []byte(`{"type":` + strconv.Quote(string(s)) + `,`)}
	}
	var row, line []byte
	var n int64
	for id := range f.events {
		kind := nexmark.Kind(id)
		if f.stream != "all" && string(kind) != f.stream {
			continue
		}
		if id%4096 == 0 && ctx.Err() != nil {
			return n, ctx.Err()
		}
		k := kinds[kind]
		k.batch.Reset()
		gen.AppendEvent(k.batch, id)
		row = k.enc.AppendRow(row[:0], k.batch, 0)
		line, body := line[:0], row
		if f.stream == "all" {
			line, body = append(line, k.prefix...), row[1:] // without the encoder's '{'
		}
		line = append(append(line, body...), '\n')
		if err := emit(int(id%int64(f.partitions)), line); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// nexmarkToPulsar sends the events to f.topic, event i to partition i mod
// f.partitions when there are several, with internal/produce: one producer
// per partition fed through a pipe.
func nexmarkToPulsar(ctx context.Context, f nexmarkFlags) (int64, error) {
	topics := []string{f.topic}
	if f.partitions > 1 {
		if err := checkPartitions(f.url, f.topic, f.partitions); err != nil {
			return 0, err
		}
		topics = make([]string, f.partitions)
		for p := range topics {
			topics[p] = f.topic + "-partition-" + strconv.Itoa(p)
		}
	}
	type result struct {
		n   int
		err error
	}
	writers := make([]*bufio.Writer, len(topics))
	pipes := make([]*io.PipeWriter, len(topics))
	results := make(chan result, len(topics))
	for p, topic := range topics {
		pr, pw := io.Pipe()
		pipes[p], writers[p] = pw, bufio.NewWriterSize(pw, 1<<16)
		go func() {
			n, err := produce.Run(ctx, produce.Options{URL: f.url, Topic: topic}, pr)
			pr.CloseWithError(fmt.Errorf("sending to %s stopped", topic)) // unblocks the writer after a failure
			results <- result{n, err}
		}()
	}
	_, genErr := writeNexmark(ctx, f, func(p int, line []byte) error {
		_, err := writers[p].Write(line)
		return err
	})
	for p, w := range writers {
		if genErr == nil {
			genErr = w.Flush()
		}
		pipes[p].Close()
	}
	var sent int64
	var sendErr error
	for range topics {
		r := <-results
		sent += int64(r.n)
		if r.err != nil && sendErr == nil {
			sendErr = r.err
		}
	}
	if sendErr != nil {
		return sent, sendErr
	}
	return sent, genErr
}

// checkPartitions refuses a topic that does not have exactly partitions
// partitions.
func checkPartitions(url, topic string, partitions int) error {
	client, err := pulsar.NewClient(pulsar.ClientOptions{URL: url, OperationTimeout: 30 * time.Second, ConnectionTimeout: 10 * time.Second,
		Logger: sluicepulsar.ClientLogger(slog.New(slog.DiscardHandler))})
	if err != nil {
		return fmt.Errorf("connect to %s: %w", url, err)
	}
	defer client.Close()
	names, err := client.TopicPartitions(topic)
	if err != nil {
		return fmt.Errorf("partitions of %s: %w", topic, err)
	}
	if n := len(names); n != partitions {
		return fmt.Errorf("topic %s has %d partitions, not %d: create it with %d partitions first (sluice broker --partitions %d=%s)",
			topic, n, partitions, partitions, partitions, topic)
	}
	return nil
}
