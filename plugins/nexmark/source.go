package nexmark

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"time"

	"github.com/sluice-io/sluice/plugins"
	"github.com/sluice-io/sluice/record"
)

var _ plugins.Opener = (*Source)(nil)

// Open starts generating. The reader has Partitions partitions; each row's
// Origin is its partition (event id mod Partitions) and its event id.
func (s *Source) Open(ctx context.Context, rt *plugins.Runtime) (plugins.Reader, error) {
	if Columns(s.Stream) == nil {
		return nil, fmt.Errorf("nexmark: unknown stream %q", s.Stream)
	}
	if s.EventRate <= 0 || s.Partitions < 1 || s.Events < 0 || s.Rate < 0 {
		return nil, fmt.Errorf("nexmark: invalid configuration (event_rate %d, partitions %d, events %d, rate %d)",
			s.EventRate, s.Partitions, s.Events, s.Rate)
	}
	now := time.Now
	if rt != nil && rt.Now != nil {
		now = rt.Now
	}
	r := &reader{
		src:   *s,
		gen:   NewGenerator(s.EventRate, s.BaseTime),
		width: len(Columns(s.Stream)),
		next:  make([]int64, s.Partitions),
		now:   now,
		wait:  waitTimer,
	}
	for p := range r.next {
		r.next[p] = int64(p)
	}
	return r, nil
}

// reader is a running source. It is used by one goroutine at a time.
type reader struct {
	src   Source
	gen   *Generator
	width int     // columns of the stream's records
	next  []int64 // per partition, the next event id it may yield
	// cursor is the smallest event id not yet considered: min(next).
	cursor  int64
	started bool
	start   time.Time // processing time of the first Read, for pacing
	yielded int64     // records yielded since start
	now     func() time.Time
	// wait blocks for d or until ctx ends; tests replace it.
	wait func(ctx context.Context, d time.Duration) error
}

// waitTimer waits for d, or returns ctx.Err() when ctx ends first.
func waitTimer(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Partitions returns the configured number of partitions.
func (r *reader) Partitions() int { return len(r.next) }

// Close releases nothing: the generator holds no resources.
func (r *reader) Close() error { return nil }

// Read appends up to maxRows records of the stream to b, in event id order,
// waiting when Rate paces the source. It returns io.EOF once every event
// below Events was considered.
func (r *reader) Read(ctx context.Context, b *record.Batch, maxRows int) error {
	if want := r.width; len(b.Columns) != want {
		return fmt.Errorf("nexmark: batch has %d columns, want %d", len(b.Columns), want)
	}
	maxRows = min(maxRows, 1<<16)
	if maxRows < 1 {
		maxRows = 1
	}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		if r.done() {
			return io.EOF
		}
		n, err := r.allowed(ctx, maxRows)
		if err != nil {
			return err
		}
		if r.fill(b, n) > 0 {
			return nil
		}
	}
}

// done reports whether a bounded stream has no event left.
func (r *reader) done() bool { return r.src.Events > 0 && r.cursor >= r.src.Events }

// allowed returns how many records the pace allows now (at most maxRows),
// waiting until it is at least one.
func (r *reader) allowed(ctx context.Context, maxRows int) (int, error) {
	if r.src.Rate <= 0 {
		return maxRows, nil
	}
	if !r.started {
		r.started, r.start = true, r.now()
	}
	for {
		elapsed := r.now().Sub(r.start)
		due := int64(elapsed.Seconds()*float64(r.src.Rate)) + 1 // the first record is due at once
		if avail := due - r.yielded; avail > 0 {
			return int(min(avail, int64(maxRows))), nil
		}
		d := time.Duration(float64(r.yielded)/float64(r.src.Rate)*float64(time.Second)) - elapsed
		if err := r.wait(ctx, max(d, time.Millisecond)); err != nil {
			return 0, err
		}
	}
}

// fill appends up to n records, scanning event ids from the cursor, and
// returns how many it appended. It scans at most a bounded number of ids,
// so that a sparse stream still returns to check the context.
func (r *reader) fill(b *record.Batch, n int) int {
	parts := int64(len(r.next))
	appended := 0
	for scanned := 0; appended < n && scanned < 1<<20; scanned++ {
		id := r.cursor
		if r.src.Events > 0 && id >= r.src.Events {
			break
		}
		r.cursor++
		p := id % parts
		if id < r.next[p] || Kind(id) != r.src.Stream {
			continue
		}
		r.gen.AppendEvent(b, id)
		b.Origins = append(b.Origins, record.Origin{Partition: int32(p), Offset: id})
		r.next[p] = id + parts
		appended++
	}
	r.yielded += int64(appended)
	return appended
}

var _ plugins.Resumer = (*reader)(nil)

// PartitionKey names partition p by everything that decides its events:
// the stream, the partition count, the event rate and the base time. A
// checkpoint taken with another configuration then holds keys this source
// does not know, and Resume refuses it.
func (r *reader) PartitionKey(p int) string {
	return fmt.Sprintf("nexmark %s partition %d/%d, %d events/s from %s", r.src.Stream, p, len(r.next), r.src.EventRate,
		time.UnixMilli(r.src.BaseTime).UTC().Format(time.RFC3339Nano))
}

// Position is the next event id the partition yields after the record at
// offset (an event id).
func (r *reader) Position(p int, offset int64) ([]byte, error) {
	return binary.AppendVarint(nil, offset+int64(len(r.next))), nil
}

// Resume starts each partition at the next event id its position holds.
func (r *reader) Resume(positions map[string][]byte) error {
	keys := map[string]int{}
	for p := range r.next {
		keys[r.PartitionKey(p)] = p
	}
	for key, pos := range positions {
		p, ok := keys[key]
		if !ok {
			return fmt.Errorf("source \"nexmark\": the checkpoint holds a position for %q, which this source does not have: "+
				"stream, partitions, event_rate or base_time changed since (run with --reset-state to start afresh)", key)
		}
		next, n := binary.Varint(pos)
		if n <= 0 || next < 0 || next%int64(len(r.next)) != int64(p) {
			return fmt.Errorf("source \"nexmark\": bad checkpoint position %x for %q", pos, key)
		}
		r.next[p] = next
	}
	r.cursor = r.next[0]
	for _, n := range r.next {
		r.cursor = min(r.cursor, n)
	}
	return nil
}
