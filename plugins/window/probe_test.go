package window

import (
	"testing"

	"github.com/sluice-io/sluice/record"
)

// TestProbes checks the match of a raw string probe against group keys:
// only the key of that very string matches; the key of a string with a
// zero byte (escaped, longer) and the null key never do.
func TestProbes(t *testing.T) {
	keyOf := func(s string, null bool) string {
		v := record.Vector{Type: record.ColumnString}
		if null {
			v.AppendNull()
		} else {
			v.AppendText(s)
		}
		return string(appendKey(nil, &v, 0))
	}
	tests := []struct {
		probe, key string
		null       bool
		want       bool
	}{
		{"k3", "k3", false, true},
		{"", "", false, true},
		{"k", "k3", false, false},
		{"", "k3", false, false},
		{"k3", "k", false, false},
		{"", "", true, false},
		{"k\x000", "k\x000", false, false}, // escaped: found in the map
		{"k\x00", "k", false, false},
	}
	o := &Operator{}
	o.bound.probeCol = 0
	for _, tt := range tests {
		o.kp.probe = []byte(tt.probe)
		if got := o.probes(&group{key: keyOf(tt.key, tt.null)}); got != tt.want {
			t.Errorf("probe %q, key of %q (null %v): %v, want %v", tt.probe, tt.key, tt.null, got, tt.want)
		}
	}
}
