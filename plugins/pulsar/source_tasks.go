package pulsar

// This file runs the source as tasks (plugins.TaskSplitter): several
// sluice processes share one failover subscription, the broker making one
// of them the active consumer of each partition. Task "i" is partition i
// of every topic listed; a process owns it while it is the active consumer
// of all of them.

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"sync"

	pulsarapi "github.com/apache/pulsar-client-go/pulsar"
	"github.com/hashicorp/hcl/v2"

	"github.com/sluice-io/sluice/plugins"
)

var _ plugins.TaskSplitter = (*Source)(nil)

// SplitsTasks reports whether several processes can share the source: a
// failover subscription, positioned at subscription_type.
func (s *Source) SplitsTasks() (bool, hcl.Range) {
	return s.SubscriptionType == Failover, s.SubscriptionTypeRange
}

// CheckTasks reports, from the configuration alone, why this source cannot
// run as tasks: topics_pattern (its topics change while it runs) or a
// bounded read (end). OpenTasks refuses them with the same text; what
// depends on the topics' partitions it checks when it connects.
func (s *Source) CheckTasks() hcl.Diagnostics {
	var diags hcl.Diagnostics
	if s.TopicsPattern != "" {
		diags = append(diags, errorAt(s.at.topicsPattern, "Topics pattern cannot run as tasks",
			"Tasks are the partitions of the topics listed, the same in every process; topics_pattern selects topics that may change while the pipeline runs. "+
				"List the topics in topics, or run the pipeline as one instance (instances = 1)."))
	}
	if s.End != "" {
		diags = append(diags, errorAt(s.at.end, "Bounded read cannot run as tasks",
			"end = \"latest\" stops once every partition is read, which no process of several can tell for the partitions it does not own. "+
				"Remove end, or run the pipeline as one instance (instances = 1)."))
	}
	return diags
}

// OpenTasks connects and subscribes one failover consumer to the topics;
// the broker then tells it which partitions it is active on, which the
// returned assigner reports as tasks gained and lost. Like Open it gives
// up as soon as ctx is done while the broker cannot be reached.
func (s *Source) OpenTasks(ctx context.Context, rt *plugins.Runtime) (plugins.TaskAssigner, error) {
	if s.SubscriptionType != Failover {
		return nil, fmt.Errorf("subscription_type = %q cannot run as tasks: several processes share a source through a %q subscription", s.SubscriptionType, Failover)
	}
	if err := refusal(s.CheckTasks()); err != nil {
		return nil, err
	}
	open := func() (*taskAssigner, error) {
		client, err := s.Conn.newClient(rt)
		if err != nil {
			return nil, err
		}
		a, err := s.openTasks(ctx, rt, client)
		if err != nil {
			client.Close()
			return nil, err
		}
		return a, nil
	}
	a, err := openWithin(ctx, open, func(a *taskAssigner) { a.Close() })
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("stopped while connecting to %s: %w", s.Conn.ServiceURL, err)
		}
		return nil, err
	}
	return a, nil
}

func (s *Source) openTasks(ctx context.Context, rt *plugins.Runtime, client pulsarapi.Client) (*taskAssigner, error) {
	a := &taskAssigner{
		src:     s,
		client:  client,
		byTopic: map[string]*taskPartition{},
		changed: make(chan struct{}, 1),
		done:    make(chan struct{}),
		logger:  slog.New(slog.DiscardHandler),
	}
	if rt != nil && rt.Logger != nil {
		a.logger = rt.Logger
	}
	var byTopic [][]string
	for _, t := range s.Topics {
		parts, err := client.TopicPartitions(t)
		if err != nil {
			return nil, fmt.Errorf("looking up topic %s on %s: %w", t, s.Conn.ServiceURL, s.Conn.explain(err))
		}
		byTopic = append(byTopic, parts)
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	if err := a.makeTasks(byTopic); err != nil {
		return nil, err
	}
	opts := s.consumerOptions()
	opts.EventListener = a
	opts.Interceptors = pulsarapi.ConsumerInterceptors{a}
	consumer, err := client.Subscribe(opts)
	if err != nil {
		return nil, fmt.Errorf("subscribing %q to %s on %s: %w", s.Subscription, s.topicsText(), s.Conn.ServiceURL, s.Conn.explain(err))
	}
	a.consumer = consumer
	a.probe = startProbe(client, a.tasks[0].parts[0].topic)
	for _, t := range a.tasks {
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			t.queue.pump(a.done)
		}()
	}
	a.wg.Add(1)
	go a.demux()
	return a, nil
}

