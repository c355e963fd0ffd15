// Package pulsartest is an in-memory broker that speaks the Apache Pulsar
// binary protocol, for tests and local development: what httptest is for
// HTTP or miniredis for Redis. Start one with Start and point a real
// pulsar-client-go client at Broker.URL.
//
// It is NOT a Pulsar replacement. Everything lives in memory in one
// process, optionally backed by a data directory (see Persistence): there
// is no replication, no retention or TTL (entries are kept forever), no
// authorization, no schema registry, no transactions, no chunking support
// beyond forwarding chunks as ordinary entries, no broker-side compaction,
// only a sliver of the admin HTTP API (below), no multi-broker lookup
// (every LOOKUP answers "connect to me"), and no rate or size limits
// beyond a 5 MB maximum message size.
//
// Implemented (and tested with pulsar-client-go v0.21.0):
//
//   - Handshake (CONNECT/CONNECTED with protocol version negotiation up to
//     v20), PING/PONG, PARTITIONED_METADATA, LOOKUP,
//     GET_TOPICS_OF_NAMESPACE; ERROR replies for unsupported requests.
//   - Topics: names normalise like Pulsar's ("x" is
//     "persistent://public/default/x"); topics are created on first use as
//     non-partitioned, like Pulsar standalone; Broker.CreateTopic creates
//     partitioned topics, whose partitions are "<topic>-partition-N".
//   - Producers: PRODUCER (names generated when empty), SEND with receipts
//     in order, message ids (ledger per partition, entry 0, 1, 2, ...).
//     Entries are stored as sent, so batching and compression are
//     transparent. Deduplication by producer name and sequence id: a
//     sequence id not above the last one stored for that producer name is
//     not stored again but still gets a receipt (with id -1:-1, as Pulsar
//     does), and PRODUCER_SUCCESS reports the last stored sequence id.
//   - Subscriptions: Exclusive, Failover, Shared and Key_Shared; initial
//     position earliest or latest; durable cursors owned by the
//     subscription (they survive consumer reconnects); FLOW permits (a
//     batch costs one permit per message); individual, cumulative and
//     batch-index acks (ack_set); REDELIVER_UNACKNOWLEDGED_MESSAGES, all or
//     by id, which is how nacks arrive (the redelivery count increments);
//     unacknowledged entries of a consumer that goes away are redelivered;
//     CLOSE_CONSUMER and UNSUBSCRIBE. A subscription without consumers
//     takes the type of the next consumer, as with Pulsar; one with
//     consumers refuses another type with ConsumerBusy.
//   - Failover: one active consumer per partition, as Pulsar picks it:
//     partition i goes to consumer i % n of the n consumers of the highest
//     priority level (the lowest number), sorted by name (a non-partitioned
//     topic counts as partition 0, where Pulsar hashes the consumer names).
//     A change of the active consumer is announced to every consumer of the
//     partition with ACTIVE_CONSUMER_CHANGE (is_active true to the active
//     one, false to the others), which the client hands to
//     ConsumerOptions.EventListener; a consumer that subscribes without
//     changing the active one is told alone that it is inactive. The
//     unacknowledged entries of the previous active consumer go to the new
//     one at once, before entries never dispatched: Pulsar rewinds the
//     cursor the same way, but after activeConsumerFailoverDelayTimeMillis
//     (1 s by default), which is not modelled.
//   - Shared: whole entries round-robin over consumers with permits.
//   - Key_Shared: whole entries routed by Murmur3_32(ordering key, else
//     partition key) mod 65536; AUTO_SPLIT splits the hash range equally
//     over consumers in subscription order (so the key-to-consumer mapping
//     changes when consumers come and go), STICKY uses the consumer's
//     ranges. A batch is routed by the key of its first message: use the
//     client's key-based batch builder. Entries whose consumer has no
//     permits are set aside (up to 10000) so other keys keep flowing.
//   - Readers (non-durable subscriptions) with a start message id; the
//     broker starts at the entry of the id and the client discards what
//     precedes it (inclusive or not), as with Pulsar. GET_LAST_MESSAGE_ID
//     (batch index of a batched last entry; entry -1 for an empty topic).
//     SEEK by message id and by publish time, followed by CLOSE_CONSUMER so
//     the client subscribes again.
//   - Admin HTTP API (Broker.AdminURL, its own listener on the broker's
//     host): PUT …/{topic}/partitions creates a partitioned topic (204, 409
//     when the topic exists in any form, 400 for a bad count), GET
//     …/{topic}/partitions answers {"partitions":N} (404 when missing),
//     POST …/{topic}/deduplication accepts true or false and changes
//     nothing: this broker always deduplicates. Paths are
//     /admin/v2/{persistent|non-persistent}/{tenant}/{namespace}/{topic}/…;
//     a Bearer token is judged by Options.Authenticate as method "token";
//     with TLS the API speaks HTTPS.
//   - Deduplication of batches follows Pulsar: a SEND carries sequence_id
//     and, optionally, highest_sequence_id; it is a duplicate when
//     sequence_id is not above the producer name's last one, and otherwise
//     the last one becomes highest_sequence_id (sequence_id without it).
//     pulsar-client-go v0.21.0 never sets highest_sequence_id, so after a
//     batch of its the last sequence id is the batch's first: resending
//     the batch's later messages alone is not recognized as a duplicate,
//     with this broker as with Pulsar.
//   - Fault hooks: DropConnections, UnloadTopic, DelayReceipts,
//     DropReceipts; inspection with Stats.
//   - TLS (Options.TLSConfig): the listener speaks TLS, URL is
//     "pulsar+ssl://host:port" and LOOKUP answers with brokerServiceUrlTls
//     (not proxied through the service URL), as a TLS-only Pulsar broker
//     does. Client certificates are verified as the tls.Config says.
//   - Authentication (Options.Authenticate): a function judges the
//     CONNECT's method and data ("token" with the token, "tls" with the
//     client certificate in AuthRequest.TLS); a refused client gets an
//     ERROR frame of type AuthenticationError and the connection closes,
//     as with Pulsar. pulsar-client-go v0.21.0 then logs the message as a
//     warning ("Failed to establish connection with broker: ...") and
//     retries until its operation timeout, returning "connection error".
//     There is no authorization and no auth refresh (AUTH_CHALLENGE).
//
// # Persistence
//
// With Options.DataDir the state survives Close and a new Start on the
// same directory, and a crash: topics, partition counts, every stored
// entry with its message id, each producer name's last sequence id (so
// deduplication still recognizes resent messages) and the durable
// subscriptions with their cursors: mark-delete position, individually
// acknowledged entries and batch indexes. Unacknowledged entries go to the
// subscription's consumers again after a restart, acknowledged ones do
// not. Consumers, readers (non-durable subscriptions), connections,
// redelivery counts and "non-persistent://" topics are not kept. A topic keeps its ledger id for life
// (new entries continue its entry ids) and new topics get ledger ids above
// every one in the directory, so message ids are never reused.
//
// Each topic or partition has one append-only log, "ledger-<id>.log";
// partition counts go to "partitioned.log". A log is a sequence of
// records, [length u32][crc32c u32][type u8][body] (big endian; the CRC
// covers type and body): a header (format version, ledger id, topic name),
// then entries stored (entry id, producer name, sequence ids and the bytes
// received after SEND, metadata included), subscriptions created and
// deleted, acknowledgements as the cursor applied them, and seeks. A send
// receipt is sent, and the entry dispatched, only after its record is
// written and fsynced; records waiting for one sync are written together
// (group commit). Subscribing, seeking and unsubscribing are synced before
// they are answered, acknowledgements are written at once but synced with
// the next record that needs it (a lost acknowledgement means a
// redelivery; an acknowledgement with a response is answered once
// synced). Start replays every log; a torn or garbled tail (a record cut
// short by a crash, garbage after the last record) is dropped, with a
// warning, and the file truncated there; a whole record that makes no
// sense fails Start. If writing a log fails, that topic refuses further
// messages with PersistenceError. Only one broker may use a directory at a
// time (a lock file enforces it on Unix). Logs only grow: acknowledged
// entries are not deleted.
//
// Simplifications: redelivery by id applies to the given entries for every
// subscription type (Pulsar rewinds the whole cursor for Exclusive and
// Failover); a cumulative ack is accepted on any subscription type (the
// client refuses it for Shared); a producer name may be used by several
// producers at once; unload does not fence the topic.
//
// Each connection runs a reader and a writer goroutine (plus one while
// receipts are delayed), and with a data directory each topic runs one
// while it has records to write; Close closes every connection, waits for
// all of them and, with a data directory, syncs and closes the logs.
package pulsartest
