package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	pulsarapi "github.com/apache/pulsar-client-go/pulsar"
	pulsarlog "github.com/apache/pulsar-client-go/pulsar/log"

	"github.com/sluice-io/sluice/internal/pulsartest"
	"github.com/sluice-io/sluice/pipelines"
)

// scaleTopic is the source topic of the processes part, and
// scalePartitions its partitions.
const (
	scaleTopic      = "persistent://public/default/bench-scale-events"
	scalePartitions = 8
)

// processes publishes the first n events of the reference file to an
// 8-partition topic and times the combining pipeline, run as tasks by 1
// and then 2 processes, until the source's backlog is acknowledged.
func (s *shuffleBench) processes(ctx context.Context, n int64) ([]*shuffleRow, error) {
	if err := s.broker.CreateTopic(scaleTopic, scalePartitions); err != nil {
		return nil, err
	}
	t0 := time.Now()
	if err := publishEvents(ctx, s.broker.URL(), s.data, n); err != nil {
		return nil, err
	}
	s.logf("published %d events to %s in %.1fs", n, scaleTopic, time.Since(t0).Seconds())
	var rows []*shuffleRow
	for _, procs := range []int{1, 2} {
		r, err := s.runProcesses(ctx, procs, n)
		if err != nil {
			return nil, err
		}
		s.logf("%d process(es): %.2fs until %d events were acknowledged, %.2fs cpu", procs, r.Wall.Seconds(), n, r.CPU.Seconds())
		rows = append(rows, r)
	}
	return rows, nil
}

// runProcesses starts procs processes of the pipeline on a new
// subscription and waits until it has no backlog.
func (s *shuffleBench) runProcesses(ctx context.Context, procs int, n int64) (*shuffleRow, error) {
	s.seq++
	sub := fmt.Sprintf("bench-scale-%d", s.seq)
	out := filepath.Join(s.dir, sub, "out.ndjson")
	source := fmt.Sprintf(`instances = 2
  source "pulsar" {
    service_url       = %q
    topics            = [%q]
    subscription      = %q
    subscription_type = "failover"
    start             = "earliest"
  }`, s.broker.URL(), scaleTopic, sub)
	src := withShuffle(pipelines.Reference(source, out), s.repartitionBlock("")) +
		fmt.Sprintf("\ncheckpoint {\n  store = %q\n  every = \"500ms\"\n}\n", "file://"+filepath.Join(s.dir, sub, "checkpoints"))
	file := filepath.Join(s.dir, sub+".hcl")
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		return nil, err
	}
	var cmds []*exec.Cmd
	start := time.Now()
	for range procs {
		cmd := exec.CommandContext(ctx, s.bin, "run", "--log-format", "json", file)
		log, err := os.Create(filepath.Join(s.dir, fmt.Sprintf("%s-%d.log", sub, len(cmds))))
		if err != nil {
			return nil, err
		}
		defer log.Close()
		cmd.Stderr = log
		if err := cmd.Start(); err != nil {
			return nil, err
		}
		cmds = append(cmds, cmd)
	}
	stopAll := func() {
		for _, c := range cmds {
			_ = c.Process.Signal(syscall.SIGTERM)
		}
		for _, c := range cmds {
			_ = c.Wait()
		}
	}
	deadline := start.Add(s.opts.timeout)
	for !drained(s.broker.Stats(scaleTopic), sub) {
		if time.Now().After(deadline) {
			stopAll()
			return nil, fmt.Errorf("%d process(es): backlog %d after %v", procs, s.broker.Stats(scaleTopic).Backlog(sub), s.opts.timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
	wall := time.Since(start)
	stopAll()
	r := &shuffleRow{Name: fmt.Sprintf("tasks-%dproc", procs), Wall: wall, Processes: procs, SourceCount: n}
	for _, c := range cmds {
		ps := c.ProcessState
		r.CPU += ps.UserTime() + ps.SystemTime()
		if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
			r.MaxRSS = max(r.MaxRSS, int64(ru.Maxrss)*1024)
		}
	}
	r.Rows, r.Events, _ = outputsSummary(out)
	return r, nil
}

// publishEvents sends the first n lines of the file at path to the scale
// topic, without keys (the client spreads them over the partitions).
func publishEvents(ctx context.Context, url, path string, n int64) error {
	client, err := pulsarapi.NewClient(pulsarapi.ClientOptions{URL: url, Logger: pulsarlog.DefaultNopLogger()})
	if err != nil {
		return err
	}
	defer client.Close()
	prod, err := client.CreateProducer(pulsarapi.ProducerOptions{Topic: scaleTopic, BatchingMaxMessages: 1000})
	if err != nil {
		return err
	}
	defer prod.Close()
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	var (
		mu       sync.Mutex
		firstErr error
	)
	for i := int64(0); i < n && sc.Scan(); i++ {
		payload := append([]byte(nil), sc.Bytes()...)
		prod.SendAsync(ctx, &pulsarapi.ProducerMessage{Payload: payload}, func(_ pulsarapi.MessageID, _ *pulsarapi.ProducerMessage, err error) {
			if err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		})
	}
	if err := prod.FlushWithCtx(ctx); err != nil {
		return err
	}
	if err := sc.Err(); err != nil {
		return err
	}
	mu.Lock()
	defer mu.Unlock()
	return firstErr
}

// drained reports whether every partition of st has subscription sub and
// nothing left to acknowledge on it.
func drained(st pulsartest.TopicStats, sub string) bool {
	for _, p := range st.Partitions {
		if s, ok := p.Subscriptions[sub]; !ok || s.Backlog > 0 {
			return false
		}
	}
	return len(st.Partitions) > 0
}
