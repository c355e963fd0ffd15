package pulsartest

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Options configures a Broker.
type Options struct {
	// Addr is the TCP listen address; default "127.0.0.1:0" (a free
	// loopback port).
	Addr string
	// Logger receives the broker's diagnostics; nil discards them.
	Logger *slog.Logger
	// DataDir, when set, keeps the broker's state in this directory
	// (created if needed) so that it survives Close and a new Start on
	// the same directory, or a crash: topics and partition counts, every
	// stored entry with its message id, the last sequence id of each
	// producer name (for deduplication) and the durable subscriptions
	// with their cursors (acknowledged entries and batch indexes).
	// Connections, consumers, readers, redelivery counts and
	// "non-persistent://" topics are not kept. A send receipt is sent
	// only once its entry is synced to disk.
	// "" keeps everything in memory. Only one broker may use a directory
	// at a time. See the package documentation for the file format.
	DataDir string
	// TLSConfig, when set, makes the listener TLS: URL then returns
	// "pulsar+ssl://host:port" and lookups answer with it. It needs a
	// certificate; set ClientAuth and ClientCAs to ask for client
	// certificates (mutual TLS), which Authenticate can then check.
	TLSConfig *tls.Config
	// Authenticate, when set, checks the credentials of every connection:
	// a CONNECT it refuses (returns an error for) is answered with an
	// ERROR frame of type AuthenticationError carrying the error's text,
	// and the connection is closed. nil accepts every client, whatever
	// credentials it presents.
	Authenticate func(AuthRequest) error
}

// Broker is a broker speaking the Pulsar binary protocol, in memory or
// backed by a data directory (Options.DataDir). Create
// one with Start and stop it with Close. All methods are safe for
// concurrent use.
type Broker struct {
	ln           net.Listener
	log          *slog.Logger
	url          string
	tls          bool
	authenticate func(AuthRequest) error
	dataDir      string
	unlock       func() // releases the data directory
	tlsConfig    *tls.Config
	admin        *http.Server // the admin API (admin.go)
	adminURL     string

	mu          sync.Mutex
	closing     bool
	topics      map[string]*topic // by full (partition) name
	partitioned map[string]int    // partitioned topic -> partition count
	conns       map[*conn]struct{}
	nextLedger  uint64
	nextName    uint64

	receiptDelay atomic.Int64 // nanoseconds
	dropReceipts atomic.Int64

	wg     sync.WaitGroup // every goroutine the broker starts
	closed chan struct{}  // closed when Close has finished
}

// Start listens on opts.Addr and serves connections in the background. The
// broker is accepting connections when Start returns. With opts.DataDir it
// first loads the state kept there.
func Start(opts Options) (*Broker, error) {
	addr := opts.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if c := opts.TLSConfig; c != nil && len(c.Certificates) == 0 && c.GetCertificate == nil && c.GetConfigForClient == nil {
		return nil, errors.New("pulsartest: the TLS configuration has no certificate")
	}
	b := &Broker{
		log:          logger,
		authenticate: opts.Authenticate,
		dataDir:      opts.DataDir,
		topics:       make(map[string]*topic),
		partitioned:  make(map[string]int),
		conns:        make(map[*conn]struct{}),
		nextLedger:   1,
		closed:       make(chan struct{}),
	}
	if b.dataDir != "" {
		if err := b.openStore(); err != nil {
			return nil, err
		}
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		if b.dataDir != "" {
			b.closeStore()
		}
		return nil, fmt.Errorf("pulsartest: listen: %w", err)
	}
	b.url = "pulsar://" + ln.Addr().String()
	if opts.TLSConfig != nil {
		ln = tls.NewListener(ln, opts.TLSConfig.Clone())
		b.url = "pulsar+ssl://" + ln.Addr().String()
		b.tls = true
		b.tlsConfig = opts.TLSConfig.Clone()
	}
	b.ln = ln
	host, _, _ := net.SplitHostPort(ln.Addr().String())
	if err := b.startAdmin(host, b.tls); err != nil {
		ln.Close()
		if b.dataDir != "" {
			b.closeStore()
		}
		return nil, err
	}
	b.wg.Add(1)
	go b.acceptLoop()
	return b, nil
}

