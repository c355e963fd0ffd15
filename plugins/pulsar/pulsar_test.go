package pulsar

import (
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/sluice-io/sluice/record"

	"github.com/sluice-io/sluice/plugins"
	"github.com/sluice-io/sluice/plugins/plugintest"
)

func abs(t *testing.T, p string) string {
	t.Helper()
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestSourceBuild(t *testing.T) {
	defaults := func() *Source {
		return &Source{
			Conn:              Connection{ServiceURL: DefaultServiceURL, OperationTimeout: DefaultOperationTimeout},
			Topics:            []string{"persistent://public/default/events"},
			Subscription:      "s",
			SubscriptionType:  Failover,
			Start:             Latest,
			ReceiverQueueSize: 1000,
		}
	}
	tests := []struct {
		name  string
		src   string
		diags []string
		want  func() *Source // nil: no component
	}{
		{name: "defaults", src: `source "pulsar" {
  topics       = ["events"]
  subscription = "s"
}`, want: defaults},
		{name: "everything", src: `source "pulsar" {
  service_url         = "pulsar+ssl://a.example.com:6651,b.example.com:6651"
  topics              = ["acme/prod/a", "non-persistent://acme/prod/b"]
  subscription        = "sub"
  subscription_type   = "key_shared"
  start               = "earliest"
  end                 = "latest"
  receiver_queue_size = 50
  connection_timeout  = "5s"
  operation_timeout   = "1m"
  auth {
    token_file = "secrets/token"
  }
  tls {
    ca_file   = "/ca.pem"
    cert_file = "c.pem"
    key_file  = "k.pem"
    allow_insecure = true
  }
}`, want: func() *Source {
			return &Source{
				Conn: Connection{
					ServiceURL:        "pulsar+ssl://a.example.com:6651,b.example.com:6651",
					Auth:              &Auth{TokenFile: abs(t, "secrets/token")},
					TLS:               &TLS{CAFile: "/ca.pem", CertFile: abs(t, "c.pem"), KeyFile: abs(t, "k.pem"), VerifyHostname: true, AllowInsecure: true},
					ConnectionTimeout: 5 * time.Second,
					OperationTimeout:  time.Minute,
				},
				Topics:            []string{"persistent://acme/prod/a", "non-persistent://acme/prod/b"},
				Subscription:      "sub",
				SubscriptionType:  KeyShared,
				Start:             Earliest,
				End:               Latest,
				ReceiverQueueSize: 50,
			}
		}},
		{name: "pattern and oauth2", src: `source "pulsar" {
  topics_pattern = "events-.*"
  subscription   = "s"
  auth {
    oauth2 {
      issuer_url         = "https://auth.example.com/"
      client_id          = "id"
      client_secret_file = "/creds.json"
      audience           = "aud"
    }
  }
}`, want: func() *Source {
			s := defaults()
			s.Topics, s.TopicsPattern = nil, "persistent://public/default/events-.*"
			s.Conn.Auth = &Auth{OAuth2: &OAuth2{IssuerURL: "https://auth.example.com/", ClientID: "id", ClientSecretFile: "/creds.json", Audience: "aud"}}
			return s
		}},
		{name: "both topics and pattern", src: `source "pulsar" {
  topics         = ["events"]
  topics_pattern = "events-.*"
  subscription   = "s"
}`, diags: []string{"3:3: Both topics and topics_pattern"}},
		{name: "neither topics nor pattern", src: `source "pulsar" {
  subscription = "s"
}`, diags: []string{"1:1: No topics"}},
		{name: "empty topics", src: `source "pulsar" {
  topics       = []
  subscription = "s"
}`, diags: []string{"2:18: No topics"}},
		{name: "bad and duplicate topics", src: `source "pulsar" {
  topics       = ["a/b", "events", "persistent://public/default/events", "http://x/y/z"]
  subscription = "s"
}`, diags: []string{"2:19: Invalid topic name", "2:36: Duplicate topic", "2:74: Invalid topic name"}},
		{name: "bad pattern", src: `source "pulsar" {
  topics_pattern = "events-(.*"
  subscription   = "s"
}`, diags: []string{"2:20: Invalid topics pattern"}},
		{name: "bad scheme", src: `source "pulsar" {
  service_url  = "http://localhost:8080"
  topics       = ["events"]
  subscription = "s"
}`, diags: []string{"2:19: Unsupported service URL"}},
		{name: "no scheme", src: `source "pulsar" {
  service_url  = "localhost:6650"
  topics       = ["events"]
  subscription = "s"
}`, diags: []string{"2:18: Unsupported service URL"}},
		{name: "no host", src: `source "pulsar" {
  service_url  = "pulsar://"
  topics       = ["events"]
  subscription = "s"
}`, diags: []string{"2:18: Service URL without a host"}},
		{name: "cert without key", src: `source "pulsar" {
  service_url  = "pulsar+ssl://localhost:6651"
  topics       = ["events"]
  subscription = "s"
  tls {
    cert_file = "c.pem"
  }
}`, diags: []string{"6:5: Client certificate without a key"}},
		{name: "key without cert", src: `source "pulsar" {
  service_url  = "pulsar+ssl://localhost:6651"
  topics       = ["events"]
  subscription = "s"
  tls {
    key_file = "k.pem"
  }
}`, diags: []string{"6:5: Client key without a certificate"}},
		{name: "tls with plain url", src: `source "pulsar" {
  topics       = ["events"]
  subscription = "s"
  tls {
    ca_file = "/ca.pem"
  }
}`, diags: []string{"4:3: TLS settings are not used"}, want: func() *Source {
			s := defaults()
			s.Conn.TLS = &TLS{CAFile: "/ca.pem", VerifyHostname: true}
			return s
		}},
		{name: "two auth methods", src: `source "pulsar" {
  topics       = ["events"]
  subscription = "s"
  auth {
    token     = "abc"
    token_env = "PULSAR_TOKEN"
  }
}`, diags: []string{"6:5: Several authentication methods"}},
		{name: "token and oauth2", src: `source "pulsar" {
  topics       = ["events"]
  subscription = "s"
  auth {
    token_env = "PULSAR_TOKEN"
    oauth2 {
      issuer_url         = "https://auth.example.com/"
      client_id          = "id"
      client_secret_file = "/creds.json"
      audience           = "aud"
    }
  }
}`, diags: []string{"6:5: Several authentication methods"}},
		{name: "empty auth", src: `source "pulsar" {
  topics       = ["events"]
  subscription = "s"
  auth {}
}`, diags: []string{"4:3: No authentication method"}},
		{name: "empty token", src: `source "pulsar" {
  topics       = ["events"]
  subscription = "s"
  auth {
    token = ""
  }
}`, diags: []string{"5:13: Empty token"}},
		{name: "receiver queue zero", src: `source "pulsar" {
  topics              = ["events"]
  subscription        = "s"
  receiver_queue_size = 0
}`, diags: []string{"4:25: Invalid receiver queue size"}},
		{name: "end not latest", src: `source "pulsar" {
  topics       = ["events"]
  subscription = "s"
  start        = "earliest"
  end          = "earliest"
}`, diags: []string{"5:18: Invalid value for argument \"end\""}},
		{name: "bounded from latest", src: `source "pulsar" {
  topics       = ["events"]
  subscription = "s"
  end          = "latest"
}`, diags: []string{"4:3: Bounded read of a subscription starting at latest"}, want: func() *Source {
			s := defaults()
			s.End = Latest
			return s
		}},
		{name: "missing subscription", src: `source "pulsar" {
  topics = ["events"]
}`, diags: []string{"1:1: Missing required argument"}},
		{name: "zero timeouts", src: `source "pulsar" {
  topics             = ["events"]
  subscription       = "s"
  connection_timeout = "0s"
  operation_timeout  = "0s"
}`, diags: []string{"4:24: Invalid timeout", "5:24: Invalid timeout"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var want *Source
			if tt.want != nil {
				want = tt.want()
				// Where subscription_type is written is checked by
				// TestSourceCheckResumable.
				if c, _ := plugintest.Build(SourcePlugin, tt.src, record.Schema{}); c != nil {
					want.SubscriptionTypeRange = c.(*Source).SubscriptionTypeRange
					want.at = c.(*Source).at
				}
			}
			if want == nil {
				// With errors the source may still return itself, so that
				// the stages after it can be checked (its output is fixed):
				// only the diagnostics matter.
				_, diags := plugintest.Build(SourcePlugin, tt.src, record.Schema{})
				if got := plugintest.Summaries(diags); !reflect.DeepEqual(got, tt.diags) || !diags.HasErrors() {
					t.Fatalf("diagnostics = %q, want the errors %q", got, tt.diags)
				}
				return
			}
			plugintest.Expect(t, SourcePlugin, tt.src, record.Schema{}, tt.diags, want)
		})
	}
}

// window is the record schema of a tumbling window's results grouped by
// action, with a count, emitted every period: its rows are identified by
// window_start and action.
var window = record.Schema{Columns: []record.Column{
	{Name: "window_start", Type: record.ColumnTimestamp},
	{Name: "window_end", Type: record.ColumnTimestamp},
	{Name: "action", Type: record.ColumnString},
	{Name: "events", Type: record.ColumnInt},
	{Name: "final", Type: record.ColumnBool},
}, Key: []string{"window_start", "action"}}

func TestSinkBuild(t *testing.T) {
	c, diags := plugintest.Build(SinkPlugin, `sink "pulsar" "out" { topic = "results" }`, window)
	if len(diags) > 0 {
		t.Fatal(diags)
	}
	want := &Sink{
		Conn:                Connection{ServiceURL: DefaultServiceURL, OperationTimeout: DefaultOperationTimeout},
		Topic:               "persistent://public/default/results",
		WindowKey:           []int{0, 2},
		Compression:         CompressionLZ4,
		Batching:            true,
		BatchingMaxMessages: 1000,
		BatchingMaxDelay:    10 * time.Millisecond,
		Pipeline:            "test",
		Input:               window,
	}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("got %#v, want %#v", c, want)
	}

	c, diags = plugintest.Build(SinkPlugin, `sink "pulsar" "out" {
  topic                 = "acme/prod/results"
  key                   = "device + '/' + action"
  compression           = "zstd"
  batching_max_messages = 10
  batching_max_delay    = "1ms"
  properties            = { producer = "sluice" }
}`, plugintest.Events)
	if len(diags) > 0 {
		t.Fatal(diags)
	}
	s := c.(*Sink)
	if s.Key == nil || s.Key.Type != record.ColumnString || s.WindowKey != nil || s.Compression != CompressionZSTD ||
		s.BatchingMaxMessages != 10 || s.BatchingMaxDelay != time.Millisecond ||
		!reflect.DeepEqual(s.Properties, map[string]string{"producer": "sluice"}) || s.Topic != "persistent://acme/prod/results" {
		t.Fatalf("got %#v", s)
	}

	// Records without a key (raw events, or window results after a map
	// that dropped a group field) have no default key.
	for _, rec := range []record.Schema{plugintest.Events, window.Without("action")} {
		c, _ = plugintest.Build(SinkPlugin, `sink "pulsar" "out" { topic = "t" }`, rec)
		if c.(*Sink).WindowKey != nil {
			t.Fatalf("window key %v for records %s without a key", c.(*Sink).WindowKey, rec)
		}
	}
}

