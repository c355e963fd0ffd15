package window

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/sluice-io/sluice/eventtime"
	"github.com/sluice-io/sluice/plugins"
	"github.com/sluice-io/sluice/record"
)

// combiner is the Operator of the half before a shuffle: one window
// operator per source partition, each emitting partial rows when its own
// partition's watermark passes a window's end. Keeping partitions apart
// makes what it emits, and when, a function of each partition's records
// alone, so that a replay after a crash publishes the same partial rows in
// the same order. Its watermark is the least over the partitions that are
// not idle, as a window's is.
type combiner struct {
	w     *Window
	ops   []*Operator
	wm    int64 // never decreases
	sub   *record.Batch
	rows  []int32 // the rows of in that sub holds, for the callbacks
	now   int64   // processing time of the last call
	ended bool
}

func (c *combiner) addPartition(now int64) error {
	o, err := c.w.NewOperator(1, now)
	if err != nil {
		return err
	}
	o.single, o.partial = true, true
	c.ops = append(c.ops, o)
	if len(c.ops) == 1 {
		c.wm = eventtime.NoWatermark
	}
	return nil
}

// Process hands each row to its partition's operator, in order, a run of
// rows of one partition at a time.
func (c *combiner) Process(in *record.Batch, now int64, out *record.Batch, late, bad func(row int, reason string)) error {
	c.now = now
	if len(in.Origins) == 0 {
		return c.run(0, in, nil, now, out, late, bad)
	}
	for from := 0; from < in.Rows; {
		p := in.Origins[from].Partition
		to := from + 1
		for to < in.Rows && in.Origins[to].Partition == p {
			to++
		}
		if p < 0 {
			return fmt.Errorf("window: row %d has negative partition %d", from, p)
		}
		for int(p) >= len(c.ops) {
			if err := c.addPartition(now); err != nil {
				return err
			}
		}
		if from == 0 && to == in.Rows {
			if err := c.run(int(p), in, nil, now, out, late, bad); err != nil {
				return err
			}
			break
		}
		c.rows = c.rows[:0]
		for r := from; r < to; r++ {
			c.rows = append(c.rows, int32(r))
		}
		if err := c.run(int(p), c.subBatch(in), c.rows, now, out, late, bad); err != nil {
			return err
		}
		from = to
	}
	c.advance(now)
	return nil
}

// subBatch copies the rows c.rows of in into c.sub.
func (c *combiner) subBatch(in *record.Batch) *record.Batch {
	if c.sub == nil || len(c.sub.Columns) != len(in.Columns) {
		c.sub = record.NewBatch(in.Schema, len(c.rows))
	}
	c.sub.Reset()
	c.sub.Schema = in.Schema
	for i := range in.Columns {
		c.sub.Columns[i].AppendRows(&in.Columns[i], c.rows)
	}
	c.sub.Rows = len(c.rows)
	return c.sub
}

// run processes b with partition p's operator; rows maps b's rows to
// in's for the callbacks (nil: the same).
func (c *combiner) run(p int, b *record.Batch, rows []int32, now int64, out *record.Batch, late, bad func(int, string)) error {
	back := func(f func(int, string)) func(int, string) {
		if f == nil || rows == nil {
			return f
		}
		return func(r int, reason string) { f(int(rows[r]), reason) }
	}
	n := out.Rows
	err := c.ops[p].Process(b, now, out, back(late), back(bad))
	c.stamp(out, n, p)
	return err
}

// stamp gives the rows of out from n on partition p as their origin.
func (c *combiner) stamp(out *record.Batch, n, p int) {
	for range out.Rows - n {
		out.Origins = append(out.Origins, record.Origin{Partition: int32(p)})
	}
}

// advance recomputes the watermark: the least over active partitions.
func (c *combiner) advance(now int64) {
	least, any := int64(math.MaxInt64), false
	for _, o := range c.ops {
		if o.valve.Idle(0, now) {
			continue
		}
		least, any = min(least, o.Watermark()), true
	}
	if any && least > c.wm {
		c.wm = least
	}
}

