package checkpoint

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// An ownership lease makes one process at a time the owner of a
// pipeline's folder in a checkpoint store (docs/checkpoints.md). It is
// kept as generation-numbered objects "<pipeline>/_lease/<generation, 20
// digits>", each a JSON Owner:
//
//   - the holder is the owner in the highest generation, unless that
//     object says Released;
//   - acquiring creates the next generation with PutIfAbsent, so that of
//     contenders for one generation exactly one wins;
//   - the holder rewrites its own object with a fresh Heartbeat every
//     Timeout/3 (Lease.Run), after checking that no higher generation
//     exists; if one does, it has lost the lease;
//   - a contender that finds the highest generation's heartbeat older than
//     Timeout, or released, or its process gone (on Linux, a PID of the
//     same machine and PID namespace that no longer runs), takes over
//     with the next generation; the new holder deletes the lower
//     generations;
//   - Release marks the holder's object released instead of deleting it,
//     so that generations never go back: a holder that was taken over
//     while stalled always finds a higher generation when it wakes up.
//
// The age of a heartbeat is measured against the clock of the process
// that reads it: the clocks of the hosts sharing a store must agree to
// well within Timeout/3 (NTP does).

// DefaultLeaseTimeout is the lease timeout LeaseOptions use when they set
// none: a holder whose heartbeat is older than this is taken over.
const DefaultLeaseTimeout = 30 * time.Second

// leaseDir is the folder of a pipeline's lease objects, below its own.
const leaseDir = "_lease"

// acquireAttempts bounds how often Acquire starts over when another
// process created the generation it was creating.
const acquireAttempts = 5

// ErrLeaseLost is wrapped by the errors of a Lease that another process
// took over, or that could not be renewed in time: its holder must stop
// writing to the pipeline's folder and sinks at once.
var ErrLeaseLost = errors.New("ownership lease lost")

// LeaseOptions set up Store.Acquire. The zero value is ready to use.
type LeaseOptions struct {
	// Timeout is how old a holder's heartbeat gets before another process
	// takes over; the holder renews every Timeout/3. 0 means
	// DefaultLeaseTimeout.
	Timeout time.Duration
	// Now is the clock of heartbeats and ages; nil means time.Now.
	Now func() time.Time
	// Host and PID name this process in the lease; "" and 0 mean
	// os.Hostname() and os.Getpid().
	Host string
	PID  int
	// Logger is told about take-overs and failed renewals; nil discards.
	Logger *slog.Logger
	// Gone reports whether a holder's process surely no longer runs, so
	// that its lease is taken over without waiting for the timeout. nil
	// means: on Linux, when the holder ran on this machine since its last
	// boot, in this PID namespace, and its PID is free (a restart after a
	// crash, kill -9 or OOM kill takes over at once); elsewhere, never.
	Gone func(Owner) bool
}

// Owner is the content of a lease object: who holds, or held, the lease.
type Owner struct {
	Host string `json:"host"`
	PID  int    `json:"pid"`
	// Started is when the owner acquired the lease.
	Started time.Time `json:"started"`
	// Machine identifies the boot and PID namespace of the owner's host
	// (on Linux; "" elsewhere): where its PID can be checked.
	Machine string `json:"machine,omitempty"`
	// Token tells apart owners with the same host and pid.
	Token string `json:"token"`
	// Heartbeat is when the owner last renewed the lease.
	Heartbeat time.Time `json:"heartbeat"`
	// Released says the owner stopped cleanly: the lease is free.
	Released bool `json:"released,omitempty"`
}

// String names the owner in messages: "host h pid 123 (started
// 2026-12-02 12:00:01 UTC)".
func (o Owner) String() string {
	return fmt.Sprintf("host %s pid %d (started %s)", o.Host, o.PID, o.Started.UTC().Format("2006-01-02 15:04:05 MST"))
}

// HeldError is the error of Acquire when another process holds the lease.
type HeldError struct {
	// Store names the checkpoint store, e.g. "file:///var/lib/sluice".
	Store    string
	Pipeline string
	// Holder is the process holding the lease.
	Holder Owner
	// HeartbeatAge is how old the holder's last heartbeat was.
	HeartbeatAge time.Duration
	// Timeout is the age at which the holder is taken over.
	Timeout time.Duration
}

// Error says in one line who holds the lease and when it can be taken
// over.
func (e *HeldError) Error() string {
	return fmt.Sprintf("checkpoint store %s: pipeline %q is run by host %s pid %d (started %s, last heartbeat %s ago); it is taken over when its heartbeat is older than %s (in %s if it stopped)",
		e.Store, e.Pipeline, e.Holder.Host, e.Holder.PID, e.Holder.Started.UTC().Format("2006-01-02 15:04:05 MST"),
		round(e.HeartbeatAge), round(e.Timeout), round(e.Timeout-e.HeartbeatAge))
}

