package record

import (
	"slices"
	"testing"
)

func TestKeyColumns(t *testing.T) {
	cols := []Column{{"window_start", ColumnTimestamp}, {"window_end", ColumnTimestamp}, {"action", ColumnString}, {"n", ColumnInt}}
	tests := []struct {
		name string
		key  []string
		want []int
	}{
		{"window key", []string{"window_start", "action"}, []int{0, 2}},
		{"no key", nil, nil},
		{"a key column was dropped", []string{"window_start", "user"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := (Schema{Columns: cols, Key: tt.key}).KeyColumns(); !slices.Equal(got, tt.want) {
				t.Errorf("KeyColumns() = %v, want %v", got, tt.want)
			}
		})
	}
}
