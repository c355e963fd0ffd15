package pulsar

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/sluice-io/sluice/internal/pulsartest"
	"github.com/sluice-io/sluice/plugins"
	"github.com/sluice-io/sluice/plugins/plugintest"
	"github.com/sluice-io/sluice/record"
)

// shuffleBlock builds a repartition block on b's topic, routed by key,
// for records of input, with extra arguments.
func shuffleBlock(t testing.TB, b *pulsartest.Broker, topic string, partitions int, input record.Schema, key string, extra ...string) *Repartition {
	t.Helper()
	if !strings.Contains(strings.Join(extra, " "), "watermark_interval") {
		extra = append(extra, `watermark_interval = "20ms"`)
	}
	src := fmt.Sprintf(`repartition "pulsar" {
  service_url        = %q
  admin_url          = %q
  topic              = %q
  partitions         = %d
  key                = [%q]
  operation_timeout  = "5s"
  %s
}`, b.URL(), b.AdminURL(), topic, partitions, key, strings.Join(extra, "\n  "))
	c, diags := plugintest.Build(RepartitionPlugin, src, input)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	return c.(*Repartition)
}

// ensure runs the block's topic setup with a client of its own.
func ensure(t *testing.T, r *Repartition, rt *plugins.Runtime) error {
	t.Helper()
	client, err := r.Conn.newClient(rt)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	return r.ensureTopic(context.Background(), rt, client)
}

func TestRepartitionTopicSetup(t *testing.T) {
	b := startBroker(t)
	if err := b.CreateTopic("four", 4); err != nil {
		t.Fatal(err)
	}
	if err := b.CreateTopic("plain", 0); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, topic string
		partitions  int    // the block's
		want        string // the error, "" for none
		after       int    // the topic's partitions after
	}{
		{"missing: created", "fresh", 3, "", 3},
		{"exists with the count", "four", 4, "", 4},
		{"exists with another count", "four", 3, "topic persistent://public/default/four has 4 partitions, but the repartition block says partitions = 3", 4},
		{"non-partitioned", "plain", 3, "exists as a non-partitioned topic (1 partition), but the repartition block needs 3 partitions", 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := shuffleBlock(t, b, tc.topic, tc.partitions, plugintest.Events, "user_id")
			err := ensure(t, r, runtime())
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			if got := len(b.Stats(tc.topic).Partitions); got != tc.after {
				t.Fatalf("the topic has %d partitions, want %d", got, tc.after)
			}
		})
	}
}

// TestRepartitionTopicConcurrentCreators: processes (blocks with setups of
// their own) racing to create the topic all succeed, and it is created
// once with the count.
func TestRepartitionTopicConcurrentCreators(t *testing.T) {
	b := startBroker(t)
	var wg sync.WaitGroup
	errs := make(chan error, 6)
	for range 6 {
		r := shuffleBlock(t, b, "raced", 5, plugintest.Events, "device")
		wg.Go(func() { errs <- ensure(t, r, runtime()) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := len(b.Stats("raced").Partitions); got != 5 {
		t.Fatalf("%d partitions, want 5", got)
	}
	if got := b.Stats("raced-sluice-state").Partitions; len(got) != 1 || got[0].Topic != "persistent://public/default/raced-sluice-state-partition-0" {
		t.Fatalf("the state topic has partitions %+v, want one", got)
	}
}

// TestRepartitionDeduplicationRefused: when the admin API refuses topic
// policies, the setup succeeds and warns once what the namespace needs.
func TestRepartitionDeduplicationRefused(t *testing.T) {
	b := startBroker(t)
	if err := b.CreateTopic("policies-off", 2); err != nil {
		t.Fatal(err)
	}
	if err := b.CreateTopic("policies-off-sluice-state", 1); err != nil {
		t.Fatal(err)
	}
	var calls []string
	var mu sync.Mutex
	admin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls = append(calls, r.Method+" "+r.URL.Path+" "+r.Header.Get("Authorization"))
		mu.Unlock()
		w.WriteHeader(http.StatusMethodNotAllowed)
	}))
	defer admin.Close()
	var logs bytes.Buffer
	rt := runtime()
	rt.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	r := shuffleBlock(t, b, "policies-off", 2, plugintest.Events, "device")
	r.AdminURL = admin.URL
	r.Conn.Auth = &Auth{Token: "secret"}
	for range 2 {
		r.setup.done = false // as a second open of another process would
		if err := ensure(t, r, &plugins.Runtime{Logger: rt.Logger}); err != nil {
			t.Fatal(err)
		}
	}
	if n := strings.Count(logs.String(), "pulsar-admin namespaces set-deduplication public/default --enable"); n != 1 {
		t.Fatalf("warned %d times, want once:\n%s", n, logs.String())
	}
	want := "POST /admin/v2/persistent/public/default/policies-off/deduplication Bearer secret"
	if len(calls) != 2 || calls[0] != want {
		t.Fatalf("admin calls %q, want twice %q", calls, want)
	}
}

// TestRepartitionTopicToken: the admin API gets the connection's token.
func TestRepartitionTopicToken(t *testing.T) {
	b, err := pulsartest.Start(pulsartest.Options{Authenticate: func(r pulsartest.AuthRequest) error {
		if r.Method == "token" && string(r.Data) == "secret" {
			return nil
		}
		return fmt.Errorf("refused %q", r.Method)
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	r := shuffleBlock(t, b, "guarded", 2, plugintest.Events, "device", "auth {\n token = \"secret\"\n}")
	if err := ensure(t, r, runtime()); err != nil {
		t.Fatal(err)
	}
	if got := len(b.Stats("guarded").Partitions); got != 2 {
		t.Fatalf("%d partitions, want 2", got)
	}
}
