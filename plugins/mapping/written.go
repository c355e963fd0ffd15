package mapping

import "github.com/sluice-io/sluice/plugins"

var _ plugins.FieldWriter = (*Map)(nil)

// WrittenFields returns the fields the map sets, in the order written, then
// those it drops.
func (m *Map) WrittenFields() []string {
	out := make([]string, 0, len(m.Set)+len(m.Drop))
	for _, a := range m.Set {
		out = append(out, a.Name)
	}
	return append(out, m.Drop...)
}
