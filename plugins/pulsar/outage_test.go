package pulsar

// Brokers that cannot be reached: a stopped pipeline does not wait for the
// client's operation timeout, neither while connecting nor while closing,
// and the errors are one line naming the URL once.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/sluice-io/sluice/plugins"
	"github.com/sluice-io/sluice/plugins/plugintest"
	"github.com/sluice-io/sluice/record"
)

// promptly is how long a stop may take in these tests: far below the
// client's 30 s operation timeout, far above what the plugins need.
const promptly = 10 * time.Second

// refusedURL returns the URL of a local port nobody listens on.
func refusedURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "pulsar://" + l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return url
}

// silentURL returns the URL of a local listener that accepts connections
// and never answers, as a hung broker does.
func silentURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() {
		l.Close()
		<-done
		for _, c := range conns {
			c.Close()
		}
	})
	return "pulsar://" + l.Addr().String()
}

// opener opens one of the three plugins on url, with the operation timeout
// given (0: the default), and closes what it opened.
type opener func(ctx context.Context, t *testing.T, url string, timeout time.Duration, rt *plugins.Runtime) error

func openSourceAt(ctx context.Context, t *testing.T, url string, timeout time.Duration, rt *plugins.Runtime) error {
	c, diags := plugintest.Build(SourcePlugin, fmt.Sprintf(`source "pulsar" {
  service_url  = %q
  topics       = ["events"]
  subscription = "s"
}`, url), record.Schema{})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	s := c.(*Source)
	s.Conn.OperationTimeout = timeout
	r, err := s.Open(ctx, rt)
	if err == nil {
		r.Close()
	}
	return err
}

func openSinkAt(ctx context.Context, t *testing.T, url string, timeout time.Duration, rt *plugins.Runtime) error {
	c, diags := plugintest.Build(SinkPlugin, fmt.Sprintf(`sink "pulsar" "out" {
  service_url = %q
  topic       = "results"
}`, url), window)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	s := c.(*Sink)
	s.Conn.OperationTimeout = timeout
	w, err := s.Open(ctx, rt)
	if err == nil {
		w.Close()
	}
	return err
}

func openDeadLetterAt(ctx context.Context, t *testing.T, url string, timeout time.Duration, rt *plugins.Runtime) error {
	c, diags := plugintest.Build(DeadLetterPlugin, fmt.Sprintf(`dead_letter "pulsar" {
  service_url = %q
  topic       = "dead"
}`, url), plugintest.Events)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	d := c.(*DeadLetter)
	d.Conn.OperationTimeout = timeout
	w, err := d.Open(ctx, rt)
	if err == nil {
		w.Close()
	}
	return err
}

var openers = []struct {
	name string
	open opener
}{
	{"source", openSourceAt},
	{"sink", openSinkAt},
	{"dead_letter", openDeadLetterAt},
}

func TestOpenStopsWhileConnecting(t *testing.T) {
	t.Parallel()
	brokers := []struct {
		name string
		url  func(*testing.T) string
	}{
		{"refused", refusedURL},
		{"silent", silentURL},
	}
	for _, o := range openers {
		for _, b := range brokers {
			t.Run(o.name+"/"+b.name, func(t *testing.T) {
				t.Parallel()
				ctx, cancel := context.WithCancel(context.Background())
				time.AfterFunc(100*time.Millisecond, cancel)
				start := time.Now()
				err := o.open(ctx, t, b.url(t), 0, runtime())
				took := time.Since(start)
				if !errors.Is(err, context.Canceled) {
					t.Fatalf("Open after a stop: %v, want context.Canceled", err)
				}
				if took > promptly {
					t.Fatalf("Open returned %v after the stop (the client's operation timeout is 30s)", took)
				}
				if strings.Contains(err.Error(), "\n") {
					t.Fatalf("error of several lines: %q", err)
				}
			})
		}
	}
}

func TestErrorsAreOneLine(t *testing.T) {
	t.Parallel()
	for _, o := range openers {
		t.Run(o.name, func(t *testing.T) {
			t.Parallel()
			url := refusedURL(t)
			err := o.open(context.Background(), t, url, time.Second, runtime())
			if err == nil {
				t.Fatal("Open succeeded without a broker")
			}
			msg := err.Error()
			for _, bad := range []string{"\n", `source "pulsar"`, `sink "pulsar"`, `dead_letter "pulsar"`} {
				if strings.Contains(msg, bad) {
					t.Errorf("the error holds %q: %q", bad, msg)
				}
			}
			if n := strings.Count(msg, url); n != 1 {
				t.Errorf("the error names %s %d times: %q", url, n, msg)
			}
			if !strings.Contains(msg, "operation_timeout (1s)") {
				t.Errorf("the error does not say which timeout ran out: %q", msg)
			}
		})
	}
}

// warnLog is a runtime whose logger keeps warnings (the client's own
// included), and their text.
func warnLog() (*plugins.Runtime, *syncBuffer) {
	var logs syncBuffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	return &plugins.Runtime{Pipeline: "p", Logger: logger, Now: time.Now}, &logs
}

