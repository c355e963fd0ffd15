package record

import (
	"maps"
	"testing"
)

func TestStringMap(t *testing.T) {
	for _, m := range []map[string]string{
		{},
		{"region": "eu"},
		{"a": "", "": "empty key", "long": string(make([]byte, 300)), "é": "ü"},
	} {
		enc := AppendStringMap([]byte("prefix"), m)[len("prefix"):]
		if got := DecodeStringMap(enc); !maps.Equal(got, m) {
			t.Errorf("decode(encode(%q)) = %q", m, got)
		}
		for k, v := range m {
			if got, ok := LookupStringMap(enc, k); !ok || string(got) != v {
				t.Errorf("lookup %q in %q = %q, %v", k, m, got, ok)
			}
		}
		if _, ok := LookupStringMap(enc, "missing"); ok {
			t.Errorf("found a missing key in %q", m)
		}
	}
}

func TestAppendStringMapAllocations(t *testing.T) {
	m := map[string]string{"region": "eu", "tier": "gold", "n": "7"}
	dst := make([]byte, 0, 256)
	if n := testing.AllocsPerRun(100, func() { dst = AppendStringMap(dst[:0], m) }); n != 0 {
		t.Errorf("%v allocations per map of 3 entries", n)
	}
}

func FuzzStringMap(f *testing.F) {
	f.Add([]byte{1, 'a', 1, 'b'}, "a")
	f.Add([]byte{0xff, 0xff}, "")
	f.Fuzz(func(t *testing.T, enc []byte, key string) {
		m := DecodeStringMap(enc) // must not panic on malformed input
		if v, ok := LookupStringMap(enc, key); ok && m[key] != string(v) {
			// Decode keeps the last of duplicate keys, Lookup the first.
			if _, dup := m[key]; !dup {
				t.Fatalf("lookup found %q that decode did not", key)
			}
		}
	})
}
