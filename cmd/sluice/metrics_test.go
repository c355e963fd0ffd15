package main

// sluice run's endpoints seen from outside: /readyz following a Pulsar
// broker going away and coming back, sluice status naming the partition
// that holds the watermark back, and systemd notifications.

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	pulsarapi "github.com/apache/pulsar-client-go/pulsar"
	pulsarlog "github.com/apache/pulsar-client-go/pulsar/log"

	"github.com/sluice-io/sluice/internal/pulsartest"
)

// obsPipeline counts actions per minute of a Pulsar topic's events; the
// metrics block serves the endpoints on a test's free port.
const obsPipeline = `pipeline "obs" {
  source "pulsar" {
    service_url        = env("SLUICE_OBS_URL")
    topics             = [%q]
    subscription       = "sluice-obs"
    start              = "earliest"
    connection_timeout = "1s"
    operation_timeout  = "2s"
  }
  parse "json" {
    field "user_id" { type = "int" }
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
  sink "file" "counts" {
    path = env("SLUICE_OBS_OUT")
  }
}

metrics {
  listen = %q
}
`

// obsProc is a `sluice run` child process of these tests.
type obsProc struct {
	cmd    *exec.Cmd
	log    crashLog
	exited chan struct{}
}

// startObsRun writes obsPipeline for topic, serving on addr, and runs it
// against the broker at url; env adds to the child's environment.
func startObsRun(t *testing.T, url, topic, addr string, env ...string) *obsProc {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "obs.hcl")
	must(t, os.WriteFile(path, fmt.Appendf(nil, obsPipeline, topic, addr), 0o644))
	p := &obsProc{exited: make(chan struct{})}
	p.cmd = exec.Command(os.Args[0], "run", "--log-format", "json", path)
	p.cmd.Env = append(os.Environ(), "SLUICE_TEST_MAIN=1", "SLUICE_OBS_URL="+url, "SLUICE_OBS_OUT="+filepath.Join(dir, "counts.ndjson"),
		"GORACE="+strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
	p.cmd.Env = append(p.cmd.Env, env...)
	p.cmd.Stderr = &p.log
	must(t, p.cmd.Start())
	go func() {
		_ = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
	})
	return p
}

// waitUntil polls cond every 50 ms until it holds, failing the test with
// the child's log after timeout or when the child exits.
func (p *obsProc) waitUntil(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		select {
		case <-p.exited:
			t.Fatalf("sluice run exited while waiting for %s:\n%s", what, p.log.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s after %v; log:\n%s", what, timeout, p.log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop sends SIGTERM and waits for a clean exit.
func (p *obsProc) stop(t *testing.T) {
	t.Helper()
	must(t, p.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case <-p.exited:
	case <-time.After(30 * time.Second):
		t.Fatalf("sluice run did not stop after SIGTERM:\n%s", p.log.String())
	}
	if code := p.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("sluice run exited %d:\n%s", code, p.log.String())
	}
}

// obsFreeAddr returns a 127.0.0.1 address whose port was free a moment
// ago.
func obsFreeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	defer ln.Close()
	return ln.Addr().String()
}

// readyz returns the status code and body of /readyz, 0 while the server
// does not answer.
func readyz(base string) (int, string) {
	resp, err := http.Get(base + "/readyz")
	if err != nil {
		return 0, ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// obsSender returns a function sending payloads to one partition of topic.
func obsSender(t *testing.T, url, topic string) func(partition int, payloads ...string) {
	t.Helper()
	client, err := pulsarapi.NewClient(pulsarapi.ClientOptions{URL: url, OperationTimeout: 10 * time.Second, Logger: pulsarlog.DefaultNopLogger()})
	must(t, err)
	t.Cleanup(client.Close)
	producers := map[int]pulsarapi.Producer{}
	return func(partition int, payloads ...string) {
		t.Helper()
		pr, ok := producers[partition]
		if !ok {
			pr, err = client.CreateProducer(pulsarapi.ProducerOptions{Topic: fmt.Sprintf("%s-partition-%d", topic, partition), DisableBatching: true})
			must(t, err)
			t.Cleanup(pr.Close)
			producers[partition] = pr
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for _, m := range payloads {
			if _, err := pr.Send(ctx, &pulsarapi.ProducerMessage{Payload: []byte(m)}); err != nil {
				t.Fatalf("sending %s to partition %d: %v", m, partition, err)
			}
		}
	}
}

// TestStatusNamesTheHoldingPartition runs a pipeline on a 2-partition
// topic whose partition 1 gets older events than partition 0: sluice
// status names partition 1 as the one holding the watermark back, with
// how far behind it is and why it is not idle.
func TestStatusNamesTheHoldingPartition(t *testing.T) {
	const topic = "persistent://public/default/obs-status"
	b, err := pulsartest.Start(pulsartest.Options{})
	must(t, err)
	t.Cleanup(func() { b.Close() })
	must(t, b.CreateTopic(topic, 2))
	addr := obsFreeAddr(t)
	run := startObsRun(t, b.URL(), topic, addr)
	base := "http://" + addr
	run.waitUntil(t, 20*time.Second, "readiness", func() bool { code, _ := readyz(base); return code == 200 })

	origin := time.Now().Add(-10 * time.Minute).Truncate(time.Minute)
	ev := func(user int, s int) string {
		return fmt.Sprintf(`{"user_id":%d,"action":"view","ts":%d}`, user, origin.Add(time.Duration(s)*time.Second).UnixMilli())
	}
	send := obsSender(t, b.URL(), topic)
	send(0, ev(1, 10), ev(2, 250))
	send(1, ev(3, 5), ev(4, 70))
	var out string
	run.waitUntil(t, 20*time.Second, "status naming partition 1", func() bool {
		code, stdout, stderr := sluice(t, "status", "--url", base)
		out = stdout + stderr
		return code == exitOK && strings.Contains(stdout, "held back by partition 1 of "+topic)
	})
	for _, want := range []string{
		"pipeline obs: running since",
		`window "tumbling": watermark ` + origin.Add(70*time.Second).UTC().Format("15:04:05"),
		"max event time " + origin.Add(70*time.Second).UTC().Format("15:04:05") + ", 3m behind the others; not idle because it delivered",
		"records: 4 in (",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}
	code, stdout, _ := sluice(t, "status", "--url", base, "--format", "json")
	if code != exitOK || !strings.Contains(stdout, `"holding"`) || !strings.Contains(stdout, `"pipelines"`) {
		t.Errorf("status --format json: exit %d:\n%s", code, stdout)
	}
	run.stop(t)
}

// TestStatusErrors: an endpoint that does not answer, or answers
// something else than the pipelines document, is exit 1 with a message.
func TestStatusErrors(t *testing.T) {
	notSluice := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/v1/pipelines" {
			fmt.Fprint(w, "<html>")
			return
		}
		http.Error(w, "Unauthorized", http.StatusUnauthorized)
	}))
	defer notSluice.Close()
	tests := []struct {
		name, url, want string
	}{
		{"unreachable", "http://" + obsFreeAddr(t), "cannot reach http://127.0.0.1:"},
		{"not a document", notSluice.URL, "is not a sluice pipelines document"},
		{"refused", notSluice.URL + "/other", "answered 401 Unauthorized: Unauthorized"},
		{"password hidden", strings.Replace(notSluice.URL, "http://", "http://ops:secret@", 1) + "/other", "http://ops:xxxxx@"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := sluice(t, "status", "--url", tt.url)
			if code != exitProblems || stdout != "" || !strings.Contains(stderr, tt.want) || strings.Contains(stderr, "secret") {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit 1 and %q", code, stdout, stderr, tt.want)
			}
		})
	}
}

