package objstore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestPutIfAbsent(t *testing.T) {
	forEachStore(t, func(t *testing.T, st *Store) {
		ctx := context.Background()
		must(t, st.PutIfAbsent(ctx, "p/_lease/00000000000000000001", []byte("first")))
		must(t, st.PutIfAbsent(ctx, "top", nil))
		for _, data := range [][]byte{[]byte("second"), nil, []byte("first")} {
			err := st.PutIfAbsent(ctx, "p/_lease/00000000000000000001", data)
			if !errors.Is(err, fs.ErrExist) {
				t.Errorf("PutIfAbsent over an object = %v, want an error matching fs.ErrExist", err)
			}
		}
		checkGet(t, st, "p/_lease/00000000000000000001", "first")
		checkGet(t, st, "top", "")

		// Refused: too big, invalid keys, a cancelled context.
		big := make([]byte, MaxPutIfAbsent+1)
		if err := st.PutIfAbsent(ctx, "big", big); err == nil || !strings.Contains(err.Error(), "more than the 1048576") {
			t.Errorf("PutIfAbsent of %d bytes = %v", len(big), err)
		}
		for _, k := range []string{"", "a//b", "../x", "dir/"} {
			if err := st.PutIfAbsent(ctx, k, []byte("x")); err == nil {
				t.Errorf("PutIfAbsent(%q) succeeded", k)
			}
		}
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if err := st.PutIfAbsent(cctx, "cancelled", []byte("x")); err == nil || errors.Is(err, fs.ErrExist) {
			t.Errorf("PutIfAbsent with a cancelled context = %v", err)
		}
		checkKeys(t, st, "p/_lease/00000000000000000001", "top") // no temporary file left
	})
}

// TestPutIfAbsentRace creates one key from many goroutines at once, many
// rounds: exactly one wins each time, and the object is the winner's.
func TestPutIfAbsentRace(t *testing.T) {
	forEachStore(t, testPutIfAbsentRace)
}

func testPutIfAbsentRace(t *testing.T, st *Store) {
	const rounds, writers = 20, 6
	ctx := context.Background()
	for round := range rounds {
		key := fmt.Sprintf("race/%02d", round)
		errs := make([]error, writers)
		var wg sync.WaitGroup
		for i := range writers {
			wg.Go(func() { errs[i] = st.PutIfAbsent(ctx, key, []byte(fmt.Sprint("writer ", i))) })
		}
		wg.Wait()
		winner := -1
		for i, err := range errs {
			switch {
			case err == nil && winner >= 0:
				t.Fatalf("round %d: writers %d and %d both created %s", round, winner, i, key)
			case err == nil:
				winner = i
			case !errors.Is(err, fs.ErrExist):
				t.Fatalf("round %d: writer %d: %v", round, i, err)
			}
		}
		if winner < 0 {
			t.Fatalf("round %d: nobody created %s", round, key)
		}
		checkGet(t, st, key, fmt.Sprint("writer ", winner))
	}
	if files := localFiles(t, st); st.Local() && len(files) != rounds {
		t.Errorf("files %q, want %d objects and no temporary", files, rounds)
	}
}

func TestCheckWritable(t *testing.T) {
	forEachStore(t, func(t *testing.T, st *Store) {
		ctx := context.Background()
		must(t, st.CheckWritable(ctx, ""))
		must(t, st.CheckWritable(ctx, "p/_lease"))
		checkKeys(t, st) // the probes are gone
	})
}

func TestCheckWritableReadOnlyFolder(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	st := openAt(t, "file://"+dir)
	ctx := context.Background()
	must(t, os.Mkdir(filepath.Join(dir, "existing"), 0o777))
	must(t, os.Chmod(dir, 0o555))
	must(t, os.Chmod(filepath.Join(dir, "existing"), 0o555))
	t.Cleanup(func() { _ = os.Chmod(dir, 0o777) })
	tests := []struct{ dir, want string }{
		{"", "file://" + dir + " is not writable: open: permission denied"},
		{"existing", "file://" + dir + " is not writable: open: permission denied"},
		{"p/_lease", "file://" + dir + " is not writable: mkdir: permission denied"},
	}
	for _, tt := range tests {
		err := withoutPrivilege(func() error { return st.CheckWritable(ctx, tt.dir) })
		if err == nil || err.Error() != tt.want {
			t.Errorf("CheckWritable(%q) = %v\nwant %s", tt.dir, err, tt.want)
		}
	}
}

// TestCheckWritableFindsIgnoredConditions puts a proxy that drops the
// If-None-Match header in front of gofakes3, as an S3-compatible server
// without conditional writes behaves: the check refuses it.
func TestCheckWritableFindsIgnoredConditions(t *testing.T) {
	srv := serveS3(t, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			r.Header.Del("If-None-Match")
			h.ServeHTTP(w, r)
		})
	})
	st := openAt(t, "s3://lake/ckpt?"+s3Query(srv))
	err := st.CheckWritable(context.Background(), "p")
	want := "s3://lake/ckpt overwrote an object that a create-if-absent (If-None-Match: *) should have refused: sluice needs conditional writes to keep one process per pipeline"
	if err == nil || err.Error() != want {
		t.Errorf("CheckWritable = %v\nwant %s", err, want)
	}
	checkKeys(t, st)
}

func TestUnreachableS3(t *testing.T) {
	ctx := context.Background()
	// A port nobody listens on.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	addr := ln.Addr().String()
	must(t, ln.Close())
	_, err = Open(ctx, Location{Scheme: "s3", Bucket: "lake", Query: "region=us-east-1&use_path_style=true&anonymous=true&endpoint=http://" + addr})
	if want := "checking the bucket: dial tcp " + addr + ": connect: connection refused"; err == nil || err.Error() != want {
		t.Errorf("Open = %v\nwant %s", err, want)
	}

	// The server goes away after the store was opened.
	srv := serveS3(t, nil)
	st := openAt(t, "s3://lake/ckpt?"+s3Query(srv))
	srv.Close()
	err = st.CheckWritable(ctx, "p")
	if want := "s3://lake/ckpt cannot be reached: dial tcp " + srv.Listener.Addr().String() + ": connect: connection refused"; err == nil || err.Error() != want {
		t.Errorf("CheckWritable = %v\nwant %s", err, want)
	}
}