// taskAssigner is a failover consumer of the source's topics shared by the
// tasks this process owns. The client calls BecameActive and
// BecameInactive from its connections' goroutines; one goroutine (demux)
// routes the consumer's messages to the queues of the tasks.
type taskAssigner struct {
	src      *Source
	client   pulsarapi.Client
	consumer pulsarapi.Consumer
	probe    *connectionProbe
	logger   *slog.Logger
	wg       sync.WaitGroup
	done     chan struct{} // closed by Close

	tasks   []*task                   // by index
	byTopic map[string]*taskPartition // by partition topic name

	mu      sync.Mutex
	changes []plugins.TaskChange // not yet returned by Next
	changed chan struct{}        // a change was added (capacity 1)
	closed  bool
	unknown map[string]bool // partition topics warned about
}

// task is partition index of every topic.
type task struct {
	name  string
	parts []*taskPartition // one per topic, in the order listed
	queue *taskQueue

	// Guarded by the assigner's mu:
	owned  bool
	gen    *taskGen // the current ownership, nil when not owned
	reader bool     // a reader of gen is open
}

// taskPartition is one partition topic of a task and whether this
// consumer is active on it. Each time it becomes active starts a new
// period; messages are tagged with the period they arrived in, so that
// those of an earlier one (handed to another consumer since) are dropped.
type taskPartition struct {
	topic string
	task  *task

	// Guarded by the assigner's mu:
	active bool
	period uint64
	// arrived holds, for each message received and not yet routed by the
	// demux, whether the partition was active when it arrived and in which
	// period (see BeforeConsume).
	arrived map[pulsarapi.Message]arrival
}

// arrival is the state of a partition when one of its messages arrived.
type arrival struct {
	active bool
	period uint64
}

// taskGen is one ownership of a task: the periods of its partitions when
// it was gained, and a channel closed when it is lost.
type taskGen struct {
	periods []uint64
	lost    chan struct{}
}

// periodMessage is a message with the period of its partition it arrived
// in.
type periodMessage struct {
	pulsarapi.Message
	period uint64
}

// inPeriod reports whether msg, a message of a task's queue read as
// partition pi of the task, arrived in periods[pi]: while the reader's
// ownership of the task lasts.
func inPeriod(msg pulsarapi.Message, pi int, periods []uint64) bool {
	pm, ok := msg.(periodMessage)
	return ok && pi < len(periods) && pm.period == periods[pi]
}

// makeTasks numbers the tasks from the partitions of each topic, in the
// order the topics are listed: every topic must have the same number of
// partitions, or be the only topic and not partitioned.
func (a *taskAssigner) makeTasks(byTopic [][]string) error {
	topics := a.src.Topics
	n := len(byTopic[0])
	for i, parts := range byTopic {
		if _, idx := splitPartition(parts[0]); idx < 0 && len(topics) > 1 {
			return fmt.Errorf("topic %s is not partitioned, so it cannot be read as tasks with other topics: "+
				"the broker places each non-partitioned topic on a consumer of its own choosing. "+
				"Make the topics partitioned with the same number of partitions, or run the pipeline as one instance (instances = 1)", topics[i])
		}
		if len(parts) != n {
			return fmt.Errorf("topics %s (%d partitions) and %s (%d partitions) are not co-partitioned: "+
				"task i reads partition i of every topic, so they need the same number of partitions. "+
				"Repartition one, or run the pipeline as one instance (instances = 1)", topics[0], n, topics[i], len(parts))
		}
	}
	for i := range n {
		t := &task{name: strconv.Itoa(i), queue: newTaskQueue(a.src.ReceiverQueueSize * len(topics))}
		a.tasks = append(a.tasks, t)
	}
	for _, parts := range byTopic {
		sorted := slices.Clone(parts)
		slices.SortFunc(sorted, comparePartitionTopics)
		for i, name := range sorted {
			p := &taskPartition{topic: name, task: a.tasks[i]}
			a.tasks[i].parts = append(a.tasks[i].parts, p)
			a.byTopic[name] = p
		}
	}
	return nil
}

