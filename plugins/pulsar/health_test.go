package pulsar

import (
	"fmt"
	"testing"
	"time"

	"github.com/sluice-io/sluice/internal/pulsartest"
)

// TestSourceReportsItsConnection: the source's reader says it is connected
// while the broker answers, not connected while it is down, and counts the
// reconnect when a broker serves the address again (readiness and metrics
// rely on it).
func TestSourceReportsItsConnection(t *testing.T) {
	data := t.TempDir()
	b, err := pulsartest.Start(pulsartest.Options{DataDir: data})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { b.Close() }()
	addr := b.Addr().String()
	produce(t, b.URL(), "health", 1)
	r := openSource(t, fmt.Sprintf(`source "pulsar" {
  service_url  = %q
  topics       = ["health"]
  subscription = "s"
}`, b.URL()))
	defer r.Close()
	if !r.Connected() || r.Reconnects() != 0 {
		t.Fatalf("after Open: connected %v, reconnects %d; want true, 0", r.Connected(), r.Reconnects())
	}
	b.Close()
	waitUntil(t, "the outage is seen", func() bool { return !r.Connected() })
	if b, err = pulsartest.Start(pulsartest.Options{Addr: addr, DataDir: data}); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the broker is seen again", func() bool { return r.Connected() })
	if n := r.Reconnects(); n != 1 {
		t.Errorf("reconnects = %d, want 1", n)
	}
}

// waitUntil polls ok for up to a minute: the probe checks every
// probeEvery, and a client call may take its operation timeout.
func waitUntil(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("waited a minute for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
