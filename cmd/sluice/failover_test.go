package main

// Two `sluice run` processes on one failover subscription split the
// partitions of a topic; when one is stopped with SIGTERM, the other takes
// its partitions over, and no message is lost or written twice.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	pulsarapi "github.com/apache/pulsar-client-go/pulsar"
	pulsarlog "github.com/apache/pulsar-client-go/pulsar/log"

	"github.com/sluice-io/sluice/internal/pulsartest"
)

const (
	failoverTopic      = "persistent://public/default/failover-events"
	failoverSub        = "sluice-failover"
	failoverPartitions = 4
)

// failoverPipeline writes every message, parsed, to the NDJSON file named
// by SLUICE_FAILOVER_OUT: each process started with its own file shows
// what that process consumed.
const failoverPipeline = `pipeline "failover" {
  source "pulsar" {
    service_url         = env("SLUICE_FAILOVER_URL")
    topics              = [%q]
    subscription        = %q
    subscription_type   = "failover"
    start               = "earliest"
    receiver_queue_size = 20
  }
  parse "json" {
    field "p" { type = "int" }
    field "seq" { type = "int" }
    on_error = "fail"
  }
  sink "file" "out" {
    path = env("SLUICE_FAILOVER_OUT")
  }
}
`

// failoverMsg identifies a message: its partition and its sequence number
// in the partition, from 0.
type failoverMsg struct {
	P   int `json:"p"`
	Seq int `json:"seq"`
}

// failoverLog is a bytes.Buffer safe to read while a process writes it.
type failoverLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *failoverLog) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *failoverLog) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// failoverProc is a `sluice run` process of the pipeline.
type failoverProc struct {
	name   string
	out    string
	cmd    *exec.Cmd
	stderr failoverLog
	exited chan struct{}
	err    error // set when exited is closed
}

func startFailoverProc(t *testing.T, name, url, pipeline, out string) *failoverProc {
	t.Helper()
	p := &failoverProc{name: name, out: out, exited: make(chan struct{})}
	p.cmd = exec.Command(os.Args[0], "run", "--log-format", "json", pipeline)
	p.cmd.Env = append(os.Environ(), "SLUICE_TEST_MAIN=1", "SLUICE_FAILOVER_URL="+url, "SLUICE_FAILOVER_OUT="+out,
		// Under -race, exit at once rather than after the detector's 1 s.
		"GORACE="+strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
	p.cmd.Stderr = &p.stderr
	must(t, p.cmd.Start())
	go func() {
		p.err = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			p.cmd.Process.Kill()
			<-p.exited
		}
	})
	return p
}

// stop sends SIGTERM and waits for a clean exit.
func (p *failoverProc) stop(t *testing.T) {
	t.Helper()
	must(t, p.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case <-p.exited:
	case <-time.After(20 * time.Second):
		t.Fatalf("%s still running 20 s after SIGTERM; log:\n%s", p.name, p.stderr.String())
	}
	if p.err != nil {
		t.Fatalf("%s: exit after SIGTERM: %v; log:\n%s", p.name, p.err, p.stderr.String())
	}
}

// rows returns the complete lines of the process's output file.
func (p *failoverProc) rows(t *testing.T) []failoverMsg {
	t.Helper()
	data, err := os.ReadFile(p.out)
	if os.IsNotExist(err) {
		return nil
	}
	must(t, err)
	if i := bytes.LastIndexByte(data, '\n'); i >= 0 {
		data = data[:i+1]
	} else {
		data = nil
	}
	var rows []failoverMsg
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		var m failoverMsg
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("%s wrote %q: %v", p.name, sc.Text(), err)
		}
		rows = append(rows, m)
	}
	return rows
}

// finished returns the counters the process logged when its pipeline
// ended.
func (p *failoverProc) finished(t *testing.T) map[string]any {
	t.Helper()
	for _, line := range strings.Split(p.stderr.String(), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) == nil && rec["msg"] == "pipeline finished" {
			return rec
		}
	}
	t.Fatalf("%s logged no pipeline summary:\n%s", p.name, p.stderr.String())
	return nil
}

// failoverProducer sends {"p":P,"seq":N} messages to each partition
// explicitly, numbering them per partition, and remembers how many each
// partition received.
type failoverProducer struct {
	producers []pulsarapi.Producer

	mu   sync.Mutex
	sent []int // per partition: messages the broker stored
}