// BecameActive is called by the client when the broker makes this
// consumer the active one of topic's partition.
func (a *taskAssigner) BecameActive(_ pulsarapi.Consumer, topic string, _ int32) {
	a.setActive(topic, true)
}

// BecameInactive is called by the client when the broker makes another
// consumer the active one of topic's partition.
func (a *taskAssigner) BecameInactive(_ pulsarapi.Consumer, topic string, _ int32) {
	a.setActive(topic, false)
}

// setActive records whether this consumer is active on a partition topic
// and reports the task gained or lost, if any.
func (a *taskAssigner) setActive(topic string, active bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	p, ok := a.byTopic[topic]
	if !ok || a.closed || p.active == active {
		return // not a partition read here, or announced again
	}
	p.active = active
	if active {
		p.period++
		p.forgetOld()
	}
	t := p.task
	owned := true
	for _, q := range t.parts {
		owned = owned && q.active
	}
	if owned == t.owned {
		return
	}
	t.owned = owned
	if owned {
		g := &taskGen{lost: make(chan struct{})}
		for _, q := range t.parts {
			g.periods = append(g.periods, q.period)
		}
		t.gen = g
	} else {
		close(t.gen.lost)
		t.gen, t.reader = nil, false
	}
	a.changes = append(a.changes, plugins.TaskChange{Task: t.name, Owned: owned})
	select {
	case a.changed <- struct{}{}:
	default:
	}
}

var _ pulsarapi.ConsumerInterceptor = (*taskAssigner)(nil)

// BeforeConsume records the period a message arrived in. The client calls
// it from the goroutine of the connection the message came on, in the
// order of the connection's commands, as it calls BecameActive and
// BecameInactive: so the period is exact, where the demux, which takes the
// message off the client's queues later, could see a later period (lost
// and gained again meanwhile) and take a message of the earlier one for a
// current one, ahead of the broker's redelivery of what came before it.
func (a *taskAssigner) BeforeConsume(cm pulsarapi.ConsumerMessage) {
	a.mu.Lock()
	defer a.mu.Unlock()
	p, ok := a.byTopic[cm.Topic()]
	if !ok {
		return
	}
	if p.arrived == nil {
		p.arrived = map[pulsarapi.Message]arrival{}
	}
	p.arrived[cm.Message] = arrival{active: p.active, period: p.period}
}

// OnAcknowledge does nothing.
func (a *taskAssigner) OnAcknowledge(pulsarapi.Consumer, pulsarapi.MessageID) {}

// OnNegativeAcksSend does nothing.
func (a *taskAssigner) OnNegativeAcksSend(pulsarapi.Consumer, []pulsarapi.MessageID) {}

// arrivalOf returns the state of p when msg arrived, and forgets it; a
// message BeforeConsume did not see takes p's current state. The caller
// holds mu.
func (p *taskPartition) arrivalOf(msg pulsarapi.Message) arrival {
	at, ok := p.arrived[msg]
	if !ok {
		return arrival{active: p.active, period: p.period}
	}
	delete(p.arrived, msg)
	return at
}

// forgetOld drops the arrivals of periods before the previous one: the
// messages the client received then and never handed over (it clears its
// queues when it reconnects).
func (p *taskPartition) forgetOld() {
	for m, at := range p.arrived {
		if at.period+1 < p.period {
			delete(p.arrived, m)
		}
	}
}

// demux routes each message of the consumer to its task's queue, tagged
// with the period of its partition it arrived in. A message that arrived
// while this consumer was not active on its partition is dropped
// unacknowledged: the broker delivers it again to the active consumer. It
// never waits for a task (taskQueue).
func (a *taskAssigner) demux() {
	defer a.wg.Done()
	ch := a.consumer.Chan()
	for {
		var cm pulsarapi.ConsumerMessage
		select {
		case cm = <-ch:
		case <-a.done:
			return
		}
		a.mu.Lock()
		p, ok := a.byTopic[cm.Topic()]
		if !ok {
			a.warnUnknown(cm.Topic())
			a.mu.Unlock()
			continue
		}
		at := p.arrivalOf(cm.Message)
		a.mu.Unlock()
		if !at.active {
			continue
		}
		cm.Message = periodMessage{Message: cm.Message, period: at.period}
		p.task.queue.push(cm)
	}
}

