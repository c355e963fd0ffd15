package pulsar

import (
	"math"
	"strconv"

	pulsarapi "github.com/apache/pulsar-client-go/pulsar"

	"github.com/sluice-io/sluice/record"
)

// How the publishers of a repartition block choose partitions: rows by a
// hash of their key fields, every message by the partition its properties
// name.

// routeByProperty is the producers' router: the partition a message's
// propPartition names (the publisher routes rows by their key).
func routeByProperty(msg *pulsarapi.ProducerMessage, _ pulsarapi.TopicMetadata) int {
	n, _ := strconv.Atoi(msg.Properties[propPartition])
	return n
}

// keyPartition returns the partition of row of b among n: the FNV-1a hash
// of its key columns' values, the same in every process and run.
func keyPartition(b *record.Batch, keys []int, row, n int) int {
	const prime = 1099511628211
	h := uint64(14695981039346656037)
	add := func(c byte) { h = (h ^ uint64(c)) * prime }
	add8 := func(x uint64) {
		for range 8 {
			add(byte(x))
			x >>= 8
		}
	}
	for _, k := range keys {
		v := &b.Columns[k]
		if v.IsNull(row) {
			add(0)
			continue
		}
		add(1)
		switch v.Type {
		case record.ColumnString:
			s := v.StringBytes(row)
			add8(uint64(len(s)))
			for _, c := range s {
				add(c)
			}
		case record.ColumnInt, record.ColumnTimestamp:
			add8(uint64(v.Ints[row]))
		case record.ColumnFloat:
			f := v.Floats[row]
			if f == 0 {
				f = 0 // -0 groups with 0
			}
			add8(math.Float64bits(f))
		case record.ColumnBool:
			if v.Bools[row] {
				add(1)
			} else {
				add(0)
			}
		}
	}
	return int(h % uint64(n))
}
