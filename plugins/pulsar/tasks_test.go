package pulsar

// These tests run the source as tasks (several assigners on one failover
// subscription) against internal/pulsartest with the real client.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluice-io/sluice/plugins"
	"github.com/sluice-io/sluice/plugins/plugintest"
	"github.com/sluice-io/sluice/record"
)

// taskSource builds a failover source of topics reading from the earliest
// message.
func taskSource(t *testing.T, url string, topics ...string) *Source {
	t.Helper()
	quoted := make([]string, len(topics))
	for i, topic := range topics {
		quoted[i] = fmt.Sprintf("%q", topic)
	}
	c, diags := plugintest.Build(SourcePlugin, fmt.Sprintf(`source "pulsar" {
  service_url         = %q
  topics              = [%s]
  subscription        = "s"
  start               = "earliest"
  receiver_queue_size = 100
}`, url, strings.Join(quoted, ", ")), record.Schema{})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	s := c.(*Source)
	s.Conn.OperationTimeout = testTimeout
	return s
}

// tasks follows one assigner: the tasks it owns, from its changes.
type tasks struct {
	t     *testing.T
	a     plugins.TaskAssigner
	owned map[string]bool
	lost  []string // in the order reported
}

func openTasks(t *testing.T, s *Source) *tasks {
	t.Helper()
	a, err := s.OpenTasks(context.Background(), runtime())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return &tasks{t: t, a: a, owned: map[string]bool{}}
}

// waitFor applies the assigner's changes until ok holds of the owned set.
func (ts *tasks) waitFor(what string, ok func(owned []string) bool) {
	ts.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	for !ok(ts.list()) {
		if err := ts.next(ctx); err != nil {
			ts.t.Fatalf("waiting for %s (own %v): %v", what, ts.list(), err)
		}
	}
}

// settle applies the changes of every assigner until ok holds of what
// each owns.
func settle(t *testing.T, what string, ok func(owned ...[]string) bool, all ...*tasks) {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for {
		var owned [][]string
		for _, ts := range all {
			owned = append(owned, ts.list())
		}
		if ok(owned...) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: own %v", what, owned)
		}
		for _, ts := range all {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
			err := ts.next(ctx)
			cancel()
			if err != nil && !errors.Is(err, context.DeadlineExceeded) {
				t.Fatal(err)
			}
		}
	}
}

// next applies the assigner's next change.
func (ts *tasks) next(ctx context.Context) error {
	ts.t.Helper()
	c, err := ts.a.Next(ctx)
	if err != nil {
		return err
	}
	if c.Owned == ts.owned[c.Task] {
		ts.t.Fatalf("change %+v does not change what is owned (%v)", c, ts.list())
	}
	ts.owned[c.Task] = c.Owned
	if !c.Owned {
		delete(ts.owned, c.Task)
		ts.lost = append(ts.lost, c.Task)
	}
	return nil
}

// split reports whether the assigners own two tasks each, 0 to 3 once.
func split(owned ...[]string) bool {
	all := slices.Sorted(slices.Values(slices.Concat(owned...)))
	return len(owned[0]) == 2 && slices.Equal(all, []string{"0", "1", "2", "3"})
}

// oneEach reports whether two assigners own one task each, 0 and 1.
func oneEach(owned ...[]string) bool {
	all := slices.Sorted(slices.Values(slices.Concat(owned...)))
	return len(owned[0]) == 1 && slices.Equal(all, []string{"0", "1"})
}

func (ts *tasks) list() []string { return slices.Sorted(maps.Keys(ts.owned)) }

func count(n int) func([]string) bool {
	return func(owned []string) bool { return len(owned) == n }
}

// taskRead is one record a task reader returned.
type taskRead struct {
	i         int    // the payload's {"i":k}
	topic     string // pulsar.topic
	partition int32  // the reader's partition
	offset    int64
}

