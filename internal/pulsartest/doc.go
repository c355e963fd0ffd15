// Package pulsartest is an in-memory broker that speaks the Apache Pulsar
// binary protocol, for tests and local development: what httptest is for
// HTTP or miniredis for Redis. Start one with Start and point a real
// pulsar-client-go client at Broker.URL.
//
// It is NOT a Pulsar replacement. Everything lives in memory in one
// process: there is no persistence (a restart loses all topics and
// cursors), no replication, no retention or TTL (entries are kept until
// Close), no authentication or TLS, no schema registry, no transactions,
// no chunking support beyond forwarding chunks as ordinary entries, no
// broker-side compaction, no admin HTTP API, no multi-broker lookup (every
// LOOKUP answers "connect to me"), and no rate or size limits beyond a 5 MB
// maximum message size.
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
//     CLOSE_CONSUMER and UNSUBSCRIBE.
//   - Failover: one active consumer per partition, partitionIndex % n over
//     the consumers sorted by priority level then name, announced with
//     ACTIVE_CONSUMER_CHANGE; when the active consumer changes its
//     unacknowledged entries go to the new one.
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
//   - Fault hooks: DropConnections, UnloadTopic, DelayReceipts,
//     DropReceipts; inspection with Stats.
//
// Simplifications: redelivery by id applies to the given entries for every
// subscription type (Pulsar rewinds the whole cursor for Exclusive and
// Failover); a cumulative ack is accepted on any subscription type (the
// client refuses it for Shared); a producer name may be used by several
// producers at once; unload does not fence the topic.
//
// Each connection runs a reader and a writer goroutine (plus one while
// receipts are delayed); Close closes every connection and waits for all of
// them.
package pulsartest
