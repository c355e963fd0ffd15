package main

// Helpers of the crash test (crash_test.go): the events and the windows
// they make, the embedded broker, the sluice processes, and reading the
// checkpoint stores and the Parquet files.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
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

	"github.com/sluice-io/sluice/internal/objstore"
	"github.com/sluice-io/sluice/internal/pulsartest"
	"github.com/sluice-io/sluice/internal/sluicetest"
	"github.com/sluice-io/sluice/runner/checkpoint"
	"github.com/sluice-io/sluice/schema"
)

// crashEvent is one user event of the topic.
type crashEvent struct {
	UserID int    `json:"user_id"`
	Action string `json:"action"`
	TS     int64  `json:"ts"` // Unix ms
}

// crashRow is one output row of the window.
type crashRow = sluicetest.WindowRow

// crashMakeEvents returns the events, always the same: one hour from
// 2026-11-25 12:00 UTC, each up to 5 s earlier than its place in the
// sequence, 1000 users, 5% heartbeats (filtered out).
func crashMakeEvents() []crashEvent {
	rng := rand.New(rand.NewPCG(20261125, 1))
	base := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC).UnixMilli()
	actions := []struct {
		name   string
		weight int
	}{{"view", 50}, {"click", 25}, {"login", 8}, {"logout", 7}, {"buy", 5}, {"heartbeat", 5}}
	events := make([]crashEvent, crashEvents)
	for i := range events {
		n := rng.IntN(100)
		action := ""
		for _, a := range actions {
			if n < a.weight {
				action = a.name
				break
			}
			n -= a.weight
		}
		events[i] = crashEvent{
			UserID: rng.IntN(1000),
			Action: action,
			TS:     base + int64(i)*3_600_000/crashEvents - rng.Int64N(5000),
		}
	}
	return events
}

// crashModel computes the windows of the pipeline from the events: with
// no late record, they are every minute's count and distinct users per
// action.
func crashModel(events []crashEvent) map[crashRow]int {
	type key struct {
		start  int64
		action string
	}
	users := map[key]map[int]bool{}
	counts := map[key]int64{}
	for _, e := range events {
		if e.Action == "heartbeat" {
			continue
		}
		k := key{e.TS - e.TS%60_000, e.Action}
		if users[k] == nil {
			users[k] = map[int]bool{}
		}
		users[k][e.UserID] = true
		counts[k]++
	}
	rows := map[crashRow]int{}
	for k, n := range counts {
		rows[crashRow{Start: k.start, End: k.start + 60_000, Action: k.action, Events: n, Users: int64(len(users[k]))}]++
	}
	return rows
}

// crashBroker is the embedded broker, kept in a directory and restarted
// on the same address. Tests running at once share it: mu guards b.
type crashBroker struct {
	dir, addr string

	mu sync.Mutex
	b  *pulsartest.Broker
}

func startCrashBroker(t *testing.T) *crashBroker {
	t.Helper()
	cb := &crashBroker{dir: filepath.Join(t.TempDir(), "broker")}
	b, err := pulsartest.Start(pulsartest.Options{DataDir: cb.dir})
	must(t, err)
	cb.b, cb.addr = b, b.Addr().String()
	t.Cleanup(func() { cb.broker().Close() })
	return cb
}

func (cb *crashBroker) url() string { return "pulsar://" + cb.addr }

// broker returns the running broker.
func (cb *crashBroker) broker() *pulsartest.Broker {
	cb.mu.Lock()
	defer cb.mu.Unlock()
	return cb.b
}