// warnUnknown logs, once per topic, a message of a partition created after
// the tasks were numbered. The caller holds mu.
func (a *taskAssigner) warnUnknown(topic string) {
	if a.unknown == nil {
		a.unknown = map[string]bool{}
	}
	if !a.unknown[topic] {
		a.unknown[topic] = true
		a.logger.Warn("pulsar partition created after the pipeline started is not read as a task; restart every instance to read it", "topic", topic)
	}
}

// Next returns the next task gained or lost, in the order the broker
// announced them.
func (a *taskAssigner) Next(ctx context.Context) (plugins.TaskChange, error) {
	for {
		a.mu.Lock()
		switch {
		case a.closed:
			a.mu.Unlock()
			return plugins.TaskChange{}, io.EOF
		case len(a.changes) > 0:
			c := a.changes[0]
			a.changes = a.changes[1:]
			a.mu.Unlock()
			return c, nil
		}
		a.mu.Unlock()
		select {
		case <-a.changed:
		case <-a.done:
		case <-ctx.Done():
			return plugins.TaskChange{}, ctx.Err()
		}
	}
}

// OpenTask returns a reader of task's partitions, numbered in the order
// the topics are listed. Its PartitionKey names are the partition topic
// names, as the whole source's reader names them. Once the task is lost,
// Read returns only when ctx is canceled (or the reader closed): the
// messages it did not return go to the task's next owner.
func (a *taskAssigner) OpenTask(ctx context.Context, rt *plugins.Runtime, name string) (plugins.Reader, error) {
	c, err := a.claim(name)
	if err != nil {
		return nil, err
	}
	r := a.src.newReader(ctx, rt, a.client)
	r.consumer, r.ch, r.probe, r.lost, r.periods, r.release = a.consumer, c.ch, a.probe, c.lost, c.periods, c.release
	for _, p := range c.task.parts {
		r.partition(p.topic)
	}
	r.partitions, r.opened = len(c.task.parts), true
	return r, nil
}

// taskClaim is what the reader of one ownership of a task reads: the
// task's queue, a channel closed when the task is lost, the periods of its
// partitions (see taskPartition) and release, which detaches the reader.
type taskClaim struct {
	task    *task
	ch      <-chan pulsarapi.ConsumerMessage
	lost    <-chan struct{}
	periods []uint64
	release func() error
}

// claim checks that the task named name exists and has no open reader,
// and returns its current ownership for a reader (OpenTask's and the
// repartition block's readers share it). A task lost again before the
// runner saw it gets a claim whose lost channel is closed and that owns no
// period, so that its reader reads nothing until it is canceled.
func (a *taskAssigner) claim(name string) (*taskClaim, error) {
	i, err := strconv.Atoi(name)
	if err != nil || i < 0 || i >= len(a.tasks) || strconv.Itoa(i) != name {
		return nil, fmt.Errorf("no task %q: the tasks of %s are 0 to %d", name, a.src.topicsText(), len(a.tasks)-1)
	}
	t := a.tasks[i]
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return nil, fmt.Errorf("opening task %s: the source is closed", name)
	}
	if t.reader {
		return nil, fmt.Errorf("task %s already has an open reader", name)
	}
	g := t.gen
	if g == nil {
		g = &taskGen{periods: []uint64{}, lost: make(chan struct{})}
		close(g.lost)
	} else {
		t.reader = true
	}
	release := func() error {
		a.mu.Lock()
		if t.gen == g {
			t.reader = false
		}
		a.mu.Unlock()
		return nil
	}
	return &taskClaim{task: t, ch: t.queue.out, lost: g.lost, periods: g.periods, release: release}, nil
}

var _ plugins.TaskCounter = (*taskAssigner)(nil)

// Tasks returns the number of tasks in all processes: the partitions of
// each topic.
func (a *taskAssigner) Tasks() int { return len(a.tasks) }

// Close closes the consumer and the client; the subscription stays, and
// the broker hands this process's partitions to the other consumers. Next
// then returns io.EOF.
func (a *taskAssigner) Close() error {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return nil
	}
	a.closed = true
	close(a.done)
	for _, t := range a.tasks {
		if t.gen != nil {
			close(t.gen.lost)
			t.gen = nil
		}
	}
	a.mu.Unlock()
	a.wg.Wait()
	if a.probe != nil {
		a.probe.Close()
	}
	return closeWithin(closeWait, a.logger, "the consumer", func() error {
		if a.consumer != nil {
			a.consumer.Close()
		}
		a.client.Close()
		return nil
	})
}
