package checkpoint

import (
	"context"
	"errors"
	"io/fs"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func sample(epoch int64) *Checkpoint {
	return &Checkpoint{
		Pipeline:    "user_activity",
		Epoch:       epoch,
		Fingerprint: "abc",
		Created:     time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC),
		Partitions:  []string{"t-partition-0", "t-partition-1"},
		Positions:   map[string][]byte{"t-partition-0": {1, 2, 3}},
		Manifests:   map[string][]byte{`sink "parquet" "lake"`: []byte(`{"files":[]}`)},
		Operators:   [][]byte{[]byte("window state"), {}, make([]byte, 300)},
	}
}

func TestRoundTrip(t *testing.T) {
	for _, c := range []*Checkpoint{sample(7), {Pipeline: "p", Epoch: 1, Positions: map[string][]byte{}}} {
		data, err := c.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		got, err := Unmarshal(data)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, c) {
			t.Fatalf("round trip:\n got %+v\nwant %+v", got, c)
		}
	}
}

func TestUnmarshalRejectsDamage(t *testing.T) {
	data, _ := sample(7).Marshal()
	tests := map[string][]byte{
		"empty":          nil,
		"other file":     []byte("PAR1 not a checkpoint at all"),
		"truncated":      data[:len(data)-10],
		"one byte short": data[:len(data)-1],
		"flipped byte":   append(slices.Clone(data[:40]), append([]byte{data[40] ^ 1}, data[41:]...)...),
		"extra byte":     append(slices.Clone(data), 0),
	}
	for name, d := range tests {
		if _, err := Unmarshal(d); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: err = %v, want ErrCorrupt", name, err)
		}
	}
}

func TestStoreLatestAndPrune(t *testing.T) {
	ctx := context.Background()
	mem := NewMemStorage()
	s := NewStore(mem)
	var warned []string
	s.Warn = func(key string, err error) { warned = append(warned, key) }
	if c, err := s.Latest(ctx, "user_activity"); c != nil || err != nil {
		t.Fatalf("empty store: %v, %v", c, err)
	}
	for _, e := range []int64{5, 9, 10, 200, 30} {
		if _, err := s.Save(ctx, sample(e)); err != nil {
			t.Fatal(err)
		}
	}
	// Another pipeline's and foreign objects are ignored.
	other := sample(1000)
	other.Pipeline = "user_activity_2"
	s.Save(ctx, other)
	mem.Put(ctx, "user_activity/notes.txt", []byte("x"))
	mem.Put(ctx, "user_activity/00000000000000000300.ckpt.1a2b.tmp", []byte("x")) // a crashed Save

	if c, _ := s.Latest(ctx, "user_activity"); c == nil || c.Epoch != 200 {
		t.Fatalf("latest = %+v, want epoch 200", c)
	}
	// A damaged newest checkpoint is skipped for the one before.
	mem.objects[key("user_activity", 200)] = mem.objects[key("user_activity", 200)][:50]
	if c, _ := s.Latest(ctx, "user_activity"); c == nil || c.Epoch != 30 {
		t.Fatalf("latest after damage = %+v, want epoch 30", c)
	}
	if len(warned) != 1 || !strings.Contains(warned[0], "200") {
		t.Fatalf("warnings %v", warned)
	}
	if err := s.Prune(ctx, "user_activity"); err != nil {
		t.Fatal(err)
	}
	epochs, _ := s.epochs(ctx, "user_activity")
	if !slices.Equal(epochs, []int64{200, 30, 10}) {
		t.Fatalf("after prune: %v", epochs)
	}
	if _, err := mem.Get(ctx, "user_activity/00000000000000000300.ckpt.1a2b.tmp"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("a crashed save's temporary file survived Prune: %v", err)
	}
	if _, err := mem.Get(ctx, key("user_activity_2", 1000)); err != nil {
		t.Fatal("prune deleted another pipeline's checkpoint")
	}
}

func FuzzUnmarshal(f *testing.F) {
	data, _ := sample(7).Marshal()
	f.Add(data)
	f.Add([]byte(magic))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Unmarshal(data)
		if err != nil {
			return
		}
		again, err := c.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Unmarshal(again); err != nil {
			t.Fatalf("re-encoded checkpoint does not decode: %v", err)
		}
	})
}
