package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// procResult is what one timed child process did.
type procResult struct {
	Wall    time.Duration
	CPU     time.Duration // user + system
	MaxRSS  int64         // bytes; 0 when unknown
	Stdout  []byte
	Stderr  []byte
	ExitErr error // nil when the process exited 0
}

// runTimed runs the command as one OS process and measures its wall time
// from start to exit, its CPU time and its peak resident set size.
func runTimed(ctx context.Context, timeout time.Duration, name string, args ...string) procResult {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	cmd := exec.CommandContext(ctx, name, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	start := time.Now()
	err := cmd.Run()
	res := procResult{Wall: time.Since(start), Stdout: stdout.Bytes(), Stderr: stderr.Bytes()}
	if ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		err = fmt.Errorf("killed after the %s timeout (-timeout)", timeout)
	}
	res.ExitErr = err
	if ps := cmd.ProcessState; ps != nil {
		res.CPU = ps.UserTime() + ps.SystemTime()
		if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
			res.MaxRSS = int64(ru.Maxrss) * 1024 // KiB on Linux
		}
	}
	return res
}

// sluiceLog is what the bench reads from sluice's JSON logs.
type sluiceLog struct {
	// Pipeline holds the integer attributes of the "pipeline finished" line
	// (records_in, records_out, filtered, late, dead); nil when absent.
	Pipeline map[string]int64
	// Run holds the integer attributes of the "run finished" line
	// (alloc_bytes, mallocs); nil when absent.
	Run map[string]int64
}

// pipelineKeys and runKeys are the attributes read from the two lines.
var (
	pipelineKeys = []string{"records_in", "records_out", "filtered", "late", "dead"}
	runKeys      = []string{"alloc_bytes", "mallocs"}
)

// parseSluiceLog scans slog JSON lines for "pipeline finished" and
// "run finished". Lines that are not JSON objects are ignored; when a message
// appears several times the last one wins.
func parseSluiceLog(stderr []byte) sluiceLog {
	var out sluiceLog
	sc := bufio.NewScanner(bytes.NewReader(stderr))
	sc.Buffer(make([]byte, 64*1024), 16<<20)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 || line[0] != '{' {
			continue
		}
		if !bytes.Contains(line, []byte(`"pipeline finished"`)) && !bytes.Contains(line, []byte(`"run finished"`)) {
			continue
		}
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.UseNumber()
		var m map[string]any
		if dec.Decode(&m) != nil {
			continue
		}
		switch m["msg"] {
		case "pipeline finished":
			out.Pipeline = intAttrs(m, pipelineKeys)
		case "run finished":
			out.Run = intAttrs(m, runKeys)
		}
	}
	return out
}

// intAttrs returns the keys of m that hold integers.
func intAttrs(m map[string]any, keys []string) map[string]int64 {
	out := make(map[string]int64)
	for _, k := range keys {
		n, ok := m[k].(json.Number)
		if !ok {
			continue
		}
		if i, err := n.Int64(); err == nil {
			out[k] = i
		} else if f, err := n.Float64(); err == nil {
			out[k] = int64(f)
		}
	}
	return out
}

// tail returns at most the last n bytes of b, cut at a line start.
func tail(b []byte, n int) string {
	if len(b) <= n {
		return strings.TrimRight(string(b), "\n")
	}
	b = b[len(b)-n:]
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		b = b[i+1:]
	}
	return "…\n" + strings.TrimRight(string(b), "\n")
}

// details formats at most the last n bytes of a program's output as indented
// lines following an error message; empty output gives "".
func details(out []byte, n int) string {
	s := tail(out, n)
	if strings.TrimSpace(s) == "" {
		return ""
	}
	return "\n    " + strings.ReplaceAll(s, "\n", "\n    ")
}
