package pulsartest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	"google.golang.org/protobuf/proto"

	pb "github.com/sluice-io/sluice/internal/pulsartest/pulsarpb"
)

// startPersistent starts a broker on dir, closed at the end of the test.
func startPersistent(t testing.TB, dir string) *Broker {
	t.Helper()
	b, err := Start(Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// closeBroker closes b and the client and checks that Close succeeded.
func closeBroker(t testing.TB, b *Broker, c pulsar.Client) {
	t.Helper()
	c.Close()
	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func subscribe(t testing.TB, c pulsar.Client, opts pulsar.ConsumerOptions) pulsar.Consumer {
	t.Helper()
	opts.SubscriptionInitialPosition = pulsar.SubscriptionPositionEarliest
	cons, err := c.Subscribe(opts)
	if err != nil {
		t.Fatal(err)
	}
	return cons
}

func newProducer(t testing.TB, c pulsar.Client, opts pulsar.ProducerOptions) pulsar.Producer {
	t.Helper()
	p, err := c.CreateProducer(opts)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func rangeOf(prefix string, from, to int, skip ...int) []string {
	var out []string
	for i := from; i < to; i++ {
		if !slices.Contains(skip, i) {
			out = append(out, fmt.Sprintf("%s-%d", prefix, i))
		}
	}
	return out
}

func samePayloads(t testing.TB, what string, got []pulsar.Message, want []string) {
	t.Helper()
	if g := payloads(got); !slices.Equal(g, want) {
		t.Fatalf("%s: got %q, want %q", what, g, want)
	}
}

// TestPersistRestart stores messages, acknowledges part of them in several
// ways, restarts the broker on the same directory and checks what the
// subscriptions get, that old message ids still work, that new ids come
// after the old ones and that deduplication remembers producers.
func TestPersistRestart(t *testing.T) {
	dir := t.TempDir()
	b := startPersistent(t, dir)
	c := newClient(t, b)
	ctx := testContext(t, 20*time.Second)
	if err := b.CreateTopic("parts", 3); err != nil {
		t.Fatal(err)
	}

	// "plain": individual acks on an Exclusive subscription, cumulative
	// ones on a Failover one.
	ind := subscribe(t, c, pulsar.ConsumerOptions{Topic: "plain", SubscriptionName: "ind", AckWithResponse: true})
	cum := subscribe(t, c, pulsar.ConsumerOptions{Topic: "plain", SubscriptionName: "cum", Type: pulsar.Failover})
	p := newProducer(t, c, pulsar.ProducerOptions{Topic: "plain", Name: "prod", DisableBatching: true})
	ids := produce(t, ctx, p, "m", 20)
	for i, m := range receive(t, ctx, ind, 20, false) {
		if i < 10 || i == 15 {
			if err := ind.Ack(m); err != nil {
				t.Fatal(err)
			}
		}
	}
	msgs := receive(t, ctx, cum, 13, false)
	if err := cum.AckCumulative(msgs[12]); err != nil {
		t.Fatal(err)
	}

	// "batched": one batch of 10, 4 of its messages acknowledged by index.
	bc := subscribe(t, c, pulsar.ConsumerOptions{Topic: "batched", SubscriptionName: "s", EnableBatchIndexAcknowledgment: true})
	bp := newProducer(t, c, pulsar.ProducerOptions{Topic: "batched", BatchingMaxMessages: 10, BatchingMaxPublishDelay: time.Hour})
	produce(t, ctx, bp, "b", 10)
	for i, m := range receive(t, ctx, bc, 10, false) {
		if i%3 == 0 {
			bc.Ack(m)
		}
	}

	// "parts": messages in every partition, a reader (not kept).
	pp := newProducer(t, c, pulsar.ProducerOptions{Topic: "parts", DisableBatching: true})
	produce(t, ctx, pp, "p", 30)
	if _, err := c.CreateReader(pulsar.ReaderOptions{Topic: "plain", StartMessageID: pulsar.EarliestMessageID()}); err != nil {
		t.Fatal(err)
	}
	np := newProducer(t, c, pulsar.ProducerOptions{Topic: "non-persistent://public/default/np"})
	produce(t, ctx, np, "np", 2)
	waitFor(t, ctx, "acks stored", func() bool {
		return b.Stats("plain").Backlog("ind") == 9 && b.Stats("plain").Backlog("cum") == 7 && b.Stats("batched").Backlog("s") == 6
	})
	closeBroker(t, b, c)

	b = startPersistent(t, dir)
	c = newClient(t, b)
	st := b.Stats("plain")
	if st.Messages() != 20 || len(st.Partitions[0].Subscriptions) != 2 {
		t.Fatalf("after restart: %+v", st)
	}
	if got := b.Stats("parts"); len(got.Partitions) != 3 || got.Messages() != 30 {
		t.Fatalf("partitioned topic after restart: %+v", got)
	}
	if got := b.Stats("non-persistent://public/default/np"); len(got.Partitions) != 0 {
		t.Fatalf("non-persistent topic kept: %+v", got)
	}
	for _, tc := range []struct {
		topic, sub string
		typ        pulsar.SubscriptionType
		batchIndex bool
		want       []string
	}{
		{"plain", "ind", pulsar.Exclusive, false, rangeOf("m", 10, 20, 15)},
		// Without consumers, a subscription takes the next one's type.
		{"plain", "cum", pulsar.Shared, false, rangeOf("m", 13, 20)},
		{"batched", "s", pulsar.Exclusive, true, rangeOf("b", 0, 10, 0, 3, 6, 9)},
	} {
		cons := subscribe(t, c, pulsar.ConsumerOptions{Topic: tc.topic, SubscriptionName: tc.sub, Type: tc.typ,
			EnableBatchIndexAcknowledgment: tc.batchIndex})
		samePayloads(t, tc.topic+"/"+tc.sub, receive(t, ctx, cons, len(tc.want), false), tc.want)
		expectNone(t, cons, 100*time.Millisecond)
		cons.Close()
	}

	// A stored message id still works: seek back to message 3.
	cons := subscribe(t, c, pulsar.ConsumerOptions{Topic: "plain", SubscriptionName: "ind"})
	old, err := pulsar.DeserializeMessageID(ids[3].Serialize())
	if err != nil {
		t.Fatal(err)
	}
	if err := cons.Seek(old); err != nil {
		t.Fatal(err)
	}
	// The client drops the seek target itself (it is not inclusive).
	samePayloads(t, "after seek", receive(t, ctx, cons, 16, false), rangeOf("m", 4, 20))

	// The producer's sequence ids are remembered: an old one is a
	// duplicate, new ones continue and get ids after the old ones.
	p = newProducer(t, c, pulsar.ProducerOptions{Topic: "plain", Name: "prod", DisableBatching: true})
	if _, err := p.Send(ctx, &pulsar.ProducerMessage{Payload: []byte("dup"), SequenceID: ptr(int64(7))}); err != nil {
		t.Fatal(err)
	}
	id, err := p.Send(ctx, &pulsar.ProducerMessage{Payload: []byte("new")})
	if err != nil {
		t.Fatal(err)
	}
	if id.LedgerID() != ids[19].LedgerID() || id.EntryID() != 20 {
		t.Fatalf("new message id %v after %v, want entry 20 of the same ledger", id, ids[19])
	}
	if got := b.Stats("plain").Messages(); got != 21 {
		t.Fatalf("%d messages stored, want 21 (the duplicate not stored)", got)
	}
	samePayloads(t, "new message", receive(t, ctx, cons, 1, false), []string{"new"})

	// New topics get new ledgers.
	fresh := newProducer(t, c, pulsar.ProducerOptions{Topic: "fresh"})
	fid, err := fresh.Send(ctx, &pulsar.ProducerMessage{Payload: []byte("x")})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range []int64{ids[0].LedgerID(), id.LedgerID()} {
		if fid.LedgerID() <= l {
			t.Fatalf("new topic's ledger %d not above %d", fid.LedgerID(), l)
		}
	}
}

func ptr[T any](v T) *T { return &v }

// topicLogPath returns the log file of the topic holding id.
func topicLogPath(dir string, id pulsar.MessageID) string {
	return filepath.Join(dir, topicLogName(uint64(id.LedgerID())))
}

// TestPersistTornTail damages the end of a topic log: the complete records
// are kept, the damaged tail dropped, and later appends are not lost
// behind it.
func TestPersistTornTail(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(path string) error
		kept   int
	}{
		{"garbage appended", func(path string) error {
			f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = f.Write([]byte("\x00\x00\x01\x00garbage after the last record"))
			return err
		}, 10},
		{"last record cut", func(path string) error {
			st, err := os.Stat(path)
			if err != nil {
				return err
			}
			return os.Truncate(path, st.Size()-5)
		}, 9},
		{"length of a record cut", func(path string) error {
			f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = f.Write([]byte{0, 0})
			return err
		}, 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			b := startPersistent(t, dir)
			c := newClient(t, b)
			ctx := testContext(t, 20*time.Second)
			p := newProducer(t, c, pulsar.ProducerOptions{Topic: "torn", Name: "prod", DisableBatching: true})
			ids := produce(t, ctx, p, "m", 10)
			closeBroker(t, b, c)
			if err := tc.damage(topicLogPath(dir, ids[0])); err != nil {
				t.Fatal(err)
			}

			b = startPersistent(t, dir)
			if got := b.Stats("torn").Messages(); got != int64(tc.kept) {
				t.Fatalf("%d messages after the restart, want %d", got, tc.kept)
			}
			c = newClient(t, b)
			p = newProducer(t, c, pulsar.ProducerOptions{Topic: "torn", Name: "prod", DisableBatching: true})
			produce(t, ctx, p, "n", 3)
			closeBroker(t, b, c)

			b = startPersistent(t, dir)
			c = newClient(t, b)
			cons := subscribe(t, c, pulsar.ConsumerOptions{Topic: "torn", SubscriptionName: "s"})
			want := append(rangeOf("m", 0, tc.kept), rangeOf("n", 0, 3)...)
			samePayloads(t, "all messages", receive(t, ctx, cons, len(want), false), want)
		})
	}
}

// TestPersistCorruptRecord checks that a whole record that makes no sense
// (not a torn write) fails Start instead of being dropped.
func TestPersistCorruptRecord(t *testing.T) {
	dir := t.TempDir()
	b := startPersistent(t, dir)
	c := newClient(t, b)
	ctx := testContext(t, 10*time.Second)
	ids := produce(t, ctx, newProducer(t, c, pulsar.ProducerOptions{Topic: "bad"}), "m", 2)
	closeBroker(t, b, c)
	path := topicLogPath(dir, ids[0])
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	rec, start := beginRecord(nil, 99)
	if _, err := f.Write(endRecord(append(rec, "what"...), start)); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if b, err := Start(Options{DataDir: dir}); err == nil {
		b.Close()
		t.Fatal("Start accepted a corrupt log")
	} else if !strings.Contains(err.Error(), path) {
		t.Fatalf("error %q does not name the file", err)
	}
}

// TestPersistCrash copies the data directory of a running broker, as a
// crash would leave it, and starts a broker on the copy: every message
// whose receipt the client got is there.
func TestPersistCrash(t *testing.T) {
	dir := t.TempDir()
	b := startPersistent(t, dir)
	c := newClient(t, b)
	ctx := testContext(t, 20*time.Second)
	if err := b.CreateTopic("crash", 2); err != nil {
		t.Fatal(err)
	}
	cons := subscribe(t, c, pulsar.ConsumerOptions{Topic: "crash", SubscriptionName: "s", Type: pulsar.Shared,
		AckWithResponse: true, EnableBatchIndexAcknowledgment: true})
	p := newProducer(t, c, pulsar.ProducerOptions{Topic: "crash", BatchingMaxMessages: 7, BatchingMaxPublishDelay: time.Millisecond})
	receipted := map[string]bool{}
	for _, s := range rangeOf("m", 0, 200) {
		receipted[s] = true
	}
	produce(t, ctx, p, "m", 200)
	acked := map[string]bool{}
	for _, m := range receive(t, ctx, cons, 50, false) {
		if err := cons.Ack(m); err != nil {
			t.Fatal(err)
		}
		acked[string(m.Payload())] = true
	}
	// More sends in flight while the copy is taken.
	var mu sync.Mutex
	stop, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			s := fmt.Sprintf("late-%d", i)
			p.SendAsync(ctx, &pulsar.ProducerMessage{Payload: []byte(s)}, func(_ pulsar.MessageID, _ *pulsar.ProducerMessage, err error) {
				if err == nil {
					mu.Lock()
					receipted[s] = true
					mu.Unlock()
				}
			})
			if i%10 == 9 {
				time.Sleep(time.Millisecond)
			}
		}
	}()
	defer func() { close(stop); <-stopped }()
	waitFor(t, ctx, "some late receipts", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(receipted) >= 300
	})
	mu.Lock()
	before := maps.Clone(receipted)
	mu.Unlock()
	copied := filepath.Join(t.TempDir(), "copy")
	copyDir(t, dir, copied)
	t.Logf("%d messages receipted when the copy started", len(before))

	if _, err := Start(Options{DataDir: dir}); err == nil {
		t.Fatal("a second broker started on a directory in use")
	}
	b2 := startPersistent(t, copied)
	c2 := newClient(t, b2)
	stored := int(b2.Stats("crash").Messages())
	if stored < len(before) {
		t.Fatalf("%d messages after the crash, want at least the %d receipted", stored, len(before))
	}
	check := func(sub string, n int, want, unwanted map[string]bool) {
		cons := subscribe(t, c2, pulsar.ConsumerOptions{Topic: "crash", SubscriptionName: sub, Type: pulsar.Shared,
			EnableBatchIndexAcknowledgment: true})
		got := map[string]bool{}
		for _, m := range receive(t, ctx, cons, n, true) {
			if got[string(m.Payload())] || unwanted[string(m.Payload())] {
				t.Fatalf("%s: unexpected %q", sub, m.Payload())
			}
			got[string(m.Payload())] = true
		}
		for s := range want {
			if !got[s] && !unwanted[s] {
				t.Fatalf("%s: receipted message %q lost", sub, s)
			}
		}
	}
	check("all", stored, before, nil)
	check("s", int(b2.Stats("crash").Backlog("s")), before, acked)
}