func TestSinkDiagnostics(t *testing.T) {
	tests := []struct {
		name, src string
		diags     []string
	}{
		{"bad key expression", `sink "pulsar" "out" {
  topic = "t"
  key   = "device + actoin"
}`, []string{"3:21: Unknown field in expression"}},
		{"bad topic", `sink "pulsar" "out" { topic = "a/b" }`, []string{"1:31: Invalid topic name"}},
		{"missing topic", `sink "pulsar" "out" {}`, []string{"1:1: Missing required argument"}},
		{"zero batch", `sink "pulsar" "out" {
  topic                 = "t"
  batching_max_messages = 0
  batching_max_delay    = "0s"
}`, []string{"3:27: Invalid batch size", "4:27: Invalid batching delay"}},
		{"batching off", `sink "pulsar" "out" {
  topic                 = "t"
  batching              = false
  batching_max_messages = 5
}`, []string{"4:3: Argument has no effect"}},
		{"bad compression", `sink "pulsar" "out" {
  topic       = "t"
  compression = "gzip"
}`, []string{"3:17: Invalid value for argument \"compression\""}},
		{"bad url", `sink "pulsar" "out" {
  service_url = "https://x:8443"
  topic       = "t"
}`, []string{"2:18: Unsupported service URL"}},
		{"zero operation timeout", `sink "pulsar" "out" {
  topic             = "t"
  operation_timeout = "0s"
}`, []string{"3:23: Invalid timeout"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, diags := plugintest.Build(SinkPlugin, tt.src, plugintest.Events)
			if got := plugintest.Summaries(diags); !reflect.DeepEqual(got, tt.diags) {
				t.Fatalf("diagnostics = %q, want %q\n%v", got, tt.diags, diags)
			}
		})
	}
}