// URL returns the service URL clients connect to, "pulsar://host:port", or
// "pulsar+ssl://host:port" with TLS.
func (b *Broker) URL() string { return b.url }

// Addr returns the address the broker listens on.
func (b *Broker) Addr() net.Addr { return b.ln.Addr() }

func (b *Broker) acceptLoop() {
	defer b.wg.Done()
	for {
		nc, err := b.ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return
		}
		c := newConn(b, nc)
		b.mu.Lock()
		if b.closing {
			b.mu.Unlock()
			nc.Close()
			return
		}
		b.conns[c] = struct{}{}
		b.wg.Add(2)
		b.mu.Unlock()
		go c.readLoop()
		go c.writeLoop()
	}
}

// Close stops the listener, closes every client connection and waits for
// the broker's goroutines to exit. It is idempotent.
func (b *Broker) Close() error {
	b.mu.Lock()
	if b.closing {
		b.mu.Unlock()
		<-b.closed
		return nil
	}
	b.closing = true
	b.mu.Unlock()
	defer close(b.closed)
	err := b.ln.Close()
	b.admin.Close()
	b.DropConnections()
	b.wg.Wait()
	if b.dataDir != "" {
		b.mu.Lock()
		serr := b.closeStore()
		b.mu.Unlock()
		if serr != nil && err == nil {
			err = fmt.Errorf("pulsartest: closing the data directory: %w", serr)
		}
	}
	return err
}

// DropConnections closes every client connection abruptly, as a broker
// crash or network failure would. Clients reconnect; producers resend
// unacknowledged messages and consumers get unacknowledged messages again.
func (b *Broker) DropConnections() {
	b.mu.Lock()
	conns := make([]*conn, 0, len(b.conns))
	for c := range b.conns {
		conns = append(conns, c)
	}
	b.mu.Unlock()
	for _, c := range conns {
		c.close()
	}
}

// UnloadTopic closes the producers and consumers of topic (every partition
// of a partitioned topic) with CLOSE_PRODUCER and CLOSE_CONSUMER, as a
// topic unload or broker hand-over does. Clients reconnect.
func (b *Broker) UnloadTopic(topic string) {
	for _, t := range b.topicsOf(topic) {
		t.unload()
	}
}

// DelayReceipts holds back every following send receipt by d (0 restores
// immediate receipts). Receipts stay in order.
func (b *Broker) DelayReceipts(d time.Duration) { b.receiptDelay.Store(int64(d)) }

// DropReceipts makes the broker persist the next n sent entries without
// sending their receipts. The client notices a later receipt that does not
// match, or times out, and resends; deduplication by producer name and
// sequence id keeps the resent entries from being stored twice.
func (b *Broker) DropReceipts(n int) { b.dropReceipts.Store(int64(n)) }

// CreateTopic creates topic with the given number of partitions (0 means
// non-partitioned). It is a no-op if the topic exists with the same count
// and an error if it exists with a different one.
func (b *Broker) CreateTopic(topic string, partitions int) error {
	if partitions < 0 {
		return fmt.Errorf("pulsartest: negative partition count %d", partitions)
	}
	name, err := normalizeTopic(topic)
	if err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closing && b.dataDir != "" {
		return errors.New("pulsartest: broker closed")
	}
	n, isPart := b.partitioned[name]
	_, isPlain := b.topics[name]
	switch {
	case isPart && n == partitions:
		return nil
	case isPart:
		return fmt.Errorf("pulsartest: topic %s exists with %d partitions", name, n)
	case isPlain && partitions == 0:
		return nil
	case isPlain:
		return fmt.Errorf("pulsartest: topic %s exists as a non-partitioned topic", name)
	}
	if partitions == 0 {
		_, err := b.topicLocked(name)
		return err
	}
	if b.dataDir != "" {
		if err := b.savePartitioned(name, partitions); err != nil {
			return fmt.Errorf("pulsartest: saving topic %s: %w", name, err)
		}
	}
	b.partitioned[name] = partitions
	for i := 0; i < partitions; i++ {
		if _, err := b.topicLocked(partitionName(name, i)); err != nil {
			return err
		}
	}
	return nil
}