// TestSystemdNotify runs sluice run as a Type=notify service would: with
// NOTIFY_SOCKET (a unixgram socket of the test) and WATCHDOG_USEC, it
// sends READY=1 once its pipeline runs, WATCHDOG=1 pings, and STOPPING=1
// after SIGTERM.
func TestSystemdNotify(t *testing.T) {
	const topic = "persistent://public/default/obs-systemd"
	b, err := pulsartest.Start(pulsartest.Options{})
	must(t, err)
	t.Cleanup(func() { b.Close() })
	sock := filepath.Join(t.TempDir(), "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	must(t, err)
	defer conn.Close()
	got := make(chan string, 100)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				close(got)
				return
			}
			got <- string(buf[:n])
		}
	}()
	addr := obsFreeAddr(t)
	run := startObsRun(t, b.URL(), topic, addr, "NOTIFY_SOCKET="+sock, "WATCHDOG_USEC=400000")
	seen := map[string]int{}
	// expect waits until want was received n times, whatever came between.
	expect := func(want string, n int) {
		t.Helper()
		deadline := time.After(20 * time.Second)
		for seen[want] < n {
			select {
			case msg := <-got:
				seen[msg]++
			case <-deadline:
				t.Fatalf("%d × %s from sluice run, want %d (received %v); log:\n%s", seen[want], want, n, seen, run.log.String())
			}
		}
	}
	expect("READY=1", 1)
	if code, body := readyz("http://" + addr); code != 200 {
		t.Errorf("after READY=1, /readyz = %d %s", code, body)
	}
	expect("WATCHDOG=1", 2)
	if seen["STOPPING=1"] > 0 {
		t.Fatal("STOPPING=1 before any signal")
	}
	run.stop(t)
	expect("STOPPING=1", 1)
}

// TestReadyzFollowsTheBroker runs a Pulsar pipeline and stops its broker:
// /readyz turns 503 naming the source that is not connected, and 200 again
// once a broker serves the same address.
func TestReadyzFollowsTheBroker(t *testing.T) {
	const topic = "persistent://public/default/obs-ready"
	data := t.TempDir()
	b, err := pulsartest.Start(pulsartest.Options{DataDir: data})
	must(t, err)
	t.Cleanup(func() { b.Close() })
	brokerAddr := b.Addr().String()
	addr := obsFreeAddr(t)
	run := startObsRun(t, b.URL(), topic, addr)
	base := "http://" + addr
	run.waitUntil(t, 20*time.Second, "readiness", func() bool { code, _ := readyz(base); return code == 200 })

	must(t, b.Close())
	run.waitUntil(t, 30*time.Second, "503 while the broker is down", func() bool {
		code, body := readyz(base)
		return code == 503 && strings.Contains(body, `pipeline obs: source "pulsar" is not connected`)
	})
	b, err = pulsartest.Start(pulsartest.Options{Addr: brokerAddr, DataDir: data})
	must(t, err)
	t.Cleanup(func() { b.Close() })
	run.waitUntil(t, 60*time.Second, "200 after the broker came back", func() bool { code, _ := readyz(base); return code == 200 })
	run.stop(t)
}
