package demo

import (
	"context"
	"testing"
	"time"

	_ "github.com/sluice-io/sluice/plugins/all"
)

func TestEvent(t *testing.T) {
	got := string(event(nil, 7, "view", 1767225600123))
	if want := `{"user_id":7,"action":"view","ts":1767225600.123}`; got != want {
		t.Errorf("event = %s, want %s", got, want)
	}
}

// TestRun runs the demo briefly: the embedded broker, the
// producer and the pipeline work together and the run ends cleanly. (The
// printed tables go to standard output; cmd/sluice's test checks them.)
func TestRun(t *testing.T) {
	if testing.Short() {
		t.Skip("runs for seconds")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := Run(ctx, Options{Rate: 500, Speedup: 60}); err != nil {
		t.Fatal(err)
	}
}