// restart closes the broker and starts it again on its directory and
// address.
func (cb *crashBroker) restart(t *testing.T) {
	t.Helper()
	cb.mu.Lock()
	defer cb.mu.Unlock()
	must(t, cb.b.Close())
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, err := pulsartest.Start(pulsartest.Options{Addr: cb.addr, DataDir: cb.dir})
		if err == nil {
			cb.b = b
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("restarting the broker on %s: %v", cb.addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// progress returns how many messages sub acknowledged, and whether the
// subscription exists yet (0 until it does).
func (cb *crashBroker) progress(sub string) (acked int64, exists bool) {
	st := cb.broker().Stats(crashTopic)
	for _, p := range st.Partitions {
		if _, ok := p.Subscriptions[sub]; ok {
			exists = true
		}
	}
	if !exists {
		return 0, false
	}
	return st.Messages() - st.Backlog(sub), true
}

// nearEnd reports whether sub has messages left to acknowledge and the
// broker has dispatched all of them but at most a receiver queue per
// partition: the consumer is reading the last messages of the input or
// finishing.
func (cb *crashBroker) nearEnd(sub string) bool {
	var backlog, unacked int64
	for _, p := range cb.broker().Stats(crashTopic).Partitions {
		s := p.Subscriptions[sub]
		backlog += s.Backlog
		unacked += s.Unacked
	}
	return backlog > 0 && backlog-unacked <= 100*crashPartitions
}

// subscribed reports whether every partition has a consumer on sub.
func (cb *crashBroker) subscribed(sub string) bool {
	st := cb.broker().Stats(crashTopic)
	for _, p := range st.Partitions {
		if p.Subscriptions[sub].Consumers == 0 {
			return false
		}
	}
	return len(st.Partitions) == crashPartitions
}

// produce sends the events to the topic, keyed by user, checks the broker
// stored them all and returns where each message is.
func (cb *crashBroker) produce(t *testing.T, events []crashEvent) crashPositions {
	t.Helper()
	must(t, cb.broker().CreateTopic(crashTopic, crashPartitions))
	client, err := pulsarapi.NewClient(pulsarapi.ClientOptions{URL: cb.url(), OperationTimeout: 30 * time.Second, Logger: pulsarlog.DefaultNopLogger()})
	must(t, err)
	defer client.Close()
	producer, err := client.CreateProducer(pulsarapi.ProducerOptions{Topic: crashTopic})
	must(t, err)
	defer producer.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var (
		mu        sync.Mutex
		firstErr  error
		positions = crashPositions{}
		sent      sync.WaitGroup // the callbacks still to run
	)
	for _, e := range events {
		payload, err := json.Marshal(e)
		must(t, err)
		sent.Add(1)
		producer.SendAsync(ctx, &pulsarapi.ProducerMessage{Payload: payload, Key: strconv.Itoa(e.UserID)},
			func(id pulsarapi.MessageID, _ *pulsarapi.ProducerMessage, err error) {
				defer sent.Done()
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					if firstErr == nil {
						firstErr = err
					}
					return
				}
				topic := fmt.Sprintf("%s-partition-%d", crashTopic, id.PartitionIdx())
				positions[topic] = append(positions[topic], crashPosition{id.LedgerID(), id.EntryID(), int64(id.BatchIdx())})
			})
	}
	must(t, producer.FlushWithCtx(ctx))
	sent.Wait()
	must(t, firstErr)
	st := cb.broker().Stats(crashTopic)
	if st.Messages() != int64(len(events)) {
		t.Fatalf("the broker stored %d messages of %d", st.Messages(), len(events))
	}
	for _, p := range st.Partitions {
		if p.Messages < int64(len(events))/crashPartitions/2 {
			t.Fatalf("partition %s holds only %d messages", p.Topic, p.Messages)
		}
	}
	n := 0
	for _, list := range positions {
		slices.SortFunc(list, crashPosition.compare)
		n += len(list)
	}
	if n != len(events) {
		t.Fatalf("%d message ids for %d events", n, len(events))
	}
	return positions
}

// crashLog is a buffer safe to read while a process writes it.
type crashLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *crashLog) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *crashLog) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// crashProc is one `sluice run` process.
type crashProc struct {
	cmd     *exec.Cmd
	log     crashLog
	started time.Time
	exited  chan struct{}
	state   *os.ProcessState // set when exited is closed
}

func startCrashProc(t *testing.T, pipeline string, env []string) *crashProc {
	t.Helper()
	p := &crashProc{exited: make(chan struct{})}
	p.cmd = exec.Command(os.Args[0], "run", "--log-format", "json", pipeline)
	p.cmd.Env = append(os.Environ(), "SLUICE_TEST_MAIN=1",
		// Under -race, exit at once rather than after the detector's 1 s.
		"GORACE="+strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
	p.cmd.Env = append(p.cmd.Env, env...)
	p.cmd.Stderr = &p.log
	p.cmd.Stdout = &p.log
	must(t, p.cmd.Start())
	p.started = time.Now()
	go func() {
		_ = p.cmd.Wait()
		p.state = p.cmd.ProcessState
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			_ = p.cmd.Process.Signal(syscall.SIGKILL)
			<-p.exited
		}
	})
	return p
}

func (p *crashProc) done() bool {
	select {
	case <-p.exited:
		return true
	default:
		return false
	}
}

// kill sends SIGKILL, waits for the process and reports whether the
// signal ended it (false: it had exited by itself).
func (p *crashProc) kill() bool {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited
	ws, ok := p.state.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL
}

// wait waits for the process to exit by itself.
func (p *crashProc) wait(t *testing.T, timeout time.Duration) {
	t.Helper()
	select {
	case <-p.exited:
	case <-time.After(timeout):
		t.Fatalf("sluice still running after %v; log:\n%s", timeout, p.log.String())
	}
}

// finished returns the counters of the "pipeline finished" log line.
func (p *crashProc) finished(t *testing.T) map[string]any {
	t.Helper()
	for _, line := range strings.Split(p.log.String(), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) == nil && rec["msg"] == "pipeline finished" {
			return rec
		}
	}
	t.Fatalf("no pipeline summary in the log:\n%s", p.log.String())
	return nil
}

