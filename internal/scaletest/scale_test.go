package scaletest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
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
	"github.com/jackc/pgx/v5"

	"github.com/sluice-io/sluice/internal/pgtest"
	"github.com/sluice-io/sluice/internal/pulsartest"
	"github.com/sluice-io/sluice/internal/sluicetest"
)

var server *pgtest.Server

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m, &server)) }

const (
	scaleTopic      = "persistent://public/default/scale-events"
	scaleSub        = "sluice-scale"
	scalePartitions = 8
	scaleProcesses  = 3
	scaleActions    = 12
	scaleEvents     = 24_000
	scaleChunks     = 20
	scaleKills      = 12 // SIGKILLs, each followed by a restart
	scaleStops      = 4  // SIGTERMs, each followed by a restart
	scaleStep       = 10 // ms of event time between events
	scaleDisorder   = 2000
	scaleBase       = int64(1_767_225_600_000) // 2026-01-01T00:00:00Z
)

// scalePipeline reads the topic as tasks (a failover subscription, the
// messages keyed by action) into 10 s windows per action, committed to
// Parquet and upserted into PostgreSQL, with checkpoints in a folder all
// processes share.
//
// %[1]s is the broker's URL, %[2]s the topic, %[3]s the subscription,
// %[4]s the lake, %[5]s the DSN, %[6]s the checkpoint store, %[7]s the
// source's routing declaration and %[8]s what comes between the parser
// and the window (a repartition block, or nothing).
const scalePipeline = `pipeline "scale" {
  instances = 3
  source "pulsar" {
    service_url         = %[1]q
    topics              = [%[2]q]
    subscription        = %[3]q
    subscription_type   = "failover"
    start               = "earliest"
    receiver_queue_size = 50
    %[7]s
  }
  parse "json" {
    field "user_id" { type = "int" }
    field "action" { type = "string" }
    field "ts" { type = "timestamp" }
    on_error = "fail"
  }
  %[8]s
  window "tumbling" {
    event_time = "ts"
    size       = "10s"
    watermark  = "5s"
    group_by   = ["action"]
    aggregate = {
      events = "count()"
      users  = "count_distinct(user_id)"
    }
  }
  sink "parquet" "lake" {
    path = %[4]q
  }
  sink "postgres" "dashboard" {
    dsn          = %[5]q
    table        = "activity"
    create_table = true
  }
}

checkpoint {
  store         = %[6]q
  every         = "300ms"
  lease_timeout = "10s"
}
`

type event struct {
	UserID int    `json:"user_id"`
	Action string `json:"action"`
	TS     int64  `json:"ts"`
}

// row is a window result: its start (Unix ms), action and aggregates.
type row = sluicetest.WindowRow

// makeEvents returns the events in sending order (event time rises with
// up to scaleDisorder ms of disorder, below the 5 s watermark) and, last,
// one event per action an hour later, which closes every window before it
// in every task.
func makeEvents(rng *rand.Rand) []event {
	var out []event
	for i := range scaleEvents {
		out = append(out, event{
			UserID: rng.IntN(40),
			Action: "a" + strconv.Itoa(rng.IntN(scaleActions)),
			TS:     scaleBase + int64(i)*scaleStep - rng.Int64N(scaleDisorder),
		})
	}
	end := scaleBase + scaleEvents*scaleStep + time.Hour.Milliseconds()
	for a := range scaleActions {
		out = append(out, event{Action: "a" + strconv.Itoa(a), TS: end})
	}
	return out
}

// model returns the windows the events make, without the closing events'
// windows (still open when the processes stop).
func model(events []event) map[row]int {
	type key struct {
		start  int64
		action string
	}
	counts := map[key]int64{}
	users := map[key]map[int]bool{}
	for _, e := range events[:scaleEvents] {
		k := key{e.TS - e.TS%10_000, e.Action}
		counts[k]++
		if users[k] == nil {
			users[k] = map[int]bool{}
		}
		users[k][e.UserID] = true
	}
	out := map[row]int{}
	for k, n := range counts {
		out[row{Start: k.start, End: k.start + 10_000, Action: k.action, Events: n, Users: int64(len(users[k]))}]++
	}
	return out
}