// copyDir copies the files of src into dst, each read as it is now.
func copyDir(t testing.TB, src, dst string) {
	t.Helper()
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	des, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, de := range des {
		in, err := os.Open(filepath.Join(src, de.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out, err := os.Create(filepath.Join(dst, de.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(out, in); err != nil {
			t.Fatal(err)
		}
		in.Close()
		if err := out.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestPersistWriteFailure fails the disk under a topic: the send gets an
// error, nothing is stored, and later sends fail at once.
func TestPersistWriteFailure(t *testing.T) {
	b := startPersistent(t, t.TempDir())
	tp, err := b.getTopic("persistent://public/default/wf")
	if err != nil {
		t.Fatal(err)
	}
	tp.log.f.Close() // writes fail from now on
	p := &producer{name: "p", topic: tp}
	errs := make(chan error, 2)
	for seq := range uint64(2) {
		meta := &pb.MessageMetadata{ProducerName: proto.String("p"), SequenceId: proto.Uint64(seq)}
		tp.publishDurable(p, seq, seq, meta, []byte("data"), func(_ int64, err error) { errs <- err })
		if err := <-errs; err == nil {
			t.Fatalf("send %d succeeded on a failed disk", seq)
		}
	}
	if got := b.Stats("wf").Messages(); got != 0 {
		t.Fatalf("%d messages stored", got)
	}
}

// TestPersistTornHeader checks logs without a valid header: a header cut
// short by a crash while the file was created is removed, a larger file
// without one fails Start and is left alone.
func TestPersistTornHeader(t *testing.T) {
	for _, tc := range []struct {
		name    string
		size    int
		wantErr bool
	}{
		{"torn header", 6, false},
		{"no header", 5000, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, topicLogName(7))
			if err := os.WriteFile(path, bytes.Repeat([]byte{0xff}, tc.size), 0o644); err != nil {
				t.Fatal(err)
			}
			b, err := Start(Options{DataDir: dir})
			if tc.wantErr {
				if err == nil {
					b.Close()
					t.Fatal("Start accepted a log without a header")
				}
				if st, _ := os.Stat(path); st == nil || st.Size() != int64(tc.size) {
					t.Fatal("the damaged log was changed")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("torn log still there: %v", err)
			}
			tp, err := b.getTopic("persistent://public/default/x")
			if err != nil {
				t.Fatal(err)
			}
			if tp.ledger != 8 {
				t.Fatalf("new topic on ledger %d, want 8 (after the removed log's)", tp.ledger)
			}
		})
	}
}
