package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/sluice-io/sluice/internal/deltalog"
	"github.com/sluice-io/sluice/internal/objstore"
	"github.com/sluice-io/sluice/plugins/delta"
	"github.com/sluice-io/sluice/plugins/parquet"
	"github.com/sluice-io/sluice/schema"
)

// newDeltaCmd is sluice delta: maintenance of the Delta tables sink
// "delta" writes (docs/delta.md).
func newDeltaCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "delta COMMAND",
		Short: "Maintain Delta Lake tables: optimize, vacuum, history",
		Long: `Commands on a Delta Lake table, such as those sink "delta" writes. PATH is
the table's root: a local folder or an s3:// prefix, written as in a
pipeline file (docs/delta.md).`,
		Args: noArgs,
	}
	cmd.AddCommand(newDeltaOptimizeCmd(), newDeltaVacuumCmd(), newDeltaHistoryCmd())
	return cmd
}

func newDeltaOptimizeCmd() *cobra.Command {
	var target, compression string
	cmd := &cobra.Command{
		Use:   "optimize [flags] PATH",
		Short: "Bin-pack the small files of each partition into files of the target size, in one commit",
		Long: `Compacts the table: in each partition, the live files smaller than
--target-size are bin-packed into files of about that size, committed as
one table version that removes the small files and adds the new ones
(dataChange=false, the rows do not change). Writers committing at the same
time lose nothing. The removed files stay until sluice delta vacuum.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			size, err := schema.ParseByteSize(target)
			if err != nil || size <= 0 {
				return fmt.Errorf("invalid --target-size %q: write a size such as 128MiB", target)
			}
			if _, _, ok := parquet.Codec(compression); !ok {
				return fmt.Errorf("invalid --compression %q: write zstd, snappy, gzip or none", compression)
			}
			return exitWith(withTable(cmd, args[0], func(ctx context.Context, log *deltalog.Log, out io.Writer) error {
				res, err := delta.Optimize(ctx, log, nil, delta.OptimizeOptions{TargetSize: size, Compression: compression})
				if err != nil {
					return err
				}
				if res.Version < 0 {
					fmt.Fprintln(out, "nothing to compact")
					return nil
				}
				fmt.Fprintf(out, "version %d: removed %d files (%d bytes), added %d files (%d bytes)\n",
					res.Version, res.Removed, res.BytesRemoved, res.Added, res.BytesAdded)
				return nil
			}))
		},
	}
	cmd.Flags().StringVar(&target, "target-size", delta.DefaultTargetFileSize, "the `SIZE` files are packed into")
	cmd.Flags().StringVar(&compression, "compression", "zstd", "codec of the new files: zstd, snappy, gzip or none")
	return cmd
}

func newDeltaVacuumCmd() *cobra.Command {
	var (
		retain time.Duration
		dryRun bool
	)
	cmd := &cobra.Command{
		Use:   "vacuum [flags] PATH",
		Short: "Delete data files the table no longer references, older than the retention",
		Long: `Deletes the data files the table's current version does not reference (removed
by optimize, or written by a writer that crashed before committing) and that
are older than --retain: readers of older versions (time travel) need them
until then. The log itself is never touched. --retain is at least 1h.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if retain < delta.MinVacuumRetention {
				return fmt.Errorf("invalid --retain %v: at least %v, files a writer staged but has not committed yet are younger", retain, delta.MinVacuumRetention)
			}
			return exitWith(withTable(cmd, args[0], func(ctx context.Context, log *deltalog.Log, out io.Writer) error {
				res, err := delta.Vacuum(ctx, log, retain, time.Now(), dryRun)
				if err != nil {
					return err
				}
				verb := "deleted"
				if dryRun {
					verb = "would delete"
				}
				for _, k := range res.Deleted {
					fmt.Fprintf(out, "%s %s\n", verb, k)
				}
				fmt.Fprintf(out, "%s %d files (%d bytes)\n", verb, len(res.Deleted), res.Bytes)
				if res.UnknownAge > 0 {
					fmt.Fprintf(out, "kept %d unreferenced files of unknown age (not written by sluice, on S3)\n", res.UnknownAge)
				}
				return nil
			}))
		},
	}
	cmd.Flags().DurationVar(&retain, "retain", 168*time.Hour, "keep unreferenced files younger than this")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "only list the files that would be deleted")
	return cmd
}

func newDeltaHistoryCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "history PATH",
		Short: "List the table's commits: version, time, operation, epoch, files and rows",
		Long: `Lists every commit of the table's log, oldest first: the version, its time
(UTC), the operation, the application and epoch of its txn action (sink
"delta" records PIPELINE/SINK and the checkpoint's epoch), the data files
added and removed, and the rows added.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return exitWith(withTable(cmd, args[0], func(ctx context.Context, log *deltalog.Log, out io.Writer) error {
				commits, err := delta.History(ctx, log)
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "VERSION\tTIME\tOPERATION\tAPP\tEPOCH\tADDED\tREMOVED\tROWS")
				for _, c := range commits {
					app := c.AppID
					if app == "" {
						app = "-"
					}
					fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%d\t%d\t%d\n", c.Version, c.Timestamp.Format("2006-01-02 15:04:05.000"),
						c.Operation, app, delta.FormatEpoch(c.Epoch), c.Added, c.Removed, c.Rows)
				}
				return tw.Flush()
			}))
		},
	}
}

// withTable opens the table at path (a folder or s3:// prefix), runs fn
// until it ends or SIGINT/SIGTERM, and returns the exit code: 1 with the
// error on stderr when the table cannot be opened or fn fails.
func withTable(cmd *cobra.Command, path string, fn func(context.Context, *deltalog.Log, io.Writer) error) int {
	stderr := cmd.ErrOrStderr()
	fail := func(err error) int {
		fmt.Fprintf(stderr, "%s: %s: %v\n", cmd.CommandPath(), path, err)
		return exitProblems
	}
	wd, err := os.Getwd()
	if err != nil {
		return fail(err)
	}
	loc, diags := objstore.ParseLocation(schema.Text{Value: path}, wd, "the Delta table")
	if diags.HasErrors() {
		return fail(fmt.Errorf("%s", diags[0].Detail))
	}
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	st, err := objstore.Open(ctx, loc)
	if err != nil {
		return fail(err)
	}
	defer st.Close()
	log := deltalog.New(st)
	snap, err := log.Snapshot(ctx)
	if err != nil {
		return fail(err)
	}
	if !snap.Exists() {
		return fail(fmt.Errorf("no Delta table there (no %s)", deltalog.CommitKey(0)))
	}
	if err := fn(ctx, log, cmd.OutOrStdout()); err != nil {
		return fail(err)
	}
	return exitOK
}
