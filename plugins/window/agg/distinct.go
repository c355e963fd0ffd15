package agg

import (
	"math/bits"
	"math/rand/v2"
)

// intSet is a set of 64-bit keys (ints, timestamps, float bits, bools) for
// count_distinct: open addressing with linear probing in a power-of-two
// table, at most 3/4 full. Key 0 marks empty slots, so its presence is a
// flag. The empty set allocates nothing; small sets cost 4 or 8 slots.
type intSet struct {
	slots []uint64
	n     int32 // keys in slots
	zero  bool  // whether the set holds key 0
}

// setSeed perturbs slot positions so that crafted input cannot make every
// key collide. Positions are never persisted, so it may differ per process.
var setSeed = rand.Uint64() | 1

// slot returns the home slot of k in a table of mask+1 slots.
func slot(k uint64, mask int) int {
	hi, lo := bits.Mul64(k^setSeed, 0x9e3779b97f4a7c15)
	return int(hi^lo) & mask
}

// len returns the number of keys in the set.
func (t *intSet) len() int {
	n := int(t.n)
	if t.zero {
		n++
	}
	return n
}

// add inserts k.
func (t *intSet) add(k uint64) {
	if k == 0 {
		t.zero = true
		return
	}
	if int(t.n+1)*4 > len(t.slots)*3 {
		t.grow()
	}
	t.insert(k)
}

// insert puts k in its slot; the table has room.
func (t *intSet) insert(k uint64) {
	mask := len(t.slots) - 1
	for i := slot(k, mask); ; i = (i + 1) & mask {
		switch t.slots[i] {
		case k:
			return
		case 0:
			t.slots[i] = k
			t.n++
			return
		}
	}
}

// grow doubles the table (to 4 slots at first) and reinserts the keys.
func (t *intSet) grow() {
	old := t.slots
	t.slots = make([]uint64, max(4, 2*len(old)))
	t.n = 0
	for _, k := range old {
		if k != 0 {
			t.insert(k)
		}
	}
}

// each calls f with every key, in no particular order.
func (t *intSet) each(f func(k uint64)) {
	if t.zero {
		f(0)
	}
	for _, k := range t.slots {
		if k != 0 {
			f(k)
		}
	}
}
