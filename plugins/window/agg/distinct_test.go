package agg

import (
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
)

// An intSet holds exactly the keys added, whichever of its bitmap (small
// keys), table or zero flag keeps them, as a map does.
func TestIntSetEqualsMap(t *testing.T) {
	tests := []struct {
		name string
		key  func(r *rand.Rand) uint64
	}{
		{"small ids", func(r *rand.Rand) uint64 { return r.Uint64N(500) }},
		{"around the bitmap's end", func(r *rand.Rand) uint64 { return smallKeys - 70 + r.Uint64N(140) }},
		{"zero and one", func(r *rand.Rand) uint64 { return r.Uint64N(2) }},
		{"large", func(r *rand.Rand) uint64 { return r.Uint64() }},
		{"mixed", func(r *rand.Rand) uint64 {
			switch r.IntN(3) {
			case 0:
				return r.Uint64N(smallKeys)
			case 1:
				return -r.Uint64N(50) // negative ints
			}
			return smallKeys + r.Uint64N(3000)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, 2))
			var set intSet
			want := map[uint64]bool{}
			for i := range 5000 {
				k := tt.key(r)
				set.add(k)
				want[k] = true
				if i%997 == 0 || i == 4999 {
					var got []uint64
					set.each(func(k uint64) { got = append(got, k) })
					slices.Sort(got)
					if w := slices.Sorted(maps.Keys(want)); !slices.Equal(got, w) || set.len() != len(w) {
						t.Fatalf("after %d adds: len %d, keys %v; want %d keys %v", i+1, set.len(), got, len(w), w)
					}
				}
			}
		})
	}
}
