package file

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluice-io/sluice/record"

	"github.com/sluice-io/sluice/plugins"
)

var numbers = record.Schema{Columns: []record.Column{{Name: "n", Type: record.ColumnInt}}}

func numbersBatch(from, to int) *record.Batch {
	var rows [][]any
	for i := from; i < to; i++ {
		rows = append(rows, []any{i})
	}
	return batch(numbers, rows...)
}

// numberLines is the NDJSON of numbersBatch(from, to).
func numberLines(from, to int) string {
	var b strings.Builder
	for i := from; i < to; i++ {
		fmt.Fprintf(&b, "{\"n\":%d}\n", i)
	}
	return b.String()
}

// openCommit opens the sink at path as a run with checkpoints does.
func openCommit(t *testing.T, path string) (plugins.Writer, plugins.Committer) {
	t.Helper()
	w, err := (&Sink{Path: path, Input: numbers}).Open(context.Background(), &plugins.Runtime{Checkpoints: true})
	if err != nil {
		t.Fatal(err)
	}
	c, ok := w.(plugins.Committer)
	if !ok {
		t.Fatalf("%T is not a Committer", w)
	}
	return w, c
}

func TestCommitProtocol(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		run  func(t *testing.T, path string) []byte // returns the manifest to recover with
		want string
	}{{
		name: "rows appear only when committed",
		run: func(t *testing.T, path string) []byte {
			w, c := openCommit(t, path)
			must(t, c.Recover(ctx, nil))
			must(t, w.Write(ctx, numbersBatch(1, 4)))
			m1, err := c.Prepare(ctx, 1)
			must(t, err)
			if got := readString(t, path); got != "" {
				t.Fatalf("prepared rows visible: %q", got)
			}
			must(t, c.Commit(ctx, m1))
			must(t, c.Commit(ctx, m1)) // twice: nothing more
			if got := readString(t, path); got != numberLines(1, 4) {
				t.Fatalf("after commit: %q", got)
			}
			m2, err := c.Prepare(ctx, 2) // an empty epoch
			must(t, err)
			must(t, c.Commit(ctx, m2))
			must(t, w.Write(ctx, numbersBatch(4, 6)))
			m3, err := c.Prepare(ctx, 3)
			must(t, err)
			must(t, c.Commit(ctx, m3))
			must(t, w.Write(ctx, numbersBatch(6, 9))) // never prepared: lost in the crash
			must(t, w.Close())
			return m3
		},
		want: numberLines(1, 6),
	}, {
		name: "crash between the checkpoint and the commit",
		run: func(t *testing.T, path string) []byte {
			w, c := openCommit(t, path)
			must(t, c.Recover(ctx, nil))
			must(t, w.Write(ctx, numbersBatch(1, 3)))
			m1, _ := c.Prepare(ctx, 1)
			must(t, c.Commit(ctx, m1))
			must(t, w.Write(ctx, numbersBatch(3, 5)))
			m2, err := c.Prepare(ctx, 2)
			must(t, err)
			must(t, w.Close())
			return m2 // the checkpoint holding m2 is durable; Commit never ran
		},
		want: numberLines(1, 5),
	}, {
		name: "crash in the middle of a commit's append",
		run: func(t *testing.T, path string) []byte {
			w, c := openCommit(t, path)
			must(t, c.Recover(ctx, nil))
			must(t, w.Write(ctx, numbersBatch(1, 3)))
			m1, _ := c.Prepare(ctx, 1)
			must(t, c.Commit(ctx, m1))
			must(t, w.Write(ctx, numbersBatch(3, 5)))
			m2, _ := c.Prepare(ctx, 2)
			must(t, w.Close())
			// Half of epoch 2's bytes reached the output before the crash.
			f, _ := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
			f.WriteString(numberLines(3, 5)[:7])
			f.Close()
			return m2
		},
		want: numberLines(1, 5),
	}, {
		name: "a fresh start empties the output and forgets old temporaries",
		run: func(t *testing.T, path string) []byte {
			w, c := openCommit(t, path)
			must(t, c.Recover(ctx, nil))
			must(t, w.Write(ctx, numbersBatch(1, 3)))
			m1, _ := c.Prepare(ctx, 1)
			must(t, c.Commit(ctx, m1))
			must(t, w.Write(ctx, numbersBatch(3, 5)))
			c.Prepare(ctx, 2)
			must(t, w.Close())
			return nil
		},
		want: "",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "out.ndjson")
			m := tt.run(t, path)
			w, c := openCommit(t, path) // the restarted run
			must(t, c.Recover(ctx, m))
			must(t, w.Close())
			if got := readString(t, path); got != tt.want {
				t.Fatalf("output after recovery:\n%s\nwant:\n%s", got, tt.want)
			}
			left, _ := filepath.Glob(filepath.Join(dir, ".out.ndjson.sluice-*"))
			for _, f := range left {
				if !strings.HasSuffix(f, "pending") {
					t.Errorf("temporary %s left after recovery", f)
				}
			}
		})
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
