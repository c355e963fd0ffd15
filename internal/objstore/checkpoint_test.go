package objstore_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/sluice-io/sluice/internal/objstore"
	"github.com/sluice-io/sluice/runner/checkpoint"
)

// A Store keeps the runner's checkpoints.
var _ checkpoint.Storage = (*objstore.Store)(nil)

// TestCheckpointStorage runs the runner's checkpoint store on every kind of
// Store: saving, pruning and loading the newest.
func TestCheckpointStorage(t *testing.T) {
	for _, s := range objstore.TestStores {
		t.Run(s.Name, func(t *testing.T) {
			t.Parallel()
			st := objstore.OpenAt(t, s.Loc(t))
			cs := checkpoint.NewStore(st)
			ctx := context.Background()
			for e := int64(1); e <= 5; e++ {
				c := &checkpoint.Checkpoint{Pipeline: "user_activity", Epoch: e, Positions: map[string][]byte{"p0": []byte(fmt.Sprint(e))},
					Operators: [][]byte{[]byte("window state")}}
				if _, err := cs.Save(ctx, c); err != nil {
					t.Fatal(err)
				}
				if err := cs.Prune(ctx, "user_activity"); err != nil {
					t.Fatal(err)
				}
			}
			keys, err := st.List(ctx, "user_activity/")
			if err != nil || len(keys) != checkpoint.Keep {
				t.Fatalf("keys after pruning = %q, %v; want %d", keys, err, checkpoint.Keep)
			}
			c, err := cs.Latest(ctx, "user_activity")
			if err != nil || c == nil || c.Epoch != 5 || string(c.Positions["p0"]) != "5" {
				t.Fatalf("Latest = %+v, %v; want epoch 5", c, err)
			}
		})
	}
}
