package eventtime

// Generator is the watermark generator of one source partition at one stage.
// It tracks max_p, the largest event time among the partition's records that
// reached the stage (records dropped or dead-lettered earlier never reach it
// and are never observed), and the processing time of the partition's last
// delivery, from which idleness is decided.
//
// A delivery's processing time is the now of the first Tick after the
// Observe calls it consists of: the scheduler observes a record, then ticks
// with the processing time it read for the batch.
//
// Not safe for concurrent use.
type Generator struct {
	max     int64 // largest observed event time; NoWatermark before the first record
	last    int64 // processing time of the last delivery (or of creation)
	pending bool  // Observe was called since the last Tick
}

// NewGenerator returns a generator for a partition that became known at
// processing time now and has not delivered anything yet. Until it delivers,
// its Max is NoWatermark, which holds a Valve back until the partition is idle
// (as in Flink, an input without a watermark holds the valve back), and its
// idleness clock runs from now.
func NewGenerator(now int64) Generator {
	return Generator{max: NoWatermark, last: now}
}

// Observe records one record of the partition with the given event time.
// Out-of-order records never lower Max. It does not allocate.
func (g *Generator) Observe(eventTime int64) {
	if eventTime > g.max {
		g.max = eventTime
	}
	g.pending = true
}

// Tick stamps the records observed since the previous Tick as delivered at
// processing time now, and reports whether the partition is active at now:
// it is idle when idleTimeout > 0 and it has delivered nothing for at least
// idleTimeout milliseconds (now − last delivery ≥ idleTimeout). An
// idleTimeout ≤ 0 means the partition never becomes idle. A clock that moved
// backwards never makes a partition idle.
func (g *Generator) Tick(now, idleTimeout int64) (active bool) {
	if g.pending {
		g.last = now
		g.pending = false
	}
	return idleTimeout <= 0 || now-g.last < idleTimeout
}

// Max returns max_p: the largest event time observed, or NoWatermark if the
// partition has not delivered a record yet.
func (g *Generator) Max() int64 { return g.max }

// LastDelivery returns the processing time of the partition's last delivery,
// or of its creation if it has not delivered yet. Observations not yet
// stamped by Tick are not included.
func (g *Generator) LastDelivery() int64 { return g.last }
