package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"

	"github.com/sluice-io/sluice/internal/pulsartest"
	"github.com/sluice-io/sluice/plugins/nexmark"
)

// runNexmark runs sluice nexmark with args and returns its exit code,
// standard output and standard error.
func runNexmark(args ...string) (int, string, string) {
	var stdout, stderr bytes.Buffer
	cmd := newNexmarkCmd()
	cmd.SetArgs(args)
	cmd.SetOut(&stdout)
	cmd.SetErr(&stderr)
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	err := cmd.Execute()
	code := exitOK
	switch e := err.(type) {
	case nil:
	case exitCode:
		code = int(e)
	default:
		code = exitUsage
		stderr.WriteString(err.Error())
	}
	return code, stdout.String(), stderr.String()
}

func TestNexmarkGenerate(t *testing.T) {
	out := filepath.Join(t.TempDir(), "bids.ndjson")
	tests := []struct {
		name      string
		args      []string
		file      string // read the lines from this file instead of stdout
		wantLines int
		wantKinds map[string]int // counted by the "type" field, or by stream
		wantErr   string
	}{
		{name: "all to stdout", args: []string{"generate", "--events", "1000"}, wantLines: 1000,
			wantKinds: map[string]int{"person": 20, "auction": 60, "bid": 920}},
		{name: "bids to a file", args: []string{"generate", "--events", "1000", "--stream", "bid", "-o", out}, file: out, wantLines: 920},
		{name: "people", args: []string{"generate", "--events", "120", "--stream", "person", "--event-rate", "1"}, wantLines: 3},
		{name: "events required", args: []string{"generate"}, wantErr: `required flag(s) "events" not set`},
		{name: "bad stream", args: []string{"generate", "--events", "5", "--stream", "bids"}, wantErr: "--stream must be"},
		{name: "partitions need a topic", args: []string{"generate", "--events", "5", "--partitions", "2"}, wantErr: "needs --topic"},
		{name: "bad base time", args: []string{"generate", "--events", "5", "--base-time", "now"}, wantErr: "--base-time"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runNexmark(tt.args...)
			if tt.wantErr != "" {
				if code != exitUsage || !strings.Contains(stderr, tt.wantErr) {
					t.Fatalf("exit %d, stderr %q; want exit 2 with %q", code, stderr, tt.wantErr)
				}
				return
			}
			if code != exitOK {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			if tt.file != "" {
				b, err := os.ReadFile(tt.file)
				if err != nil {
					t.Fatal(err)
				}
				stdout = string(b)
			}
			lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
			if len(lines) != tt.wantLines {
				t.Fatalf("%d lines, want %d", len(lines), tt.wantLines)
			}
			kinds := map[string]int{}
			for _, l := range lines {
				var obj map[string]any
				if err := json.Unmarshal([]byte(l), &obj); err != nil {
					t.Fatalf("line %s: %v", l, err)
				}
				if s, ok := obj["date_time"].(string); !ok || !strings.HasSuffix(s, "Z") {
					t.Fatalf("line %s: date_time is not an RFC 3339 UTC time", l)
				}
				if typ, ok := obj["type"].(string); ok {
					kinds[typ]++
				}
			}
			if tt.wantKinds != nil && !equalCounts(kinds, tt.wantKinds) {
				t.Fatalf("kinds %v, want %v", kinds, tt.wantKinds)
			}
		})
	}
}

func equalCounts(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestNexmarkGeneratePulsar sends bids to a topic of three partitions of
// an in-process broker: partition p holds, in order, the bids whose event
// id mod 3 is p, the same lines as the file output.
func TestNexmarkGeneratePulsar(t *testing.T) {
	b, err := pulsartest.Start(pulsartest.Options{Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := b.CreateTopic("bids", 3); err != nil {
		t.Fatal(err)
	}
	const events = 400
	code, _, stderr := runNexmark("generate", "--events", "400", "--stream", "bid", "--url", b.URL(), "--topic", "bids", "--partitions", "3")
	if code != exitOK || !strings.Contains(stderr, "368 events written to topic bids") {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	_, all, _ := runNexmark("generate", "--events", "400", "--stream", "bid")
	lines := strings.Split(strings.TrimSuffix(all, "\n"), "\n")
	want := make([][]string, 3)
	k := 0
	for id := range int64(events) {
		if nexmark.Kind(id) == nexmark.StreamBid {
			want[id%3] = append(want[id%3], lines[k])
			k++
		}
	}
	client, err := pulsar.NewClient(pulsar.ClientOptions{URL: b.URL(), OperationTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for p := range want {
		r, err := client.CreateReader(pulsar.ReaderOptions{Topic: "bids-partition-" + string(rune('0'+p)), StartMessageID: pulsar.EarliestMessageID()})
		if err != nil {
			t.Fatal(err)
		}
		for i, w := range want[p] {
			m, err := r.Next(ctx)
			if err != nil {
				t.Fatalf("partition %d message %d: %v", p, i, err)
			}
			if string(m.Payload()) != w {
				t.Fatalf("partition %d message %d = %s, want %s", p, i, m.Payload(), w)
			}
		}
		if r.HasNext() {
			t.Fatalf("partition %d holds more than %d messages", p, len(want[p]))
		}
		r.Close()
	}
	code, _, stderr = runNexmark("generate", "--events", "10", "--url", b.URL(), "--topic", "bids", "--partitions", "2")
	if code != exitProblems || !strings.Contains(stderr, "has 3 partitions, not 2") {
		t.Fatalf("exit %d: %s; want a refusal of 2 partitions", code, stderr)
	}
}
