package window

import "github.com/sluice-io/sluice/plugins"

var _ plugins.Grouped = (*Window)(nil)

// GroupFields returns the window's group_by fields, in order: its state is
// kept per window and group of records with equal values of them.
func (w *Window) GroupFields() []string { return w.GroupBy }
