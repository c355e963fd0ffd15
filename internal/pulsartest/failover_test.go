package pulsartest

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
)

// activeSet records, through the client's EventListener, which partitions
// a failover consumer is told it is active on.
type activeSet struct {
	mu     sync.Mutex
	active map[string]bool
	events int
}

func (a *activeSet) BecameActive(_ pulsar.Consumer, topic string, _ int32) { a.set(topic, true) }

func (a *activeSet) BecameInactive(_ pulsar.Consumer, topic string, _ int32) { a.set(topic, false) }

func (a *activeSet) set(topic string, on bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.active[topic] = on
	a.events++
}

// partitions returns the indexes of the partitions it is active on.
func (a *activeSet) partitions() []int {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []int
	for topic, on := range a.active {
		if on {
			out = append(out, partitionIndex(topic))
		}
	}
	slices.Sort(out)
	return out
}

// TestFailoverActiveConsumerChange checks the broker's choice of the active
// consumer per partition and its ACTIVE_CONSUMER_CHANGE announcements, as
// the client's EventListener sees them: partition i goes to consumer i % n
// of the consumers of the highest priority level sorted by name, and
// closing one moves its partitions and its unacknowledged messages.
func TestFailoverActiveConsumerChange(t *testing.T) {
	b := startBroker(t)
	if err := b.CreateTopic("fo4", 4); err != nil {
		t.Fatal(err)
	}
	c := newClient(t, b)
	ctx := testContext(t, 20*time.Second)
	type member struct {
		name     string
		priority int
	}
	members := []member{{"b", 0}, {"a", 0}, {"standby", 1}}
	listeners := map[string]*activeSet{}
	consumers := map[string]pulsar.Consumer{}
	for _, m := range members {
		l := &activeSet{active: map[string]bool{}}
		cc, err := c.Subscribe(pulsar.ConsumerOptions{
			Topic: "fo4", SubscriptionName: "s", Type: pulsar.Failover, Name: m.name,
			PriorityLevel: m.priority, EventListener: l, SubscriptionInitialPosition: pulsar.SubscriptionPositionEarliest,
		})
		if err != nil {
			t.Fatal(err)
		}
		listeners[m.name], consumers[m.name] = l, cc
	}
	expect := func(want map[string][]int) {
		t.Helper()
		waitFor(t, ctx, fmt.Sprint("active partitions ", want), func() bool {
			for name, parts := range want {
				if !slices.Equal(listeners[name].partitions(), parts) {
					return false
				}
			}
			return true
		})
	}
	// The standby consumer has a lower priority (a higher number): it gets
	// nothing while a consumer of priority 0 is there.
	expect(map[string][]int{"a": {0, 2}, "b": {1, 3}, "standby": nil})

	p, err := c.CreateProducer(pulsar.ProducerOptions{Topic: "fo4", DisableBatching: true})
	if err != nil {
		t.Fatal(err)
	}
	produce(t, ctx, p, "m", 40)
	// "b" takes its messages without acknowledging them, then goes: its
	// partitions move to "a", with the messages it did not acknowledge.
	fromB := receive(t, ctx, consumers["b"], 20, false)
	consumers["b"].Close()
	expect(map[string][]int{"a": {0, 1, 2, 3}, "standby": nil})
	got := payloads(receive(t, ctx, consumers["a"], 40, true))
	for _, m := range payloads(fromB) {
		if !slices.Contains(got, m) {
			t.Fatalf("%s, delivered to b and not acknowledged, did not reach a", m)
		}
	}
	// Without a consumer of priority 0 the standby takes over.
	consumers["a"].Close()
	expect(map[string][]int{"standby": {0, 1, 2, 3}})
	waitFor(t, ctx, "backlog 0", func() bool { return b.Stats("fo4").Backlog("s") == 0 })
}

// TestFailoverJoinTellsOnlyTheNewcomer checks that a consumer joining
// without changing the active one is the only one told (that it is
// inactive), as with Pulsar.
func TestFailoverJoinTellsOnlyTheNewcomer(t *testing.T) {
	b := startBroker(t)
	c := newClient(t, b)
	ctx := testContext(t, 10*time.Second)
	first := &activeSet{active: map[string]bool{}}
	if _, err := c.Subscribe(pulsar.ConsumerOptions{Topic: "fo1", SubscriptionName: "s", Type: pulsar.Failover, Name: "a", EventListener: first}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "a active", func() bool { return slices.Equal(first.partitions(), []int{-1}) })
	second := &activeSet{active: map[string]bool{}}
	if _, err := c.Subscribe(pulsar.ConsumerOptions{Topic: "fo1", SubscriptionName: "s", Type: pulsar.Failover, Name: "z", EventListener: second}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "z told it is inactive", func() bool {
		second.mu.Lock()
		defer second.mu.Unlock()
		return second.events == 1 && !second.active["persistent://public/default/fo1"]
	})
	// The first consumer's connection delivers in order: a ping-pong after
	// the second subscribe would carry any announcement before it.
	if _, err := c.TopicPartitions("fo1"); err != nil {
		t.Fatal(err)
	}
	first.mu.Lock()
	defer first.mu.Unlock()
	if first.events != 1 {
		t.Fatalf("a got %d announcements, want 1 (its own activation)", first.events)
	}
}
