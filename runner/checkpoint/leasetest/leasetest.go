// Package leasetest checks the ownership leases of checkpoint.Store
// (docs/checkpoints.md) over any checkpoint.LeaseStorage: package
// checkpoint runs it in memory, package objstore on local folders and S3.
package leasetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-io/sluice/runner/checkpoint"
)

// Open returns a fresh, empty storage for one test.
type Open func(t *testing.T) checkpoint.LeaseStorage

// Clock is a clock that moves only when told to.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock showing t.
func NewClock(t time.Time) *Clock { return &Clock{now: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock d forward.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// LogBuffer collects log lines from several goroutines.
type LogBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p.
func (b *LogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns what was written.
func (b *LogBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// start is when the tests' clocks start.
var start = time.Date(2026, 12, 2, 12, 0, 1, 0, time.UTC)

// options returns the lease options of test process number pid. The
// PIDs are made up: no holder is found gone by its PID.
func options(c *Clock, pid int, log *LogBuffer) checkpoint.LeaseOptions {
	o := checkpoint.LeaseOptions{Now: c.Now, Host: fmt.Sprintf("host%d", pid), PID: pid, Gone: func(checkpoint.Owner) bool { return false }}
	if log != nil {
		o.Logger = slog.New(slog.NewTextHandler(log, nil))
	}
	return o
}

// Run runs every lease test on storages open returns.
func Run(t *testing.T, open Open) {
	tests := []struct {
		name string
		test func(t *testing.T, open Open)
	}{
		{"AcquireOnEmptyStore", acquireOnEmptyStore},
		{"SecondAcquire", secondAcquire},
		{"HeldErrorMessage", heldErrorMessage},
		{"StaleTakeOver", staleTakeOver},
		{"HeartbeatsKeepTheLease", heartbeatsKeepTheLease},
		{"GoneHolder", goneHolder},
		{"ReleaseThenAcquire", releaseThenAcquire},
		{"ContendersRace", contendersRace},
		{"RunRenewsUntilTakenOver", runRenewsUntilTakenOver},
		{"PruneLeavesTheLease", pruneLeavesTheLease},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.test(t, open)
		})
	}
}

// leaseKeys lists the objects under pipeline's lease folder.
func leaseKeys(t *testing.T, st checkpoint.LeaseStorage, pipeline string) []string {
	t.Helper()
	keys, err := st.List(context.Background(), pipeline+"/_lease/")
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(keys)
	return keys
}

func genKey(pipeline string, gen int64) string {
	return fmt.Sprintf("%s/_lease/%020d", pipeline, gen)
}

func acquireOnEmptyStore(t *testing.T, open Open) {
	st := open(t)
	ctx := context.Background()
	c := NewClock(start)
	l, err := checkpoint.NewStore(st).Acquire(ctx, "p", options(c, 101, nil))
	if err != nil {
		t.Fatal(err)
	}
	o := l.Owner()
	if l.Generation() != 1 || o.Host != "host101" || o.PID != 101 || !o.Started.Equal(start) || !o.Heartbeat.Equal(start) || len(o.Token) != 32 || o.Released {
		t.Errorf("generation %d, owner %+v", l.Generation(), o)
	}
	if keys := leaseKeys(t, st, "p"); fmt.Sprint(keys) != fmt.Sprint([]string{genKey("p", 1)}) {
		t.Errorf("lease objects %q, want generation 1 only (the write probe deleted)", keys)
	}
	data, err := st.Get(ctx, genKey("p", 1))
	machine := ""
	if o.Machine != "" {
		machine = `"machine":"` + o.Machine + `",`
	}
	want := `{"host":"host101","pid":101,"started":"2026-12-02T12:00:01Z",` + machine + `"token":"` + o.Token + `","heartbeat":"2026-12-02T12:00:01Z"}`
	if err != nil || string(data) != want {
		t.Errorf("lease object = %s, %v; want %s", data, err, want)
	}
	if err := l.Check(ctx); err != nil {
		t.Errorf("Check = %v", err)
	}
}

// secondAcquire tries a second process at several ages of the first's
// heartbeat.
func secondAcquire(t *testing.T, open Open) {
	timeout := checkpoint.DefaultLeaseTimeout
	tests := []struct {
		name      string
		age       time.Duration // of the holder's heartbeat
		released  bool
		wantTaken bool
	}{
		{name: "fresh holder", age: 0},
		{name: "a heartbeat 2s old", age: 2 * time.Second},
		{name: "just under the timeout", age: timeout - time.Millisecond},
		{name: "at the timeout", age: timeout, wantTaken: true},
		{name: "long gone", age: 48 * time.Hour, wantTaken: true},
		{name: "released", age: 0, released: true, wantTaken: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := open(t)
			ctx := context.Background()
			c := NewClock(start)
			s := checkpoint.NewStore(st)
			first, err := s.Acquire(ctx, "p", options(c, 101, nil))
			if err != nil {
				t.Fatal(err)
			}
			if tt.released {
				if err := first.Release(ctx); err != nil {
					t.Fatal(err)
				}
			}
			c.Advance(tt.age)
			second, err := s.Acquire(ctx, "p", options(c, 202, nil))
			if tt.wantTaken {
				if err != nil || second.Generation() != 2 {
					t.Fatalf("Acquire = %v, %v; want generation 2", second, err)
				}
				return
			}
			var held *checkpoint.HeldError
			if !errors.As(err, &held) {
				t.Fatalf("Acquire = %v, %v; want a HeldError", second, err)
			}
			if held.Holder.PID != 101 || held.Holder.Host != "host101" || held.Holder.Token != first.Owner().Token ||
				held.HeartbeatAge != tt.age || held.Timeout != timeout || held.Pipeline != "p" || held.Store != fmt.Sprint(st) {
				t.Errorf("HeldError %+v", held)
			}
			if keys := leaseKeys(t, st, "p"); len(keys) != 1 {
				t.Errorf("the refused process left lease objects: %q", keys)
			}
		})
	}
}

func heldErrorMessage(t *testing.T, open Open) {
	st := open(t)
	ctx := context.Background()
	c := NewClock(start)
	s := checkpoint.NewStore(st)
	if _, err := s.Acquire(ctx, "user_activity", options(c, 123, nil)); err != nil {
		t.Fatal(err)
	}
	c.Advance(2*time.Second + 300*time.Millisecond)
	_, err := s.Acquire(ctx, "user_activity", options(c, 456, nil))
	want := fmt.Sprintf(`checkpoint store %s: pipeline "user_activity" is run by host host123 pid 123 (started 2026-12-02 12:00:01 UTC, last heartbeat 2s ago); it is taken over when its heartbeat is older than 30s (in 28s if it stopped)`, st)
	if err == nil || err.Error() != want {
		t.Errorf("error\n %v\nwant\n %s", err, want)
	}
}

func staleTakeOver(t *testing.T, open Open) {
	st := open(t)
	ctx := context.Background()
	c := NewClock(start)
	s := checkpoint.NewStore(st)
	first, err := s.Acquire(ctx, "p", options(c, 101, nil))
	if err != nil {
		t.Fatal(err)
	}
	c.Advance(checkpoint.DefaultLeaseTimeout + 5*time.Second)
	var log LogBuffer
	second, err := s.Acquire(ctx, "p", options(c, 202, &log))
	if err != nil {
		t.Fatal(err)
	}
	if got := log.String(); !strings.Contains(got, `level=WARN msg="taking over the pipeline from a process whose heartbeat stopped" pipeline=p generation=2 previous_holder="host host101 pid 101 (started 2026-12-02 12:00:01 UTC)" heartbeat_age=35s timeout=30s`) {
		t.Errorf("log %q does not tell the take-over", got)
	}
	if keys := leaseKeys(t, st, "p"); fmt.Sprint(keys) != fmt.Sprint([]string{genKey("p", 2)}) {
		t.Errorf("lease objects %q, want generation 2 only", keys)
	}

	// The first process wakes up: its next heartbeat finds the new holder.
	select {
	case <-first.Lost():
		t.Fatal("lost before renewing")
	default:
	}
	for _, renew := range []func(context.Context) error{first.Renew, first.Check, first.Renew} {
		err = renew(ctx)
		if !errors.Is(err, checkpoint.ErrLeaseLost) || !strings.Contains(err.Error(), "taken over by host host202 pid 202") {
			t.Errorf("after the take-over: %v; want ErrLeaseLost naming host202", err)
		}
	}
	select {
	case <-first.Lost():
	default:
		t.Error("Lost not closed")
	}
	if !errors.Is(first.Err(), checkpoint.ErrLeaseLost) {
		t.Errorf("Err = %v", first.Err())
	}
	// Its heartbeat wrote nothing, and its release leaves the new holder.
	if err := first.Release(ctx); err != nil {
		t.Errorf("Release of a lost lease: %v", err)
	}
	if keys := leaseKeys(t, st, "p"); fmt.Sprint(keys) != fmt.Sprint([]string{genKey("p", 2)}) {
		t.Errorf("lease objects %q, want generation 2 only", keys)
	}
	if err := second.Renew(ctx); err != nil {
		t.Errorf("the new holder's heartbeat: %v", err)
	}
}

func heartbeatsKeepTheLease(t *testing.T, open Open) {
	st := open(t)
	ctx := context.Background()
	c := NewClock(start)
	s := checkpoint.NewStore(st)
	holder, err := s.Acquire(ctx, "p", options(c, 101, nil))
	if err != nil {
		t.Fatal(err)
	}
	step := checkpoint.DefaultLeaseTimeout / 3
	for i := range 6 { // two timeouts' worth of heartbeats
		c.Advance(step)
		if err := holder.Renew(ctx); err != nil {
			t.Fatalf("heartbeat %d: %v", i, err)
		}
		c.Advance(step - time.Second)
		var held *checkpoint.HeldError
		if _, err := s.Acquire(ctx, "p", options(c, 202, nil)); !errors.As(err, &held) || held.HeartbeatAge != step-time.Second {
			t.Fatalf("contender after heartbeat %d: %v; want a HeldError, heartbeat %s old", i, err, step-time.Second)
		}
		c.Advance(time.Second)
	}
	if holder.Generation() != 1 {
		t.Errorf("generation %d, want 1", holder.Generation())
	}
}

// goneHolder checks that a holder whose process is found gone is taken
// over at once, and that Gone is asked about the holder.
func goneHolder(t *testing.T, open Open) {
	st := open(t)
	ctx := context.Background()
	c := NewClock(start)
	s := checkpoint.NewStore(st)
	first, err := s.Acquire(ctx, "p", options(c, 101, nil))
	if err != nil {
		t.Fatal(err)
	}
	c.Advance(time.Second)
	var asked []checkpoint.Owner
	var log LogBuffer
	o := options(c, 202, &log)
	o.Gone = func(h checkpoint.Owner) bool { asked = append(asked, h); return true }
	second, err := s.Acquire(ctx, "p", o)
	if err != nil || second.Generation() != 2 {
		t.Fatalf("Acquire = %v, %v; want generation 2", second, err)
	}
	if len(asked) != 1 || asked[0] != first.Owner() {
		t.Errorf("Gone asked about %+v, want the holder %+v", asked, first.Owner())
	}
	if got := log.String(); !strings.Contains(got, `level=WARN msg="taking over the pipeline from a process that no longer runs" pipeline=p generation=2 previous_holder="host host101 pid 101 (started 2026-12-02 12:00:01 UTC)" heartbeat_age=1s`) {
		t.Errorf("log %q does not tell the take-over", got)
	}
}

func releaseThenAcquire(t *testing.T, open Open) {
	st := open(t)
	ctx := context.Background()
	c := NewClock(start)
	s := checkpoint.NewStore(st)
	first, err := s.Acquire(ctx, "p", options(c, 101, nil))
	if err != nil {
		t.Fatal(err)
	}
	if err := first.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if err := first.Release(ctx); err != nil {
		t.Errorf("second Release: %v", err)
	}
	if err := first.Renew(ctx); err == nil {
		t.Error("Renew after Release succeeded")
	}
	var log LogBuffer
	second, err := s.Acquire(ctx, "p", options(c, 202, &log)) // at once: no waiting for the timeout
	if err != nil {
		t.Fatal(err)
	}
	if second.Generation() != 2 || strings.Contains(log.String(), "WARN") {
		t.Errorf("generation %d, log %q; want 2, no warning", second.Generation(), log.String())
	}
	// The released holder cannot come back over the new one.
	if err := first.Check(ctx); !errors.Is(err, checkpoint.ErrLeaseLost) {
		t.Errorf("Check of the released lease = %v, want ErrLeaseLost", err)
	}
}

// contendersRace makes several processes race for a stale lease, many
// rounds: each round exactly one wins and the others name it.
func contendersRace(t *testing.T, open Open) {
	const rounds, contenders = 12, 4
	st := open(t)
	ctx := context.Background()
	c := NewClock(start)
	s := checkpoint.NewStore(st)
	if _, err := s.Acquire(ctx, "p", options(c, 1, nil)); err != nil {
		t.Fatal(err)
	}
	for round := range rounds {
		c.Advance(checkpoint.DefaultLeaseTimeout) // the last winner is stale
		leases := make([]*checkpoint.Lease, contenders)
		errs := make([]error, contenders)
		var wg sync.WaitGroup
		for i := range contenders {
			wg.Go(func() {
				leases[i], errs[i] = s.Acquire(ctx, "p", options(c, 100*(round+1)+i, nil))
			})
		}
		wg.Wait()
		var winner *checkpoint.Lease
		for i, l := range leases {
			if l != nil {
				if winner != nil {
					t.Fatalf("round %d: two winners, generations %d and %d", round, winner.Generation(), l.Generation())
				}
				winner = leases[i]
			}
		}
		if winner == nil {
			t.Fatalf("round %d: no winner: %v", round, errs)
		}
		if winner.Generation() != int64(round+2) {
			t.Errorf("round %d: generation %d, want %d", round, winner.Generation(), round+2)
		}
		for i, err := range errs {
			var held *checkpoint.HeldError
			if leases[i] == nil && (!errors.As(err, &held) || held.Holder.Token != winner.Owner().Token) {
				t.Errorf("round %d: loser %d: %v; want a HeldError naming the winner", round, i, err)
			}
		}
	}
	if keys := leaseKeys(t, st, "p"); fmt.Sprint(keys) != fmt.Sprint([]string{genKey("p", rounds+1)}) {
		t.Errorf("lease objects %q, want the last generation only", keys)
	}
}

// runRenewsUntilTakenOver runs Run with a short timeout (real time): it
// renews the heartbeat, and returns ErrLeaseLost once taken over.
func runRenewsUntilTakenOver(t *testing.T, open Open) {
	st := open(t)
	ctx := context.Background()
	c := NewClock(start)
	s := checkpoint.NewStore(st)
	o := options(c, 101, nil)
	o.Timeout = 30 * time.Millisecond
	holder, err := s.Acquire(ctx, "p", o)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- holder.Run(ctx) }()

	// A renewal shows as a new heartbeat in the object.
	c.Advance(time.Minute)
	deadline := time.Now().Add(20 * time.Second)
	for {
		data, err := st.Get(ctx, genKey("p", 1))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(data), `"heartbeat":"2026-12-02T12:01:01Z"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Run did not renew the lease: %s", data)
		}
		time.Sleep(time.Millisecond)
	}

	later := options(c, 202, nil)
	later.Now = func() time.Time { return c.Now().Add(time.Hour) }
	if _, err := s.Acquire(ctx, "p", later); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, checkpoint.ErrLeaseLost) {
			t.Errorf("Run = %v, want ErrLeaseLost", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not notice the take-over")
	}
	<-holder.Lost()
}

// pruneLeavesTheLease checks that the checkpoint store's pruning and
// reading never touch the lease, even of a pipeline whose name looks like
// a checkpoint's temporary file.
func pruneLeavesTheLease(t *testing.T, open Open) {
	const pipeline = "orders.ckpt.v2"
	st := open(t)
	ctx := context.Background()
	c := NewClock(start)
	s := checkpoint.NewStore(st)
	if _, err := s.Acquire(ctx, pipeline, options(c, 101, nil)); err != nil {
		t.Fatal(err)
	}
	leftover := pipeline + "/_lease/00000000000000000001.1a2b.tmp" // as a crashed heartbeat leaves it
	if err := st.Put(ctx, leftover, []byte("x")); err != nil {
		t.Fatal(err)
	}
	for e := int64(1); e <= 5; e++ {
		if _, err := s.Save(ctx, &checkpoint.Checkpoint{Pipeline: pipeline, Epoch: e}); err != nil {
			t.Fatal(err)
		}
		if err := s.Prune(ctx, pipeline); err != nil {
			t.Fatal(err)
		}
	}
	if keys := leaseKeys(t, st, pipeline); fmt.Sprint(keys) != fmt.Sprint([]string{genKey(pipeline, 1), leftover}) {
		t.Errorf("lease objects after pruning %q", keys)
	}
	if cp, err := s.Latest(ctx, pipeline); err != nil || cp == nil || cp.Epoch != 5 {
		t.Errorf("Latest = %+v, %v; want epoch 5", cp, err)
	}
}
