package delta

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	pq "github.com/parquet-go/parquet-go"

	"github.com/sluice-io/sluice/internal/deltalog"
	"github.com/sluice-io/sluice/plugins/plugintest"
	"github.com/sluice-io/sluice/record"
)

// payloadRows are rows of unique ids with an incompressible payload, so
// that file sizes follow row counts.
var payloadRows = record.Schema{Columns: []record.Column{
	{Name: "id", Type: record.ColumnInt},
	{Name: "kind", Type: record.ColumnString},
	{Name: "ts", Type: record.ColumnTimestamp},
	{Name: "payload", Type: record.ColumnString},
}}

// payloadBatch returns rows with ids first…first+n-1.
func payloadBatch(rng *rand.Rand, first, n int) *record.Batch {
	b := record.NewBatch(payloadRows, n)
	for i := first; i < first+n; i++ {
		p := make([]byte, 24)
		for j := range p {
			p[j] = byte('a' + rng.IntN(26))
		}
		plugintest.AppendRow(b, record.Origin{}, int64(i), fmt.Sprintf("k%d", i%10), int64(1_764_000_000_000+i), string(p))
	}
	return b
}

// liveIDs reads the id column of every live file of the table.
func liveIDs(t *testing.T, log *deltalog.Log) []int64 {
	t.Helper()
	ctx := context.Background()
	snap, err := log.Snapshot(ctx)
	must(t, err)
	var ids []int64
	for p := range snap.Files {
		data, err := log.Store().Get(ctx, mustDecode(p))
		must(t, err)
		rows, err := pq.Read[struct {
			ID int64 `parquet:"id"`
		}](bytes.NewReader(data), int64(len(data)))
		must(t, err)
		for _, r := range rows {
			ids = append(ids, r.ID)
		}
	}
	slices.Sort(ids)
	return ids
}

// seq returns 0…n-1.
func seq(n int) []int64 {
	out := make([]int64, n)
	for i := range out {
		out[i] = int64(i)
	}
	return out
}

// TestOptimize: 200 small files in ten partitions are bin-packed into
// files near the target size in one commit; the rows do not change; a
// streaming commit landing between the compaction's writes and its commit
// (a conflict) and streaming commits running alongside lose nothing.
func TestOptimize(t *testing.T) {
	for _, st := range testStores {
		t.Run(st.name, func(t *testing.T) {
			ctx := context.Background()
			loc := st.loc(t)
			rng := rand.New(rand.NewPCG(1, 2))
			clk := newClock()
			w := open(t, buildSink(t, loc, `partition_by = ["kind"]`, payloadRows), clk, true)
			const perFile, partitions, epochs = 20, 10, 20
			for e := range epochs { // 20 epochs of 10 files, one per partition
				commitEpoch(t, w, payloadBatch(rng, e*partitions*perFile, partitions*perFile), int64(e+1))
			}
			log := openLog(t, loc)
			before, err := log.Snapshot(ctx)
			must(t, err)
			var small int64
			for _, f := range before.Files {
				small = max(small, f.Size)
			}
			target := 10 * small
			next := epochs * partitions * perFile
			epoch := int64(epochs)
			stream := func() { // one more streaming commit
				epoch++
				commitEpoch(t, w, payloadBatch(rng, next, partitions*perFile), epoch)
				next += partitions * perFile
			}
			conflicts := 0
			res, err := Optimize(ctx, log, nil, OptimizeOptions{TargetSize: target, OnConflict: func() { conflicts++ }, beforeCommit: stream})
			must(t, err)
			if conflicts != 1 {
				t.Errorf("%d conflicts, want 1", conflicts)
			}
			if res.Removed != 200 || res.Added < 20 || res.Added > 30 {
				t.Errorf("optimize removed %d files and added %d, want 200 and about %d", res.Removed, res.Added, 200*small/target)
			}
			after, err := log.Snapshot(ctx)
			must(t, err)
			var near int
			for p, f := range after.Files {
				if strings.Contains(p, "part-optimize-") && f.Size > target/2 && f.Size <= target {
					near++
				}
				if strings.Contains(p, "part-optimize-") && f.DataChange {
					t.Errorf("%s: dataChange true", p)
				}
			}
			t.Logf("%d files removed, %d added, %d of them between %d and %d bytes", res.Removed, res.Added, near, target/2, target)
			if near < res.Added-partitions { // the last bin of each partition may be smaller
				t.Errorf("%d of %d new files are between half the target (%d) and the target", near, res.Added, target)
			}
			if got := liveIDs(t, log); !slices.Equal(got, seq(next)) {
				t.Fatalf("%d live rows after optimize, want ids 0…%d once each", len(got), next-1)
			}
			// Streaming commits alongside a second compaction.
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 5 {
					stream()
				}
			}()
			for range 3 {
				_, err := Optimize(ctx, log, nil, OptimizeOptions{TargetSize: target})
				must(t, err)
			}
			wg.Wait()
			if got := liveIDs(t, log); !slices.Equal(got, seq(next)) {
				t.Fatalf("%d live rows after optimize with a concurrent writer, want ids 0…%d once each", len(got), next-1)
			}
			fromCheckpoint, err := log.Snapshot(ctx)
			must(t, err)
			replayed, err := log.ReplayAll(ctx)
			must(t, err)
			if !reflect.DeepEqual(fromCheckpoint.Files, replayed.Files) {
				t.Error("the checkpoint's live files differ from replaying every commit")
			}
		})
	}
}

// TestVacuumAndHistory: vacuum deletes removed files older than the
// retention and keeps live ones; history lists each commit's epoch,
// files and rows.
func TestVacuumAndHistory(t *testing.T) {
	ctx := context.Background()
	loc := testStores[0].loc(t)
	rng := rand.New(rand.NewPCG(3, 4))
	clk := newClock()
	w := open(t, buildSink(t, loc, ``, payloadRows), clk, true)
	for e := range 4 {
		commitEpoch(t, w, payloadBatch(rng, e*10, 10), int64(e+1))
	}
	log := openLog(t, loc)
	res, err := Optimize(ctx, log, nil, OptimizeOptions{TargetSize: 1 << 30})
	must(t, err)
	if res.Removed != 4 || res.Added != 1 {
		t.Fatalf("optimize: %+v", res)
	}
	if _, err := Vacuum(ctx, log, time.Minute, time.Now(), false); err == nil {
		t.Error("vacuum with a 1-minute retention: no error")
	}
	v, err := Vacuum(ctx, log, 168*time.Hour, time.Now(), false)
	must(t, err)
	if len(v.Deleted) != 0 {
		t.Errorf("vacuum deleted %v within the retention", v.Deleted)
	}
	v, err = Vacuum(ctx, log, 168*time.Hour, time.Now().Add(169*time.Hour), false)
	must(t, err)
	if len(v.Deleted) != 4 {
		t.Errorf("vacuum deleted %d files, want the 4 removed", len(v.Deleted))
	}
	if got := liveIDs(t, log); !slices.Equal(got, seq(40)) {
		t.Errorf("live rows after vacuum: %d", len(got))
	}
	h, err := History(ctx, log)
	must(t, err)
	if len(h) != 5 || h[0].Epoch != 1 || h[0].Rows != 10 || h[0].Added != 1 || h[4].Operation != "OPTIMIZE" || h[4].Removed != 4 || h[4].Epoch != -1 {
		t.Errorf("history: %+v", h)
	}
}