// readTask reads n records from r.
func readTask(t *testing.T, r plugins.Reader, n int) []taskRead {
	t.Helper()
	var out []taskRead
	b := record.NewBatch(sourceRecord, 16)
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	for len(out) < n {
		b.Reset()
		if err := r.Read(ctx, b, 16); err != nil {
			t.Fatalf("read %d records of %d: %v", len(out), n, err)
		}
		for row := range b.Rows {
			var m struct{ I int }
			if err := json.Unmarshal(b.Columns[0].StringBytes(row), &m); err != nil {
				t.Fatal(err)
			}
			out = append(out, taskRead{i: m.I, topic: string(b.Columns[1].StringBytes(row)), partition: b.Origins[row].Partition, offset: b.Origins[row].Offset})
		}
	}
	return out
}

// expectNoMore fails if r returns a record within a short while.
func expectNoMore(t *testing.T, r plugins.Reader) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	b := record.NewBatch(sourceRecord, 16)
	if err := r.Read(ctx, b, 16); !errors.Is(err, context.DeadlineExceeded) || b.Rows > 0 {
		t.Fatalf("Read after every message was read: %d rows, %v", b.Rows, err)
	}
}

// inPartition returns the k of the messages produced to partition p.
func inPartition(parts []int32, p int) []int {
	var out []int
	for k, q := range parts {
		if int(q) == p {
			out = append(out, k)
		}
	}
	return out
}

