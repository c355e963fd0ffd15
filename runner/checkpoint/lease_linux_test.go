//go:build linux

package checkpoint_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"testing"

	"github.com/sluice-io/sluice/runner/checkpoint"
)

// TestLeaseOfAGoneProcess checks the default Gone on real processes: a
// holder whose PID no longer runs on this machine is taken over at once,
// one that runs is not.
func TestLeaseOfAGoneProcess(t *testing.T) {
	ended := exec.Command("true")
	if err := ended.Run(); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		pid       int
		wantTaken bool
	}{
		{"ended process", ended.Process.Pid, true},
		{"running process", os.Getppid(), false},
		{"this process", os.Getpid(), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			s := checkpoint.NewStore(checkpoint.NewMemStorage())
			if _, err := s.Acquire(ctx, "p", checkpoint.LeaseOptions{PID: tt.pid}); err != nil {
				t.Fatal(err)
			}
			l, err := s.Acquire(ctx, "p", checkpoint.LeaseOptions{})
			var held *checkpoint.HeldError
			if tt.wantTaken && err != nil || !tt.wantTaken && (!errors.As(err, &held) || held.Holder.PID != tt.pid) {
				t.Errorf("Acquire = %v, %v; taken over %v", l, err, tt.wantTaken)
			}
		})
	}
}
