package agg

import (
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/sluice-io/sluice/record"
)

// Snapshot, restore, then keep adding: the restored state ends where a state
// that was never snapshotted does, and so does the snapshotted one.
func TestSnapshotRestoreContinue(t *testing.T) {
	for _, c := range configs() {
		t.Run(c.String(), func(t *testing.T) {
			for seed := range uint64(20) {
				r := rand.New(rand.NewPCG(seed, 4))
				n := r.IntN(300)
				if seed == 0 {
					n = 0
				}
				rs := randomRecs(r, c.typ, n)
				cut := r.IntN(n + 1)
				never, snapped := mustNew(t, c.fn, c.typ, c.q), mustNew(t, c.fn, c.typ, c.q)
				addAll(&never, rs[:cut])
				addAll(&snapped, rs[:cut])
				data, err := snapped.MarshalBinary()
				if err != nil {
					t.Fatal(err)
				}
				var restored State
				if err := restored.UnmarshalBinary(data); err != nil {
					t.Fatalf("seed %d: %v", seed, err)
				}
				if restored.Func() != c.fn || restored.ArgType() != c.typ || restored.Quantile() != c.q {
					t.Fatalf("seed %d: restored %s", seed, restored.describe())
				}
				if got, want := restored.Result(), never.Result(); !sameValue(got, want, 0) {
					t.Fatalf("seed %d: restored %+v, want %+v", seed, got, want)
				}
				for _, s := range []*State{&never, &snapped, &restored} {
					addAll(s, rs[cut:])
				}
				want := never.Result()
				for name, s := range map[string]*State{"snapshotted": &snapped, "restored": &restored} {
					if got := s.Result(); !sameValue(got, want, 0) {
						t.Fatalf("seed %d: %s then continued %+v, never snapshotted %+v", seed, name, got, want)
					}
				}
				if restored.Overflow() != never.Overflow() {
					t.Fatalf("seed %d: restored Overflow %v", seed, restored.Overflow())
				}
			}
		})
	}
}

// Every strict prefix of a snapshot fails to restore, as does a snapshot
// with a byte appended; the receiver is left unchanged.
func TestSnapshotTruncatedOrTrailing(t *testing.T) {
	for _, c := range configs() {
		r := rand.New(rand.NewPCG(1, 5))
		s := mustNew(t, c.fn, c.typ, c.q)
		addAll(&s, randomRecs(r, c.typ, 50))
		data, err := s.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		for i := range data {
			target := mustNew(t, Count, record.ColumnInvalid, 0)
			target.AddNull(0)
			err := target.UnmarshalBinary(data[:i])
			if err == nil {
				t.Fatalf("%s: prefix of %d of %d bytes restored", c, i, len(data))
			}
			if !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrCorrupt) {
				t.Fatalf("%s: prefix of %d bytes: error %v is neither ErrTruncated nor ErrCorrupt", c, i, err)
			}
			if target.fn != Count || target.n != 1 {
				t.Fatalf("%s: failed restore changed the receiver", c)
			}
		}
		var target State
		if err := target.UnmarshalBinary(append(data, 0)); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("%s: trailing byte: error %v, want ErrCorrupt", c, err)
		}
	}
}

