// Package sluicetest runs the sluice command as a child process, for the
// tests that kill it (kill -9 crash tests of the sinks and sources) or talk
// to it from outside. Only tests import it.
package sluicetest

import (
	"bytes"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	buildOnce sync.Once
	buildBin  string
	buildErr  error
	buildOut  []byte
)

// Build builds the sluice command once per test binary and returns its
// path. The binary lives in a temporary folder for the rest of the test
// binary's life.
func Build(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "sluicetest")
		if err != nil {
			buildErr = err
			return
		}
		buildBin = filepath.Join(dir, "sluice")
		cmd := exec.Command("go", "build", "-o", buildBin, "github.com/sluice-io/sluice/cmd/sluice")
		cmd.Dir = moduleRoot()
		buildOut, buildErr = cmd.CombinedOutput()
	})
	if buildErr != nil {
		t.Fatalf("go build of sluice: %v\n%s", buildErr, buildOut)
	}
	return buildBin
}

// moduleRoot is the folder of go.mod: two up from this file's.
func moduleRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// Proc is one sluice process; its standard output and error are kept in
// Log.
type Proc struct {
	cmd    *exec.Cmd
	log    LockedBuffer
	exited chan struct{}
}

// Start starts bin with args (e.g. "run", "--log-format", "json",
// FILE) and GOMAXPROCS at most 2, and kills it when the test ends if it
// still runs.
func Start(t testing.TB, bin string, args ...string) *Proc {
	t.Helper()
	p := &Proc{exited: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Stdout, p.cmd.Stderr = &p.log, &p.log
	p.cmd.Env = append(os.Environ(), "GOMAXPROCS="+strconv.Itoa(min(2, runtime.NumCPU())))
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = p.cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
		<-p.exited
	})
	return p
}

// Log returns what the process printed so far.
func (p *Proc) Log() string { return p.log.String() }

// Done reports whether the process has exited.
func (p *Proc) Done() bool {
	select {
	case <-p.exited:
		return true
	default:
		return false
	}
}

// Exited is closed when the process has exited.
func (p *Proc) Exited() <-chan struct{} { return p.exited }

// Sleep waits d, or less when the process exits; it reports whether the
// process still runs.
func (p *Proc) Sleep(d time.Duration) bool {
	select {
	case <-p.exited:
		return false
	case <-time.After(d):
		return true
	}
}

// Kill sends SIGKILL and reports whether that ended the process; false
// means it had exited by itself, which must then have been a success.
func (p *Proc) Kill(t testing.TB) bool {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited
	if ws, _ := p.cmd.ProcessState.Sys().(syscall.WaitStatus); ws.Signaled() {
		return true
	}
	p.Ended(t)
	return false
}

// Signal sends sig to the process.
func (p *Proc) Signal(sig os.Signal) error { return p.cmd.Process.Signal(sig) }

// Ended waits for the process to exit and fails the test unless it
// succeeded.
func (p *Proc) Ended(t testing.TB) {
	t.Helper()
	<-p.exited
	if !p.cmd.ProcessState.Success() {
		t.Fatalf("sluice failed: %v\n%s", p.cmd.ProcessState, p.Log())
	}
}

// Wait waits up to timeout for the process to end by itself, successfully.
func (p *Proc) Wait(t testing.TB, timeout time.Duration) {
	t.Helper()
	if p.Sleep(timeout) {
		t.Fatalf("sluice still running after %v:\n%s", timeout, p.Log())
	}
	p.Ended(t)
}

// ExitCode returns the process's exit code once it has exited (-1 when a
// signal ended it).
func (p *Proc) ExitCode() int {
	<-p.exited
	return p.cmd.ProcessState.ExitCode()
}

// LockedBuffer is a buffer that the process's two pipes may write at once.
type LockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends b.
func (b *LockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written.
func (b *LockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// KillAtSomePoint kills the process at a point placed from what it reports,
// not from the machine's speed: usually once progress (a checkpoint epoch,
// a commit count: any value that changes when the process makes durable
// progress) has changed once or twice, then at a random moment up to one
// checkpoint interval (every) later; one time in four at a random moment of
// its start. It returns false when the process ended by itself first,
// which must then have been a success.
func (p *Proc) KillAtSomePoint(t testing.TB, rng *rand.Rand, every time.Duration, progress func() int64) bool {
	t.Helper()
	if rng.IntN(4) == 0 {
		if p.Sleep(time.Duration(rng.Int64N(int64(4 * every)))) {
			return p.Kill(t)
		}
		p.Ended(t)
		return false
	}
	changes := 1 + rng.IntN(2)
	last := progress()
	for changes > 0 {
		if !p.Sleep(2 * time.Millisecond) {
			p.Ended(t)
			return false
		}
		if now := progress(); now != last {
			last = now
			changes--
		}
	}
	if p.Sleep(time.Duration(rng.Int64N(int64(every)))) {
		return p.Kill(t)
	}
	p.Ended(t)
	return false
}
