package pulsar

import (
	"context"
	"sync/atomic"
	"time"

	pulsarapi "github.com/apache/pulsar-client-go/pulsar"

	"github.com/sluice-io/sluice/plugins"
)

// How often, and how patiently, a source checks that its broker answers.
const (
	probeEvery   = 2 * time.Second
	probeTimeout = 2 * time.Second
)

// connectionProbe tells whether the broker answers, for readiness checks
// and metrics (plugins.ConnectionReporter): every probeEvery it looks up
// the partitions of one of the source's topics, and a lookup that fails or
// does not answer within probeTimeout marks the source disconnected until
// one succeeds again, which counts as a reconnect. The client retries its
// connections by itself; the probe only observes.
type connectionProbe struct {
	connected  atomic.Bool
	reconnects atomic.Int64
	inflight   atomic.Bool // a lookup that has not answered yet
	stop       context.CancelFunc
}

// startProbe starts watching topic through client until Close.
func startProbe(client pulsarapi.Client, topic string) *connectionProbe {
	ctx, stop := context.WithCancel(context.Background())
	p := &connectionProbe{stop: stop}
	p.connected.Store(true) // Open just reached the broker
	go func() {
		t := time.NewTicker(probeEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				p.check(ctx, client, topic)
			}
		}
	}()
	return p
}

// check looks the topic up once, unless the previous lookup still hangs
// (the client waits up to its operation timeout): then the broker has not
// answered for at least that long.
func (p *connectionProbe) check(ctx context.Context, client pulsarapi.Client, topic string) {
	if !p.inflight.CompareAndSwap(false, true) {
		p.set(false)
		return
	}
	answer := make(chan error, 1)
	go func() {
		_, err := client.TopicPartitions(topic)
		p.inflight.Store(false)
		answer <- err
	}()
	select {
	case err := <-answer:
		p.set(err == nil)
	case <-time.After(probeTimeout):
		p.set(false)
	case <-ctx.Done():
	}
}

func (p *connectionProbe) set(up bool) {
	if was := p.connected.Swap(up); up && !was {
		p.reconnects.Add(1)
	}
}

// Close stops the probe; a lookup under way ends with the client.
func (p *connectionProbe) Close() { p.stop() }

var _ plugins.ConnectionReporter = (*sourceReader)(nil)

// Connected reports whether the broker answered the last check.
func (r *sourceReader) Connected() bool { return r.probe == nil || r.probe.connected.Load() }

// Reconnects counts the times the broker answered again after a check
// found it unreachable.
func (r *sourceReader) Reconnects() int64 {
	if r.probe == nil {
		return 0
	}
	return r.probe.reconnects.Load()
}