func openTask(t *testing.T, ts *tasks, task string) plugins.Reader {
	t.Helper()
	r, err := ts.a.OpenTask(context.Background(), runtime(), task)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// checkTaskRead checks that reads are exactly the messages of task's
// partition, in order, numbered from 0.
func checkTaskRead(t *testing.T, topic, task string, reads []taskRead, parts []int32) {
	t.Helper()
	p := 0
	fmt.Sscan(task, &p)
	want := inPartition(parts, p)
	var got []int
	for i, r := range reads {
		got = append(got, r.i)
		if r.topic != fmt.Sprintf("%s-partition-%d", topic, p) || r.partition != 0 || r.offset != int64(i) {
			t.Fatalf("task %s: record %d from %s, partition %d, offset %d", task, r.i, r.topic, r.partition, r.offset)
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("task %s read %v, want %v", task, got, want)
	}
}

// TestTasksSplitAndMove: two assigners on a 4-partition topic own two tasks
// each and read exactly their partitions; when one closes, the other gains
// its tasks and reads what it had not acknowledged.
func TestTasksSplitAndMove(t *testing.T) {
	b := startBroker(t)
	topic := "persistent://public/default/t4"
	if err := b.CreateTopic(topic, 4); err != nil {
		t.Fatal(err)
	}
	parts := produce(t, b.URL(), topic, 80)
	src := taskSource(t, b.URL(), topic)
	one, two := openTasks(t, src), openTasks(t, src)
	settle(t, "two tasks each", split, one, two)
	for _, task := range two.list() {
		r := openTask(t, two, task)
		reads := readTask(t, r, len(inPartition(parts, int(task[0]-'0'))))
		checkTaskRead(t, topic, task, reads, parts)
		expectNoMore(t, r)
		if err := r.(plugins.Acknowledger).Commit(0, reads[len(reads)-1].offset); err != nil {
			t.Fatal(err)
		}
	}
	moved := one.list()
	for _, task := range moved {
		r := openTask(t, one, task)
		readTask(t, r, len(inPartition(parts, int(task[0]-'0')))) // not acknowledged
		r.Close()
	}
	one.a.Close()
	if _, err := one.a.Next(context.Background()); err != io.EOF {
		t.Fatalf("Next after Close: %v, want io.EOF", err)
	}
	two.waitFor("4 tasks", count(4))
	for _, task := range moved {
		r := openTask(t, two, task)
		reads := readTask(t, r, len(inPartition(parts, int(task[0]-'0'))))
		checkTaskRead(t, topic, task, reads, parts)
		if err := r.(plugins.Acknowledger).Commit(0, reads[len(reads)-1].offset); err != nil {
			t.Fatal(err)
		}
	}
	waitBacklog(t, b, topic, "s", 0)
}

// TestTasksLossAndResume: a second assigner joining takes tasks from the
// first, which is told it lost them: their readers return no more records
// and end when canceled. The new owner reads what was not acknowledged,
// skipping what a checkpoint of the old owner covered.
func TestTasksLossAndResume(t *testing.T) {
	b := startBroker(t)
	topic := "persistent://public/default/t2"
	if err := b.CreateTopic(topic, 2); err != nil {
		t.Fatal(err)
	}
	parts := produce(t, b.URL(), topic, 60)
	src := taskSource(t, b.URL(), topic)
	one := openTasks(t, src)
	one.waitFor("2 tasks", count(2))
	type run struct {
		r      plugins.Reader
		cancel context.CancelFunc
		reads  []taskRead
	}
	runs := map[string]*run{}
	for _, task := range one.list() {
		ctx, cancel := context.WithCancel(context.Background())
		r, err := one.a.OpenTask(ctx, runtime(), task)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close() })
		n := len(inPartition(parts, int(task[0]-'0')))
		runs[task] = &run{r: r, cancel: cancel, reads: readTask(t, r, n)}
		// A checkpoint covers the first third: its position is what the
		// next owner resumes from; the rest is neither checkpointed nor
		// acknowledged.
		runs[task].reads = runs[task].reads[:n/3]
	}
	two := openTasks(t, src)
	settle(t, "one task each", oneEach, one, two)
	if len(one.lost) != 1 || one.lost[0] != two.list()[0] {
		t.Fatalf("first assigner lost %v, second owns %v", one.lost, two.list())
	}
	movedTask := two.list()[0]
	old := runs[movedTask]
	// The lost task's reader returns nothing more; canceling it ends Read.
	done := make(chan error, 1)
	go func() {
		b := record.NewBatch(sourceRecord, 16)
		err := old.r.Read(context.Background(), b, 16)
		if err == nil && b.Rows > 0 {
			err = fmt.Errorf("%d records after the task was lost", b.Rows)
		}
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("Read of a lost task returned before its context ended: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	old.r.Close()
	if err := <-done; err == nil {
		t.Fatal("Read of a lost task returned no error once closed")
	}
	last := old.reads[len(old.reads)-1]
	pos, err := old.r.(plugins.Resumer).Position(0, last.offset)
	if err != nil {
		t.Fatal(err)
	}
	key := old.r.(plugins.Resumer).PartitionKey(0)
	if want := fmt.Sprintf("%s-partition-%s", topic, movedTask); key != want {
		t.Fatalf("PartitionKey(0) = %q, want %q", key, want)
	}

	r := openTask(t, two, movedTask)
	if err := r.(plugins.Resumer).Resume(map[string][]byte{key: pos}); err != nil {
		t.Fatal(err)
	}
	want := inPartition(parts, int(movedTask[0]-'0'))[len(old.reads):]
	reads := readTask(t, r, len(want))
	var got []int
	for _, rd := range reads {
		got = append(got, rd.i)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("new owner read %v, want %v (after the checkpoint at %d)", got, want, last.i)
	}
	expectNoMore(t, r)
}

// TestTasksCoPartitioned: with two topics of 2 partitions, task i reads
// partition i of each, numbered in the order the topics are listed.
func TestTasksCoPartitioned(t *testing.T) {
	b := startBroker(t)
	clicks, views := "persistent://public/default/clicks", "persistent://public/default/views"
	for _, topic := range []string{clicks, views} {
		if err := b.CreateTopic(topic, 2); err != nil {
			t.Fatal(err)
		}
	}
	clickParts := produce(t, b.URL(), clicks, 20)
	viewParts := produce(t, b.URL(), views, 30)
	one := openTasks(t, taskSource(t, b.URL(), clicks, views))
	one.waitFor("2 tasks", count(2))
	for _, task := range one.list() {
		p := int(task[0] - '0')
		r := openTask(t, one, task)
		if r.Partitions() != 2 {
			t.Fatalf("task %s has %d partitions, want 2", task, r.Partitions())
		}
		for i, topic := range []string{clicks, views} {
			if got, want := r.(plugins.Resumer).PartitionKey(i), fmt.Sprintf("%s-partition-%d", topic, p); got != want {
				t.Fatalf("task %s: PartitionKey(%d) = %q, want %q", task, i, got, want)
			}
		}
		n := len(inPartition(clickParts, p)) + len(inPartition(viewParts, p))
		byPartition := map[int32][]int{}
		for _, rd := range readTask(t, r, n) {
			if !strings.HasSuffix(rd.topic, fmt.Sprintf("-partition-%d", p)) ||
				(rd.partition == 0) != strings.HasPrefix(rd.topic, clicks) {
				t.Fatalf("task %s: record %d of %s in partition %d", task, rd.i, rd.topic, rd.partition)
			}
			byPartition[rd.partition] = append(byPartition[rd.partition], rd.i)
		}
		if !slices.Equal(byPartition[0], inPartition(clickParts, p)) || !slices.Equal(byPartition[1], inPartition(viewParts, p)) {
			t.Fatalf("task %s read %v, want clicks %v and views %v", task, byPartition, inPartition(clickParts, p), inPartition(viewParts, p))
		}
		expectNoMore(t, r)
	}
}

// TestTasksRefused: what cannot run as tasks is refused with a clear
// error, positioned for lint where the configuration alone says so.
func TestTasksRefused(t *testing.T) {
	b := startBroker(t)
	if err := b.CreateTopic("persistent://public/default/p2", 2); err != nil {
		t.Fatal(err)
	}
	if err := b.CreateTopic("persistent://public/default/p3", 3); err != nil {
		t.Fatal(err)
	}
	for _, topic := range []string{"one", "other"} {
		produce(t, b.URL(), topic, 1) // non-partitioned, created on first use
	}
	tests := []struct {
		name  string
		body  string
		diags []string // CheckTasks
		err   string   // OpenTasks
	}{
		{name: "pattern", body: `topics_pattern = "p.*"`, diags: []string{"2:3: Topics pattern cannot run as tasks"}, err: "topics_pattern selects topics"},
		{name: "bounded", body: `topics = ["p2"]
  start  = "earliest"
  end    = "latest"`, diags: []string{"4:3: Bounded read cannot run as tasks"}, err: "end = \"latest\" stops"},
		{name: "shared", body: `topics = ["p2"]
  subscription_type = "shared"`, err: `subscription_type = "shared" cannot run as tasks`},
		{name: "partition counts", body: `topics = ["p2", "p3"]`, err: "(2 partitions) and persistent://public/default/p3 (3 partitions) are not co-partitioned"},
		{name: "non-partitioned topics", body: `topics = ["one", "other"]`, err: "topic persistent://public/default/one is not partitioned"},
		{name: "partitioned and not", body: `topics = ["p2", "one"]`, err: "topic persistent://public/default/one is not partitioned"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, diags := plugintest.Build(SourcePlugin, fmt.Sprintf("source \"pulsar\" {\n  %s\n  service_url = %q\n  subscription = \"s\"\n}", tt.body, b.URL()), record.Schema{})
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			s := c.(*Source)
			s.Conn.OperationTimeout = testTimeout
			if got := plugintest.Summaries(s.CheckTasks()); !slices.Equal(got, tt.diags) {
				t.Fatalf("CheckTasks = %q, want %q", got, tt.diags)
			}
			a, err := s.OpenTasks(context.Background(), runtime())
			if err == nil {
				a.Close()
				t.Fatal("OpenTasks succeeded")
			}
			if !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("OpenTasks: %v, want it to say %q", err, tt.err)
			}
		})
	}
}

