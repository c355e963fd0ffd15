package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sluice-io/sluice/plugins"
	"github.com/sluice-io/sluice/record"
)

var (
	_ plugins.SinkOpener  = (*Sink)(nil)
	_ plugins.Committer   = (*Writer)(nil)
	_ plugins.CommitPacer = (*Writer)(nil)
)

// Writer is a running PostgreSQL sink. It implements plugins.Writer and
// plugins.Committer; its methods may be called from any goroutine, one at
// a time.
//
// Write buffers rows as a binary COPY stream and writes them every
// BatchSize rows. With checkpoints they go to the staging table, tagged
// with the pipeline, the sink and an ordinal, and Commit moves an epoch's
// rows to the target; without, each flush writes them to the target
// through a temporary table, at the latest at each commit of the runner
// (every FlushInterval: CommitPacer).
type Writer struct {
	mu          sync.Mutex
	sink        *Sink
	config      *pgx.ConnConfig
	conn        *pgx.Conn // nil while disconnected
	connected   bool      // a connection was made before
	tempReady   bool      // the flush table exists on conn
	log         *slog.Logger
	checkpoints bool
	task        string // plugins.Runtime.Task: empty without tasks
	tables      tables
	enc         *encoder
	copySQL     string
	mergeSQL    string
	closed      bool

	// staged is the range of ordinals written to the staging table since
	// the last Prepare (checkpoints); staged.rows is 0 when there is none.
	staged struct {
		first, last int64
		rows        int64
	}

	retries    atomic.Int64
	reconnects atomic.Int64
}

// Open connects, checks or creates the table (and, with checkpoints, the
// staging and progress tables) and returns a *Writer.
func (s *Sink) Open(ctx context.Context, rt *plugins.Runtime) (plugins.Writer, error) {
	w, err := newWriter(s, rt)
	if err != nil {
		return nil, err
	}
	if err := w.do(ctx, "prepare "+w.where(), w.prepareTables); err != nil {
		w.disconnect()
		return nil, err
	}
	w.log.Info("writing to PostgreSQL", "server", w.server(), "table", w.tables.display, "mode", s.Mode, "key", s.Key)
	if !w.checkpoints {
		w.log.Info("no checkpoint block: " + w.guarantee())
	}
	return w, nil
}

// newWriter returns a writer of s, not connected yet.
func newWriter(s *Sink, rt *plugins.Runtime) (*Writer, error) {
	config, err := pgx.ParseConfig(s.DSN)
	if err != nil {
		return nil, errors.New(dsnError(err))
	}
	// Timestamps fill timestamp-without-time-zone columns in UTC.
	config.RuntimeParams["timezone"] = "UTC"
	if config.RuntimeParams["application_name"] == "" {
		config.RuntimeParams["application_name"] = "sluice"
	}
	if config.ConnectTimeout == 0 {
		config.ConnectTimeout = 10 * time.Second
	}
	w := &Writer{
		sink:   s,
		config: config,
		log:    slog.New(slog.DiscardHandler),
		tables: newTables(s.Table),
	}
	pipeline := s.Pipeline
	if rt != nil {
		w.checkpoints, w.task = rt.Checkpoints, rt.Task
		if rt.Logger != nil {
			w.log = rt.Logger
		}
		if pipeline == "" {
			pipeline = rt.Pipeline
		}
	}
	w.sink = &Sink{}
	*w.sink = *s
	w.sink.Pipeline = pipeline
	w.enc = newEncoder(s.Input, s.Key, pipeline, s.Name, w.task, w.checkpoints)
	w.copySQL = copySQL(w.tables, s.Input, w.checkpoints)
	w.mergeSQL = mergeSQL(w.tables, s.Input, s.Key, s.Mode, w.checkpoints)
	return w, nil
}

// guarantee says what a crash does to the output without checkpoints.
func (w *Writer) guarantee() string {
	switch {
	case w.sink.Mode == ModeUpsert:
		return "upserts are idempotent: rows written again after a crash overwrite themselves"
	case len(w.sink.Key) > 0:
		return "inserts by key are idempotent: rows written again after a crash are skipped (their key is there)"
	}
	return "plain inserts are at least once: rows of the last flush_interval may be inserted again after a crash"
}

