package eventtime_test

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/sluice-io/sluice/eventtime"
)

type tm = eventtime.Timer

func TestTimerServiceFire(t *testing.T) {
	type fire struct {
		upTo int64
		want []tm
	}
	tests := []struct {
		name     string
		register []tm
		delete   []tm
		fires    []fire
	}{
		{"fires in timestamp order, at or before W, exactly once",
			[]tm{{300, 1}, {100, 1}, {200, 1}, {400, 1}}, nil,
			[]fire{
				{99, nil},
				{250, []tm{{100, 1}, {200, 1}}},
				{250, nil},
				{300, []tm{{300, 1}}},
				{eventtime.EndOfTime, []tm{{400, 1}}},
			}},
		{"duplicate registrations fire once",
			[]tm{{100, 7}, {100, 7}, {100, 7}, {100, 8}}, nil,
			[]fire{{100, []tm{{100, 7}, {100, 8}}}, {1000, nil}}},
		{"ties fire in key order, not registration order",
			[]tm{{100, 9}, {100, 2}, {50, 100}, {100, 5}}, nil,
			[]fire{{100, []tm{{50, 100}, {100, 2}, {100, 5}, {100, 9}}}}},
		{"deleted timers do not fire",
			[]tm{{100, 1}, {200, 2}, {300, 3}}, []tm{{200, 2}, {999, 9}},
			[]fire{{eventtime.EndOfTime, []tm{{100, 1}, {300, 3}}}}},
		{"negative times and no watermark",
			[]tm{{-5, 1}, {0, 1}}, nil,
			[]fire{{eventtime.NoWatermark, nil}, {-1, []tm{{-5, 1}}}, {0, []tm{{0, 1}}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var s eventtime.TimerService // the zero value is ready
			for _, r := range tc.register {
				s.Register(r.TS, r.Key)
			}
			for _, d := range tc.delete {
				s.Delete(d.TS, d.Key)
			}
			for i, f := range tc.fires {
				var got []tm
				n := s.Fire(f.upTo, func(x tm) { got = append(got, x) })
				if !slices.Equal(got, f.want) || n != len(f.want) {
					t.Fatalf("fire %d (up to %d): got %v (n=%d), want %v", i, f.upTo, got, n, f.want)
				}
			}
		})
	}
}

func TestTimerServiceRegisterDuringFire(t *testing.T) {
	s := eventtime.NewTimerService()
	s.Register(10, 1)
	s.Register(30, 1)
	var got []tm
	s.Fire(25, func(x tm) {
		got = append(got, x)
		if x.TS == 10 {
			s.Register(20, 1) // due: fires in this call
			s.Register(40, 1) // not due
			s.Delete(30, 1)
		}
	})
	if want := []tm{{10, 1}, {20, 1}}; !slices.Equal(got, want) {
		t.Fatalf("fired %v, want %v", got, want)
	}
	if next, ok := s.Next(); !ok || next != (tm{40, 1}) || s.Len() != 1 {
		t.Fatalf("Next = %v %v, Len %d; want {40 1}, 1", next, ok, s.Len())
	}
}

// TestTimerServiceMatchesModel compares random registrations, deletions and
// firings with a sorted-slice model.
func TestTimerServiceMatchesModel(t *testing.T) {
	for seed := uint64(1); seed <= 100; seed++ {
		rng := rand.New(rand.NewPCG(seed, 0x71))
		s := eventtime.NewTimerService()
		var model []tm // pending, kept sorted
		insert := func(x tm) bool {
			i, found := slices.BinarySearchFunc(model, x, cmpTimer)
			if !found {
				model = slices.Insert(model, i, x)
			}
			return !found
		}
		w := int64(0)
		for step := range 3000 {
			x := tm{w + rng.Int64N(500) - 50, rng.Uint64N(8)}
			switch r := rng.IntN(10); {
			case r < 5:
				if got, want := s.Register(x.TS, x.Key), insert(x); got != want {
					t.Fatalf("seed %d step %d: Register(%v)=%v, want %v", seed, step, x, got, want)
				}
			case r < 7:
				if len(model) > 0 && rng.IntN(2) == 0 {
					x = model[rng.IntN(len(model))]
				}
				i, found := slices.BinarySearchFunc(model, x, cmpTimer)
				if found {
					model = slices.Delete(model, i, i+1)
				}
				if got := s.Delete(x.TS, x.Key); got != found {
					t.Fatalf("seed %d step %d: Delete(%v)=%v, want %v", seed, step, x, got, found)
				}
			default:
				w += rng.Int64N(100)
				var got []tm
				s.Fire(w, func(x tm) { got = append(got, x) })
				i := 0
				for i < len(model) && model[i].TS <= w {
					i++
				}
				if want := model[:i]; !slices.Equal(got, want) {
					t.Fatalf("seed %d step %d: Fire(%d) = %v, want %v", seed, step, w, got, want)
				}
				model = model[i:]
			}
			if s.Len() != len(model) {
				t.Fatalf("seed %d step %d: Len %d, want %d", seed, step, s.Len(), len(model))
			}
			next, ok := s.Next()
			if ok != (len(model) > 0) || ok && next != model[0] {
				t.Fatalf("seed %d step %d: Next = %v %v, want %v", seed, step, next, ok, model)
			}
		}
	}
}

func cmpTimer(a, b tm) int {
	switch {
	case a.TS != b.TS:
		return cmpInt(a.TS, b.TS)
	case a.Key < b.Key:
		return -1
	case a.Key > b.Key:
		return 1
	}
	return 0
}

func cmpInt(a, b int64) int {
	if a < b {
		return -1
	}
	return 1
}
