package generate

import (
	"context"
	"fmt"
	"io"
	"math"
	"math/bits"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/sluice-io/sluice/record"

	"github.com/sluice-io/sluice/plugins"
)

// Epoch is the event time of the first generated event. Event times are a
// pure function of the seed and the sequence number, not of the wall clock,
// so that a run is reproducible: event i is nominally at Epoch + i/rate
// seconds, before disorder and lateness are applied. It is read-only:
// the generator uses the value it had when the program started.
var Epoch = time.Date(2024, time.May, 1, 12, 0, 0, 0, time.UTC)

var epochMilli = Epoch.UnixMilli()

// Late events are shifted this far into the past, uniformly.
const (
	lateMin = 3 * time.Minute
	lateMax = 10 * time.Minute
)

// actions are the generated actions with their weights, in per mille.
var actions = [...]struct {
	name   string
	weight uint32
}{
	{"view", 450},
	{"click", 250},
	{"scroll", 150},
	{"purchase", 15},
	{"login", 30},
	{"logout", 25},
	{"heartbeat", 80},
}

// devices are the generated devices with their weights, in per mille.
var devices = [...]struct {
	name   string
	weight uint32
}{
	{"ios", 400},
	{"android", 350},
	{"web", 250},
}

// Precomputed bytes, so that generating an event does not allocate.
var (
	actionBytes [len(actions)][]byte
	deviceBytes [len(devices)][]byte
	// actionJSON[k] is `,"action":"NAME","ts":`; deviceJSON[k] is
	// `,"device":"NAME"}`.
	actionJSON [len(actions)][]byte
	deviceJSON [len(devices)][]byte
)

const jsonUserPrefix = `{"user_id":`

func init() {
	for k, a := range actions {
		actionBytes[k] = []byte(a.name)
		actionJSON[k] = []byte(`,"action":"` + a.name + `","ts":`)
	}
	for k, d := range devices {
		deviceBytes[k] = []byte(d.name)
		deviceJSON[k] = []byte(`,"device":"` + d.name + `"}`)
	}
}

// pick maps a uniform 32-bit value to an index of a per-mille weight table.
func pick(u uint32, weights func(int) uint32, n int) int {
	x := uint32((uint64(u) * 1000) >> 32) // uniform in [0, 1000)
	for k := 0; k < n-1; k++ {
		w := weights(k)
		if x < w {
			return k
		}
		x -= w
	}
	return n - 1
}

func actionWeight(k int) uint32 { return actions[k].weight }
func deviceWeight(k int) uint32 { return devices[k].weight }

// event is one generated event.
type event struct {
	user   int64
	action int   // index in actions
	device int   // index in devices
	ts     int64 // Unix milliseconds
}

var _ plugins.Opener = (*Source)(nil)

// Open starts generating events: the returned Reader has one partition, and
// each row's Origin is partition 0 with the event's sequence number (0, 1,
// 2, ...) as offset. Events are handed out at Rate per second of processing
// time, read through rt.Now, from the moment Open is called; a reader that
// falls behind catches up in bursts of up to the max of each Read. With a
// Count the reader returns io.EOF after Count events.
func (s *Source) Open(ctx context.Context, rt *plugins.Runtime) (plugins.Reader, error) {
	if s.Rate <= 0 {
		return nil, fmt.Errorf("generate: rate must be more than zero, not %d", s.Rate)
	}
	if s.Users <= 0 {
		return nil, fmt.Errorf("generate: users must be more than zero, not %d", s.Users)
	}
	if s.Count < 0 {
		return nil, fmt.Errorf("generate: count must be zero or more, not %d", s.Count)
	}
	if s.Disorder < 0 {
		return nil, fmt.Errorf("generate: disorder must not be negative, not %s", s.Disorder)
	}
	if !(s.LateFraction >= 0 && s.LateFraction <= 1) {
		return nil, fmt.Errorf("generate: late fraction must be between 0 and 1, not %g", s.LateFraction)
	}
	switch s.Format {
	case "", FormatRecords, FormatJSON:
	default:
		return nil, fmt.Errorf("generate: unknown format %q", s.Format)
	}
	now := time.Now
	if rt != nil && rt.Now != nil {
		now = rt.Now
	}
	seed := uint64(s.Seed)
	r := &reader{
		src:      *s,
		rng:      rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		now:      now,
		start:    now(),
		wait:     waitTimer,
		disorder: s.Disorder.Milliseconds(),
	}
	return r, nil
}

// reader is the running generator. It is used by one goroutine at a time.
type reader struct {
	src      Source
	rng      *rand.Rand
	now      func() time.Time
	start    time.Time // processing time of Open
	next     int64     // sequence number of the next event
	disorder int64     // Source.Disorder in milliseconds
	// wait blocks for d or until ctx ends; tests replace it.
	wait func(ctx context.Context, d time.Duration) error
}

// waitTimer waits for d with a timer, or returns ctx.Err() when ctx ends
// first.
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

// Partitions returns 1: the generator is a single partition.
func (r *reader) Partitions() int { return 1 }

// Close releases nothing: the generator holds no resources.
func (r *reader) Close() error { return nil }