// where names the table and the server for messages.
func (w *Writer) where() string {
	return fmt.Sprintf("table %s on %s", w.tables.display, w.server())
}

// server is host:port/database, without credentials.
func (w *Writer) server() string {
	return fmt.Sprintf("%s:%d/%s", w.config.Host, w.config.Port, w.config.Database)
}

// prepareTables checks the target table or creates it, and creates the
// tables the sink needs, under an advisory lock so that sinks starting
// together do not race on CREATE TABLE IF NOT EXISTS.
func (w *Writer) prepareTables(ctx context.Context, conn *pgx.Conn, _ int) error {
	return pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtext('sluice.postgres.ddl'))"); err != nil {
			return err
		}
		s := w.sink
		cols, err := describeTable(ctx, conn, w.tables.target)
		switch {
		case errors.Is(err, errNoTable) && !s.CreateTable:
			return fmt.Errorf("table %s does not exist: create it, or set create_table = true", w.tables.display)
		case errors.Is(err, errNoTable):
			if _, err := tx.Exec(ctx, createTableSQL(w.tables, s.Input, s.Key)); err != nil {
				return fmt.Errorf("create table %s: %w", w.tables.display, err)
			}
			w.log.Info("created table", "table", w.tables.display)
		case err != nil:
			return err
		default:
			uniques, err := uniqueKeys(ctx, conn, w.tables.target)
			if err != nil {
				return err
			}
			if err := checkFit(w.tables.display, cols, uniques, s.Input, s.Key); err != nil {
				return err
			}
		}
		if !w.checkpoints {
			return nil
		}
		if err := prepareProgress(ctx, tx, w.tables); err != nil {
			return err
		}
		return w.prepareStage(ctx, tx)
	})
}

// prepareStage creates the staging table, or re-creates an empty one made
// for other records.
func (w *Writer) prepareStage(ctx context.Context, tx pgx.Tx) error {
	if _, err := tx.Exec(ctx, createStageSQL(w.tables, w.sink.Input)); err != nil {
		return fmt.Errorf("create table %s: %w", w.tables.stage, err)
	}
	cols, err := describeTable(ctx, tx.Conn(), w.tables.stage)
	if err == nil {
		cols, err = w.addStageColumns(ctx, tx, cols)
	}
	if err != nil || stageFits(cols, w.sink.Input) {
		return err
	}
	var pending bool
	if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT FROM "+w.tables.stage+")").Scan(&pending); err != nil {
		return err
	}
	if pending {
		return fmt.Errorf("the staging table %s holds uncommitted rows of other records (the fields changed since the last checkpoint): "+
			"restore the previous fields to let the restart commit them, or drop that table to discard them", w.tables.stage)
	}
	if _, err := tx.Exec(ctx, "DROP TABLE "+w.tables.stage); err != nil {
		return err
	}
	_, err = tx.Exec(ctx, createStageSQL(w.tables, w.sink.Input))
	return err
}

// addStageColumns gives a staging table of an earlier version the
// columns it lacks, and returns its columns: the task column (its rows
// are a run's without tasks) and the op column (its rows are inserts).
// Only then: ALTER TABLE locks out the other tasks staging into the table.
func (w *Writer) addStageColumns(ctx context.Context, tx pgx.Tx, cols []tableColumn) ([]tableColumn, error) {
	added := false
	for _, c := range []struct{ name, ddl string }{{colTask, "text NOT NULL DEFAULT ''"}, {colOp, "smallint NOT NULL DEFAULT 0"}} {
		if slices.ContainsFunc(cols, func(have tableColumn) bool { return have.name == c.name }) {
			continue
		}
		if _, err := tx.Exec(ctx, fmt.Sprintf("ALTER TABLE %s ADD COLUMN IF NOT EXISTS %s %s", w.tables.stage, c.name, c.ddl)); err != nil {
			return nil, fmt.Errorf("add column %s to %s: %w", c.name, w.tables.stage, err)
		}
		added = true
	}
	if !added {
		return cols, nil
	}
	return describeTable(ctx, tx.Conn(), w.tables.stage)
}