// crashStores are the folders or S3 prefixes of one run of the pipeline,
// and the environment its processes need.
type crashStores struct {
	lake, checkpoints string // locations as the pipeline file writes them
	readSuffix        string // appended to them to open them in the test
	env               []string
}

// open opens a location of s in the test process.
func (s crashStores) open(t *testing.T, loc string) *objstore.Store {
	t.Helper()
	l, diags := objstore.ParseLocation(schema.Text{Value: loc + s.readSuffix}, t.TempDir(), "the crash test")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	st, err := objstore.Open(context.Background(), l)
	must(t, err)
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// listKeys lists the keys of st under prefix while a process may be
// writing there: on a local folder, listing fails when a file it found
// is renamed before it is examined (a temporary becoming an object), so
// it tries again.
func listKeys(t *testing.T, st *objstore.Store, prefix string) []string {
	t.Helper()
	for try := 0; ; try++ {
		keys, err := st.List(context.Background(), prefix)
		if err == nil {
			return keys
		}
		if try == 100 {
			t.Fatalf("listing %q: %v", prefix, err)
		}
		time.Sleep(time.Millisecond)
	}
}

// latestEpoch returns the newest checkpoint epoch in the store, 0 without
// one.
func latestEpoch(t *testing.T, st *objstore.Store) int64 {
	t.Helper()
	keys := listKeys(t, st, crashPipeName+"/")
	var epoch int64
	for _, k := range keys {
		name, ok := strings.CutSuffix(strings.TrimPrefix(k, crashPipeName+"/"), ".ckpt")
		if e, err := strconv.ParseInt(name, 10, 64); ok && err == nil {
			epoch = max(epoch, e)
		}
	}
	return epoch
}

// committedFiles counts the committed Parquet files of the lake.
func committedFiles(t *testing.T, st *objstore.Store) int {
	t.Helper()
	keys := listKeys(t, st, "")
	n := 0
	for _, k := range keys {
		if strings.HasSuffix(k, ".parquet") && !strings.HasPrefix(k, "_sluice_tmp/") {
			n++
		}
	}
	return n
}

// readLake reads every committed Parquet file of the lake: the multiset
// of its rows, the number of files, and the keys left under _sluice_tmp.
func readLake(t *testing.T, st *objstore.Store) (rows map[crashRow]int, files int, temps []string) {
	t.Helper()
	ctx := context.Background()
	keys, err := st.List(ctx, "")
	must(t, err)
	rows = map[crashRow]int{}
	for _, k := range keys {
		if strings.HasPrefix(k, "_sluice_tmp/") {
			temps = append(temps, k)
			continue
		}
		if !strings.HasSuffix(k, ".parquet") {
			t.Errorf("unexpected object %s in the lake", k)
			continue
		}
		files++
		data, err := st.Get(ctx, k)
		must(t, err)
		fileRows, err := sluicetest.DecodeWindowRows(data)
		if err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		for _, r := range fileRows {
			if folder := "window_start_hour=" + time.UnixMilli(r.Start).UTC().Format("2006-01-02T15") + "/"; !strings.HasPrefix(k, folder) {
				t.Errorf("%s holds the row %v, which belongs under %s", k, r, folder)
			}
			rows[r]++
		}
	}
	return rows, files, temps
}

// diffRows describes how got differs from want as multisets: rows
// missing (lost) and rows in excess (duplicated or wrong).
func diffRows(got, want map[crashRow]int) (lost, extra []string, nLost, nExtra int) {
	for r, n := range want {
		if d := n - got[r]; d > 0 {
			lost = append(lost, fmt.Sprintf("%v ×%d", r, d))
			nLost += d
		}
	}
	for r, n := range got {
		if d := n - want[r]; d > 0 {
			extra = append(extra, fmt.Sprintf("%v ×%d", r, d))
			nExtra += d
		}
	}
	slices.Sort(lost)
	slices.Sort(extra)
	return lost, extra, nLost, nExtra
}

func countRows(rows map[crashRow]int) int {
	n := 0
	for _, c := range rows {
		n += c
	}
	return n
}

// uncommittedFiles returns how many files the newest checkpoint's Parquet
// manifest names that are still temporaries: a kill between the
// checkpoint's save and the end of its commit leaves some.
func uncommittedFiles(t *testing.T, ckpts, lake *objstore.Store) int {
	t.Helper()
	ctx := context.Background()
	cp, err := checkpoint.NewStore(ckpts).Latest(ctx, crashPipeName)
	must(t, err)
	if cp == nil {
		return 0
	}
	n := 0
	for _, m := range cp.Manifests {
		var manifest struct {
			Files []struct {
				Temp string `json:"temp"`
			} `json:"files"`
		}
		if len(m) == 0 {
			continue
		}
		must(t, json.Unmarshal(m, &manifest))
		for _, f := range manifest.Files {
			if _, ok, err := lake.Size(ctx, f.Temp); err != nil {
				t.Fatal(err)
			} else if ok {
				n++
			}
		}
	}
	return n
}
