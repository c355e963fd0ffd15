package agg

import (
	"math/bits"
	"math/rand/v2"
)

// intSet is a set of 64-bit keys (ints, timestamps, float bits, bools) for
// count_distinct: keys below smallKeys (small ids, bools) in a bitmap,
// grown to the largest such key seen, the others by open addressing with
// linear probing in a power-of-two table, at most 3/4 full. Key 0 marks
// empty slots, so its presence is a flag. The empty set allocates nothing;
// small sets cost 4 or 8 slots, or a few words of bitmap.
type intSet struct {
	slots  []uint64
	small  []uint64 // bit k%64 of word k/64: key k (0 < k < smallKeys) is in the set
	n      int32    // keys in slots
	nSmall int32    // keys in small
	zero   bool     // whether the set holds key 0
}

// smallKeys bounds the keys kept in an intSet's bitmap: at most 512 bytes.
const smallKeys = 4096

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
	n := int(t.n) + int(t.nSmall)
	if t.zero {
		n++
	}
	return n
}

// add inserts k.
func (t *intSet) add(k uint64) {
	if k < smallKeys {
		t.addSmall(k)
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

// addSmall inserts k < smallKeys.
func (t *intSet) addSmall(k uint64) {
	if k == 0 {
		t.zero = true
		return
	}
	w := int(k / 64)
	if w >= len(t.small) {
		grown := make([]uint64, min(max(w+1, 2*len(t.small)), smallKeys/64))
		copy(grown, t.small)
		t.small = grown
	}
	if bit := uint64(1) << (k % 64); t.small[w]&bit == 0 {
		t.small[w] |= bit
		t.nSmall++
	}
}

// each calls f with every key, in no particular order.
func (t *intSet) each(f func(k uint64)) {
	if t.zero {
		f(0)
	}
	for w, word := range t.small {
		for ; word != 0; word &= word - 1 {
			f(uint64(w*64 + bits.TrailingZeros64(word)))
		}
	}
	for _, k := range t.slots {
		if k != 0 {
			f(k)
		}
	}
}