// round shortens d for messages: to the second from a second on, to the
// millisecond below.
func round(d time.Duration) time.Duration {
	if d >= time.Second {
		return d.Round(time.Second)
	}
	return d.Round(time.Millisecond)
}

// Lease is the ownership of one pipeline's folder in a checkpoint store,
// held by this process from Acquire until Release or until lost. Its
// methods may be called from several goroutines.
type Lease struct {
	storage  LeaseStorage
	store    string // the store's name, for messages
	pipeline string
	timeout  time.Duration
	now      func() time.Time
	gone     func(Owner) bool
	log      *slog.Logger

	mu       sync.Mutex
	gen      int64
	owner    Owner
	renewed  time.Time // the last heartbeat written
	released bool
	lostErr  error
	lost     chan struct{} // closed once lostErr is set
}

// Acquire makes this process the owner of pipeline's folder in the
// store, or fails. It first checks that the store is reachable and
// writable. If another process holds a lease whose heartbeat is younger
// than the timeout, it fails with a *HeldError naming it; a lease that is
// older (its holder is gone: killed, crashed, disconnected), released, or
// whose process is found gone (LeaseOptions.Gone) is taken over, which
// the logger is told. Then call Run to keep the lease, and Release at a
// clean stop. The store's Storage must be a LeaseStorage. Errors are one
// line naming the store and the pipeline.
func (s *Store) Acquire(ctx context.Context, pipeline string, o LeaseOptions) (*Lease, error) {
	ls, ok := s.storage.(LeaseStorage)
	if !ok {
		return nil, fmt.Errorf("checkpoint store %s cannot keep an ownership lease: it has no create-if-absent", s.name())
	}
	l, err := newLease(ls, s.name(), pipeline, o)
	if err != nil {
		return nil, err
	}
	if err := ls.CheckWritable(ctx, pipeline+"/"+leaseDir); err != nil {
		return nil, fmt.Errorf("checkpoint store %w", err)
	}
	for range acquireAttempts {
		top, holder, err := l.highest(ctx)
		if errors.Is(err, fs.ErrNotExist) {
			continue // the highest generation went away while read
		}
		if err != nil {
			return nil, l.errorf("%w", err)
		}
		now := l.now()
		gone := false
		if holder != nil && !holder.Released {
			if age := now.Sub(holder.Heartbeat); age < l.timeout {
				if gone = l.gone(*holder); !gone {
					return nil, &HeldError{Store: l.store, Pipeline: pipeline, Holder: *holder, HeartbeatAge: max(age, 0), Timeout: l.timeout}
				}
			}
		}
		l.owner.Started, l.owner.Heartbeat = now, now
		data, err := json.Marshal(l.owner)
		if err != nil {
			return nil, err
		}
		err = ls.PutIfAbsent(ctx, l.key(top+1), data)
		if errors.Is(err, fs.ErrExist) {
			continue // another process took this generation first
		}
		if err != nil {
			return nil, l.errorf("writing the lease: %w", err)
		}
		l.gen, l.renewed = top+1, now
		l.logTakeOver(holder, gone, now)
		l.deleteOlder(ctx)
		return l, nil
	}
	return nil, l.errorf("the lease changed hands %d times while acquiring it: try again", acquireAttempts)
}

