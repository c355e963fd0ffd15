package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// attempt is one try of a unit of work on a connection; n counts the
// tries before it.
type attempt func(ctx context.Context, conn *pgx.Conn, n int) error

// do runs fn on the connection, connecting first when needed. A failure
// that another try may cure — a lost connection, a serialization failure,
// a deadlock — is tried again after a wait that starts at RetryBackoff and
// doubles, at most MaxRetries times; fn must be safe to run again (a
// transaction, or work it undoes itself). Other failures end at once.
// what names the work in the error.
func (w *Writer) do(ctx context.Context, what string, fn attempt) error {
	wait := w.sink.RetryBackoff
	for n := 0; ; n++ {
		err := w.connect(ctx)
		if err == nil {
			if err = fn(ctx, w.conn, n); err == nil {
				return nil
			}
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%s: %w", what, ctx.Err())
		}
		lost := connectionLost(err, w.conn)
		if lost || w.conn == nil || w.conn.IsClosed() {
			w.disconnect()
		}
		if !lost && !transient(err) {
			return fmt.Errorf("%s: %w", what, err)
		}
		if n >= w.sink.MaxRetries {
			return fmt.Errorf("%s: gave up after %d tries: %w", what, n+1, err)
		}
		w.retries.Add(1)
		w.log.Warn("PostgreSQL statement failed, trying again", "what", what, "try", n+2, "in", wait.String(), "error", oneLine(err))
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %w", what, ctx.Err())
		case <-time.After(wait):
		}
		wait = min(2*wait, maxRetryBackoff)
	}
}

// connect opens the connection unless it is open.
func (w *Writer) connect(ctx context.Context) error {
	if w.conn != nil {
		return nil
	}
	conn, err := pgx.ConnectConfig(ctx, w.config)
	if err != nil {
		return err
	}
	if w.connected {
		w.reconnects.Add(1)
	}
	w.conn, w.connected, w.tempReady = conn, true, false
	return nil
}

// disconnect closes the connection, waiting at most 2 s for the server.
func (w *Writer) disconnect() {
	if w.conn == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = w.conn.Close(ctx)
	w.conn = nil
}

// connectionLost reports whether err means the connection is gone or
// could not be made: a network error, the server shutting down or not
// accepting connections yet. Authentication, configuration and SQL errors
// are not: trying again cannot cure them.
func connectionLost(err error, conn *pgx.Conn) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case strings.HasPrefix(pgErr.Code, "08"): // connection_exception
			return true
		case pgErr.Code == "57P01", pgErr.Code == "57P02", pgErr.Code == "57P03": // admin_shutdown, crash_shutdown, cannot_connect_now
			return true
		case pgErr.Code == "53300": // too_many_connections
			return true
		}
		return false
	}
	var (
		netErr     net.Error
		connectErr *pgconn.ConnectError
	)
	switch {
	case errors.As(err, &connectErr), errors.As(err, &netErr), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		pgconn.SafeToRetry(err):
		return true
	}
	return conn != nil && conn.IsClosed()
}

// transient reports whether err is a failure of the transaction that the
// same transaction may not meet again: a serialization failure or a
// deadlock.
func transient(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "40001" || pgErr.Code == "40P01")
}

// oneLine keeps the first line of an error's text.
func oneLine(err error) string {
	s := err.Error()
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}
