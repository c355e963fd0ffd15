package main

// One owner per pipeline checkpoint store (docs/checkpoints.md): sluice
// processes run on one pipeline and one store, on a local folder and on S3
// (gofakes3 in this process), reading the embedded Pulsar broker.

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	pulsarapi "github.com/apache/pulsar-client-go/pulsar"
	pulsarlog "github.com/apache/pulsar-client-go/pulsar/log"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/sluice-io/sluice/internal/objstore"
	"github.com/sluice-io/sluice/internal/pulsartest"
	"github.com/sluice-io/sluice/runner/checkpoint"
	"github.com/sluice-io/sluice/schema"
)

// leasePipeline reads a topic without end into per-minute counts written
// exactly once to a file: %[1]s the broker, %[2]s the topic, %[3]s the
// subscription, %[4]s the output file, %[5]s the checkpoint store.
const leasePipeline = `pipeline "lease" {
  instances = 1
  source "pulsar" {
    service_url       = %[1]q
    topics            = [%[2]q]
    subscription      = %[3]q
    subscription_type = "failover"
    start             = "earliest"
  }
  parse "json" {
    field "action" { type = "string" }
    field "ts" { type = "timestamp" }
  }
  window "tumbling" {
    event_time = "ts"
    size       = "1m"
    watermark  = "0s"
    group_by   = ["action"]
    aggregate  = { events = "count()" }
  }
  sink "file" "out" { path = %[4]q }

  checkpoint {
    store         = %[5]q
    every         = "100ms"
    lease_timeout = "2s"
  }
}
`

// leaseEvent is one message of the topic.
type leaseEvent struct {
	Action string `json:"action"`
	TS     int64  `json:"ts"` // Unix ms
}

// leaseEvents returns the events of minutes [from, to): one every two
// seconds, in order, their action cycling through three.
func leaseEvents(from, to int) []leaseEvent {
	base := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC).UnixMilli()
	var out []leaseEvent
	for ms := int64(from) * 60_000; ms < int64(to)*60_000; ms += 2000 {
		out = append(out, leaseEvent{Action: []string{"view", "click", "buy"}[ms/2000%3], TS: base + ms})
	}
	return out
}

// leaseModel returns the rows the pipeline writes for events, as
// "window_start action events", sorted: every window before the last
// event's minute (the last event closes them).
func leaseModel(events []leaseEvent) []string {
	last := events[len(events)-1].TS
	counts := map[string]int{}
	for _, e := range events {
		start := e.TS - e.TS%60_000
		if start+60_000 <= last {
			counts[time.UnixMilli(start).UTC().Format("2006-01-02T15:04:05.000Z")+" "+e.Action]++
		}
	}
	var rows []string
	for k, n := range counts {
		rows = append(rows, fmt.Sprintf("%s %d", k, n))
	}
	slices.Sort(rows)
	return rows
}

// leaseRows reads the output file in the model's form, sorted.
func leaseRows(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	must(t, err)
	var rows []string
	for line := range bytes.Lines(data) {
		var r struct {
			Start  string `json:"window_start"`
			Action string `json:"action"`
			Events int    `json:"events"`
		}
		if err := json.Unmarshal(line, &r); err != nil {
			t.Fatalf("output line %q: %v", line, err)
		}
		rows = append(rows, fmt.Sprintf("%s %s %d", r.Start, r.Action, r.Events))
	}
	slices.Sort(rows)
	return rows
}

// leaseBroker is the embedded broker and a producer on the topic.
type leaseBroker struct {
	b        *pulsartest.Broker
	producer pulsarapi.Producer
	topic    string
}

func startLeaseBroker(t *testing.T, topic string) *leaseBroker {
	t.Helper()
	b, err := pulsartest.Start(pulsartest.Options{})
	must(t, err)
	t.Cleanup(func() { b.Close() })
	client, err := pulsarapi.NewClient(pulsarapi.ClientOptions{URL: b.URL(), OperationTimeout: 30 * time.Second, Logger: pulsarlog.DefaultNopLogger()})
	must(t, err)
	t.Cleanup(client.Close)
	producer, err := client.CreateProducer(pulsarapi.ProducerOptions{Topic: topic})
	must(t, err)
	t.Cleanup(producer.Close)
	return &leaseBroker{b: b, producer: producer, topic: topic}
}

func (lb *leaseBroker) produce(t *testing.T, events []leaseEvent) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, e := range events {
		payload, err := json.Marshal(e)
		must(t, err)
		if _, err := lb.producer.Send(ctx, &pulsarapi.ProducerMessage{Payload: payload}); err != nil {
			t.Fatal(err)
		}
	}
}

