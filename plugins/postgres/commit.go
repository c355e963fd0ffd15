package postgres

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// ManifestVersion is the version of the manifest format Prepare writes.
const ManifestVersion = 1

// Manifest is what Prepare returns, as JSON: the staged rows of one epoch,
// those of the pipeline's sink in the staging table with ordinals First
// to Last.
type Manifest struct {
	Version  int    `json:"version"`
	Table    string `json:"table"` // the target table as written
	Pipeline string `json:"pipeline"`
	Sink     string `json:"sink"`
	// Task is the writer's task (plugins.Runtime.Task); absent without one.
	Task  string `json:"task,omitempty"`
	Epoch int64  `json:"epoch"`
	First int64  `json:"first"`
	Last  int64  `json:"last"`
	Rows  int64  `json:"rows"`
}

// Prepare writes the buffered rows. With checkpoints they go to the
// staging table, and Prepare returns the manifest of every row staged
// since the previous Prepare (nil when none was); without, they go to the
// table and Prepare returns nil.
func (w *Writer) Prepare(ctx context.Context, epoch int64) ([]byte, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil, errors.New("prepare after close")
	}
	if err := w.flush(ctx); err != nil {
		return nil, err
	}
	if !w.checkpoints || w.staged.rows == 0 {
		return nil, nil
	}
	m := Manifest{
		Version:  ManifestVersion,
		Table:    w.tables.display,
		Pipeline: w.sink.Pipeline,
		Sink:     w.sink.Name,
		Task:     w.task,
		Epoch:    epoch,
		First:    w.staged.first,
		Last:     w.staged.last,
		Rows:     w.staged.rows,
	}
	out, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	w.staged.rows = 0
	return out, nil
}

// Commit moves the rows the manifest names from the staging table to the
// target, in one transaction that also records the epoch in
// sluice_progress. A manifest whose epoch (or a later one) is recorded
// already was committed: Commit then changes nothing.
func (w *Writer) Commit(ctx context.Context, manifest []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.commit(ctx, manifest)
}

func (w *Writer) commit(ctx context.Context, manifest []byte) error {
	m, err := w.decode(manifest)
	if err != nil || m == nil {
		return err
	}
	start := time.Now()
	err = w.do(ctx, "move staged rows into "+w.where(), func(ctx context.Context, conn *pgx.Conn, _ int) error {
		return pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			tag, err := tx.Exec(ctx, advanceProgressSQL(w.tables), m.Pipeline, m.Sink, m.Task, m.Epoch, m.Table)
			if err != nil {
				return err
			}
			if tag.RowsAffected() == 0 {
				return nil // committed before
			}
			if _, err := tx.Exec(ctx, w.mergeSQL, m.Pipeline, m.Sink, m.Task, m.First, m.Last); err != nil {
				return err
			}
			tag, err = tx.Exec(ctx, deleteStagedSQL(w.tables), m.Pipeline, m.Sink, m.Task, m.First, m.Last)
			if err != nil {
				return err
			}
			if tag.RowsAffected() != m.Rows {
				return fmt.Errorf("the staging table %s holds %d of the epoch's %d rows: the output of that epoch is lost (was the table changed or emptied?)",
					w.tables.stage, tag.RowsAffected(), m.Rows)
			}
			return nil
		})
	})
	if err == nil {
		w.log.Debug("committed epoch", "epoch", m.Epoch, "rows", m.Rows, "took", time.Since(start).String())
	}
	return err
}

// Recover commits manifest, then deletes every row the pipeline's sink
// staged for its task and no checkpoint names (the rows of other tasks
// stay): rows written after the checkpoint it
// came from are written again by the resumed run. Without checkpoints
// there is nothing to recover.
func (w *Writer) Recover(ctx context.Context, manifest []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.checkpoints {
		return nil
	}
	if err := w.commit(ctx, manifest); err != nil {
		return err
	}
	var deleted int64
	err := w.do(ctx, "discard uncommitted rows of "+w.where(), func(ctx context.Context, conn *pgx.Conn, _ int) error {
		tag, err := conn.Exec(ctx, clearStageSQL(w.tables), w.sink.Pipeline, w.sink.Name, w.task)
		deleted = tag.RowsAffected()
		return err
	})
	if err != nil {
		return err
	}
	if deleted > 0 {
		w.log.Info("deleted uncommitted staged rows", "rows", deleted, "table", w.tables.stage)
	}
	return nil
}

// decode parses and checks a manifest; nil when it is empty. It must be
// this sink's, so that a foreign manifest never moves other rows.
func (w *Writer) decode(manifest []byte) (*Manifest, error) {
	if len(bytes.TrimSpace(manifest)) == 0 {
		return nil, nil
	}
	if !w.checkpoints {
		return nil, errors.New("a manifest to commit in a run without checkpoints")
	}
	var m Manifest
	if err := json.Unmarshal(manifest, &m); err != nil {
		return nil, fmt.Errorf("bad manifest: %w", err)
	}
	switch {
	case m.Version != ManifestVersion:
		return nil, fmt.Errorf("manifest version %d, want %d", m.Version, ManifestVersion)
	case m.Table != w.tables.display:
		return nil, fmt.Errorf("the checkpoint's manifest is for table %s but the sink now writes to %s; set table back to commit it, or start without the checkpoint", m.Table, w.tables.display)
	case m.Pipeline != w.sink.Pipeline || m.Sink != w.sink.Name:
		return nil, fmt.Errorf("the manifest is for pipeline %q sink %q, not pipeline %q sink %q", m.Pipeline, m.Sink, w.sink.Pipeline, w.sink.Name)
	case m.Task != w.task:
		return nil, fmt.Errorf("the manifest is for task %q, not task %q", m.Task, w.task)
	case m.Rows <= 0 || m.Last-m.First+1 != m.Rows:
		return nil, fmt.Errorf("bad manifest: rows %d for ordinals %d to %d", m.Rows, m.First, m.Last)
	}
	return &m, nil
}

// prepareProgress creates the progress table, or gives one made by an
// earlier version (keyed by pipeline and sink) the task column and the
// key (pipeline, sink, task): its rows are those of runs without tasks.
func prepareProgress(ctx context.Context, tx pgx.Tx, t tables) error {
	if _, err := tx.Exec(ctx, createProgressSQL(t)); err != nil {
		return fmt.Errorf("create table %s: %w", t.progress, err)
	}
	var hasTask bool
	err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT FROM pg_attribute WHERE attrelid = to_regclass($1) AND attname = 'task' AND NOT attisdropped)",
		t.progress).Scan(&hasTask)
	if err != nil || hasTask {
		return err
	}
	var pkey string
	err = tx.QueryRow(ctx, "SELECT conname FROM pg_constraint WHERE conrelid = to_regclass($1) AND contype = 'p'", t.progress).Scan(&pkey)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return err
	}
	alter := []string{fmt.Sprintf("ALTER TABLE %s ADD COLUMN task text NOT NULL DEFAULT ''", t.progress)}
	if pkey != "" {
		alter = append(alter, fmt.Sprintf("ALTER TABLE %s DROP CONSTRAINT %s", t.progress, quote(pkey)))
	}
	alter = append(alter, fmt.Sprintf("ALTER TABLE %s ADD PRIMARY KEY (pipeline, sink, task)", t.progress))
	for _, sql := range alter {
		if _, err := tx.Exec(ctx, sql); err != nil {
			return fmt.Errorf("add the task column to %s: %w", t.progress, err)
		}
	}
	return nil
}