// TestScaleOutKills runs three sluice processes of one pipeline on an
// 8-partition topic keyed by action while the events arrive in chunks;
// between chunks a process is killed with SIGKILL (12 times) or stopped
// with SIGTERM (4 times) and started again, which moves its tasks to the
// others and back. The rows committed to Parquet and the PostgreSQL table
// must then equal the windows of the events exactly: no row lost, doubled
// or split between tasks. Kills are placed by the progress the broker
// reports (the messages acknowledged), not by time, so the test does not
// depend on the machine's speed.
func TestScaleOutKills(t *testing.T) {
	scaleOut(t, scaleShape{routing: `partitioned_by = ["action"]`, keyed: true})
}

// TestScaleOutRepartitionKills is TestScaleOutKills with messages that
// are not keyed: the pipeline shuffles them by action through a
// repartition topic of 8 partitions before its window, and the two halves
// of each process are killed and stopped together.
func TestScaleOutRepartitionKills(t *testing.T) {
	scaleOut(t, scaleShape{shuffle: `repartition "pulsar" {
    service_url = %[1]q
    admin_url   = %[2]q
    topic       = "persistent://public/default/scale-by-action"
    partitions  = 8
    key         = ["action"]
  }`})
}

// scaleShape is what differs between the scale-out tests.
type scaleShape struct {
	routing string // the source's partitioned_by declaration, or ""
	keyed   bool   // messages are keyed by action
	shuffle string // a repartition block (%[1]s the broker, %[2]s its admin URL), or ""
}

