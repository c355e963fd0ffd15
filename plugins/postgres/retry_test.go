package postgres

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/sluice-io/sluice/plugins"
)

// TestRetryOnDroppedConnection terminates the sink's connection from
// another one (pg_terminate_backend) between two writes, and in the middle
// of a commit blocked on a lock: the sink reconnects, tries again and
// every row lands once.
func TestRetryOnDroppedConnection(t *testing.T) {
	for _, checkpoints := range []bool{false, true} {
		for _, midCommit := range []bool{false, true} {
			t.Run(fmt.Sprintf("checkpoints=%v/mid-commit=%v", checkpoints, midCommit), func(t *testing.T) {
				dsn, conn := newDatabase(t)
				s := buildSink(t, sinkBlock(dsn, `table = "log"`, `mode = "insert"`, `key = []`, `create_table = true`, `retry_backoff = "10ms"`), windowRows)
				w := openWriter(t, s, checkpoints)
				if err := w.Recover(testCtx(t), nil); err != nil {
					t.Fatal(err)
				}
				write(t, w, batchOf(windowRows, eventRows(0, 3)...))
				commitEpoch(t, w, 1)
				write(t, w, batchOf(windowRows, eventRows(3, 3)...))
				pid := w.conn.PgConn().PID()
				if !midCommit {
					terminate(t, conn, pid)
					commitEpoch(t, w, 2)
				} else {
					tx, err := conn.Begin(testCtx(t))
					if err != nil {
						t.Fatal(err)
					}
					execSQL(t, tx.Conn(), "LOCK TABLE log IN ACCESS EXCLUSIVE MODE")
					done := make(chan error, 1)
					go func() {
						m, err := w.Prepare(testCtx(t), 2)
						if err == nil {
							err = w.Commit(testCtx(t), m)
						}
						done <- err
					}()
					waitForLock(t, conn, pid)
					terminate(t, conn, pid)
					if err := tx.Commit(testCtx(t)); err != nil {
						t.Fatal(err)
					}
					if err := <-done; err != nil {
						t.Fatal(err)
					}
				}
				if got := minutes(t, conn); !slices.Equal(got, seq(0, 6)) {
					t.Errorf("rows %v, want %v", got, seq(0, 6))
				}
				if w.Retries() < 1 || w.Reconnects() != 1 {
					t.Errorf("%d retries and %d reconnects, want at least 1 and 1", w.Retries(), w.Reconnects())
				}
			})
		}
	}
}

// terminate ends the backend pid and waits until it is gone.
func terminate(t testing.TB, conn *pgx.Conn, pid uint32) {
	t.Helper()
	var ok bool
	if err := conn.QueryRow(testCtx(t), "SELECT pg_terminate_backend($1, 10000)", pid).Scan(&ok); err != nil || !ok {
		t.Fatalf("terminating backend %d: %v %v", pid, ok, err)
	}
}

// waitForLock waits until backend pid waits for a lock.
func waitForLock(t testing.TB, conn *pgx.Conn, pid uint32) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		var waiting bool
		err := conn.QueryRow(testCtx(t), "SELECT coalesce(bool_or(wait_event_type = 'Lock'), false) FROM pg_stat_activity WHERE pid = $1", pid).Scan(&waiting)
		if err != nil {
			t.Fatal(err)
		}
		if waiting {
			return
		}
	}
	t.Fatalf("backend %d never waited for the lock", pid)
}

// TestRetriesAreBounded: a server that does not answer fails Open after
// max_retries retries, with one line naming the server.
func TestRetriesAreBounded(t *testing.T) {
	port := closedPort(t)
	dsn := fmt.Sprintf("postgres://sluice:secret@127.0.0.1:%d/analytics?sslmode=disable", port)
	s := buildSink(t, sinkBlock(dsn, `table = "log"`, `max_retries = 2`, `retry_backoff = "5ms"`), windowRows)
	_, err := s.Open(testCtx(t), &plugins.Runtime{Pipeline: "p", Logger: slog.New(slog.DiscardHandler)})
	if err == nil {
		t.Fatal("Open succeeded without a server")
	}
	want := fmt.Sprintf("prepare table log on 127.0.0.1:%d/analytics: gave up after 3 tries: ", port)
	if msg := err.Error(); !strings.HasPrefix(msg, want) || strings.Contains(msg, "secret") || strings.Contains(msg, "\n") {
		t.Errorf("error %q, want one line starting %q, without the password", msg, want)
	}
}

// closedPort returns a port of 127.0.0.1 where nothing listens.
func closedPort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// TestErrorClasses: which failures are tried again.
func TestErrorClasses(t *testing.T) {
	tests := []struct {
		err             error
		lost, transient bool
	}{
		{&pgconn.PgError{Code: "57P01"}, true, false},
		{&pgconn.PgError{Code: "08006"}, true, false},
		{&pgconn.PgError{Code: "40001"}, false, true},
		{&pgconn.PgError{Code: "40P01"}, false, true},
		{&pgconn.PgError{Code: "23505"}, false, false},
		{&pgconn.PgError{Code: "28P01"}, false, false},
		{fmt.Errorf("copy: %w", io.ErrUnexpectedEOF), true, false},
		{errors.New("table x does not exist: create it, or set create_table = true"), false, false},
	}
	for _, tt := range tests {
		if got := connectionLost(tt.err, nil); got != tt.lost {
			t.Errorf("connectionLost(%v) = %v", tt.err, got)
		}
		if got := transient(tt.err); got != tt.transient {
			t.Errorf("transient(%v) = %v", tt.err, got)
		}
	}
}
