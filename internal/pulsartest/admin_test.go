package pulsartest

import (
	"crypto/tls"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	"google.golang.org/protobuf/proto"

	pb "github.com/sluice-io/sluice/internal/pulsartest/pulsarpb"
)

// adminCall sends one admin request and returns the status and body.
func adminCall(t *testing.T, client *http.Client, method, url, body string, header ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b))
}

func TestAdminAPI(t *testing.T) {
	b := startBroker(t)
	if err := b.CreateTopic("plain", 0); err != nil {
		t.Fatal(err)
	}
	base := b.AdminURL() + "/admin/v2/persistent/public/default/"
	steps := []struct {
		name, method, path, body string
		status                   int
		want                     string // the body, when not ""
	}{
		{"missing topic", "GET", "shuffle/partitions", "", 404, `{"reason":"Topic not found"}`},
		{"deduplication of a missing topic", "POST", "shuffle/deduplication", "true", 404, ""},
		{"bad count", "PUT", "shuffle/partitions", "zero", 400, ""},
		{"count of zero", "PUT", "shuffle/partitions", "0", 400, ""},
		{"create", "PUT", "shuffle/partitions", "3", 204, ""},
		{"created", "GET", "shuffle/partitions", "", 200, `{"partitions":3}`},
		{"create again", "PUT", "shuffle/partitions", "3", 409, `{"reason":"This topic already exists"}`},
		{"over a non-partitioned topic", "PUT", "plain/partitions", "2", 409, ""},
		{"a non-partitioned topic", "GET", "plain/partitions", "", 200, `{"partitions":0}`},
		{"deduplication", "POST", "shuffle/deduplication", "true", 204, ""},
		{"deduplication off", "POST", "shuffle/deduplication", "false", 204, ""},
		{"deduplication with a bad body", "POST", "shuffle/deduplication", "yes", 400, ""},
		{"escaped name", "PUT", "with%20space/partitions", "1", 204, ""},
		{"unknown operation", "GET", "shuffle/stats", "", 404, ""},
		{"wrong method", "DELETE", "shuffle/partitions", "", 405, ""},
	}
	for _, s := range steps {
		status, body := adminCall(t, http.DefaultClient, s.method, base+s.path, s.body)
		if status != s.status || (s.want != "" && body != s.want) {
			t.Errorf("%s: %s %s = %d %s, want %d %s", s.name, s.method, s.path, status, body, s.status, s.want)
		}
	}
	if got := b.partitionCount("persistent://public/default/shuffle"); got != 3 {
		t.Fatalf("the broker has %d partitions, want 3", got)
	}
	// The client sees the partitions the API created.
	c := newClient(t, b)
	parts, err := c.TopicPartitions("persistent://public/default/with space")
	if err != nil || len(parts) != 1 || parts[0] != "persistent://public/default/with space-partition-0" {
		t.Fatalf("partitions of the escaped topic = %v, %v", parts, err)
	}
}

// TestAdminConcurrentCreate: of several creators of one topic, exactly one
// gets 204 and the others 409.
func TestAdminConcurrentCreate(t *testing.T) {
	b := startBroker(t)
	url := b.AdminURL() + "/admin/v2/persistent/public/default/race/partitions"
	var wg sync.WaitGroup
	codes := make(chan int, 8)
	for range 8 {
		wg.Go(func() {
			status, _ := adminCall(t, http.DefaultClient, "PUT", url, "4")
			codes <- status
		})
	}
	wg.Wait()
	close(codes)
	count := map[int]int{}
	for c := range codes {
		count[c]++
	}
	if count[204] != 1 || count[409] != 7 {
		t.Fatalf("statuses %v, want one 204 and seven 409", count)
	}
}

func TestAdminAuthenticationAndTLS(t *testing.T) {
	ca := newTestCA(t)
	cert, _, _ := ca.issue("localhost", false, "localhost", "127.0.0.1")
	b, err := Start(Options{
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}},
		Authenticate: func(r AuthRequest) error {
			if r.Method == "token" && string(r.Data) == "secret" {
				return nil
			}
			return errors.New("refused")
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if !strings.HasPrefix(b.AdminURL(), "https://127.0.0.1:") {
		t.Fatalf("admin URL %s is not https on the loopback", b.AdminURL())
	}
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool}}}
	url := b.AdminURL() + "/admin/v2/persistent/public/default/secure/partitions"
	if status, _ := adminCall(t, client, "PUT", url, "2"); status != 401 {
		t.Errorf("without a token: %d, want 401", status)
	}
	if status, _ := adminCall(t, client, "PUT", url, "2", "Authorization", "Bearer wrong"); status != 401 {
		t.Errorf("with a wrong token: %d, want 401", status)
	}
	if status, body := adminCall(t, client, "PUT", url, "2", "Authorization", "Bearer secret"); status != 204 {
		t.Errorf("with the token: %d %s, want 204", status, body)
	}
}

// TestDeduplicationHighestSequenceID: a SEND with highest_sequence_id
// makes that the producer's last sequence id, so that a later send at or
// below it is a duplicate; without it the sequence id alone counts, as
// after a batch of pulsar-client-go, which does not set it.
func TestDeduplicationHighestSequenceID(t *testing.T) {
	b := startBroker(t)
	tp, err := b.getTopic("persistent://public/default/highest")
	if err != nil {
		t.Fatal(err)
	}
	p := &producer{name: "batcher", topic: tp}
	meta := &pb.MessageMetadata{ProducerName: proto.String("batcher"), NumMessagesInBatch: proto.Int32(10)}
	steps := []struct {
		seq, highest uint64
		stored       bool
		last         int64
	}{
		{10, 19, true, 19},  // a batch of 10..19
		{15, 15, false, 19}, // within it: a duplicate
		{19, 25, false, 19}, // starts within it: a duplicate as a whole, as with Pulsar
		{20, 0, true, 20},   // a batch without highest_sequence_id: its first id
		{21, 29, true, 29},
	}
	for i, s := range steps {
		if tp.log != nil {
			break // publish is the path of a topic without a log
		}
		_, _, stored := tp.publish(p, s.seq, max(s.highest, s.seq), meta, []byte("x"))
		if stored != s.stored || tp.lastSequence("batcher") != s.last {
			t.Fatalf("step %d: send %d..%d stored %v, last %d; want %v, %d", i, s.seq, s.highest, stored, tp.lastSequence("batcher"), s.stored, s.last)
		}
	}
	// Through the client: a batch of explicit ids leaves its first id.
	c := newClient(t, b)
	prod, err := c.CreateProducer(pulsar.ProducerOptions{Topic: "client-batch", Name: "cb", BatchingMaxPublishDelay: time.Hour, BatchingMaxMessages: 100})
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()
	ctx := testContext(t, 10*time.Second)
	for i := range 5 {
		id := int64(100 + i)
		prod.SendAsync(ctx, &pulsar.ProducerMessage{Payload: []byte("m"), SequenceID: &id}, func(pulsar.MessageID, *pulsar.ProducerMessage, error) {})
	}
	if err := prod.Flush(); err != nil {
		t.Fatal(err)
	}
	ts, _ := b.getTopic("persistent://public/default/client-batch")
	if got := ts.lastSequence("cb"); got != 100 {
		t.Fatalf("after a client batch of 100..104 the last sequence id is %d, want 100", got)
	}
}