func TestSnapshotErrors(t *testing.T) {
	tests := []struct {
		name string
		data []byte
		want error
	}{
		{"empty", nil, ErrTruncated},
		{"unknown version", []byte{2, byte(Count), 0, 0}, ErrVersion},
		{"version zero", []byte{0, byte(Count), 0, 0}, ErrVersion},
		{"unknown function", []byte{1, 42, byte(record.ColumnInt), 0}, ErrCorrupt},
		{"wrong argument type", []byte{1, byte(Sum), byte(record.ColumnString), 0}, ErrCorrupt},
		{"quantile out of range", append([]byte{1, byte(ApproxPercentile), byte(record.ColumnFloat)}, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f+0x10, 0), ErrCorrupt},
		{"count overflows int64", []byte{1, byte(Count), 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, ErrCorrupt},
		{"varint too long", []byte{1, byte(Count), 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, ErrCorrupt},
		{"bool not 0 or 1", []byte{1, byte(First), byte(record.ColumnBool), 1, 0, 2}, ErrCorrupt},
		{"more distinct values than values", []byte{1, byte(CountDistinct), byte(record.ColumnInt), 1, 2, 2, 4}, ErrCorrupt},
		{"no distinct value", []byte{1, byte(CountDistinct), byte(record.ColumnInt), 1, 0}, ErrCorrupt},
		{"huge string", []byte{1, byte(Min), byte(record.ColumnString), 1, 0xff, 0xff, 0xff, 0xff, 0x0f}, ErrTruncated},
		{"empty hyperloglog", []byte{1, byte(ApproxCountDistinct), byte(record.ColumnInt), 1, 1, 0}, ErrCorrupt},
		{"no exact hash", []byte{1, byte(ApproxCountDistinct), byte(record.ColumnInt), 1, 0, 0}, ErrCorrupt},
		{"unknown hyperloglog form", []byte{1, byte(ApproxCountDistinct), byte(record.ColumnInt), 1, 2, 0}, ErrCorrupt},
		{"hyperloglog of another precision", append([]byte{1, byte(ApproxCountDistinct), byte(record.ColumnInt), 1, 1, 8, 2, 16, 0, 0}, make([]byte, 6)...), ErrCorrupt},
		{"percentile count mismatch", append(percentileHeader(0.5), 2, 0, 1, 2, 1, 0), ErrCorrupt},
		{"percentile zero bin count", append(percentileHeader(0.5), 1, 0, 1, 2, 0, 0), ErrCorrupt},
		{"percentile index out of range", append(percentileHeader(0.5), 1, 0, 1, 0xfe, 0xff, 0xff, 0x0f, 1, 0), ErrCorrupt},
		{"percentile indexes not increasing", append(percentileHeader(0.5), 2, 0, 2, 2, 1, 0, 1, 0), ErrCorrupt},
	}
	for _, tt := range tests {
		var s State
		if err := s.UnmarshalBinary(tt.data); !errors.Is(err, tt.want) {
			t.Errorf("%s: error %v, want %v", tt.name, err, tt.want)
		}
	}
	// A valid hand-written percentile snapshot, for contrast.
	var s State
	if err := s.UnmarshalBinary(append(percentileHeader(0.5), 2, 0, 2, 2, 1, 2, 1, 0)); err != nil {
		t.Errorf("valid percentile snapshot: %v", err)
	}
}

// percentileHeader is the start of an approx_percentile(float, q) snapshot,
// up to n.
func percentileHeader(q float64) []byte {
	s, _ := New(ApproxPercentile, record.ColumnFloat, q)
	b, _ := s.MarshalBinary()
	return b[:len(b)-1] // without n = 0
}

func TestMarshalZeroState(t *testing.T) {
	var s State
	if _, err := s.MarshalBinary(); err == nil {
		t.Error("snapshot of a zero State: no error")
	}
}

// FuzzUnmarshal checks that garbage never panics, and that whatever is
// accepted behaves: it has a result, takes values, and round-trips.
func FuzzUnmarshal(f *testing.F) {
	for i, c := range configs() {
		r := rand.New(rand.NewPCG(uint64(i), 6))
		for _, n := range []int{0, 3, 40} {
			s, _ := New(c.fn, c.typ, c.q)
			addAll(&s, randomRecs(r, c.typ, n))
			data, err := s.MarshalBinary()
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	f.Add([]byte{})
	f.Add([]byte{2, 1, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		var s State
		if err := s.UnmarshalBinary(data); err != nil {
			return
		}
		want := s.Result()
		again, err := s.MarshalBinary()
		if err != nil {
			t.Fatalf("accepted snapshot does not marshal: %v", err)
		}
		var back State
		if err := back.UnmarshalBinary(again); err != nil {
			t.Fatalf("re-marshaled snapshot rejected: %v", err)
		}
		if got := back.Result(); !sameValue(got, want, 0) {
			t.Fatalf("round trip changed the result: %+v, was %+v", got, want)
		}
		r := rand.New(rand.NewPCG(1, 7))
		for _, x := range randomRecs(r, s.ArgType(), 10) {
			if s.fn != Count && !x.v.Null {
				x.v.Type = s.ArgType()
			}
			s.Add(x.v, x.ts)
		}
		other, _ := New(s.fn, s.typ, s.Quantile())
		if err := other.Merge(&back); err != nil {
			t.Fatalf("restored state does not merge: %v", err)
		}
		_ = s.Result()
		_ = other.Result()
	})
}
