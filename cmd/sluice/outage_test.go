package main

// SIGTERM during a Pulsar outage: `sluice run` reading a topic with
// checkpoints is stopped while its broker is down (after reading, or
// before it ever connected); it must exit 0 within seconds, and the next
// run, once the broker is back, must complete the output with nothing
// lost and nothing written twice.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	pulsarapi "github.com/apache/pulsar-client-go/pulsar"
	pulsarlog "github.com/apache/pulsar-client-go/pulsar/log"

	"github.com/sluice-io/sluice/internal/pulsartest"
)

const (
	outageTopic = "persistent://public/default/outage-events"
	outageSub   = "sluice-outage"
	// outageStopWithin is how soon after SIGTERM a run must have exited.
	outageStopWithin = 5 * time.Second
)

// outagePipeline copies every message of the topic, parsed, to an NDJSON
// file that commits at each checkpoint.
const outagePipeline = `pipeline "outage" {
  instances = 1
  source "pulsar" {
    service_url         = %q
    topics              = [%q]
    subscription        = %q
    subscription_type   = "failover"
    start               = "earliest"
    receiver_queue_size = 20
  }
  parse "json" {
    field "seq" { type = "int" }
    on_error = "fail"
  }
  sink "file" "out" {
    path = %q
  }
}

checkpoint {
  store = %q
  every = "100ms"
}
`

// outageRun is the files of the pipeline: its HCL file and its output.
type outageRun struct {
	hcl, out string
}

func newOutageRun(t *testing.T, url string) outageRun {
	t.Helper()
	dir := t.TempDir()
	r := outageRun{hcl: filepath.Join(dir, "outage.hcl"), out: filepath.Join(dir, "out.ndjson")}
	must(t, os.WriteFile(r.hcl, fmt.Appendf(nil, outagePipeline, url, outageTopic, outageSub, r.out, "file://"+filepath.Join(dir, "checkpoints")), 0o644))
	return r
}

// seqs returns the seq of every complete line of the output.
func (r outageRun) seqs(t *testing.T) []int {
	t.Helper()
	data, err := os.ReadFile(r.out)
	if os.IsNotExist(err) {
		return nil
	}
	must(t, err)
	data = data[:bytes.LastIndexByte(data, '\n')+1]
	var out []int
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		var rec struct {
			Seq int `json:"seq"`
		}
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("the output holds %q: %v", sc.Text(), err)
		}
		out = append(out, rec.Seq)
	}
	return out
}

