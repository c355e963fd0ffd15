package objstore

import (
	"context"
	"fmt"
	"go/build"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluice-io/sluice/runner/checkpoint"
	"github.com/sluice-io/sluice/runner/checkpoint/leasetest"
)

// minioBinary returns the MinIO server binary the opt-in tests use: $MINIO
// if set, else "minio" on the PATH, else the one `go install
// github.com/minio/minio@latest` puts in GOPATH/bin; "" when there is none.
func minioBinary() string {
	if p := os.Getenv("MINIO"); p != "" {
		return p
	}
	if p, err := exec.LookPath("minio"); err == nil {
		return p
	}
	if p := filepath.Join(build.Default.GOPATH, "bin", "minio"); fileExists(p) {
		return p
	}
	return ""
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// startMinIO starts a MinIO server on 127.0.0.1 holding the bucket
// "lake", stopped at the end of the test, and returns the query of s3://
// locations that reach it. The credentials go to the environment, so the
// test cannot be parallel. It skips the test when MinIO is not installed.
func startMinIO(t *testing.T) string {
	bin := minioBinary()
	if bin == "" {
		t.Skip("no MinIO server: set MINIO or run `go install github.com/minio/minio@latest`")
	}
	data := t.TempDir()
	if err := os.Mkdir(filepath.Join(data, "lake"), 0o777); err != nil { // a folder at the top is a bucket
		t.Fatal(err)
	}
	addr, console := freePort(t), freePort(t)
	cmd := exec.Command(bin, "server", data, "--address", addr, "--console-address", console, "--quiet")
	cmd.Env = append(os.Environ(), "MINIO_ROOT_USER=sluicetest", "MINIO_ROOT_PASSWORD=sluicetest-secret", "MINIO_BROWSER=off")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	deadline := time.Now().Add(time.Minute)
	for {
		resp, err := http.Get("http://" + addr + "/minio/health/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("MinIO not ready after a minute: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Setenv("AWS_ACCESS_KEY_ID", "sluicetest")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "sluicetest-secret")
	return "region=us-east-1&use_path_style=true&endpoint=http://" + addr
}

// freePort returns an address on 127.0.0.1 that nobody listens on.
func freePort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestMinIO runs create-if-absent, the write probe and the lease tests on
// a real S3 server (opt-in: skipped without a MinIO binary).
func TestMinIO(t *testing.T) {
	query := startMinIO(t)
	var n atomic.Int64 // each test's store is a prefix of its own
	open := func(t *testing.T) *Store {
		return openAt(t, fmt.Sprintf("s3://lake/test%d?%s", n.Add(1), query))
	}
	ctx := context.Background()
	st := open(t)
	must(t, st.CheckWritable(ctx, "p"))
	t.Run("PutIfAbsentRace", func(t *testing.T) {
		testPutIfAbsentRace(t, open(t))
	})
	t.Run("Lease", func(t *testing.T) {
		leasetest.Run(t, func(t *testing.T) checkpoint.LeaseStorage { return open(t) })
	})
}
