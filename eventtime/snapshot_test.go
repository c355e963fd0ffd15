package eventtime

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

// stage plays a window stage the way the scheduler will drive one: per record
// Observe, register the window-end timer, Advance, fire; on ticks Advance,
// fire and check the periodic trigger. Everything it emits goes to log.
type stage struct {
	clock  *ManualClock
	valve  *Valve
	timers *TimerService
	every  *Every
	log    []string
}

var stageConfig = ValveConfig{Watermark: 30 * time.Millisecond, IdleTimeout: 200 * time.Millisecond}

const stageEvery = 250 * time.Millisecond

func newStage(t testing.TB, partitions int, now int64) *stage {
	v, err := NewValve(stageConfig, partitions, now)
	if err != nil {
		t.Fatal(err)
	}
	e, err := NewEvery(stageEvery, now)
	if err != nil {
		t.Fatal(err)
	}
	return &stage{clock: NewManualClockMillis(now), valve: v, timers: NewTimerService(), every: e}
}

// stageOp is a record (p, t) or, when p < 0, processing time passing by t ms.
type stageOp struct {
	p int
	t int64
}

func (s *stage) apply(op stageOp) {
	if op.p >= 0 {
		s.valve.Observe(op.p, op.t)
		s.timers.Register(op.t-op.t%100+100, uint64(op.t%3)) // window end, group
		if op.t%7 == 0 {
			return // leave this delivery unstamped: the next Advance stamps it
		}
	} else {
		s.clock.Advance(time.Duration(op.t) * time.Millisecond)
	}
	now := NowMillis(s.clock)
	if w, changed := s.valve.Advance(now); changed {
		s.log = append(s.log, fmt.Sprintf("W %d", w))
	}
	s.timers.Fire(s.valve.Watermark(), func(t Timer) { s.log = append(s.log, fmt.Sprintf("fire %d/%d", t.TS, t.Key)) })
	if tick, n := s.every.Due(now); n > 0 {
		s.log = append(s.log, fmt.Sprintf("tick %d×%d", tick, n))
	}
}

func (s *stage) finish() {
	w, _ := s.valve.Finish()
	s.timers.Fire(w, func(t Timer) { s.log = append(s.log, fmt.Sprintf("fire %d/%d", t.TS, t.Key)) })
}

func (s *stage) snapshot(t testing.TB) *bytes.Buffer {
	var buf bytes.Buffer
	for _, part := range []snapshotter{s.valve, s.timers, s.every} {
		if err := part.Snapshot(&buf); err != nil {
			t.Fatal(err)
		}
	}
	return &buf
}

// snapshotter is what the stateful parts have in common.
type snapshotter interface {
	Snapshot(w io.Writer) error
	Restore(r io.Reader) error
}

func randomOps(seed uint64, n int) []stageOp {
	rng := rand.New(rand.NewPCG(seed, 0xc4ec))
	ops := make([]stageOp, n)
	base := [3]int64{1000, 1000, 1000}
	for i := range ops {
		if rng.IntN(4) == 0 {
			ops[i] = stageOp{-1, rng.Int64N(120)}
			continue
		}
		p := rng.IntN(3)
		if p == 2 && rng.IntN(3) != 0 {
			p = rng.IntN(2) // partition 2 is sparse: it goes idle and comes back
		}
		base[p] += rng.Int64N(15)
		ops[i] = stageOp{p, base[p] + rng.Int64N(80) - 40}
	}
	return ops
}

// TestRestoreBehavesIdentically snapshots a stage mid-stream, restores it
// into fresh instances, feeds both the rest of the input and compares every
// watermark, fired timer and tick.
func TestRestoreBehavesIdentically(t *testing.T) {
	for seed := uint64(1); seed <= 10; seed++ {
		ops := randomOps(seed, 600)
		whole := newStage(t, 3, 50_000)
		marks := make([]int, len(ops)+1) // log length before op i
		for i, op := range ops {
			marks[i] = len(whole.log)
			whole.apply(op)
		}
		marks[len(ops)] = len(whole.log)
		whole.finish()
		if len(whole.log) < 50 {
			t.Fatalf("seed %d: only %d outputs; the scenario exercises too little", seed, len(whole.log))
		}
		for cut := 0; cut <= len(ops); cut += 1 + cut/4 {
			first := newStage(t, 3, 50_000)
			for _, op := range ops[:cut] {
				first.apply(op)
			}
			buf := first.snapshot(t)
			// A fresh process: different partition count and start time before Restore.
			second := newStage(t, 1, 999)
			second.clock.Set(first.clock.Now())
			if err := second.valve.Restore(buf); err != nil {
				t.Fatal(err)
			}
			if err := second.timers.Restore(buf); err != nil {
				t.Fatal(err)
			}
			if err := second.every.Restore(buf); err != nil {
				t.Fatal(err)
			}
			if buf.Len() != 0 {
				t.Fatalf("seed %d cut %d: %d bytes left after restoring the three frames", seed, cut, buf.Len())
			}
			if again := second.snapshot(t); !bytes.Equal(again.Bytes(), first.snapshot(t).Bytes()) {
				t.Fatalf("seed %d cut %d: restored state snapshots differently", seed, cut)
			}
			for _, op := range ops[cut:] {
				second.apply(op)
			}
			second.finish()
			if want := whole.log[marks[cut]:]; !slices.Equal(second.log, want) {
				t.Fatalf("seed %d cut %d: restored stage emitted\n%v\nwant\n%v", seed, cut, second.log, want)
			}
		}
	}
}

