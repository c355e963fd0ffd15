package plugintest

import (
	"context"
	"strings"
	"testing"

	"github.com/sluice-io/sluice/plugins"
)

// ManifestRefusal is a manifest that Committer must refuse, in Commit and
// in Recover alike, with an error containing Want.
type ManifestRefusal struct {
	Name      string
	Committer plugins.Committer
	Manifest  []byte
	Want      string
}

// TaskRefusals are the refusals the writers of one exactly-once sink owe
// each other when its pipeline runs as tasks (plugins.Runtime.Task): m0,
// prepared by the writer of task "0", is refused by w1, the writer of task
// "1", and by single, a writer without a task; mSingle, prepared by
// single, is refused by w1.
func TaskRefusals(w1, single plugins.Committer, m0, mSingle []byte) []ManifestRefusal {
	return []ManifestRefusal{
		{Name: "task 0's to task 1", Committer: w1, Manifest: m0, Want: `for task "0", not task "1"`},
		{Name: "task 0's to no task", Committer: single, Manifest: m0, Want: `for task "0", not task ""`},
		{Name: "no task's to task 1", Committer: w1, Manifest: mSingle, Want: `for task "", not task "1"`},
	}
}

// ExpectRefused runs each refusal as a subtest of t, failing it unless
// both Commit and Recover of the manifest return an error containing Want.
func ExpectRefused(ctx context.Context, t *testing.T, refusals ...ManifestRefusal) {
	t.Helper()
	for _, r := range refusals {
		t.Run(r.Name, func(t *testing.T) {
			if err := r.Committer.Commit(ctx, r.Manifest); err == nil || !strings.Contains(err.Error(), r.Want) {
				t.Errorf("commit = %v, want an error containing %q", err, r.Want)
			}
			if err := r.Committer.Recover(ctx, r.Manifest); err == nil || !strings.Contains(err.Error(), r.Want) {
				t.Errorf("recover = %v, want an error containing %q", err, r.Want)
			}
		})
	}
}