// waitFor polls cond until it holds, failing with p's log after a
// generous deadline (the condition depends on p's progress, not on time).
func waitFor(t *testing.T, p *crashProc, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for !cond() {
		if p.done() {
			t.Fatalf("sluice exited (%v) before %s; log:\n%s", p.state, what, p.log.String())
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited 2 min for %s; log:\n%s", what, p.log.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// stopWithin sends SIGTERM to p and fails unless it exits 0 within d.
func stopWithin(t *testing.T, p *crashProc, d time.Duration) {
	t.Helper()
	must(t, p.cmd.Process.Signal(syscall.SIGTERM))
	sent := time.Now()
	select {
	case <-p.exited:
	case <-time.After(d):
		t.Fatalf("sluice still running %v after SIGTERM; log:\n%s", d, p.log.String())
	}
	if !p.state.Success() {
		t.Fatalf("sluice after SIGTERM: %v; log:\n%s", p.state, p.log.String())
	}
	t.Logf("exited 0 %v after SIGTERM", time.Since(sent).Round(time.Millisecond))
}

// outageProduce sends messages {"seq":N} for N in [from, to) to the topic.
func outageProduce(t *testing.T, url string, from, to int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if n := outageProduceUntil(ctx, url, from, to); n != to {
		t.Fatalf("sent messages %d to %d of %d to %d", from, n-1, from, to-1)
	}
}

// outageProduceUntil sends messages {"seq":N} from N = from, one at a
// time, until N = to (to < 0: no end), ctx ends or a send fails, closes
// the producer and returns the N after the last message confirmed. The
// broker stores a message before it confirms it, so it then holds those
// below N, and perhaps the next one.
func outageProduceUntil(ctx context.Context, url string, from, to int) int {
	client, err := pulsarapi.NewClient(pulsarapi.ClientOptions{URL: url, OperationTimeout: 30 * time.Second, Logger: pulsarlog.DefaultNopLogger()})
	if err != nil {
		return from
	}
	defer client.Close()
	producer, err := client.CreateProducer(pulsarapi.ProducerOptions{Topic: outageTopic})
	if err != nil {
		return from
	}
	defer producer.Close()
	seq := from
	for ; to < 0 || seq < to; seq++ {
		if _, err := producer.Send(ctx, &pulsarapi.ProducerMessage{Payload: fmt.Appendf(nil, `{"seq":%d}`, seq), Key: fmt.Sprint(seq)}); err != nil {
			break
		}
	}
	return seq
}

// checkExactly fails unless got holds every number of [0, n) once.
func checkExactly(t *testing.T, got []int, n int) {
	t.Helper()
	seen := make([]int, n)
	var extra []int
	for _, s := range got {
		if s < 0 || s >= n {
			extra = append(extra, s)
			continue
		}
		seen[s]++
	}
	var lost, twice []int
	for s, k := range seen {
		switch {
		case k == 0:
			lost = append(lost, s)
		case k > 1:
			twice = append(twice, s)
		}
	}
	if len(lost)+len(twice)+len(extra) > 0 {
		t.Fatalf("output of %d rows for %d messages: lost %v, written twice %v, unexpected %v", len(got), n, lost, twice, extra)
	}
}

// outageSubscribed reports whether every partition of the topic has a
// consumer on the subscription.
func outageSubscribed(b *pulsartest.Broker) bool {
	st := b.Stats(outageTopic)
	for _, p := range st.Partitions {
		if p.Subscriptions[outageSub].Consumers == 0 {
			return false
		}
	}
	return len(st.Partitions) > 0
}

// brokerReconnecting reports whether p's Pulsar client logged a failed
// attempt to connect.
func brokerReconnecting(p *crashProc) bool {
	return strings.Contains(p.log.String(), "Failed to connect to broker")
}

func TestPulsarOutageStop(t *testing.T) {
	if testing.Short() {
		t.Skip("runs sluice processes against a broker that is stopped and restarted")
	}
	t.Run("while reading", func(t *testing.T) {
		cb := startCrashBroker(t)
		must(t, cb.broker().CreateTopic(outageTopic, 2))
		run := newOutageRun(t, cb.url())

		// Messages arrive while the run reads them; the broker stops once
		// a checkpoint committed output, with messages read and not yet
		// acknowledged.
		first := startCrashProc(t, run.hcl, nil)
		waitFor(t, first, "the consumer to attach", func() bool { return outageSubscribed(cb.broker()) })
		ctx, stopProducing := context.WithCancel(context.Background())
		produced := make(chan int, 1)
		go func() { produced <- outageProduceUntil(ctx, cb.url(), 0, -1) }()
		waitFor(t, first, "a checkpoint's output", func() bool { return len(run.seqs(t)) > 0 })
		stopProducing()
		confirmed := <-produced
		must(t, cb.broker().Close())
		waitFor(t, first, "the client to try to reconnect", func() bool { return brokerReconnecting(first) })
		stopWithin(t, first, outageStopWithin)
		committed := run.seqs(t)

		// The broker comes back with the messages and the positions it
		// stored; more messages arrive while sluice is stopped.
		cb.restart(t)
		stored := int(cb.broker().Stats(outageTopic).Messages())
		if stored < confirmed || stored > confirmed+1 {
			t.Fatalf("the broker stored %d messages; %d were confirmed", stored, confirmed)
		}
		t.Logf("the first run committed %d rows of %d messages", len(committed), stored)
		total := stored + 200
		outageProduce(t, cb.url(), stored, total)
		second := startCrashProc(t, run.hcl, nil)
		waitFor(t, second, "every message to be committed", func() bool { return len(run.seqs(t)) >= total })
		stopWithin(t, second, 20*time.Second)
		if !strings.Contains(second.log.String(), "resuming from checkpoint") {
			t.Errorf("the second run did not resume from a checkpoint; log:\n%s", second.log.String())
		}
		all := run.seqs(t)
		if !slices.Equal(all[:len(committed)], committed) {
			t.Fatalf("the second run changed the first run's output")
		}
		checkExactly(t, all, total)
		if backlog := cb.broker().Stats(outageTopic).Backlog(outageSub); backlog != 0 {
			t.Errorf("backlog %d after the second run, want 0", backlog)
		}
	})
	t.Run("before connecting", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		must(t, err)
		addr := l.Addr().String()
		must(t, l.Close())
		run := newOutageRun(t, "pulsar://"+addr)

		first := startCrashProc(t, run.hcl, nil)
		waitFor(t, first, "a failed attempt to connect", func() bool { return brokerReconnecting(first) })
		stopWithin(t, first, outageStopWithin)

		// The broker starts on that address.
		b, err := pulsartest.Start(pulsartest.Options{Addr: addr, DataDir: filepath.Join(t.TempDir(), "broker")})
		must(t, err)
		t.Cleanup(func() { b.Close() })
		must(t, b.CreateTopic(outageTopic, 2))
		outageProduce(t, b.URL(), 0, 200)
		second := startCrashProc(t, run.hcl, nil)
		waitFor(t, second, "the 200 messages to be committed", func() bool { return len(run.seqs(t)) >= 200 })
		stopWithin(t, second, 20*time.Second)
		checkExactly(t, run.seqs(t), 200)
	})
}