// acked returns how many messages sub acknowledged, and whether it exists.
func (lb *leaseBroker) acked(sub string) (int64, bool) {
	st := lb.b.Stats(lb.topic)
	for _, p := range st.Partitions {
		if _, ok := p.Subscriptions[sub]; ok {
			return st.Messages() - st.Backlog(sub), true
		}
	}
	return 0, false
}

// leaseProc is one `sluice run` process.
type leaseProc struct {
	cmd    *exec.Cmd
	log    syncBuffer
	exited chan struct{}
}

// syncBuffer is a buffer safe to read while a process writes it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startLeaseProc runs the pipeline file in a sluice process: the test
// binary itself (TestMain), after prefix (a command that runs it) if any.
func startLeaseProc(t *testing.T, pipeline string, env []string, prefix ...string) *leaseProc {
	t.Helper()
	args := append(prefix, os.Args[0], "run", "--log-format", "json", pipeline)
	p := &leaseProc{cmd: exec.Command(args[0], args[1:]...), exited: make(chan struct{})}
	p.cmd.Env = append(append(os.Environ(), "SLUICE_TEST_MAIN=1",
		"GORACE="+strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0")), env...)
	p.cmd.Stdout, p.cmd.Stderr = &p.log, &p.log
	must(t, p.cmd.Start())
	go func() {
		_ = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
		<-p.exited
	})
	return p
}

// pid is the process id of the sluice process (the last of the command
// line: setpriv executes it in its own process).
func (p *leaseProc) pid() int { return p.cmd.Process.Pid }

// wait waits for the process to exit by itself and returns its exit code.
func (p *leaseProc) wait(t *testing.T) int {
	t.Helper()
	select {
	case <-p.exited:
		return p.cmd.ProcessState.ExitCode()
	case <-time.After(60 * time.Second):
		t.Fatalf("sluice still running after 60s; log:\n%s", p.log.String())
		return 0
	}
}

// stop sends SIGTERM and checks the process ends cleanly.
func (p *leaseProc) stop(t *testing.T) {
	t.Helper()
	must(t, p.cmd.Process.Signal(syscall.SIGTERM))
	if code := p.wait(t); code != exitOK {
		t.Fatalf("stopped sluice exited %d; log:\n%s", code, p.log.String())
	}
}

// logged reports whether a JSON log line of the process has msg.
func (p *leaseProc) logged(msg string) bool {
	sc := bufio.NewScanner(strings.NewReader(p.log.String()))
	for sc.Scan() {
		var rec map[string]any
		if json.Unmarshal(sc.Bytes(), &rec) == nil && rec["msg"] == msg {
			return true
		}
	}
	return false
}

// waitUntil polls cond until it holds, failing after timeout.
func waitUntil(t *testing.T, timeout time.Duration, what string, cond func() bool, log func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after %v; log:\n%s", what, timeout, log())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// heldBy checks that a refused process named the holder: its pid and the
// age of its heartbeat.
func heldBy(t *testing.T, p *leaseProc, holder int) {
	t.Helper()
	log := p.log.String()
	if !strings.Contains(log, `pipeline \"lease\" is run by host`) && !strings.Contains(log, `pipeline "lease" is run by host`) ||
		!strings.Contains(log, fmt.Sprintf("pid %d ", holder)) || !strings.Contains(log, "last heartbeat") {
		t.Fatalf("the refusal does not name the holder (pid %d) and its heartbeat:\n%s", holder, log)
	}
}

// TestLease runs two processes on one pipeline and store: the second
// refuses, naming the first. After a kill -9 of the first, a new process
// is refused until the lease is older than lease_timeout, then takes over,
// and the output is exactly the windows of every event. A clean stop
// releases the lease at once; a process whose lease is taken over stops
// before writing another checkpoint.
func TestLease(t *testing.T) {
	if testing.Short() {
		t.Skip("starts, kills and restarts sluice processes for several seconds")
	}
	t.Run("folder", func(t *testing.T) {
		store := filepath.Join(t.TempDir(), "checkpoints")
		leaseTest(t, store, store, nil)
	})
	t.Run("s3", func(t *testing.T) {
		backend := s3mem.New()
		must(t, backend.CreateBucket("checkpoints"))
		srv := httptest.NewServer(gofakes3.New(backend, gofakes3.WithLogger(gofakes3.DiscardLog())).Server())
		t.Cleanup(srv.Close)
		store := "s3://checkpoints/lease?region=us-east-1&endpoint=" + srv.URL + "&use_path_style=true&response_checksum_validation=when_required"
		leaseTest(t, store, store+"&anonymous=true", []string{"AWS_ACCESS_KEY_ID=sluice-lease-test", "AWS_SECRET_ACCESS_KEY=sluice-lease-test",
			"AWS_REGION=us-east-1", "AWS_EC2_METADATA_DISABLED=true"})
	})
}

// leaseTest is TestLease on the checkpoint store at store (opened by the
// test itself at testStore); env is what the processes need to reach it.
func leaseTest(t *testing.T, store, testStore string, env []string) {
	topic := "persistent://public/default/lease-events"
	lb := startLeaseBroker(t, topic)
	dir := t.TempDir()
	out := filepath.Join(dir, "out.ndjson")
	pipeline := filepath.Join(dir, "lease.hcl")
	must(t, os.WriteFile(pipeline, fmt.Appendf(nil, leasePipeline, lb.b.URL(), topic, "sluice-lease", out, store), 0o644))
	first, second := leaseEvents(0, 5), append(leaseEvents(5, 10), leaseEvent{Action: "view", TS: leaseEvents(30, 31)[0].TS})

	lb.produce(t, first)
	a := startLeaseProc(t, pipeline, env)
	waitUntil(t, 30*time.Second, "the first process acknowledges the first events", func() bool {
		n, _ := lb.acked("sluice-lease")
		return n == int64(len(first))
	}, a.log.String)

	b := startLeaseProc(t, pipeline, env)
	if code := b.wait(t); code != exitProblems {
		t.Fatalf("a second process exited %d, want %d; log:\n%s", code, exitProblems, b.log.String())
	}
	heldBy(t, b, a.pid())

	_ = a.cmd.Process.Signal(syscall.SIGKILL)
	<-a.exited
	c := takeOver(t, pipeline, env, a.pid(), "")

	lb.produce(t, second)
	want := leaseModel(append(first, second...))
	waitUntil(t, 60*time.Second, "the output holds every window", func() bool { return len(leaseRows(t, out)) >= len(want) }, c.log.String)
	c.stop(t)
	if got := leaseRows(t, out); !slices.Equal(got, want) {
		t.Fatalf("output differs from an uninterrupted run's:\n got %q\nwant %q", got, want)
	}

	// Released at the clean stop: the next process starts at once.
	d := startLeaseProc(t, pipeline, env)
	waitUntil(t, 30*time.Second, "a process after a clean stop starts", func() bool { return d.logged("checkpoint lease acquired") || isDone(d) }, d.log.String)
	if isDone(d) || takeOverMessage(d) != "" {
		t.Fatalf("after a clean stop the lease was not free:\n%s", d.log.String())
	}

	// A holder that stops heartbeating, on what looks like another machine
	// (its process still runs): taken over once its heartbeat is older
	// than lease_timeout. Its own take-over stops d before it writes more.
	takeLeaseFrom(t, d, testStore)
	e := takeOver(t, pipeline, env, os.Getpid(), "taking over the pipeline from a process whose heartbeat stopped")
	waitUntil(t, 30*time.Second, "the process resumes", func() bool { return e.logged("resuming from checkpoint") }, e.log.String)
	e.stop(t)
	if got := leaseRows(t, out); !slices.Equal(got, want) {
		t.Fatalf("output changed after the last take-over:\n got %q\nwant %q", got, want)
	}
}

// takeOverMessage returns the log message of p's take-over of the lease
// from a crashed holder, or "".
func takeOverMessage(p *leaseProc) string {
	for _, msg := range []string{"taking over the pipeline from a process that no longer runs", "taking over the pipeline from a process whose heartbeat stopped"} {
		if p.logged(msg) {
			return msg
		}
	}
	return ""
}

// takeOver starts processes until one takes the pipeline over from the
// holder that stopped (pid): each one before is refused, naming it. The
// take-over logs msg, or one of takeOverMessage's when msg is "".
func takeOver(t *testing.T, pipeline string, env []string, killed int, msg string) *leaseProc {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for refused := 0; ; refused++ {
		p := startLeaseProc(t, pipeline, env)
		waitUntil(t, 60*time.Second, "a process starts or is refused", func() bool {
			return isDone(p) || p.logged("checkpoint lease acquired")
		}, p.log.String)
		if !isDone(p) {
			if got := takeOverMessage(p); got == "" || (msg != "" && got != msg) {
				t.Fatalf("the process took over without saying %q:\n%s", cmp.Or(msg, "taking over"), p.log.String())
			}
			t.Logf("taken over after %d refusals: %s", refused, takeOverMessage(p))
			return p
		}
		if code := p.wait(t); code != exitProblems {
			t.Fatalf("a process started after the kill exited %d, want %d or a take-over; log:\n%s", code, exitProblems, p.log.String())
		}
		heldBy(t, p, killed)
		if time.Now().After(deadline) {
			t.Fatalf("no take-over within 60s of a lease_timeout of 2s")
		}
		time.Sleep(300 * time.Millisecond)
	}
}

func isDone(p *leaseProc) bool {
	select {
	case <-p.exited:
		return true
	default:
		return false
	}
}

// takeLeaseFrom takes the lease of running process p over, as a process
// on another machine would that found p's heartbeat stale, and then never
// renews it: p must stop with an error naming the new holder, without
// writing a checkpoint after the take-over.
func takeLeaseFrom(t *testing.T, p *leaseProc, location string) {
	t.Helper()
	loc, diags := objstore.ParseLocation(schema.Text{Value: location}, t.TempDir(), "the lease test")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	ctx := context.Background()
	st, err := objstore.Open(ctx, loc)
	must(t, err)
	defer st.Close()
	takenAt := time.Now()
	_, err = checkpoint.NewStore(st).Acquire(ctx, "lease", checkpoint.LeaseOptions{
		Timeout: 2 * time.Second, Host: "lease-test", Gone: func(checkpoint.Owner) bool { return true },
	})
	must(t, err)
	holder := fmt.Sprintf("host lease-test pid %d", os.Getpid())
	if code := p.wait(t); code != exitProblems || !strings.Contains(p.log.String(), "ownership lease lost") || !strings.Contains(p.log.String(), holder) {
		t.Fatalf("a process whose lease was taken over exited %d, want %d and an error naming %s; log:\n%s", code, exitProblems, holder, p.log.String())
	}
	keys, err := st.List(ctx, "lease/")
	must(t, err)
	for _, k := range keys {
		name, ok := strings.CutSuffix(strings.TrimPrefix(k, "lease/"), ".ckpt")
		if epoch, err := strconv.ParseInt(name, 10, 64); ok && err == nil && epoch >= takenAt.UnixMilli() {
			t.Errorf("checkpoint %s was written after the lease was taken over", k)
		}
	}
}

// TestLeaseReadOnlyStore runs a pipeline whose checkpoint folder cannot be
// written: sluice refuses at start, before it subscribes (reads any
// input), and leaves nothing in the folder.
func TestLeaseReadOnlyStore(t *testing.T) {
	var prefix []string
	if os.Geteuid() == 0 {
		// Root writes anywhere: run sluice without the capabilities that
		// let it ignore permissions.
		path, err := exec.LookPath("setpriv")
		if err != nil {
			t.Skip("running as root without setpriv to drop CAP_DAC_OVERRIDE")
		}
		prefix = []string{path, "--bounding-set", "-dac_override,-dac_read_search,-fowner", "--"}
	}
	topic := "persistent://public/default/lease-read-only"
	lb := startLeaseBroker(t, topic)
	lb.produce(t, leaseEvents(0, 1))
	dir := t.TempDir()
	store := filepath.Join(dir, "checkpoints")
	must(t, os.Mkdir(store, 0o555))
	pipeline := filepath.Join(dir, "lease.hcl")
	must(t, os.WriteFile(pipeline, fmt.Appendf(nil, leasePipeline, lb.b.URL(), topic, "sluice-read-only", filepath.Join(dir, "out.ndjson"), store), 0o644))

	p := startLeaseProc(t, pipeline, nil, prefix...)
	if code := p.wait(t); code != exitProblems || !strings.Contains(p.log.String(), "is not writable") {
		t.Fatalf("exit %d, want %d and a message saying the store is not writable; log:\n%s", code, exitProblems, p.log.String())
	}
	if _, subscribed := lb.acked("sluice-read-only"); subscribed {
		t.Error("sluice subscribed to the topic before checking the store")
	}
	entries, err := os.ReadDir(store)
	must(t, err)
	if len(entries) > 0 {
		t.Errorf("the read-only folder holds %d entries, e.g. %s", len(entries), entries[0].Name())
	}
	if _, err := os.Stat(filepath.Join(dir, "out.ndjson")); !os.IsNotExist(err) {
		t.Errorf("the output file was opened: %v", err)
	}
}
