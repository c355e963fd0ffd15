package agg

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/sluice-io/sluice/record"
)

// pairRec is one record of a pair function: x and by.
type pairRec struct{ x, by Value }

// pairConfigs returns every pair function over every x and by type.
func pairConfigs() (out []struct {
	fn     Func
	x, by  record.ColumnType
	hidden bool
}) {
	for fn := MaxBy; fn <= TiesMin; fn++ {
		for x := record.ColumnString; x <= record.ColumnTimestamp; x++ {
			for by := record.ColumnString; by <= record.ColumnTimestamp; by++ {
				if fn.Accepts(x) && Orderable(by) {
					out = append(out, struct {
						fn     Func
						x, by  record.ColumnType
						hidden bool
					}{fn, x, by, fn >= TiesMax})
				}
			}
		}
	}
	return out
}

// orderValue orders two non-null values of one type as min and max do.
func orderValue(a, b Value) int {
	switch a.Type {
	case record.ColumnFloat:
		switch {
		case floatLess(a.F, b.F):
			return -1
		case floatLess(b.F, a.F):
			return 1
		}
		return 0
	case record.ColumnString:
		return strings.Compare(a.S, b.S)
	case record.ColumnBool:
		return cmp.Compare(boolInt(a.B), boolInt(b.B))
	}
	return cmp.Compare(a.I, b.I)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// naivePair computes a pair function from its records: the result of
// max_by/min_by, or the sorted ties.
func naivePair(fn Func, rs []pairRec) (Value, []string, bool) {
	var best []pairRec
	for _, r := range rs {
		if r.x.Null || r.by.Null {
			continue
		}
		c := 1
		if len(best) > 0 {
			c = orderValue(r.by, best[0].by)
			if fn == MinBy || fn == TiesMin {
				c = -c
			}
		}
		switch {
		case c > 0:
			best = []pairRec{r}
		case c == 0:
			best = append(best, r)
		}
	}
	if len(best) == 0 {
		return Value{}, nil, false
	}
	var ties []string
	x := best[0].x
	for _, b := range best {
		ties = append(ties, b.x.S)
		if orderValue(b.x, x) < 0 {
			x = b.x
		}
	}
	slices.Sort(ties)
	return x, ties, true
}

// The result of a pair function depends only on the records added: every
// order, every split merged in any order and every snapshot taken on the
// way give the naive result.
func TestPairOrderIndependent(t *testing.T) {
	for _, c := range pairConfigs() {
		t.Run(c.fn.String()+"/"+c.x.String()+"/"+c.by.String(), func(t *testing.T) {
			r := rand.New(rand.NewPCG(uint64(c.fn), uint64(c.x)*8+uint64(c.by)))
			for seed := range 30 {
				n := r.IntN(60)
				rs := make([]pairRec, n)
				for i := range rs {
					rs[i] = pairRec{randomValue(r, c.x), randomValue(r, c.by)}
					if r.IntN(5) == 0 && i > 0 { // a tie on by
						rs[i].by = rs[r.IntN(i)].by
					}
				}
				wantX, wantTies, ok := naivePair(c.fn, rs)
				for variant := range 4 {
					perm := slices.Clone(rs)
					r.Shuffle(len(perm), func(i, j int) { perm[i], perm[j] = perm[j], perm[i] })
					got := addPairsSplit(t, c.fn, c.x, c.by, perm, r, variant)
					res := got.Result()
					if res.Null == ok {
						t.Fatalf("seed %d variant %d: null %v, want a value %v", seed, variant, res.Null, ok)
					}
					if !ok {
						continue
					}
					if c.hidden {
						if ties := got.Ties(); !slices.Equal(ties, wantTies) {
							t.Fatalf("seed %d variant %d: ties %q, want %q", seed, variant, ties, wantTies)
						}
						continue
					}
					if !sameValue(res, wantX, 0) {
						t.Fatalf("seed %d variant %d: %+v, want %+v", seed, variant, res, wantX)
					}
				}
			}
		})
	}
}

// addPairsSplit adds rs to states split at random points, then merges
// them (variant 0: one state; 1: merged in order; 2: merged in reverse; 3:
// every part through a snapshot).
func addPairsSplit(t *testing.T, fn Func, x, by record.ColumnType, rs []pairRec, r *rand.Rand, variant int) State {
	t.Helper()
	parts := [][]pairRec{rs}
	if variant > 0 && len(rs) > 1 {
		a := r.IntN(len(rs))
		b := a + r.IntN(len(rs)-a)
		parts = [][]pairRec{rs[:a], rs[a:b], rs[b:]}
	}
	var states []State
	for _, p := range parts {
		s, err := NewPair(fn, x, by)
		if err != nil {
			t.Fatal(err)
		}
		for _, pr := range p {
			s.AddPair(pr.x, pr.by)
		}
		if variant == 3 {
			data, err := s.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			var back State
			if err := back.UnmarshalBinary(data); err != nil {
				t.Fatalf("restore %s: %v", s.describe(), err)
			}
			if back.ByType() != by || back.ArgType() != x || back.Func() != fn {
				t.Fatalf("restored %s, want %s", back.describe(), s.describe())
			}
			s = back
		}
		states = append(states, s)
	}
	if variant == 2 {
		slices.Reverse(states)
	}
	for i := 1; i < len(states); i++ {
		if err := states[0].Merge(&states[i]); err != nil {
			t.Fatal(err)
		}
	}
	return states[0]
}

func TestPairTieRule(t *testing.T) {
	tests := []struct {
		name string
		fn   Func
		rs   []pairRec
		want Value
	}{
		{"largest by", MaxBy, []pairRec{{vi(1), vi(5)}, {vi(2), vi(9)}, {vi(3), vi(7)}}, vi(2)},
		{"smallest by", MinBy, []pairRec{{vi(1), vi(5)}, {vi(2), vi(9)}, {vi(3), vi(4)}}, vi(3)},
		{"ties keep the smallest x", MaxBy, []pairRec{{vi(7), vi(9)}, {vi(2), vi(9)}, {vi(5), vi(9)}}, vi(2)},
		{"min_by ties keep the smallest x", MinBy, []pairRec{{vs("b"), vi(1)}, {vs("a"), vi(1)}}, vs("a")},
		{"null x skipped", MaxBy, []pairRec{{null(), vi(9)}, {vi(4), vi(1)}}, vi(4)},
		{"null by skipped", MaxBy, []pairRec{{vi(3), null()}, {vi(4), vi(1)}}, vi(4)},
		{"NaN by is the largest", MaxBy, []pairRec{{vi(1), vf(math.Inf(1))}, {vi(2), vf(math.NaN())}}, vi(2)},
		{"-0 before +0", MaxBy, []pairRec{{vi(1), vf(0)}, {vi(2), vf(math.Copysign(0, -1))}}, vi(1)},
		{"string by", MaxBy, []pairRec{{vf(1.5), vs("b")}, {vf(2.5), vs("a")}}, vf(1.5)},
		{"bool x: false before true", MaxBy, []pairRec{{vb(true), vt(3)}, {vb(false), vt(3)}}, vb(false)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			xt, bt := record.ColumnInt, record.ColumnInt
			for _, r := range tt.rs {
				if !r.x.Null {
					xt = r.x.Type
				}
				if !r.by.Null {
					bt = r.by.Type
				}
			}
			s, err := NewPair(tt.fn, xt, bt)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range tt.rs {
				s.AddPair(r.x, r.by)
			}
			if got := s.Result(); !sameValue(got, tt.want, 0) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestNewPairRefuses(t *testing.T) {
	if _, err := NewPair(Max, record.ColumnInt, record.ColumnInt); err == nil {
		t.Error("NewPair(max) succeeded")
	}
	if _, err := NewPair(MaxBy, record.ColumnInt, record.ColumnBool); err == nil {
		t.Error("NewPair(max_by by bool) succeeded")
	}
	if _, err := New(MaxBy, record.ColumnInt, 0); err == nil {
		t.Error("New(max_by) succeeded")
	}
	a, _ := NewPair(MaxBy, record.ColumnInt, record.ColumnInt)
	b, _ := NewPair(MaxBy, record.ColumnInt, record.ColumnFloat)
	b.AddPair(vi(1), vf(2))
	if err := a.Merge(&b); err == nil {
		t.Error("merged max_by by int with max_by by float")
	}
}
