package pulsar

import (
	"reflect"
	"testing"
	"time"

	"github.com/sluice-io/sluice/plugins"
	"github.com/sluice-io/sluice/plugins/plugintest"
	"github.com/sluice-io/sluice/record"
)

// withMap is the test schema plus a map column, which records cannot be
// grouped by.
var withMap = record.Schema{Columns: append(append([]record.Column{}, plugintest.Events.Columns...), record.Column{Name: "labels", Type: record.ColumnStringMap})}

func TestRepartitionBuild(t *testing.T) {
	tests := []struct {
		name  string
		body  string
		input record.Schema
		diags []string
		check func(t *testing.T, r *Repartition)
	}{
		{name: "defaults", body: `topic = "shuffle"
  partitions = 8
  key = ["user_id", "action"]`, check: func(t *testing.T, r *Repartition) {
			want := Repartition{
				Topic: "persistent://public/default/shuffle", Partitions: 8,
				Key: []string{"user_id", "action"}, KeyIndex: []int{0, 1},
				Subscription: "sluice-repartition-test", AdminURL: "http://127.0.0.1:8080",
				WatermarkInterval: 200 * time.Millisecond, ReceiverQueueSize: 1000,
			}
			got := Repartition{Topic: r.Topic, Partitions: r.Partitions, Key: r.Key, KeyIndex: r.KeyIndex,
				Subscription: r.Subscription, AdminURL: r.AdminURL, WatermarkInterval: r.WatermarkInterval, ReceiverQueueSize: r.ReceiverQueueSize}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("got %+v\nwant %+v", got, want)
			}
			if ok, _ := r.SplitsTasks(); !ok || r.CheckTasks() != nil {
				t.Fatal("the half after does not run as tasks")
			}
			if !reflect.DeepEqual(r.Output(), plugintest.Events) {
				t.Fatal("records do not cross unchanged")
			}
		}},
		{name: "written settings", body: `topic = "acme/prod/shuffle"
  partitions = 4096
  key = ["device"]
  subscription = "sub"
  admin_url = "https://admin.example.com:9443/"
  watermark_interval = "1s"
  receiver_queue_size = 10`, check: func(t *testing.T, r *Repartition) {
			if r.Topic != "persistent://acme/prod/shuffle" || r.Subscription != "sub" || r.AdminURL != "https://admin.example.com:9443" ||
				r.WatermarkInterval != time.Second || r.ReceiverQueueSize != 10 || r.KeyIndex[0] != 3 {
				t.Fatalf("got %+v", r)
			}
		}},
		{name: "unknown key field", body: `topic = "t"
  partitions = 2
  key = ["user_id", "acton"]`, diags: []string{"4:22: Unknown key field"}},
		{name: "a key field of the raw payload", body: `topic = "t"
  partitions = 2
  key = ["user_id"]`, input: record.RawSchema(), diags: []string{"4:11: Unknown key field"}},
		{name: "a map key", body: `topic = "t"
  partitions = 2
  key = ["labels"]`, input: withMap, diags: []string{"4:11: Key field cannot be grouped"}},
		{name: "duplicate key field", body: `topic = "t"
  partitions = 2
  key = ["device", "device"]`, diags: []string{"4:21: Duplicate key field"}},
		{name: "no key field", body: `topic = "t"
  partitions = 2
  key = []`, diags: []string{"4:9: No key fields"}},
		{name: "no partitions", body: `topic = "t"
  partitions = 0
  key = ["device"]`, diags: []string{"3:16: Invalid partition count"}},
		{name: "too many partitions", body: `topic = "t"
  partitions = 4097
  key = ["device"]`, diags: []string{"3:16: Invalid partition count"}},
		{name: "non-persistent topic", body: `topic = "non-persistent://public/default/t"
  partitions = 2
  key = ["device"]`, diags: []string{"2:11: Non-persistent shuffle topic"}},
		{name: "topic with a cluster", body: `topic = "public/c1/default/t"
  partitions = 2
  key = ["device"]`, diags: []string{"2:11: Invalid topic name"}},
		{name: "admin URL not derivable", body: `service_url = "pulsar://pulsar.example.com:7000"
  topic = "t"
  partitions = 2
  key = ["device"]`, diags: []string{"2:3: Cannot derive the admin URL"}},
		{name: "bad admin URL", body: `admin_url = "pulsar://x:8080"
  topic = "t"
  partitions = 2
  key = ["device"]`, diags: []string{"2:15: Invalid admin URL"}},
		{name: "zero watermark interval", body: `topic = "t"
  partitions = 2
  key = ["device"]
  watermark_interval = "0s"`, diags: []string{"5:24: Invalid watermark interval"}},
		{name: "empty subscription", body: `topic = "t"
  partitions = 2
  key = ["device"]
  subscription = ""`, diags: []string{"5:18: Empty subscription"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			input := tc.input
			if input.Columns == nil && !input.Raw {
				input = plugintest.Events
			}
			c, diags := plugintest.Build(RepartitionPlugin, "repartition \"pulsar\" {\n  "+tc.body+"\n}", input)
			if got := plugintest.Summaries(diags); !reflect.DeepEqual(got, tc.diags) {
				t.Fatalf("diagnostics %q, want %q\n%s", got, tc.diags, diags.Error())
			}
			if tc.check != nil {
				tc.check(t, c.(*Repartition))
			}
		})
	}
}