// partitionName returns the name of partition i of topic.
func partitionName(topic string, i int) string {
	return topic + "-partition-" + strconv.Itoa(i)
}

// partitionIndex returns the partition index encoded in a topic name, or
// -1 for a name without a "-partition-N" suffix.
func partitionIndex(name string) int {
	i := strings.LastIndex(name, "-partition-")
	if i < 0 {
		return -1
	}
	n, err := strconv.Atoi(name[i+len("-partition-"):])
	if err != nil || n < 0 {
		return -1
	}
	return n
}

// normalizeTopic turns a short topic name into its full form
// "persistent://tenant/namespace/topic".
func normalizeTopic(topic string) (string, error) {
	if topic == "" {
		return "", errors.New("pulsartest: empty topic name")
	}
	if i := strings.Index(topic, "://"); i >= 0 {
		domain, rest := topic[:i], topic[i+3:]
		if domain != "persistent" && domain != "non-persistent" {
			return "", fmt.Errorf("pulsartest: invalid topic domain in %q", topic)
		}
		if strings.Count(rest, "/") < 2 || strings.HasPrefix(rest, "/") || strings.HasSuffix(rest, "/") {
			return "", fmt.Errorf("pulsartest: invalid topic name %q", topic)
		}
		return topic, nil
	}
	switch strings.Count(topic, "/") {
	case 0:
		return "persistent://public/default/" + topic, nil
	case 2:
		return "persistent://" + topic, nil
	}
	return "", fmt.Errorf("pulsartest: invalid topic name %q", topic)
}

// getTopic returns the topic with full name, creating it if needed. It
// fails only if the topic's log cannot be created.
func (b *Broker) getTopic(name string) (*topic, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.topicLocked(name)
}

func (b *Broker) topicLocked(name string) (*topic, error) {
	if t, ok := b.topics[name]; ok {
		return t, nil
	}
	idx := partitionIndex(name)
	if idx < 0 {
		idx = 0
	}
	t := newTopic(b, name, b.nextLedger, idx)
	if b.dataDir != "" && !strings.HasPrefix(name, "non-persistent://") {
		if b.closing {
			return nil, errors.New("pulsartest: broker closed")
		}
		if err := b.createTopicLog(t); err != nil {
			return nil, fmt.Errorf("pulsartest: creating the log of topic %s: %w", name, err)
		}
	}
	b.nextLedger++
	b.topics[name] = t
	return t, nil
}

// topicsOf returns the existing topics named by topic: the topic itself or
// all partitions of a partitioned topic, in partition order.
func (b *Broker) topicsOf(topicName string) []*topic {
	name, err := normalizeTopic(topicName)
	if err != nil {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if n, ok := b.partitioned[name]; ok {
		ts := make([]*topic, 0, n)
		for i := 0; i < n; i++ {
			if t, err := b.topicLocked(partitionName(name, i)); err == nil {
				ts = append(ts, t)
			}
		}
		return ts
	}
	if t, ok := b.topics[name]; ok {
		return []*topic{t}
	}
	return nil
}

// partitionCount returns the partition count of topic, 0 if it is not
// partitioned.
func (b *Broker) partitionCount(name string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.partitioned[name]
}

// topicNames returns the names of all topics in namespace ns
// ("tenant/namespace"), partitions included.
func (b *Broker) topicNames(ns string) []string {
	prefix := "://" + ns + "/"
	b.mu.Lock()
	defer b.mu.Unlock()
	var names []string
	for name := range b.topics {
		if strings.Contains(name, prefix) {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names
}

// newProducerName returns a unique generated producer name.
func (b *Broker) newProducerName() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.nextName++
	return "pulsartest-" + strconv.FormatUint(b.nextName, 10)
}

func (b *Broker) removeConn(c *conn) {
	b.mu.Lock()
	delete(b.conns, c)
	b.mu.Unlock()
}