// TestTasksSingleTopicNotPartitioned: a non-partitioned topic is task "0".
func TestTasksSingleTopicNotPartitioned(t *testing.T) {
	b := startBroker(t)
	parts := produce(t, b.URL(), "plain", 12)
	one := openTasks(t, taskSource(t, b.URL(), "plain"))
	one.waitFor("task 0", func(owned []string) bool { return slices.Equal(owned, []string{"0"}) })
	r := openTask(t, one, "0")
	if got := len(readTask(t, r, len(parts))); got != len(parts) {
		t.Fatalf("read %d, want %d", got, len(parts))
	}
	if _, err := one.a.OpenTask(context.Background(), runtime(), "0"); err == nil {
		t.Fatal("a second reader of task 0 was opened")
	}
	if _, err := one.a.OpenTask(context.Background(), runtime(), "1"); err == nil {
		t.Fatal("task 1 of a non-partitioned topic was opened")
	}
}

// TestTaskReadTakesWhatIsQueued: once a task's messages are queued for
// its reader, one Read returns them all, as the whole source's reader does
// with the client's queue (not one or two per Read).
func TestTaskReadTakesWhatIsQueued(t *testing.T) {
	b := startBroker(t)
	const n = 60 // fewer than the queue's 100 (receiver_queue_size)
	produce(t, b.URL(), "queued", n)
	one := openTasks(t, taskSource(t, b.URL(), "queued"))
	one.waitFor("task 0", count(1))
	q := one.a.(*taskAssigner).tasks[0].queue
	deadline := time.Now().Add(testTimeout)
	for len(q.out) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d messages queued for the reader", len(q.out), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	r := openTask(t, one, "0")
	batch := record.NewBatch(sourceRecord, n)
	if err := r.Read(context.Background(), batch, n); err != nil || batch.Rows != n {
		t.Fatalf("Read of %d queued messages: %d rows, %v", n, batch.Rows, err)
	}
}