// Write buffers the rows of b and writes the buffer whenever it holds
// BatchSize rows. Buffered rows are written by the next Prepare at the
// latest; none is visible in the table before the Commit that follows.
func (w *Writer) Write(ctx context.Context, b *record.Batch) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return errors.New("write after close")
	}
	for from := 0; from < b.Rows; {
		to := min(b.Rows, from+w.sink.BatchSize-w.enc.rows)
		if err := w.enc.add(b, from, to); err != nil {
			return err
		}
		from = to
		if w.enc.rows >= w.sink.BatchSize {
			if err := w.flush(ctx); err != nil {
				return err
			}
		}
	}
	return nil
}

// flush writes the buffered rows: to the staging table with checkpoints,
// else to the target.
func (w *Writer) flush(ctx context.Context) error {
	if w.enc.rows == 0 {
		return nil
	}
	stream := w.enc.stream()
	first, last, n := w.enc.first, w.enc.last(), int64(w.enc.rows)
	retried := false
	var err error
	if w.checkpoints {
		err = w.do(ctx, fmt.Sprintf("stage %d rows for %s", n, w.where()), func(ctx context.Context, conn *pgx.Conn, attempt int) error {
			retried = retried || attempt > 0
			if attempt > 0 { // the lost attempt may have committed its COPY
				if _, err := conn.Exec(ctx, deleteStagedSQL(w.tables), w.sink.Pipeline, w.sink.Name, w.task, first, last); err != nil {
					return err
				}
			}
			_, err := conn.PgConn().CopyFrom(ctx, bytes.NewReader(stream), w.copySQL)
			return err
		})
		if err == nil {
			if w.staged.rows == 0 {
				w.staged.first = first
			}
			w.staged.last, w.staged.rows = last, w.staged.rows+n
		}
	} else {
		err = w.do(ctx, fmt.Sprintf("write %d rows to %s", n, w.where()), func(ctx context.Context, conn *pgx.Conn, attempt int) error {
			retried = retried || attempt > 0
			return w.writeThrough(ctx, conn, stream)
		})
	}
	if err != nil {
		return err
	}
	if retried {
		// pgx's CopyFrom of a lost connection may return before its
		// goroutine stops reading the stream: never write into it again.
		w.enc.buf = nil
	}
	w.enc.reset()
	return nil
}

// writeThrough copies stream into the flush table and merges it into the
// target, in one transaction.
func (w *Writer) writeThrough(ctx context.Context, conn *pgx.Conn, stream []byte) error {
	if !w.tempReady {
		if _, err := conn.Exec(ctx, createFlushSQL(w.sink.Input)); err != nil {
			return err
		}
		w.tempReady = true
	}
	return pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if _, err := conn.PgConn().CopyFrom(ctx, bytes.NewReader(stream), w.copySQL); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, w.mergeSQL)
		return err
	})
}

// CommitEvery is flush_interval: without checkpoints the runner commits,
// and so flushes the buffer, that often.
func (w *Writer) CommitEvery() time.Duration { return w.sink.FlushInterval }

// Retries is the number of statements tried again after a lost
// connection, a serialization failure or a deadlock.
func (w *Writer) Retries() int64 { return w.retries.Load() }

// Reconnects is the number of connections opened after the first one.
func (w *Writer) Reconnects() int64 { return w.reconnects.Load() }

// Close drops the buffered rows (the runner commits before it closes when
// the input ends) and disconnects. Rows staged for an epoch that was not
// committed stay in the staging table until a Recover. Calling Close
// again does nothing.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil
	}
	w.closed = true
	if w.enc.rows > 0 || w.staged.rows > 0 {
		w.log.Warn("rows not committed to PostgreSQL", "buffered", w.enc.rows, "staged", w.staged.rows, "table", w.tables.display)
	}
	w.disconnect()
	return nil
}
