package window

import (
	"fmt"

	"github.com/sluice-io/sluice/record"
)

// Processing-time windows (event_time = "processing_time") place every
// record of a batch at the batch's processing time now, as the scheduler
// read it, and close a window once processing time reaches its end: at the
// first Process or Tick with now >= end. The scheduler calls Tick when the
// earliest open window ends (NextWake). No record is ever late, and the
// watermark is the latest now given. The operator reads no clock itself.

// processNow adds the rows of in at processing time now, after closing the
// windows that ended by now.
func (o *Operator) processNow(in *record.Batch, now int64, out *record.Batch, bad func(row int, reason string)) error {
	o.advanceNow(now, out)
	if now < o.minTime || now > o.maxTime {
		return fmt.Errorf("window: processing time %d is too far from the Unix epoch to place in a window", now)
	}
	for row := 0; row < in.Rows; row++ {
		o.stats.Records++
		if err := o.evalSlow(in, row); err != nil {
			o.stats.Bad++
			if bad != nil {
				bad(row, err.Error())
			}
			continue
		}
		if len(in.Origins) > 0 {
			p := int(in.Origins[row].Partition)
			if p < 0 {
				return fmt.Errorf("window: row %d has negative partition %d", row, p)
			}
			for p >= o.valve.Partitions() {
				o.valve.AddPartition(now)
			}
		}
		o.rowKey(in, row)
		if o.w.Kind == Session {
			o.encodeKey()
			o.addSession(in, row, now, out)
		} else {
			o.addPanes(in, row, now, out)
		}
	}
	return nil
}

// advanceNow moves processing time to now and emits the windows that
// ended by then.
func (o *Operator) advanceNow(now int64, out *record.Batch) {
	if now <= o.procW {
		return
	}
	o.procW = now
	o.closeUpTo(now, out)
}