// TestTaskReaderDropsEarlierOwnership: messages queued while this process
// owned a task before (the broker made another consumer active, then
// this one again) are not read by the reader of the later ownership: the
// broker delivers them again.
func TestTaskReaderDropsEarlierOwnership(t *testing.T) {
	b := startBroker(t)
	const n = 10
	produce(t, b.URL(), "periods", n)
	one := openTasks(t, taskSource(t, b.URL(), "periods"))
	one.waitFor("task 0", count(1))
	a := one.a.(*taskAssigner)
	deadline := time.Now().Add(testTimeout)
	for len(a.tasks[0].queue.out) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d messages queued", len(a.tasks[0].queue.out), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	topic := a.tasks[0].parts[0].topic
	a.BecameInactive(nil, topic, 0)
	a.BecameActive(nil, topic, 0)
	expectNoMore(t, openTask(t, one, "0"))
}

// The source's own declarations of what it shares.
func TestSourceSplitsAndRoutes(t *testing.T) {
	for _, tt := range []struct {
		src    string
		splits bool
		fields []string
		diags  []string
	}{
		{src: `topics = ["t"]
  partitioned_by = ["user_id", "device"]`, splits: true, fields: []string{"user_id", "device"}},
		{src: `topics = ["t"]
  subscription_type = "exclusive"`},
		{src: `topics = ["t"]
  partitioned_by = []`, splits: true, diags: []string{"4:20: Empty partitioned_by"}},
		{src: `topics = ["t"]
  partitioned_by = ["a", "a"]`, splits: true, fields: []string{"a"}, diags: []string{"4:26: Duplicate field"}},
	} {
		c, diags := plugintest.Build(SourcePlugin, "source \"pulsar\" {\n  subscription = \"s\"\n  "+tt.src+"\n}", record.Schema{})
		if got := plugintest.Summaries(diags); !slices.Equal(got, tt.diags) {
			t.Fatalf("%s: diagnostics %q, want %q", tt.src, got, tt.diags)
		}
		s := c.(*Source)
		if ok, _ := s.SplitsTasks(); ok != tt.splits {
			t.Fatalf("%s: SplitsTasks = %v", tt.src, ok)
		}
		if fields, _ := s.PartitionedBy(); !slices.Equal(fields, tt.fields) {
			t.Fatalf("%s: PartitionedBy = %q, want %q", tt.src, fields, tt.fields)
		}
	}
}