func TestDeriveAdminURL(t *testing.T) {
	tests := []struct{ service, want string }{
		{"pulsar://pulsar.example.com:6650", "http://pulsar.example.com:8080"},
		{"pulsar://pulsar.example.com", "http://pulsar.example.com:8080"},
		{"pulsar+ssl://pulsar.example.com:6651", "https://pulsar.example.com:8443"},
		{"pulsar://a:6650,b:6650", "http://a:8080"},
		{"pulsar://[::1]:6650", "http://[::1]:8080"},
		{"pulsar://a:6651", ""},
		{"pulsar+ssl://a:6650", ""},
		{"pulsar://", ""},
	}
	for _, tc := range tests {
		got, err := deriveAdminURL(tc.service)
		if got != tc.want || (err != nil) != (tc.want == "") {
			t.Errorf("deriveAdminURL(%q) = %q, %v; want %q", tc.service, got, err, tc.want)
		}
	}
}

func TestProducerName(t *testing.T) {
	for _, tc := range []struct{ pipeline, task, want string }{
		{"clicks", "", "sluice-clicks-all"},
		{"clicks", "3", "sluice-clicks-3"},
		{"a b/ü", "0", "sluice-a_b___-0"},
	} {
		if got := producerName(tc.pipeline, tc.task); got != tc.want {
			t.Errorf("producerName(%q, %q) = %q, want %q", tc.pipeline, tc.task, got, tc.want)
		}
	}
}

// TestKeyPartition: the partition depends on the key's values only, is
// spread over the partitions, and -0 goes with 0.
func TestKeyPartition(t *testing.T) {
	s := record.Schema{Columns: []record.Column{{Name: "s", Type: record.ColumnString}, {Name: "f", Type: record.ColumnFloat}, {Name: "x", Type: record.ColumnInt}}}
	b := record.NewBatch(s, 0)
	for i := range 1000 {
		plugintest.AppendRow(b, record.Origin{}, "user-"+string(rune('a'+i%26)), float64(i%5), int64(i))
	}
	plugintest.AppendRow(b, record.Origin{}, nil, 0.0, int64(1))
	b.Columns[1].Floats[b.Rows-1] = -b.Columns[1].Floats[b.Rows-1] // -0
	plugintest.AppendRow(b, record.Origin{}, nil, 0.0, int64(2))
	keys := []int{0, 1}
	seen := map[int]int{}
	for row := range 1000 {
		p := keyPartition(b, keys, row, 8)
		if q := keyPartition(b, keys, row%130, 8); p != q {
			t.Fatalf("rows %d and %d have one key but partitions %d and %d", row, row%130, p, q)
		}
		seen[p]++
	}
	if len(seen) != 8 {
		t.Fatalf("130 keys went to %d of 8 partitions: %v", len(seen), seen)
	}
	if keyPartition(b, keys, 1000, 8) != keyPartition(b, keys, 1001, 8) {
		t.Fatal("-0 and 0 went to different partitions")
	}
	// Fixed values: the routing is the same in every process and run.
	if got := keyPartition(b, keys, 0, 1024); got != 534 {
		t.Fatalf("key (user-a, 0) goes to partition %d of 1024, not 534 as before", got)
	}
}

var _ plugins.Repartitioner = (*Repartition)(nil)
