package pulsar

import (
	"context"
	"fmt"
	"sync"
)

// inflight counts the messages sent and not acknowledged yet and keeps the
// first error.
type inflight struct {
	mu   sync.Mutex
	n    int
	idle chan struct{} // closed when n drops to 0
	err  error
}

func (f *inflight) add() {
	f.mu.Lock()
	if f.n == 0 {
		f.idle = make(chan struct{})
	}
	f.n++
	f.mu.Unlock()
}

func (f *inflight) done(err error) {
	f.mu.Lock()
	if err != nil && f.err == nil {
		f.err = err
	}
	f.n--
	if f.n == 0 {
		close(f.idle)
	}
	f.mu.Unlock()
}

// fail records err as the first error, if none is yet.
func (f *inflight) fail(err error) {
	f.mu.Lock()
	if f.err == nil {
		f.err = err
	}
	f.mu.Unlock()
}

// failed returns the first error.
func (f *inflight) failed() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.err
}

// wait returns once every message sent was acknowledged, with the first
// error, or ctx's.
func (f *inflight) wait(ctx context.Context) error {
	f.mu.Lock()
	n, idle := f.n, f.idle
	f.mu.Unlock()
	if n > 0 {
		select {
		case <-idle:
		case <-ctx.Done():
			return fmt.Errorf("waiting for the broker to store what was published: %w", context.Cause(ctx))
		}
	}
	return f.failed()
}