// newLease returns the lease of pipeline in a store, not yet acquired,
// with o's defaults filled in.
func newLease(ls LeaseStorage, store, pipeline string, o LeaseOptions) (*Lease, error) {
	if pipeline == "" {
		return nil, errors.New("checkpoint store " + store + ": a lease needs a pipeline name")
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultLeaseTimeout
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Host == "" {
		h, err := os.Hostname()
		if err != nil {
			return nil, fmt.Errorf("naming this host in the lease: %w", err)
		}
		o.Host = h
	}
	if o.PID == 0 {
		o.PID = os.Getpid()
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Gone == nil {
		o.Gone = processGone
	}
	var token [16]byte
	_, _ = rand.Read(token[:])
	return &Lease{
		storage: ls, store: store, pipeline: pipeline, timeout: o.Timeout, now: o.Now, gone: o.Gone, log: o.Logger,
		owner: Owner{Host: o.Host, PID: o.PID, Machine: thisMachine(), Token: hex.EncodeToString(token[:])},
		lost:  make(chan struct{}),
	}, nil
}

// name names the store in messages: its Storage's String, if any.
func (s *Store) name() string {
	if n, ok := s.storage.(fmt.Stringer); ok {
		return n.String()
	}
	return "(unnamed storage)"
}

// key returns the key of generation gen's lease object.
func (l *Lease) key(gen int64) string {
	return fmt.Sprintf("%s/%s/%020d", l.pipeline, leaseDir, gen)
}

// errorf returns an error naming the store and the pipeline once; the
// public methods wrap their errors with it, the others do not.
func (l *Lease) errorf(format string, args ...any) error {
	return fmt.Errorf("checkpoint store %s: pipeline %q: %w", l.store, l.pipeline, fmt.Errorf(format, args...))
}

// generations lists the lease objects of the pipeline by generation, and
// the temporary files a crashed write left of them ("<generation>.<x>.tmp"
// on a local store), with their generation.
func (l *Lease) generations(ctx context.Context) (objects, leftovers map[string]int64, err error) {
	prefix := l.pipeline + "/" + leaseDir + "/"
	keys, err := l.storage.List(ctx, prefix)
	if err != nil {
		return nil, nil, fmt.Errorf("reading the lease: %w", err)
	}
	objects, leftovers = map[string]int64{}, map[string]int64{}
	for _, k := range keys {
		name := strings.TrimPrefix(k, prefix)
		digits, rest, _ := strings.Cut(name, ".")
		gen, err := strconv.ParseInt(digits, 10, 64)
		switch {
		case err != nil || len(digits) != 20 || gen <= 0:
			// A write probe or a foreign object: not a generation.
		case rest == "":
			objects[k] = gen
		case strings.HasSuffix(rest, ".tmp"):
			leftovers[k] = gen
		}
	}
	return objects, leftovers, nil
}

// highest returns the highest generation and its owner; 0 and nil when
// there is none. An error matching fs.ErrNotExist says that the object
// was deleted between listing and reading.
func (l *Lease) highest(ctx context.Context) (int64, *Owner, error) {
	objects, _, err := l.generations(ctx)
	if err != nil {
		return 0, nil, err
	}
	top := int64(0)
	for _, g := range objects {
		top = max(top, g)
	}
	if top == 0 {
		return 0, nil, nil
	}
	o, err := l.read(ctx, top)
	return top, o, err
}

// read returns the owner in generation gen's lease object.
func (l *Lease) read(ctx context.Context, gen int64) (*Owner, error) {
	data, err := l.storage.Get(ctx, l.key(gen))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("reading the lease: %w", err)
	}
	o := &Owner{}
	if err := json.Unmarshal(data, o); err != nil {
		return nil, fmt.Errorf("the lease object %s is damaged (%v): delete it if no other sluice process runs this pipeline", l.key(gen), err)
	}
	return o, nil
}

// logTakeOver tells the logger whose lease the new one replaced; gone
// says its process was found gone.
func (l *Lease) logTakeOver(prev *Owner, gone bool, now time.Time) {
	switch {
	case gone:
		l.log.Warn("taking over the pipeline from a process that no longer runs", "pipeline", l.pipeline, "generation", l.gen,
			"previous_holder", prev.String(), "heartbeat_age", round(now.Sub(prev.Heartbeat)).String())
	case prev == nil:
		l.log.Debug("checkpoint store lease acquired", "pipeline", l.pipeline, "generation", l.gen)
	case prev.Released:
		l.log.Debug("checkpoint store lease acquired after a clean stop", "pipeline", l.pipeline, "generation", l.gen,
			"previous_holder", prev.String())
	default:
		l.log.Warn("taking over the pipeline from a process whose heartbeat stopped", "pipeline", l.pipeline, "generation", l.gen,
			"previous_holder", prev.String(), "heartbeat_age", round(now.Sub(prev.Heartbeat)).String(), "timeout", l.timeout.String())
	}
}

// deleteOlder deletes the lease objects, and leftovers of their writes,
// of the generations below the held one. Failures are only logged: the
// next heartbeat tries again.
func (l *Lease) deleteOlder(ctx context.Context) {
	objects, leftovers, err := l.generations(ctx)
	if err != nil {
		l.log.Warn("could not list old lease objects", "error", err.Error())
		return
	}
	for _, m := range []map[string]int64{objects, leftovers} {
		for k, g := range m {
			if g >= l.gen {
				continue
			}
			if err := l.storage.Delete(ctx, k); err != nil {
				l.log.Warn("could not delete an old lease object", "key", k, "error", err.Error())
			}
		}
	}
}