// waitForLog waits until logs hold text.
func waitForLog(t *testing.T, logs *syncBuffer, text string) {
	t.Helper()
	deadline := time.Now().Add(4 * testTimeout)
	for !strings.Contains(logs.String(), text) {
		if time.Now().After(deadline) {
			t.Fatalf("the log does not say %q:\n%s", text, logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestCloseDuringOutage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// open opens a running plugin on url and returns what stops it in
		// the outage, ending with its Close.
		open func(t *testing.T, url string, rt *plugins.Runtime) func() error
	}{
		{"source", func(t *testing.T, url string, rt *plugins.Runtime) func() error {
			produce(t, url, "events", 5)
			c, diags := plugintest.Build(SourcePlugin, fmt.Sprintf(`source "pulsar" {
  service_url  = %q
  topics       = ["events"]
  subscription = "s"
  start        = "earliest"
}`, url), record.Schema{})
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			r, err := c.(*Source).Open(context.Background(), rt)
			if err != nil {
				t.Fatal(err)
			}
			b := record.NewBatch(sourceRecord, 16)
			ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
			defer cancel()
			if err := r.Read(ctx, b, 16); err != nil || b.Rows == 0 {
				t.Fatalf("Read: %d rows, %v", b.Rows, err)
			}
			return r.Close
		}},
		{"sink", func(t *testing.T, url string, rt *plugins.Runtime) func() error {
			c, diags := plugintest.Build(SinkPlugin, fmt.Sprintf(`sink "pulsar" "out" {
  service_url = %q
  topic       = "results"
}`, url), plugintest.Events)
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			w, err := c.(*Sink).Open(context.Background(), rt)
			if err != nil {
				t.Fatal(err)
			}
			b := record.NewBatch(plugintest.Events, 1)
			plugintest.AppendRow(b, record.Origin{}, 1, "login", 0, "phone")
			if err := w.Write(context.Background(), b); err != nil {
				t.Fatal(err)
			}
			// In the outage, a Write given up (the pipeline stops) leaves
			// its message pending in the producer.
			return func() error {
				ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
				defer cancel()
				if err := w.Write(ctx, b); err == nil {
					t.Error("Write succeeded without a broker")
				}
				return w.Close()
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := startBroker(t)
			rt, logs := warnLog()
			closeFn := tt.open(t, b.URL(), rt)
			if err := b.Close(); err != nil {
				t.Fatal(err)
			}
			// The client is reconnecting: each attempt lasts up to the
			// operation timeout (30 s).
			waitForLog(t, logs, "Failed to connect to broker")
			start := time.Now()
			done := make(chan error, 1)
			go func() { done <- closeFn() }()
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("Close: %v", err)
				}
			case <-time.After(promptly):
				t.Fatalf("Close still waiting %v into the outage; log:\n%s", promptly, logs.String())
			}
			t.Logf("closed in %v", time.Since(start).Round(time.Millisecond))
			waitForLog(t, logs, "the broker did not answer while closing")
		})
	}
}

func TestSourceCheckResumable(t *testing.T) {
	tests := []struct {
		line    string // the subscription_type line, if any
		subject string // where the error is, "" for none
	}{
		{"", ""},
		{`subscription_type = "exclusive"`, ""},
		{`subscription_type = "failover"`, ""},
		{`subscription_type = "shared"`, "4:3-4:31"},
		{`subscription_type = "key_shared"`, "4:3-4:35"},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			c, diags := plugintest.Build(SourcePlugin, fmt.Sprintf(`source "pulsar" {
  topics       = ["events"]
  subscription = "s"
  %s
}`, tt.line), record.Schema{})
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			s := c.(*Source)
			var _ plugins.Resumable = s
			got := s.CheckResumable()
			if tt.subject == "" {
				if len(got) != 0 {
					t.Fatalf("CheckResumable = %v, want nothing", got)
				}
				return
			}
			if len(got) != 1 || got[0].Severity != hcl.DiagError || got[0].Subject == nil {
				t.Fatalf("CheckResumable = %v, want one positioned error", got)
			}
			d := got[0]
			r := d.Subject
			if at := fmt.Sprintf("%d:%d-%d:%d", r.Start.Line, r.Start.Column, r.End.Line, r.End.Column); at != tt.subject {
				t.Errorf("the error is at %s, want %s (subscription_type)", at, tt.subject)
			}
			if !strings.Contains(d.Detail, "checkpoint { enabled = false }") {
				t.Errorf("the detail does not say how to opt out: %q", d.Detail)
			}
			// A run that takes checkpoints refuses it with the same text,
			// before connecting.
			rt := runtime()
			rt.Checkpoints = true
			_, err := s.Open(context.Background(), rt)
			if err == nil {
				t.Fatal("Open with checkpoints succeeded")
			}
			if want := strings.TrimSuffix(d.Detail, "."); !strings.EqualFold(err.Error(), want) {
				t.Errorf("Open: %q\nwant the detail %q", err, want)
			}
		})
	}
}