func newFailoverProducer(t *testing.T, url string) *failoverProducer {
	t.Helper()
	client, err := pulsarapi.NewClient(pulsarapi.ClientOptions{URL: url, OperationTimeout: 10 * time.Second, Logger: pulsarlog.DefaultNopLogger()})
	must(t, err)
	t.Cleanup(client.Close)
	fp := &failoverProducer{sent: make([]int, failoverPartitions)}
	for i := range failoverPartitions {
		p, err := client.CreateProducer(pulsarapi.ProducerOptions{Topic: fmt.Sprintf("%s-partition-%d", failoverTopic, i), DisableBatching: true})
		must(t, err)
		t.Cleanup(p.Close)
		fp.producers = append(fp.producers, p)
	}
	return fp
}

// sendRound sends the next message of every partition.
func (fp *failoverProducer) sendRound(ctx context.Context) error {
	for p, pr := range fp.producers {
		fp.mu.Lock()
		seq := fp.sent[p]
		fp.mu.Unlock()
		if _, err := pr.Send(ctx, &pulsarapi.ProducerMessage{Payload: fmt.Appendf(nil, `{"p":%d,"seq":%d}`, p, seq)}); err != nil {
			return fmt.Errorf("sending message %d of partition %d: %w", seq, p, err)
		}
		fp.mu.Lock()
		fp.sent[p]++
		fp.mu.Unlock()
	}
	return nil
}

// sendBurst sends rounds messages to every partition without waiting for
// each receipt, so that the consumers fall behind.
func (fp *failoverProducer) sendBurst(ctx context.Context, rounds int) error {
	var (
		wg       sync.WaitGroup
		errMu    sync.Mutex
		firstErr error
	)
	base := fp.counts()
	for k := range rounds {
		for p, pr := range fp.producers {
			wg.Add(1)
			msg := &pulsarapi.ProducerMessage{Payload: fmt.Appendf(nil, `{"p":%d,"seq":%d}`, p, base[p]+k)}
			pr.SendAsync(ctx, msg, func(_ pulsarapi.MessageID, _ *pulsarapi.ProducerMessage, err error) {
				defer wg.Done()
				if err != nil {
					errMu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("sending message %d of partition %d: %w", base[p]+k, p, err)
					}
					errMu.Unlock()
					return
				}
				// Receipts come in order: sent counts the messages stored.
				fp.mu.Lock()
				fp.sent[p]++
				fp.mu.Unlock()
			})
		}
	}
	for _, pr := range fp.producers {
		if err := pr.FlushWithCtx(ctx); err != nil {
			return err
		}
	}
	wg.Wait()
	return firstErr
}

// counts returns how many messages each partition received so far.
func (fp *failoverProducer) counts() []int {
	fp.mu.Lock()
	defer fp.mu.Unlock()
	return slices.Clone(fp.sent)
}

