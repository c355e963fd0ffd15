package pulsar

// This file holds where a message is: partition topic names and message
// positions, compared and ordered.

import (
	"cmp"
	"strconv"
	"strings"

	pulsarapi "github.com/apache/pulsar-client-go/pulsar"
)

// comparePartitionTopics orders partition topic names by topic, then by
// partition index as a number ("t-partition-2" before "t-partition-10").
func comparePartitionTopics(a, b string) int {
	ta, pa := splitPartition(a)
	tb, pb := splitPartition(b)
	if c := strings.Compare(ta, tb); c != 0 {
		return c
	}
	return cmp.Compare(pa, pb)
}

// splitPartition splits "t-partition-3" into "t" and 3; a topic without a
// partition suffix has index -1.
func splitPartition(name string) (string, int) {
	i := strings.LastIndex(name, "-partition-")
	if i < 0 {
		return name, -1
	}
	n, err := strconv.Atoi(name[i+len("-partition-"):])
	if err != nil {
		return name, -1
	}
	return name[:i], n
}

// position is where a message is in its partition: the broker's ledger and
// entry, and its index inside a batch entry (-1 outside batches).
type position struct {
	ledger, entry int64
	batch         int32
}

func positionOf(id pulsarapi.MessageID) position {
	return position{ledger: id.LedgerID(), entry: id.EntryID(), batch: id.BatchIdx()}
}

func (a position) compare(b position) int {
	if c := cmp.Compare(a.ledger, b.ledger); c != 0 {
		return c
	}
	if c := cmp.Compare(a.entry, b.entry); c != 0 {
		return c
	}
	return cmp.Compare(a.batch, b.batch)
}

// reaches reports whether a message at a with batchSize messages in its
// entry (0 outside batches) is at or after end, the last message id the
// broker reported. That id may name a batch entry without an index: then
// the entry's last message reaches it.
func (a position) reaches(batchSize int32, end position) bool {
	if a.ledger != end.ledger {
		return a.ledger > end.ledger
	}
	if a.entry != end.entry {
		return a.entry > end.entry
	}
	if end.batch < 0 {
		return a.batch < 0 || a.batch >= batchSize-1
	}
	return a.batch >= end.batch
}