// NextWake is the earliest of the partitions' operators.
func (c *combiner) NextWake(now int64) (int64, bool) {
	at, ok := int64(math.MaxInt64), false
	for _, o := range c.ops {
		if t, due := o.NextWake(now); due && t < at {
			at, ok = t, true
		}
	}
	if idle := c.w.IdleTimeout.Milliseconds(); idle > 0 && len(c.ops) > 1 && !c.ended {
		// A partition going idle may raise the least watermark.
		t := now + max(idle/4, minIdleCheck)
		if t < at {
			at, ok = t, true
		}
	}
	return at, ok
}

// Tick ticks every partition's operator.
func (c *combiner) Tick(now int64, out *record.Batch) error {
	c.now = now
	for p, o := range c.ops {
		n := out.Rows
		if err := o.Tick(now, out); err != nil {
			return err
		}
		c.stamp(out, n, p)
	}
	c.advance(now)
	return nil
}

// Finish closes every window of every partition.
func (c *combiner) Finish(out *record.Batch) error {
	for p, o := range c.ops {
		n := out.Rows
		if err := o.Finish(out); err != nil {
			return err
		}
		c.stamp(out, n, p)
	}
	c.ended, c.wm = true, eventtime.EndOfTime
	return nil
}

// Watermark is the least watermark of the active partitions.
func (c *combiner) Watermark() int64 { return c.wm }

// Open counts the open (window, group) states of every partition.
func (c *combiner) Open() int {
	n := 0
	for _, o := range c.ops {
		n += o.Open()
	}
	return n
}

// EarliestOpen is the earliest over the partitions.
func (c *combiner) EarliestOpen() (int64, bool) {
	start, ok := int64(0), false
	for _, o := range c.ops {
		if s, open := o.EarliestOpen(); open && (!ok || s < start) {
			start, ok = s, true
		}
	}
	return start, ok
}

// Partitions reports each partition as its operator sees it.
func (c *combiner) Partitions(dst []plugins.PartitionStatus, now int64) []plugins.PartitionStatus {
	for _, o := range c.ops {
		dst = o.Partitions(dst, now)
	}
	return dst
}

// StateBytes adds up the partitions' state.
func (c *combiner) StateBytes() int64 {
	var n int64
	for _, o := range c.ops {
		n += o.StateBytes()
	}
	return n
}

// Snapshot writes the partition count, the watermark, then each
// partition's operator snapshot with its length.
func (c *combiner) Snapshot(w io.Writer) error {
	b := binary.AppendUvarint(nil, uint64(len(c.ops)))
	b = binary.AppendVarint(b, c.wm)
	for _, o := range c.ops {
		var part bytes.Buffer
		if err := o.Snapshot(&part); err != nil {
			return err
		}
		b = binary.AppendUvarint(b, uint64(part.Len()))
		b = append(b, part.Bytes()...)
	}
	_, err := w.Write(b)
	return err
}

// Restore reads what Snapshot wrote.
func (c *combiner) Restore(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	n, k := binary.Uvarint(data)
	if k <= 0 || n > 1<<20 {
		return errors.New("window: corrupt combiner snapshot")
	}
	data = data[k:]
	wm, k := binary.Varint(data)
	if k <= 0 {
		return errors.New("window: corrupt combiner snapshot")
	}
	data = data[k:]
	for int(n) > len(c.ops) {
		if err := c.addPartition(c.now); err != nil {
			return err
		}
	}
	for i := range int(n) {
		size, k := binary.Uvarint(data)
		if k <= 0 || size > uint64(len(data)-k) {
			return errors.New("window: corrupt combiner snapshot")
		}
		if err := c.ops[i].Restore(bytes.NewReader(data[k : k+int(size)])); err != nil {
			return fmt.Errorf("window: combiner partition %d: %w", i, err)
		}
		data = data[k+int(size):]
	}
	c.wm = wm
	return nil
}
