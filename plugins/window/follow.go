package window

import (
	"errors"

	"github.com/sluice-io/sluice/eventtime"
	"github.com/sluice-io/sluice/plugins"
	"github.com/sluice-io/sluice/record"
)

// A window after a repartition block follows the watermark its input
// carries (plugins.MarkedReader): the publishers before the shuffle
// computed it with this window's delay and idle timeout, over the source
// partitions they read, so the records' event times, which arrive in the
// order of the shuffle, no longer move it.

var (
	_ plugins.WatermarkFollower = (*Operator)(nil)
	_ plugins.Watermarked       = (*Window)(nil)
)

// Watermarking returns the window's watermark delay and idle timeout.
func (w *Window) Watermarking() eventtime.ValveConfig {
	return eventtime.ValveConfig{Watermark: w.Watermark, IdleTimeout: w.IdleTimeout}
}

// Follow makes AdvanceTo the only way the watermark moves: the valve then
// has one partition, no delay and no idleness, and Process no longer
// observes event times. A window placing records by processing time
// ignores it.
func (o *Operator) Follow() {
	if o.w.ProcessingTime {
		return
	}
	v, err := eventtime.NewValve(eventtime.ValveConfig{}, 1, 0)
	if err != nil {
		panic(err) // a zero configuration is always valid
	}
	o.valve, o.follow = v, true
}

// AdvanceTo raises the watermark to w at processing time now and emits the
// windows that close. It fails unless the operator follows.
func (o *Operator) AdvanceTo(w, now int64, out *record.Batch) error {
	if !o.follow {
		return errors.New("window: AdvanceTo on a window that does not follow its input's watermark")
	}
	if w <= o.valve.Watermark() || o.valve.Finished() {
		return nil
	}
	o.valve.Observe(0, w)
	if w, changed := o.valve.Advance(now); changed {
		o.closeUpTo(w, out)
	}
	return nil
}
