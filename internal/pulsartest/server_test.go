package pulsartest

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	"google.golang.org/protobuf/proto"

	pb "github.com/sluice-io/sluice/internal/pulsartest/pulsarpb"
)

// brokerGoroutines counts goroutines running broker code.
func brokerGoroutines() int {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	n := 0
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "internal/pulsartest.(*conn)") || strings.Contains(g, "internal/pulsartest.(*Broker)") {
			n++
		}
	}
	return n
}

func TestCloseLeavesNoGoroutines(t *testing.T) {
	b, err := Start(Options{})
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(t, b)
	ctx := testContext(t, 10*time.Second)
	cons, err := c.Subscribe(pulsar.ConsumerOptions{Topic: "leak", SubscriptionName: "s"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := c.CreateProducer(pulsar.ProducerOptions{Topic: "leak"})
	if err != nil {
		t.Fatal(err)
	}
	b.DelayReceipts(time.Hour) // leaves a delay goroutine waiting
	p.SendAsync(ctx, &pulsar.ProducerMessage{Payload: []byte("x")}, nil)
	waitFor(t, ctx, "message stored", func() bool { return b.Stats("leak").Messages() == 1 })
	_ = cons
	if brokerGoroutines() == 0 {
		t.Fatal("no broker goroutines while running")
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	// A goroutine is still on its way out for a moment after its
	// WaitGroup.Done (deferred), which a loaded machine can stretch.
	n := brokerGoroutines()
	for deadline := time.Now().Add(2 * time.Second); n != 0 && time.Now().Before(deadline); n = brokerGoroutines() {
		time.Sleep(10 * time.Millisecond)
	}
	if n != 0 {
		t.Fatalf("%d broker goroutines left after Close", n)
	}
	if _, err := net.DialTimeout("tcp", b.Addr().String(), time.Second); err == nil {
		t.Fatal("broker still accepting after Close")
	}
}

func TestURL(t *testing.T) {
	b := startBroker(t)
	if want := "pulsar://" + b.Addr().String(); b.URL() != want {
		t.Fatalf("URL = %q, want %q", b.URL(), want)
	}
}

func TestNormalizeTopic(t *testing.T) {
	for in, want := range map[string]string{
		"x":                                 "persistent://public/default/x",
		"t/ns/x":                            "persistent://t/ns/x",
		"persistent://public/default/x":     "persistent://public/default/x",
		"non-persistent://public/default/x": "non-persistent://public/default/x",
		"":                                  "",
		"a/b":                               "",
		"http://a/b/c":                      "",
	} {
		got, err := normalizeTopic(in)
		if want == "" && err == nil || want != "" && got != want {
			t.Errorf("normalizeTopic(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

// TestRawProtocol drives the broker without the client: handshake, ping,
// and a malformed frame that must close the connection, not crash.
func TestRawProtocol(t *testing.T) {
	b := startBroker(t)
	nc, err := net.Dial("tcp", b.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(5 * time.Second))
	r := bufio.NewReader(nc)
	nc.Write(encodeCommand(&pb.BaseCommand{
		Type:    pb.BaseCommand_CONNECT.Enum(),
		Connect: &pb.CommandConnect{ClientVersion: proto.String("raw"), ProtocolVersion: proto.Int32(30)},
	}))
	cmd, _, err := readFrame(r)
	if err != nil || cmd.GetType() != pb.BaseCommand_CONNECTED || cmd.GetConnected().GetProtocolVersion() != 20 {
		t.Fatalf("handshake: %v %v", cmd, err)
	}
	nc.Write(encodeCommand(&pb.BaseCommand{Type: pb.BaseCommand_PING.Enum(), Ping: &pb.CommandPing{}}))
	if cmd, _, err := readFrame(r); err != nil || cmd.GetType() != pb.BaseCommand_PONG {
		t.Fatalf("ping: %v %v", cmd, err)
	}
	// Unsupported command with a request id gets an ERROR.
	nc.Write(encodeCommand(&pb.BaseCommand{
		Type:   pb.BaseCommand_NEW_TXN.Enum(),
		NewTxn: &pb.CommandNewTxn{RequestId: proto.Uint64(7)},
	}))
	if cmd, _, err := readFrame(r); err != nil || cmd.GetError().GetRequestId() != 7 {
		t.Fatalf("unsupported: %v %v", cmd, err)
	}
	var bad bytes.Buffer
	binary.Write(&bad, binary.BigEndian, uint32(8))
	binary.Write(&bad, binary.BigEndian, uint32(100)) // command larger than frame
	bad.Write([]byte{1, 2, 3, 4})
	nc.Write(bad.Bytes())
	if _, _, err := readFrame(r); err == nil {
		t.Fatal("connection still open after a malformed frame")
	}
}

func FuzzDecodeFrame(f *testing.F) {
	ping := encodeCommand(&pb.BaseCommand{Type: pb.BaseCommand_PING.Enum(), Ping: &pb.CommandPing{}})
	f.Add(ping[4:])
	f.Add([]byte{0, 0, 0, 0})
	f.Add([]byte{0, 0, 0, 2, 8, 18, 0x0e, 0x01, 0, 0, 0, 0, 0, 0, 0, 1, 9})
	f.Fuzz(func(t *testing.T, body []byte) {
		cmd, payload, err := decodeFrame(body)
		if err != nil {
			return
		}
		_ = cmd.GetType()
		if payload != nil {
			if meta, err := parseMessage(payload); err == nil {
				entryKey(meta, payload)
			}
			entryKey(&pb.MessageMetadata{NumMessagesInBatch: proto.Int32(2)}, payload)
		}
		// And via the stream reader.
		var frame bytes.Buffer
		binary.Write(&frame, binary.BigEndian, uint32(len(body)))
		frame.Write(body)
		readFrame(bufio.NewReader(&frame))
	})
}
