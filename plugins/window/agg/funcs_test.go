package agg_test

import (
	"testing"

	"github.com/sluice-io/sluice/plugins/window"
	"github.com/sluice-io/sluice/plugins/window/agg"
)

// Every function the window stage declares has a state, under the same
// name; the agg functions beyond them are the ties of keep.
func TestFuncsMatchWindow(t *testing.T) {
	if len(window.Funcs) != int(agg.MinBy) {
		t.Errorf("window declares %d functions, agg has %d before the ties of keep", len(window.Funcs), agg.MinBy)
	}
	for _, f := range window.Funcs {
		fn, err := agg.ParseFunc(string(f))
		if err != nil {
			t.Error(err)
			continue
		}
		if fn.String() != string(f) {
			t.Errorf("ParseFunc(%q).String() = %q", f, fn)
		}
	}
}