// failoverWait polls cond until it holds, failing after timeout with what
// describes the state.
func failoverWait(t *testing.T, timeout time.Duration, what string, cond func() bool, state func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for %s; %s", timeout, what, state())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// failoverConsumers returns the number of consumers of the subscription on each
// partition.
func failoverConsumers(b *pulsartest.Broker) []int {
	var n []int
	for _, p := range b.Stats(failoverTopic).Partitions {
		n = append(n, p.Subscriptions[failoverSub].Consumers)
	}
	return n
}

// failoverPartitionsOf returns the partitions of the rows from sequence
// fromSeq[partition] on.
func failoverPartitionsOf(rows []failoverMsg, fromSeq []int) map[int]bool {
	ps := map[int]bool{}
	for _, m := range rows {
		if m.Seq >= fromSeq[m.P] {
			ps[m.P] = true
		}
	}
	return ps
}

// TestFailoverTakeover runs two sluice processes, A and B, on one failover
// subscription of a 4-partition topic while messages keep coming:
//
//  1. A alone consumes and acknowledges everything sent so far;
//  2. B joins: each partition's messages now go to exactly one of them, two
//     partitions each (the broker's failover assignment);
//  3. A gets SIGTERM: it drains (what it read is written and acknowledged)
//     and exits 0; B takes A's partitions over, starting with the messages
//     A had received but not processed.
//
// At the end every message sent is in A's or B's output exactly once: a
// graceful stop acknowledges everything it wrote (the client flushes its
// acknowledgements before closing), so nothing is delivered again to B.
func TestFailoverTakeover(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two processes for seconds")
	}
	start := time.Now()
	b, err := pulsartest.Start(pulsartest.Options{})
	must(t, err)
	t.Cleanup(func() { b.Close() })
	must(t, b.CreateTopic(failoverTopic, failoverPartitions))
	dir := t.TempDir()
	pipeline := filepath.Join(dir, "failover.hcl")
	must(t, os.WriteFile(pipeline, fmt.Appendf(nil, failoverPipeline, failoverTopic, failoverSub), 0o644))
	prod := newFailoverProducer(t, b.URL())
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Second)
	defer cancel()
	backlog := func() int64 { return b.Stats(failoverTopic).Backlog(failoverSub) }

	// 1. A alone.
	a := startFailoverProc(t, "A", b.URL(), pipeline, filepath.Join(dir, "a.ndjson"))
	failoverWait(t, 15*time.Second, "A to subscribe to every partition",
		func() bool { return slices.Equal(failoverConsumers(b), []int{1, 1, 1, 1}) },
		func() string {
			return fmt.Sprintf("consumers %v; A's log:\n%s", failoverConsumers(b), a.stderr.String())
		})
	const phase1 = 20
	for range phase1 {
		must(t, prod.sendRound(ctx))
	}
	failoverWait(t, 15*time.Second, "A to write and acknowledge the first messages",
		func() bool { return len(a.rows(t)) == phase1*failoverPartitions && backlog() == 0 },
		func() string {
			return fmt.Sprintf("A wrote %d rows, backlog %d; A's log:\n%s", len(a.rows(t)), backlog(), a.stderr.String())
		})

	// 2. B joins; messages keep coming.
	bp := startFailoverProc(t, "B", b.URL(), pipeline, filepath.Join(dir, "b.ndjson"))
	failoverWait(t, 15*time.Second, "B to subscribe to every partition",
		func() bool { return slices.Equal(failoverConsumers(b), []int{2, 2, 2, 2}) },
		func() string {
			return fmt.Sprintf("consumers %v; B's log:\n%s", failoverConsumers(b), bp.stderr.String())
		})
	joined := prod.counts()
	stopSending := make(chan struct{})
	burst := make(chan int)
	sendErr := make(chan error, 1)
	go func() {
		tick := time.NewTicker(5 * time.Millisecond) // pacing, not synchronization
		defer tick.Stop()
		for {
			var err error
			select {
			case <-stopSending:
				sendErr <- nil
				return
			case n := <-burst:
				err = prod.sendBurst(ctx, n)
			case <-tick.C:
				err = prod.sendRound(ctx)
			}
			if err != nil {
				sendErr <- err
				return
			}
		}
	}()
	sending := true
	stopProducer := func() {
		if sending {
			close(stopSending)
			sending = false
			must(t, <-sendErr)
		}
	}
	t.Cleanup(stopProducer)
	// Wait until both processes wrote a good number of messages of every
	// partition since B joined.
	var ownedA, ownedB map[int]bool
	written := make([]int, failoverPartitions)
	failoverWait(t, 15*time.Second, "both processes to write 20 messages of every partition",
		func() bool {
			rowsA, rowsB := a.rows(t), bp.rows(t)
			ownedA, ownedB = failoverPartitionsOf(rowsA, joined), failoverPartitionsOf(rowsB, joined)
			clear(written)
			for _, m := range append(rowsA, rowsB...) {
				if m.Seq >= joined[m.P] {
					written[m.P]++
				}
			}
			return slices.Min(written) >= 20
		},
		func() string {
			return fmt.Sprintf("written per partition since B joined %v, by A %v, by B %v", written, ownedA, ownedB)
		})
	// Each partition goes to exactly one process, two each.
	for p := range ownedA {
		if ownedB[p] {
			t.Errorf("partition %d delivered to both processes after B joined", p)
		}
	}
	if len(ownedA) != 2 || len(ownedB) != 2 {
		t.Errorf("after B joined A reads partitions %v and B %v; want two each", slices.Sorted(maps.Keys(ownedA)), slices.Sorted(maps.Keys(ownedB)))
	}

	// 3. A stops in the middle of a burst; B takes over while messages
	// keep coming.
	burstFrom := prod.counts()
	select {
	case burst <- 1000:
	case err := <-sendErr:
		sending = false
		t.Fatalf("producer stopped: %v", err)
	}
	inBurst := func(rows []failoverMsg) int {
		n := 0
		for _, m := range rows {
			if m.Seq >= burstFrom[m.P] {
				n++
			}
		}
		return n
	}
	failoverWait(t, 15*time.Second, "A to write messages of the burst",
		func() bool { return inBurst(a.rows(t)) >= 20 },
		func() string { return fmt.Sprintf("A wrote %d messages of the burst", inBurst(a.rows(t))) })
	var unackedA int64
	for p, ps := range b.Stats(failoverTopic).Partitions {
		if ownedA[p] {
			unackedA += ps.Subscriptions[failoverSub].Unacked
		}
	}
	writtenAtTerm := len(a.rows(t))
	stopStart := time.Now()
	a.stop(t)
	atExit := prod.counts()
	t.Logf("A got SIGTERM with %d messages dispatched to it and not acknowledged, wrote %d more rows, exited after %v",
		unackedA, len(a.rows(t))-writtenAtTerm, time.Since(stopStart).Round(time.Millisecond))
	failoverWait(t, 20*time.Second, "B to write messages of A's partitions sent after A exited",
		func() bool { return len(failoverPartitionsOf(bp.rows(t), atExit)) == failoverPartitions },
		func() string {
			return fmt.Sprintf("B wrote partitions %v since A exited; B's log:\n%s", failoverPartitionsOf(bp.rows(t), atExit), bp.stderr.String())
		})
	stopProducer()
	sent := prod.counts()
	total := 0
	for _, n := range sent {
		total += n
	}
	failoverWait(t, 20*time.Second, "every message to be written and acknowledged",
		func() bool { return len(a.rows(t))+len(bp.rows(t)) >= total && backlog() == 0 },
		func() string {
			return fmt.Sprintf("%d messages sent, A wrote %d, B %d, backlog %d; B's log:\n%s", total, len(a.rows(t)), len(bp.rows(t)), backlog(), bp.stderr.String())
		})
	bp.stop(t)

	// Every message exactly once over both outputs.
	rowsA, rowsB := a.rows(t), bp.rows(t)
	seen := map[failoverMsg][]string{}
	for _, m := range rowsA {
		seen[m] = append(seen[m], "A")
	}
	for _, m := range rowsB {
		seen[m] = append(seen[m], "B")
	}
	var lost, doubled []string
	for p, n := range sent {
		for seq := range n {
			m := failoverMsg{p, seq}
			switch w := seen[m]; {
			case len(w) == 0:
				lost = append(lost, fmt.Sprintf("%d/%d", p, seq))
			case len(w) > 1:
				doubled = append(doubled, fmt.Sprintf("%d/%d in %s", p, seq, strings.Join(w, "+")))
			}
			delete(seen, m)
		}
	}
	if len(lost) > 0 {
		t.Errorf("%d messages lost (partition/seq): %v", len(lost), lost)
	}
	if len(doubled) > 0 {
		t.Errorf("%d messages written twice: %v", len(doubled), doubled)
	}
	if len(seen) > 0 {
		t.Errorf("rows that were never sent: %v", seen)
	}
	// A wrote only its own partitions after B joined, and on each of them
	// B starts right after A's last message.
	lastA := map[int]int{}
	for _, m := range rowsA {
		if m.Seq >= joined[m.P] && !ownedA[m.P] {
			t.Errorf("A wrote %d/%d of a partition B owned", m.P, m.Seq)
		}
		lastA[m.P] = max(lastA[m.P], m.Seq)
	}
	for p := range ownedA {
		firstB := -1
		for _, m := range rowsB {
			if m.P == p && (firstB < 0 || m.Seq < firstB) {
				firstB = m.Seq
			}
		}
		if firstB != lastA[p]+1 {
			t.Errorf("partition %d: A wrote up to %d, B starts at %d", p, lastA[p], firstB)
		}
		t.Logf("partition %d: A wrote 0..%d, B from %d to %d", p, lastA[p], firstB, sent[p]-1)
	}
	// A's graceful stop wrote everything it read.
	sumA := a.finished(t)
	if in, emitted := sumA["records_in"], sumA["emitted"]; in != float64(len(rowsA)) || emitted != float64(len(rowsA)) {
		t.Errorf("A read %v records and emitted %v, its file holds %d rows", in, emitted, len(rowsA))
	}
	if sumB := bp.finished(t); sumB["records_in"] != float64(len(rowsB)) {
		t.Errorf("B read %v records, its file holds %d rows", sumB["records_in"], len(rowsB))
	}
	t.Logf("%d messages: A wrote %d, B %d; A owned partitions %v; %v", total, len(rowsA), len(rowsB),
		slices.Sorted(maps.Keys(ownedA)), time.Since(start).Round(time.Millisecond))
}
