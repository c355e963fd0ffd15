package eventtime

import (
	"io"
	"math"
	"slices"
)

// Timer is a pending timer: a time in Unix milliseconds and an opaque key
// the stage chooses (a window id, a hash of window and group, …).
type Timer struct {
	TS  int64
	Key uint64
}

// before is the firing order: by time, then by key.
func (t Timer) before(u Timer) bool {
	return t.TS < u.TS || t.TS == u.TS && t.Key < u.Key
}

// compareTimers orders timers like before, for slices.SortFunc.
func compareTimers(a, b Timer) int {
	switch {
	case a.before(b):
		return -1
	case b.before(a):
		return 1
	}
	return 0
}

// TimerService holds timers keyed by (timestamp, key) and fires, in order,
// those at or before a given time. It is domain-agnostic: the scheduler keeps
// one per stage for event time, fired with the watermark W after each
// Advance, and may keep another for processing time, fired with now.
//
// Registering an existing (ts, key) is a no-op, so a timer fires once however
// often it was registered. Timers fire in ascending timestamp order, ties in
// ascending key order; the order is therefore a function of the set of
// pending timers alone, and a restored service fires exactly like the
// original. Register, Delete and each fired timer cost O(log n) (amortized:
// deleted timers leave the heap lazily and are compacted away).
//
// The zero value is an empty service ready to use. Not safe for concurrent
// use.
type TimerService struct {
	heap []Timer            // min-heap by before; may hold deleted timers
	set  map[Timer]struct{} // the pending timers
}

// NewTimerService returns an empty timer service.
func NewTimerService() *TimerService { return &TimerService{} }

// Register adds the timer (ts, key) and reports whether it was new; a timer
// already pending is left as it is.
func (s *TimerService) Register(ts int64, key uint64) bool {
	t := Timer{ts, key}
	if _, ok := s.set[t]; ok {
		return false
	}
	if s.set == nil {
		s.set = make(map[Timer]struct{})
	}
	s.set[t] = struct{}{}
	s.push(t)
	return true
}

// Delete removes the pending timer (ts, key) and reports whether it was
// pending.
func (s *TimerService) Delete(ts int64, key uint64) bool {
	t := Timer{ts, key}
	if _, ok := s.set[t]; !ok {
		return false
	}
	delete(s.set, t)
	if len(s.heap) > 2*len(s.set)+64 {
		s.compact()
	}
	return true
}

// Pending reports whether the timer (ts, key) is registered and has not
// fired or been deleted.
func (s *TimerService) Pending(ts int64, key uint64) bool {
	_, ok := s.set[Timer{ts, key}]
	return ok
}

// Len returns the number of pending timers.
func (s *TimerService) Len() int { return len(s.set) }

// Next returns the earliest pending timer, if any (for a processing-time
// service: when the scheduler must wake up next).
func (s *TimerService) Next() (Timer, bool) {
	s.dropDeleted()
	if len(s.heap) == 0 {
		return Timer{}, false
	}
	return s.heap[0], true
}

// Fire removes every pending timer with TS ≤ upTo and calls fn for each, in
// ascending (TS, Key) order, and returns how many fired. fn may Register and
// Delete timers: a timer it registers with TS ≤ upTo fires in the same call
// (after the current one), so fn must not re-register the timer being fired
// at a time ≤ upTo. With upTo = EndOfTime every timer fires.
func (s *TimerService) Fire(upTo int64, fn func(Timer)) int {
	n := 0
	for {
		s.dropDeleted()
		if len(s.heap) == 0 || s.heap[0].TS > upTo {
			return n
		}
		t := s.pop()
		delete(s.set, t)
		n++
		fn(t)
	}
}

// dropDeleted pops deleted timers off the top of the heap.
func (s *TimerService) dropDeleted() {
	for len(s.heap) > 0 {
		if _, ok := s.set[s.heap[0]]; ok {
			return
		}
		s.pop()
	}
}

// compact rebuilds the heap from the pending set, dropping deleted timers.
func (s *TimerService) compact() {
	s.heap = s.sorted(s.heap[:0])
}

// sorted appends the pending timers to dst in firing order; a sorted slice is
// a valid heap.
func (s *TimerService) sorted(dst []Timer) []Timer {
	for t := range s.set {
		dst = append(dst, t)
	}
	slices.SortFunc(dst, compareTimers)
	return dst
}

func (s *TimerService) push(t Timer) {
	s.heap = append(s.heap, t)
	i := len(s.heap) - 1
	for i > 0 {
		parent := (i - 1) / 2
		if !s.heap[i].before(s.heap[parent]) {
			break
		}
		s.heap[i], s.heap[parent] = s.heap[parent], s.heap[i]
		i = parent
	}
}

func (s *TimerService) pop() Timer {
	h := s.heap
	top := h[0]
	last := len(h) - 1
	h[0] = h[last]
	h = h[:last]
	i := 0
	for {
		l := 2*i + 1
		if l >= len(h) {
			break
		}
		c := l
		if r := l + 1; r < len(h) && h[r].before(h[l]) {
			c = r
		}
		if !h[c].before(h[i]) {
			break
		}
		h[i], h[c] = h[c], h[i]
		i = c
	}
	s.heap = h
	return top
}

// Snapshot writes the pending timers as one frame (see the package documentation): their
// count, then each in firing order as a delta-encoded timestamp and a key.
// Equal sets of pending timers give equal bytes.
func (s *TimerService) Snapshot(w io.Writer) error {
	ts := s.sorted(make([]Timer, 0, len(s.set)))
	p := make([]byte, 0, 8+4*len(ts))
	p = appendUvarint(p, uint64(len(ts)))
	var prev int64
	for i, t := range ts {
		if i == 0 {
			p = appendVarint(p, t.TS)
		} else {
			p = appendUvarint(p, uint64(t.TS)-uint64(prev))
		}
		p = appendUvarint(p, t.Key)
		prev = t.TS
	}
	return writeFrame(w, kindTimers, p)
}

// Restore replaces the pending timers with those written by Snapshot. It
// reads exactly one frame from r. On error (unknown version, wrong kind,
// truncated or corrupt input) it leaves the service unchanged; it never
// panics.
func (s *TimerService) Restore(r io.Reader) error {
	p, err := readFrame(r, kindTimers)
	if err != nil {
		return err
	}
	d := decoder{what: "timer service", b: p}
	n := d.count(2) // each timer takes at least 2 bytes
	heap := make([]Timer, 0, n)
	for i := 0; i < n && d.err == nil; i++ {
		var t Timer
		if i == 0 {
			t.TS = d.varint()
		} else {
			prev := heap[i-1].TS
			delta := d.uvarint()
			if delta > uint64(math.MaxInt64)-uint64(prev) {
				d.fail("timer %d: timestamp overflows", i)
			}
			t.TS = int64(uint64(prev) + delta)
		}
		t.Key = d.uvarint()
		if i > 0 && !heap[i-1].before(t) {
			d.fail("timer %d out of order or duplicated", i)
		}
		heap = append(heap, t)
	}
	if err := d.finish(); err != nil {
		return err
	}
	set := make(map[Timer]struct{}, len(heap))
	for _, t := range heap {
		set[t] = struct{}{}
	}
	s.heap, s.set = heap, set // ascending order is a valid heap
	return nil
}