// validSnapshots returns, for each kind, a snapshot with state in it and a
// fresh receiver.
func validSnapshots(t testing.TB) map[string]func() ([]byte, snapshotter) {
	s := newStage(t, 3, 10_000)
	for _, op := range randomOps(7, 200) {
		s.apply(op)
	}
	valve, timers, every := snapshotBytes(t, s.valve), snapshotBytes(t, s.timers), snapshotBytes(t, s.every)
	return map[string]func() ([]byte, snapshotter){
		"valve": func() ([]byte, snapshotter) {
			v, _ := NewValve(stageConfig, 2, 0)
			return valve, v
		},
		"timers": func() ([]byte, snapshotter) { return timers, NewTimerService() },
		"every": func() ([]byte, snapshotter) {
			e, _ := NewEvery(stageEvery, 0)
			return every, e
		},
	}
}

func snapshotBytes(t testing.TB, p snapshotter) []byte {
	var b bytes.Buffer
	if err := p.Snapshot(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestRestoreRejectsBadInput checks every way a snapshot can be bad: each
// must return an error wrapping ErrBadSnapshot (or the reader's own error)
// and leave the receiver as it was.
func TestRestoreRejectsBadInput(t *testing.T) {
	frame := func(kind byte, payload []byte) []byte {
		var b bytes.Buffer
		if err := writeFrame(&b, kind, payload); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	payload := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	uv := func(v uint64) []byte { return binary.AppendUvarint(nil, v) }
	sv := func(v int64) []byte { return binary.AppendVarint(nil, v) }
	for name, get := range validSnapshots(t) {
		good, fresh := get()
		kind := good[1]
		cases := map[string][]byte{
			"empty":             nil,
			"unknown version":   append([]byte{2}, good[1:]...),
			"version zero":      append([]byte{0}, good[1:]...),
			"unknown kind":      append([]byte{1, 9}, good[2:]...),
			"checksum mismatch": append(slices.Clone(good[:len(good)-1]), good[len(good)-1]^0x40),
			"huge length":       append(append([]byte{1, kind}, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f), good[10:]...),
			"trailing bytes":    frame(kind, append(slices.Clone(good[headerLen:]), 0)),
			"empty payload":     frame(kind, nil),
			"bad varint":        frame(kind, bytes.Repeat([]byte{0xff}, 11)),
		}
		for n := 1; n < len(good); n++ {
			cases[fmt.Sprintf("truncated to %d bytes", n)] = good[:n]
		}
		for k := range kindNames {
			if k != 0 && byte(k) != kind {
				cases["snapshot of another kind "+kindName(byte(k))] = append([]byte{1, byte(k)}, good[2:]...)
			}
		}
		switch name {
		case "valve":
			cases["finished but W not end of time"] = frame(kind, payload(sv(5), []byte{1}, uv(0)))
			cases["bad boolean"] = frame(kind, payload(sv(5), []byte{2}, uv(0)))
			cases["count larger than payload"] = frame(kind, payload(sv(5), []byte{0}, uv(1<<60)))
			cases["partition cut short"] = frame(kind, payload(sv(5), []byte{0}, uv(1), sv(1), sv(2)))
		case "timers":
			cases["count larger than payload"] = frame(kind, payload(uv(1<<40), sv(1), uv(1)))
			cases["duplicate timers"] = frame(kind, payload(uv(2), sv(1), uv(4), uv(0), uv(4)))
			cases["timers out of key order"] = frame(kind, payload(uv(2), sv(1), uv(4), uv(0), uv(3)))
			cases["timestamp overflow"] = frame(kind, payload(uv(2), sv(math.MaxInt64-1), uv(0), uv(2), uv(0)))
		}
		for cname, input := range cases {
			t.Run(name+"/"+cname, func(t *testing.T) {
				_, p := get()
				if err := p.Restore(bytes.NewReader(good)); err != nil { // state to keep
					t.Fatal(err)
				}
				before := snapshotBytes(t, p)
				err := p.Restore(bytes.NewReader(input))
				if !errors.Is(err, ErrBadSnapshot) {
					t.Fatalf("Restore = %v, want an ErrBadSnapshot", err)
				}
				if !strings.HasPrefix(err.Error(), "eventtime: restore ") {
					t.Errorf("error %q does not say what failed", err)
				}
				if after := snapshotBytes(t, p); !bytes.Equal(before, after) {
					t.Fatal("failed Restore changed the receiver")
				}
			})
		}
		t.Run(name+"/messages", func(t *testing.T) {
			for input, want := range map[string]string{
				string(append([]byte{7}, good[1:]...)): "unsupported version 7 (this build reads version 1)",
				string(good[:5]):                       "truncated header (5 of 14 bytes)",
				string(good[:len(good)-1]):             "truncated payload",
			} {
				if err := fresh.Restore(strings.NewReader(input)); err == nil || !strings.Contains(err.Error(), want) {
					t.Errorf("Restore = %v, want it to mention %q", err, want)
				}
			}
		})
		t.Run(name+"/reader error", func(t *testing.T) {
			boom := errors.New("disk on fire")
			for _, r := range []io.Reader{iotest.ErrReader(boom), io.MultiReader(bytes.NewReader(good[:headerLen+1]), iotest.ErrReader(boom))} {
				if err := fresh.Restore(r); !errors.Is(err, boom) || errors.Is(err, ErrBadSnapshot) {
					t.Errorf("Restore = %v, want the reader's error", err)
				}
			}
		})
		t.Run(name+"/round trip", func(t *testing.T) {
			if err := fresh.Restore(bytes.NewReader(good)); err != nil {
				t.Fatal(err)
			}
			if again := snapshotBytes(t, fresh); !bytes.Equal(again, good) {
				t.Fatalf("snapshot after restore differs:\n%x\n%x", again, good)
			}
		})
	}
}

func TestSnapshotWriteError(t *testing.T) {
	v, _ := NewValve(ValveConfig{}, 1, 0)
	e, _ := NewEvery(time.Second, 0)
	for _, p := range []snapshotter{v, NewTimerService(), e} {
		if err := p.Snapshot(errWriter{}); err == nil || !strings.Contains(err.Error(), "full") {
			t.Errorf("%T.Snapshot = %v, want the writer's error", p, err)
		}
	}
}

type errWriter struct{}

func (errWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

// TestEveryRestoreRealigns: a changed period moves the restored next tick to
// the first multiple of the new period at or after the saved one.
func TestEveryRestoreRealigns(t *testing.T) {
	old, _ := NewEvery(3*time.Second, 10_000) // next 12000
	var b bytes.Buffer
	if err := old.Snapshot(&b); err != nil {
		t.Fatal(err)
	}
	e, _ := NewEvery(5*time.Second, 0)
	if err := e.Restore(&b); err != nil {
		t.Fatal(err)
	}
	if e.Next() != 15_000 {
		t.Fatalf("Next = %d, want 15000", e.Next())
	}
}

// FuzzRestore feeds arbitrary bytes to every Restore, both raw and wrapped in
// a valid frame (so that the payload decoders are reached past the
// checksum): Restore must never panic, and whatever it accepts must survive
// another snapshot/restore round trip unchanged.
func FuzzRestore(f *testing.F) {
	for _, get := range validSnapshots(f) {
		good, _ := get()
		f.Add(good)
		f.Add(good[headerLen:])
		f.Add(good[:len(good)/2])
	}
	f.Add([]byte{})
	f.Add([]byte{1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		for kind := range kindNames[1:] {
			kind := byte(kind + 1)
			for _, input := range [][]byte{data, framed(kind, data)} {
				var p snapshotter
				switch kind {
				case kindValve:
					p, _ = NewValve(ValveConfig{Watermark: time.Second, IdleTimeout: time.Second}, 1, 0)
				case kindTimers:
					p = NewTimerService()
				case kindEvery:
					p, _ = NewEvery(time.Second, 0)
				}
				if err := p.Restore(bytes.NewReader(input)); err != nil {
					continue
				}
				once := snapshotBytes(t, p)
				if err := p.Restore(bytes.NewReader(once)); err != nil {
					t.Fatalf("%s: restoring its own snapshot: %v", kindName(kind), err)
				}
				if twice := snapshotBytes(t, p); !bytes.Equal(once, twice) {
					t.Fatalf("%s: round trip not stable", kindName(kind))
				}
				if v, ok := p.(*Valve); ok { // restored state must be usable
					for i := range v.Partitions() {
						v.Observe(i, 0)
					}
					v.Advance(math.MaxInt64)
				}
				if s, ok := p.(*TimerService); ok {
					s.Fire(EndOfTime, func(Timer) {})
				}
				if e, ok := p.(*Every); ok {
					e.Due(math.MaxInt64)
				}
			}
		}
	})
}

func framed(kind byte, payload []byte) []byte {
	var b bytes.Buffer
	_ = writeFrame(&b, kind, payload)
	return b.Bytes()
}
