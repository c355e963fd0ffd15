package pulsar

import (
	"context"
	"fmt"
	"strconv"

	pulsarapi "github.com/apache/pulsar-client-go/pulsar"
)

// This file keeps where each publisher's counter started, for the one
// case a checkpoint cannot tell: a run that starts afresh (Recover without
// a manifest) because the runs before it never completed a checkpoint.
// Their source acknowledged nothing, so this run reads and writes the very
// rows they wrote, in the same order: it must number them from the same
// start, or the broker stores them again. A run that starts afresh after a
// committed checkpoint (--reset-state, or a pipeline without checkpoints,
// whose source acknowledged what its commits covered) writes new rows and
// starts above every id the broker has seen.
//
// The starts and commits are records on a topic beside the shuffle's,
// TOPIC-sluice-state, of one partition (created as the shuffle's is): a
// message without payload whose
// properties name the producer, the kind of record and, for a start, the
// counter it started at. A publisher writes a start when it starts afresh
// above the broker's ids and a commit at its first Commit; starting
// afresh, it reads the topic and continues from the last start of its
// producer name when no commit followed it. A durable subscription keeps
// the records from retention.

// The properties of a state record.
const (
	stateProducer = "sluice-producer" // the publisher's producer name
	stateKind     = "sluice-state"    // stateStarted or stateCommitted
	stateBase     = "sluice-base"     // a start's first counter
)

// The kinds of state records.
const (
	stateStarted   = "started"
	stateCommitted = "committed"
)

// stateSubscription is the durable subscription that keeps the state
// records.
const stateSubscription = "sluice-state"

// stateTopic is the state topic of a shuffle's topic.
func stateTopic(topic string) string { return topic + "-sluice-state" }

// statePartition is the one partition of the state topic, which the
// publisher reads and writes.
func statePartition(topic string) string { return stateTopic(topic) + "-partition-0" }

// lastStart returns the counter the last start of the publisher's
// producer name began at, and false when there is none or a commit
// followed it.
func (p *publisher) lastStart(ctx context.Context) (int64, bool, error) {
	rd, err := p.client.CreateReader(pulsarapi.ReaderOptions{Topic: statePartition(p.r.Topic), StartMessageID: pulsarapi.EarliestMessageID()})
	if err != nil {
		return 0, false, fmt.Errorf("reading %s: %w", stateTopic(p.r.Topic), p.r.Conn.explain(err))
	}
	defer rd.Close()
	var base int64
	started := false
	for rd.HasNext() {
		msg, err := rd.Next(ctx)
		if err != nil {
			return 0, false, fmt.Errorf("reading %s: %w", stateTopic(p.r.Topic), p.r.Conn.explain(err))
		}
		props := msg.Properties()
		if props[stateProducer] != p.name {
			continue
		}
		switch props[stateKind] {
		case stateStarted:
			if b, err := strconv.ParseInt(props[stateBase], 10, 64); err == nil {
				base, started = b, true
			}
		case stateCommitted:
			started = false
		}
	}
	return base, started, nil
}

// writeState appends a record of kind to the state topic and waits until
// the broker stored it.
func (p *publisher) writeState(ctx context.Context, kind string, base int64) error {
	if p.state == nil {
		topic := statePartition(p.r.Topic)
		// The subscription keeps the records from retention.
		sub, err := p.client.Subscribe(pulsarapi.ConsumerOptions{Topic: topic, SubscriptionName: stateSubscription, Type: pulsarapi.Shared})
		if err != nil {
			return fmt.Errorf("subscribing to %s: %w", topic, p.r.Conn.explain(err))
		}
		sub.Close()
		prod, err := p.client.CreateProducer(pulsarapi.ProducerOptions{Topic: topic, DisableBatching: true})
		if err != nil {
			return fmt.Errorf("creating a producer on %s: %w", topic, p.r.Conn.explain(err))
		}
		p.state = prod
	}
	props := map[string]string{stateProducer: p.name, stateKind: kind}
	if kind == stateStarted {
		props[stateBase] = strconv.FormatInt(base, 10)
	}
	if _, err := p.state.Send(ctx, &pulsarapi.ProducerMessage{Payload: []byte{}, Properties: props}); err != nil {
		return fmt.Errorf("writing to %s: %w", stateTopic(p.r.Topic), p.r.Conn.explain(err))
	}
	return nil
}
