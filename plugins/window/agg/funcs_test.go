package agg_test

import (
	"testing"

	"github.com/sluice-io/sluice/plugins/window"
	"github.com/sluice-io/sluice/plugins/window/agg"
)

// Every function the window stage declares has a state, under the same name.
func TestFuncsMatchWindow(t *testing.T) {
	if len(window.Funcs) != int(agg.Last) {
		t.Errorf("window declares %d functions, agg has %d", len(window.Funcs), agg.Last)
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