// scaleOut runs the scale-out test of shape.
func scaleOut(t *testing.T, shape scaleShape) {
	if testing.Short() {
		t.Skip("runs, kills and restarts three sluice processes")
	}
	dsn := pgtest.Need(t, server).Database(t)
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("SLUICE_SCALE_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("seed %d (SLUICE_SCALE_SEED replays the schedule)", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	bin := sluicetest.Build(t)
	b, err := pulsartest.Start(pulsartest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	if err := b.CreateTopic(scaleTopic, scalePartitions); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	lake, ckpts := filepath.Join(dir, "lake"), filepath.Join(dir, "checkpoints")
	file := filepath.Join(dir, "scale.hcl")
	shuffle := shape.shuffle
	if shuffle != "" {
		shuffle = fmt.Sprintf(shuffle, b.URL(), b.AdminURL())
	}
	must(t, os.WriteFile(file, fmt.Appendf(nil, scalePipeline, b.URL(), scaleTopic, scaleSub, lake, dsn, "file://"+ckpts, shape.routing, shuffle), 0o644))

	events := makeEvents(rng)
	want := model(events)
	prod := newProducer(t, b.URL(), shape.keyed)
	c := &cluster{t: t, bin: bin, file: file}
	for i := range scaleProcesses {
		c.start(i)
	}
	backlog := func() int64 { return b.Stats(scaleTopic).Backlog(scaleSub) }
	actions := scheduleActions(rng)
	chunk := scaleEvents / scaleChunks
	start := time.Now()
	for k := range scaleChunks {
		prod.send(t, events[k*chunk:(k+1)*chunk])
		// The processes caught up to within the windows still open:
		// what remains unacknowledged is what the tasks hold.
		c.waitFor(fmt.Sprintf("the backlog to fall below %d after chunk %d", 3*chunk, k), func() bool { return backlog() < int64(3*chunk) },
			func() string { return fmt.Sprintf("backlog %d", backlog()) })
		if a := actions[k]; a != "" {
			c.act(a, rng.IntN(scaleProcesses))
		}
	}
	prod.close(t, events[scaleEvents:])
	t.Logf("%d chunks sent, %d kills and %d stops in %v", scaleChunks, c.kills, c.stops, time.Since(start).Round(time.Millisecond))
	if c.kills < scaleKills || c.stops < scaleStops {
		t.Fatalf("only %d kills and %d stops happened", c.kills, c.stops)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for countRows(readLake(t, lake)) < countRows(want) && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	for i := range scaleProcesses {
		c.stop(i)
	}
	if d := diff(readLake(t, lake), want); d != "" {
		t.Errorf("Parquet differs from the windows of the events (backlog %d):\n%s", backlog(), d)
		for i, p := range c.procs {
			t.Logf("--- process %d:\n%s", i, tail(p.Log(), 60))
		}
	}
	if d := diff(readTable(t, dsn), want); d != "" {
		t.Errorf("the PostgreSQL table differs from the windows of the events:\n%s", d)
	}
	folder := filepath.Join(ckpts, "scale", "tasks")
	if shape.shuffle != "" {
		folder = filepath.Join(ckpts, "scale", "after", "tasks")
	}
	tasks, err := os.ReadDir(folder)
	must(t, err)
	if len(tasks) == 0 {
		t.Errorf("no task folders under %s", folder)
	}
	t.Logf("%d rows exact in Parquet and PostgreSQL, %d task folders, %v in all", countRows(want), len(tasks), time.Since(start).Round(time.Millisecond))
}

// scheduleActions returns what happens after each chunk: "kill", "stop"
// or nothing, the kills and stops in random chunks (none after the last).
func scheduleActions(rng *rand.Rand) []string {
	acts := make([]string, scaleChunks)
	for i := range scaleKills {
		acts[i] = "kill"
	}
	for i := range scaleStops {
		acts[scaleKills+i] = "stop"
	}
	rng.Shuffle(scaleChunks-1, func(i, j int) { acts[i], acts[j] = acts[j], acts[i] })
	return acts
}

// cluster is the sluice processes of the test.
type cluster struct {
	t            *testing.T
	bin, file    string
	procs        [scaleProcesses]*sluicetest.Proc
	kills, stops int
}

func (c *cluster) start(i int) {
	c.procs[i] = sluicetest.Start(c.t, c.bin, "run", "--log-format", "json", c.file)
}

// act kills or stops process i and starts it again.
func (c *cluster) act(what string, i int) {
	switch what {
	case "kill":
		if !c.procs[i].Kill(c.t) {
			c.t.Fatalf("process %d had exited before its kill:\n%s", i, c.procs[i].Log())
		}
		c.kills++
	case "stop":
		c.stop(i)
		c.stops++
	}
	c.start(i)
}

// stop sends SIGTERM to process i and waits for it to exit 0. It first
// waits until the process runs its pipeline: a signal that comes before
// sluice handles it would kill it.
func (c *cluster) stop(i int) {
	p := c.procs[i]
	c.waitFor(fmt.Sprintf("process %d to run its pipeline", i), func() bool { return strings.Contains(p.Log(), "running as tasks") },
		func() string { return "" })
	must(c.t, p.Signal(syscall.SIGTERM))
	select {
	case <-p.Exited():
	case <-time.After(60 * time.Second):
		c.t.Fatalf("process %d still runs 60 s after SIGTERM:\n%s", i, p.Log())
	}
	if code := p.ExitCode(); code != 0 {
		c.t.Fatalf("process %d exited %d after SIGTERM:\n%s", i, code, p.Log())
	}
}

// waitFor polls cond for up to two minutes, failing with state and the
// processes' logs.
func (c *cluster) waitFor(what string, cond func() bool, state func() string) {
	c.t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for !cond() {
		for i, p := range c.procs {
			if p.Done() {
				c.t.Fatalf("process %d exited (%d) while waiting for %s:\n%s", i, p.ExitCode(), what, p.Log())
			}
		}
		if time.Now().After(deadline) {
			var logs strings.Builder
			for i, p := range c.procs {
				fmt.Fprintf(&logs, "--- process %d:\n%s\n", i, tail(p.Log(), 40))
			}
			c.t.Fatalf("waited 2 min for %s: %s\n%s", what, state(), logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// producer sends events, keyed by action (the client routes a key to one
// partition) or not (the client spreads them over the partitions).
type producer struct {
	p      pulsarapi.Producer
	client pulsarapi.Client
	keyed  bool
}

func newProducer(t *testing.T, url string, keyed bool) *producer {
	t.Helper()
	client, err := pulsarapi.NewClient(pulsarapi.ClientOptions{URL: url, OperationTimeout: 30 * time.Second, Logger: pulsarlog.DefaultNopLogger()})
	must(t, err)
	t.Cleanup(client.Close)
	p, err := client.CreateProducer(pulsarapi.ProducerOptions{Topic: scaleTopic})
	must(t, err)
	t.Cleanup(p.Close)
	return &producer{p: p, client: client, keyed: keyed}
}

// send sends events and waits for every receipt.
func (pr *producer) send(t *testing.T, events []event) {
	t.Helper()
	sendTo(t, pr.p, events, pr.keyed)
}

// close sends the closing events: keyed ones as any other; without keys,
// every one to every partition, so that each task's watermark passes the
// windows before them.
func (pr *producer) close(t *testing.T, events []event) {
	t.Helper()
	if pr.keyed {
		pr.send(t, events)
		return
	}
	for i := range scalePartitions {
		p, err := pr.client.CreateProducer(pulsarapi.ProducerOptions{Topic: fmt.Sprintf("%s-partition-%d", scaleTopic, i)})
		must(t, err)
		sendTo(t, p, events, false)
		p.Close()
	}
}

// sendTo sends events with p and waits for every receipt.
func sendTo(t *testing.T, p pulsarapi.Producer, events []event, keyed bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	for _, e := range events {
		payload, err := json.Marshal(e)
		must(t, err)
		msg := &pulsarapi.ProducerMessage{Payload: payload}
		if keyed {
			msg.Key = e.Action
		}
		wg.Add(1)
		p.SendAsync(ctx, msg, func(_ pulsarapi.MessageID, _ *pulsarapi.ProducerMessage, err error) {
			defer wg.Done()
			if err != nil {
				mu.Lock()
				firstErr = cmpErr(firstErr, err)
				mu.Unlock()
			}
		})
	}
	must(t, p.FlushWithCtx(ctx))
	wg.Wait()
	must(t, firstErr)
}

func cmpErr(first, err error) error {
	if first != nil {
		return first
	}
	return err
}

// readLake reads every committed Parquet file under dir.
func readLake(t *testing.T, dir string) map[row]int {
	t.Helper()
	rows := map[row]int{}
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == "_sluice_tmp" {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".parquet") {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		fileRows, err := sluicetest.DecodeWindowRows(data)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		for _, r := range fileRows {
			rows[r]++
		}
		return nil
	})
	must(t, err)
	return rows
}

// readTable reads the PostgreSQL table.
func readTable(t *testing.T, dsn string) map[row]int {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	must(t, err)
	defer conn.Close(ctx)
	q, err := conn.Query(ctx, `SELECT window_start, action, events, users FROM activity`)
	must(t, err)
	defer q.Close()
	rows := map[row]int{}
	for q.Next() {
		var r row
		var start time.Time
		must(t, q.Scan(&start, &r.Action, &r.Events, &r.Users))
		r.Start = start.UnixMilli()
		r.End = r.Start + 10_000 // the table has no window_end
		rows[r]++
	}
	must(t, q.Err())
	return rows
}

func countRows(rows map[row]int) int {
	n := 0
	for _, c := range rows {
		n += c
	}
	return n
}

// diff describes how got differs from want as multisets, "" when equal.
func diff(got, want map[row]int) string {
	var lines []string
	for r, n := range want {
		if got[r] < n {
			lines = append(lines, fmt.Sprintf("missing %dx %+v", n-got[r], r))
		}
	}
	for r, n := range got {
		if n > want[r] {
			lines = append(lines, fmt.Sprintf("extra %dx %+v", n-want[r], r))
		}
	}
	slices.Sort(lines)
	if len(lines) > 30 {
		lines = append(lines[:30], fmt.Sprintf("… %d more", len(lines)-30))
	}
	return strings.Join(lines, "\n")
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
