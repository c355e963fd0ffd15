package pulsar

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// This file holds what the three plugins do around the client's blocking
// calls: give them up when the pipeline stops, bound the wait for a client
// to close, and turn the client's errors into one line.

// closeWait is how long Close waits for a consumer or producer and its
// client to close. A broker that answers closes them in milliseconds; while
// the broker is unreachable the client finishes its current reconnection
// attempt first, for up to operation_timeout, which a stopping pipeline
// must not wait for.
const closeWait = 2 * time.Second

// openWithin runs open, which blocks on the broker for up to the operation
// timeout (lookups, subscribing, creating a producer), and returns its
// result, or the cause of ctx as soon as ctx is done: a pipeline stopped
// while the broker is unreachable does not wait for the client to give up.
// What open returns after that is released in the background.
func openWithin[T any](ctx context.Context, open func() (T, error), release func(T)) (T, error) {
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1)
	go func() {
		v, err := open()
		done <- result{v, err}
	}()
	select {
	case res := <-done:
		return res.v, res.err
	case <-ctx.Done():
	}
	select {
	case res := <-done: // finished at the same moment: keep it
		return res.v, res.err
	default:
	}
	go func() {
		if res := <-done; res.err == nil {
			release(res.v)
		}
	}()
	var zero T
	return zero, context.Cause(ctx)
}

// closeWithin runs closeFn and waits for it for at most wait. When it takes
// longer (the broker is unreachable and the client is reconnecting), it
// logs a warning naming what, leaves closeFn to finish in the background
// and returns nil: what the client had not sent (acknowledgements, say) is
// lost, as in a crash, and the broker delivers again what it was not told
// was acknowledged.
func closeWithin(wait time.Duration, logger *slog.Logger, what string, closeFn func() error) error {
	done := make(chan error, 1)
	go func() { done <- closeFn() }()
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case err := <-done:
		return err
	case <-timer.C:
		if logger != nil {
			logger.Warn("the broker did not answer while closing; not waiting for it", "closing", what, "waited", wait.String())
		}
		return nil
	}
}

// clientError is an error of the Pulsar client made one line: the client
// joins the causes of an operation it retried with newlines (errors.Join)
// and reports a broker it could not reach as "connection error", leaving
// the reason (connection refused, TLS) to its log.
type clientError struct {
	msg string
	err error
}

func (e *clientError) Error() string { return e.msg }

// Unwrap returns the client's error.
func (e *clientError) Unwrap() error { return e.err }

// explain returns err of the client as one line that says what happened,
// for an operation bounded by the connection's operation timeout; nil
// stays nil.
func (c *Connection) explain(err error) error {
	return ClientError(err, fmt.Sprintf("operation_timeout (%s)", c.operationTimeout()))
}

// ClientError returns err of the Pulsar client as one line that says what
// happened, for an operation the client retried for as long as within
// says (such as "operation_timeout (30s)"); nil stays nil. The client
// joins the causes of a retried operation with newlines and reports a
// broker it could not reach as "connection error"; errors.Is and
// errors.As still see the client's error.
func ClientError(err error, within string) error {
	if err == nil {
		return nil
	}
	var parts []string
	timedOut := false
	for _, line := range strings.Split(err.Error(), "\n") {
		switch line = strings.TrimSpace(line); line {
		case "":
			continue
		case context.DeadlineExceeded.Error():
			timedOut = true
			continue
		case "connection error":
			line = "could not connect to the broker (the client's warnings in the log say why)"
		}
		parts = append(parts, line)
	}
	msg := strings.Join(parts, "; ")
	if timedOut {
		prefix := "no success within " + within
		if msg == "" {
			msg = prefix
		} else {
			msg = prefix + ": " + msg
		}
	}
	return &clientError{msg: msg, err: err}
}
