package checkpoint_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluice-io/sluice/runner/checkpoint"
	"github.com/sluice-io/sluice/runner/checkpoint/leasetest"
)

func TestLeaseInMemory(t *testing.T) {
	leasetest.Run(t, func(*testing.T) checkpoint.LeaseStorage { return checkpoint.NewMemStorage() })
}

// flakyStorage is a MemStorage whose writes fail while down is set.
type flakyStorage struct {
	*checkpoint.MemStorage
	down atomic.Bool
}

func (f *flakyStorage) Put(ctx context.Context, key string, data []byte) error {
	if f.down.Load() {
		return errors.New("connection refused")
	}
	return f.MemStorage.Put(ctx, key, data)
}

// TestLeaseRenewalFailures checks that a holder that cannot renew its
// lease gives it up before another process could take it over.
func TestLeaseRenewalFailures(t *testing.T) {
	timeout := checkpoint.DefaultLeaseTimeout
	tests := []struct {
		name     string
		failures []time.Duration // since the last successful heartbeat, of each failed renewal
		wantLost bool
	}{
		{name: "one failure", failures: []time.Duration{timeout / 3}},
		{name: "failures for half the timeout", failures: []time.Duration{timeout / 3, timeout / 2}},
		{name: "two failures in a row", failures: []time.Duration{timeout / 3, timeout * 2 / 3}, wantLost: true},
		{name: "failures for more than half the timeout", failures: []time.Duration{timeout / 3, timeout/2 + time.Millisecond}, wantLost: true},
		{name: "a late failure", failures: []time.Duration{timeout}, wantLost: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			st := &flakyStorage{MemStorage: checkpoint.NewMemStorage()}
			start := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
			c := leasetest.NewClock(start)
			l, err := checkpoint.NewStore(st).Acquire(ctx, "p", checkpoint.LeaseOptions{Now: c.Now, Host: "h", PID: 1})
			if err != nil {
				t.Fatal(err)
			}
			st.down.Store(true)
			for i, at := range tt.failures {
				c.Advance(start.Add(at).Sub(c.Now()))
				err = l.Renew(ctx)
				if err == nil || !strings.Contains(err.Error(), "connection refused") {
					t.Fatalf("renewal %d = %v, want the storage's error", i, err)
				}
			}
			lost := errors.Is(err, checkpoint.ErrLeaseLost)
			if lost != tt.wantLost {
				t.Fatalf("last renewal = %v; lost %v, want %v", err, lost, tt.wantLost)
			}
			st.down.Store(false)
			err = l.Renew(ctx)
			if tt.wantLost != (err != nil) {
				t.Errorf("renewal once the storage is back = %v", err)
			}
			if tt.wantLost {
				// A lost lease is released all the same when nobody took
				// it over: the next run need not wait.
				if err := l.Release(ctx); err != nil {
					t.Fatal(err)
				}
				if _, err := checkpoint.NewStore(st).Acquire(ctx, "p", checkpoint.LeaseOptions{Now: c.Now, Host: "h", PID: 2}); err != nil {
					t.Errorf("Acquire after releasing a lost lease: %v", err)
				}
			}
		})
	}
}

func TestLeaseRunStopsWithItsContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	l, err := checkpoint.NewStore(checkpoint.NewMemStorage()).Acquire(ctx, "p", checkpoint.LeaseOptions{Timeout: 3 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v, want nil", err)
	}
	if err := l.Release(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestAcquireNeedsALeaseStorage(t *testing.T) {
	plain := struct{ checkpoint.Storage }{checkpoint.NewMemStorage()} // no PutIfAbsent
	_, err := checkpoint.NewStore(plain).Acquire(context.Background(), "p", checkpoint.LeaseOptions{})
	if want := "checkpoint store (unnamed storage) cannot keep an ownership lease: it has no create-if-absent"; err == nil || err.Error() != want {
		t.Errorf("Acquire = %v, want %q", err, want)
	}
}