func TestDeadLetterBuild(t *testing.T) {
	plugintest.Expect(t, DeadLetterPlugin, `dead_letter "pulsar" {
  service_url = "pulsar://broker:6650"
  topic       = "dead"
  auth {
    token_env = "PULSAR_TOKEN"
  }
}`, plugintest.Events, nil, &DeadLetter{
		Conn:     Connection{ServiceURL: "pulsar://broker:6650", Auth: &Auth{TokenEnv: "PULSAR_TOKEN"}, OperationTimeout: DefaultOperationTimeout},
		Topic:    "persistent://public/default/dead",
		Pipeline: "test",
		Input:    plugintest.Events,
	})
	plugintest.Expect(t, DeadLetterPlugin, `dead_letter "pulsar" {
  topic = "dead"
  tls {
    key_file = "k.pem"
  }
}`, plugintest.Events, []string{"4:5: Client key without a certificate", "3:3: TLS settings are not used"}, (*DeadLetter)(nil))
}

func TestTopicName(t *testing.T) {
	for in, want := range map[string]string{
		"t":                               "persistent://public/default/t",
		"a/b/t":                           "persistent://a/b/t",
		"a/c/b/t":                         "persistent://a/c/b/t",
		"non-persistent://a/b/t":          "non-persistent://a/b/t",
		"persistent://public/default/t-1": "persistent://public/default/t-1",
	} {
		if got, err := topicName(in); err != nil || got != want {
			t.Errorf("topicName(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "a/b", "kafka://a/b/c", "persistent://a/b", "persistent://a//c"} {
		if got, err := topicName(in); err == nil {
			t.Errorf("topicName(%q) = %q, want an error", in, got)
		}
	}
}

func TestPositionReaches(t *testing.T) {
	end := position{ledger: 5, entry: 10, batch: -1}
	for _, c := range []struct {
		pos  position
		size int32
		want bool
	}{
		{position{5, 9, -1}, 0, false},
		{position{5, 10, -1}, 0, true},
		{position{5, 10, 0}, 3, false}, // the last entry is a batch of 3
		{position{5, 10, 2}, 3, true},
		{position{6, 0, -1}, 0, true},
		{position{4, 99, -1}, 0, false},
	} {
		if got := c.pos.reaches(c.size, end); got != c.want {
			t.Errorf("%v.reaches(%d, %v) = %v", c.pos, c.size, end, got)
		}
	}
	if !(position{5, 10, 1}).reaches(3, position{5, 10, 1}) || (position{5, 10, 0}).reaches(3, position{5, 10, 1}) {
		t.Error("batch index end")
	}
	if comparePartitionTopics("t-partition-10", "t-partition-2") <= 0 || comparePartitionTopics("a", "b-partition-0") >= 0 {
		t.Error("comparePartitionTopics")
	}
}

var _ plugins.Component = (*Sink)(nil)
