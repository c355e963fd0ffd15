package pulsar_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	pulsarapi "github.com/apache/pulsar-client-go/pulsar"

	"github.com/sluice-io/sluice/runner"
	"github.com/sluice-io/sluice/runner/config"
)

// TestRepartitionEndToEnd runs one bounded pipeline twice through the real
// runner, with checkpoints: as is, and with a repartition block before its
// window, combining before the shuffle or not. All write the same rows.
func TestRepartitionEndToEnd(t *testing.T) {
	b, _, producer := brokerWithTopic(t, "persistent://public/default/events", 4)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	base := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC).UnixMilli()
	for i := range 3000 {
		payload := fmt.Sprintf(`{"user_id":%d,"action":%q,"ts":%d}`, i%7, []string{"click", "view", "buy"}[i%3], base+int64(i)*100-int64(i%13)*700)
		producer.SendAsync(ctx, &pulsarapi.ProducerMessage{Payload: []byte(payload), Key: fmt.Sprint(i % 7)}, nil)
	}
	if err := producer.FlushWithCtx(ctx); err != nil {
		t.Fatal(err)
	}
	producer.Close()
	run := func(name, shuffle string) []string {
		dir := t.TempDir()
		src := fmt.Sprintf(`pipeline %[3]q {
  checkpoint {
    store = "file://%[2]s/checkpoints"
    every = "200ms"
  }
  source "pulsar" {
    service_url       = %[1]q
    topics            = ["events"]
    subscription      = "sluice-%[3]s"
    subscription_type = "exclusive"
    start             = "earliest"
    end               = "latest"
  }
  parse "json" {
    field "user_id" { type = "int" }
    field "action" { type = "string" }
    field "ts" { type = "timestamp" }
  }
  %[4]s
  window "tumbling" {
    event_time = "ts"
    size       = "1m"
    watermark  = "10s"
    group_by   = ["action"]
    aggregate  = { events = "count()", users = "count_distinct(user_id)" }
  }
  sink "file" "out" {
    path = "%[2]s/out/rows.ndjson"
  }
}
`, b.URL(), dir, name, shuffle)
		project, diags := config.LoadSources([]config.Source{{Name: "p.hcl", Bytes: []byte(src)}}, nil)
		if diags.HasErrors() {
			t.Fatal(diags)
		}
		stats, err := runner.Run(ctx, project.Pipelines[0], runner.Options{BatchSize: 64})
		if err != nil {
			t.Fatalf("%s: %v (%+v)", name, err, stats)
		}
		if stats.In != 3000 || stats.Late != 0 {
			t.Fatalf("%s: %+v", name, stats)
		}
		// One file per task after the shuffle.
		files, _ := filepath.Glob(filepath.Join(dir, "out", "rows*.ndjson"))
		var rows []string
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			rows = append(rows, strings.Fields(string(data))...)
		}
		slices.Sort(rows)
		return rows
	}
	plain := run("plain", "")
	if len(plain) != 18 {
		t.Fatalf("%d rows without a shuffle, want 18:\n%s", len(plain), strings.Join(plain, "\n"))
	}
	entries := map[bool]int64{}
	for _, combine := range []bool{true, false} {
		name := fmt.Sprintf("shuffled-combine-%v", combine)
		shuffled := run(name, fmt.Sprintf(`repartition "pulsar" {
    service_url = %q
    admin_url   = %q
    topic       = %q
    partitions  = 3
    key         = ["action"]
    combine     = %v
  }`, b.URL(), b.AdminURL(), name, combine))
		if !slices.Equal(plain, shuffled) {
			t.Fatalf("without a shuffle:\n%s\nwith it (combine = %v):\n%s", strings.Join(plain, "\n"), combine, strings.Join(shuffled, "\n"))
		}
		// Combining sends one partial row per window, action and source
		// partition instead of every record.
		for _, p := range b.Stats(name).Partitions {
			entries[combine] += p.Entries
		}
	}
	if entries[true]*4 > entries[false] {
		t.Fatalf("the topic holds %d entries when combining, %d when not: it did not combine", entries[true], entries[false])
	}
}
