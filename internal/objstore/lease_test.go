package objstore_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/sluice-io/sluice/internal/objstore"
	"github.com/sluice-io/sluice/runner/checkpoint"
	"github.com/sluice-io/sluice/runner/checkpoint/leasetest"
)

// A Store keeps ownership leases.
var _ checkpoint.LeaseStorage = (*objstore.Store)(nil)

// TestLease runs the lease tests on every kind of Store.
func TestLease(t *testing.T) {
	for _, s := range objstore.TestStores {
		t.Run(s.Name, func(t *testing.T) {
			t.Parallel()
			leasetest.Run(t, func(t *testing.T) checkpoint.LeaseStorage { return objstore.OpenAt(t, s.Loc(t)) })
		})
	}
}

// TestAcquireRefusesAStoreItCannotUse checks that a store that cannot be
// written, or reached, is refused at once with a one-line error naming it.
func TestAcquireRefusesAStoreItCannotUse(t *testing.T) {
	readOnly := filepath.Join(t.TempDir(), "ckpt")
	s3 := objstore.ServeS3(t, nil)
	tests := []struct {
		name  string
		store func(t *testing.T) *objstore.Store
		want  string
	}{
		{"read-only folder", func(t *testing.T) *objstore.Store {
			st := objstore.OpenAt(t, "file://"+readOnly)
			if err := os.Chmod(readOnly, 0o555); err != nil {
				t.Fatal(err)
			}
			return st
		}, "checkpoint store file://" + readOnly + " is not writable: mkdir: permission denied"},
		{"S3 server gone", func(t *testing.T) *objstore.Store {
			st := objstore.OpenAt(t, "s3://lake/ckpt?"+objstore.S3Query(s3))
			s3.Close()
			return st
		}, "checkpoint store s3://lake/ckpt cannot be reached: dial tcp " + s3.Listener.Addr().String() + ": connect: connection refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := tt.store(t)
			err := objstore.WithoutPrivilege(func() error {
				_, err := checkpoint.NewStore(st).Acquire(context.Background(), "user_activity", checkpoint.LeaseOptions{})
				return err
			})
			if err == nil || err.Error() != tt.want {
				t.Errorf("Acquire = %v\nwant %s", err, tt.want)
			}
		})
	}
}