// Read appends up to max events to b (at least one; max below 1 counts as
// 1), waiting until the pace allows one.
func (r *reader) Read(ctx context.Context, b *record.Batch, max int) error {
	json := r.src.Format == FormatJSON
	want := len(Columns)
	if json {
		want = 1
	}
	if len(b.Columns) != want {
		return fmt.Errorf("generate: batch has %d columns, want %d", len(b.Columns), want)
	}
	if max < 1 {
		max = 1
	}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		if r.src.Count > 0 && r.next >= r.src.Count {
			return io.EOF
		}
		elapsed := r.now().Sub(r.start)
		avail := due(elapsed, r.src.Rate) - r.next
		if avail > 0 {
			n := int64(max)
			if avail < n {
				n = avail
			}
			if r.src.Count > 0 && r.src.Count-r.next < n {
				n = r.src.Count - r.next
			}
			if json {
				r.appendJSON(b, int(n))
			} else {
				r.appendRecords(b, int(n))
			}
			return nil
		}
		d := timeOf(r.next+1, r.src.Rate) - elapsed
		if d <= 0 {
			d = 1 // rounding: due will count the event after the shortest wait
		}
		if err := r.wait(ctx, d); err != nil {
			if ctxErr := ctx.Err(); ctxErr != nil {
				return ctxErr
			}
			return err
		}
	}
}

// due returns the number of events due after elapsed processing time at
// rate events per second: floor(elapsed × rate / 1s).
func due(elapsed time.Duration, rate int64) int64 {
	if elapsed <= 0 {
		return 0
	}
	hi, lo := bits.Mul64(uint64(elapsed), uint64(rate))
	if hi >= uint64(time.Second) {
		return math.MaxInt64
	}
	q, _ := bits.Div64(hi, lo, uint64(time.Second))
	if q > math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(q)
}

// timeOf returns the processing time after Open at which n events are due:
// ceil(n × 1s / rate), saturating.
func timeOf(n, rate int64) time.Duration {
	whole := n / rate
	if whole > int64(math.MaxInt64/time.Second) {
		return math.MaxInt64
	}
	// (n % rate) × 1s / rate is below 1s, so the 128-bit division fits.
	hi, lo := bits.Mul64(uint64(n%rate), uint64(time.Second))
	q, rem := bits.Div64(hi, lo, uint64(rate))
	if rem != 0 {
		q++
	}
	return time.Duration(whole)*time.Second + time.Duration(q)
}

// nominal returns the event time of event i, in Unix milliseconds, before
// disorder and lateness.
func nominal(i, rate int64) int64 {
	ms := epochMilli + i/rate*1000
	if r := i % rate; rate <= math.MaxInt64/1000 {
		ms += r * 1000 / rate
	} else { // r × 1000 would overflow
		hi, lo := bits.Mul64(uint64(r), 1000)
		q, _ := bits.Div64(hi, lo, uint64(rate))
		ms += int64(q)
	}
	return ms
}

// gen generates the next event. It draws the same random values for every
// event whatever the configuration, so that the users, actions and devices
// of a seed do not depend on disorder or late_fraction.
func (r *reader) gen() event {
	i := r.next
	r.next++
	u := r.rng.Uint64()
	e := event{
		user:   1 + r.rng.Int64N(r.src.Users),
		action: pick(uint32(u), actionWeight, len(actions)),
		device: pick(uint32(u>>32), deviceWeight, len(devices)),
		ts:     nominal(i, r.src.Rate),
	}
	late := r.rng.Float64() < r.src.LateFraction
	shift := r.rng.Uint64()
	if late {
		lo, hi := lateMin.Milliseconds(), lateMax.Milliseconds()
		e.ts -= lo + int64(shift%uint64(hi-lo+1))
	} else if r.disorder > 0 {
		e.ts -= int64(shift % uint64(r.disorder+1))
	}
	return e
}

// appendRecords appends n events as typed rows.
func (r *reader) appendRecords(b *record.Batch, n int) {
	users, acts, tss, devs := &b.Columns[0], &b.Columns[1], &b.Columns[2], &b.Columns[3]
	for range n {
		off := r.next
		e := r.gen()
		users.AppendInt(e.user)
		acts.AppendString(actionBytes[e.action])
		tss.AppendInt(e.ts)
		devs.AppendString(deviceBytes[e.device])
		b.Origins = append(b.Origins, record.Origin{Partition: 0, Offset: off})
	}
	b.Rows += n
}

// appendJSON appends n events as NDJSON payloads, written straight into the
// raw batch's string column.
func (r *reader) appendJSON(b *record.Batch, n int) {
	v := &b.Columns[0]
	if len(v.Offsets) == 0 {
		v.Offsets = append(v.Offsets, 0)
	}
	for range n {
		off := r.next
		e := r.gen()
		buf := append(v.Bytes, jsonUserPrefix...)
		buf = strconv.AppendInt(buf, e.user, 10)
		buf = append(buf, actionJSON[e.action]...)
		buf = strconv.AppendInt(buf, e.ts, 10)
		buf = append(buf, deviceJSON[e.device]...)
		v.Bytes = buf
		v.Offsets = append(v.Offsets, int32(len(buf)))
		if v.Nulls != nil {
			v.Nulls = append(v.Nulls, false)
		}
		b.Origins = append(b.Origins, record.Origin{Partition: 0, Offset: off})
	}
	b.Rows += n
}
