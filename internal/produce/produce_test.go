package produce

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"

	"github.com/sluice-io/sluice/internal/pulsartest"
)

func TestProduce(t *testing.T) {
	b, err := pulsartest.Start(pulsartest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	in := `{"user_id":7,"action":"view"}

{"user_id":"u8","action":"click"}
`
	n, err := Run(ctx, Options{URL: b.URL(), Topic: "events", Key: "user_id"}, strings.NewReader(in))
	if err != nil || n != 2 {
		t.Fatalf("Run = %d, %v; want 2 messages", n, err)
	}
	client, err := pulsar.NewClient(pulsar.ClientOptions{URL: b.URL(), OperationTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	c, err := client.Subscribe(pulsar.ConsumerOptions{Topic: "events", SubscriptionName: "check", SubscriptionInitialPosition: pulsar.SubscriptionPositionEarliest})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, want := range []struct{ key, payload string }{{"7", `{"user_id":7,"action":"view"}`}, {"u8", `{"user_id":"u8","action":"click"}`}} {
		m, err := c.Receive(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if m.Key() != want.key || string(m.Payload()) != want.payload {
			t.Errorf("message key %q payload %s, want %q %s", m.Key(), m.Payload(), want.key, want.payload)
		}
	}

	var unkeyed []string
	opts := Options{URL: b.URL(), Topic: "events", Key: "user_id", Unkeyed: func(line int, reason string) {
		unkeyed = append(unkeyed, fmt.Sprintf("%d: %s", line, reason))
	}}
	if n, err := Run(ctx, opts, strings.NewReader("not json\n{\"a\":1}\n{\"user_id\":[1]}\n")); err != nil || n != 3 {
		t.Fatalf("Run = %d, %v; want 3 messages sent without keys", n, err)
	}
	want := []string{"1: not a JSON object", `2: no field "user_id"`, "3: the key field \"user_id\" is neither a string nor a number"}
	if len(unkeyed) != len(want) {
		t.Fatalf("unkeyed = %q, want %d lines", unkeyed, len(want))
	}
	for i, w := range want {
		if !strings.HasPrefix(unkeyed[i], w) {
			t.Errorf("unkeyed[%d] = %q, want it to start with %q", i, unkeyed[i], w)
		}
	}
	for range 3 {
		m, err := c.Receive(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if m.Key() != "" {
			t.Errorf("message %s has key %q, want none", m.Payload(), m.Key())
		}
	}
}

func TestProduceUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "pulsar://" + l.Addr().String()
	l.Close()
	_, err = Run(context.Background(), Options{URL: url, Topic: "events", OperationTimeout: time.Second}, strings.NewReader("{}\n"))
	if err == nil {
		t.Fatal("Run succeeded without a broker")
	}
	msg := err.Error()
	if strings.Contains(msg, "\n") || strings.Count(msg, url) != 1 || !strings.Contains(msg, "no success within 1s") {
		t.Fatalf("the error is not one line naming %s once and the timeout: %q", url, msg)
	}
}
