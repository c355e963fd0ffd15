package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluice-io/sluice/plugins"
	"github.com/sluice-io/sluice/plugins/delta"
	"github.com/sluice-io/sluice/plugins/plugintest"
	"github.com/sluice-io/sluice/record"
)

// writeDeltaTable writes epochs 1…n of sink "delta" into dir, 10 rows
// each, one file per epoch.
func writeDeltaTable(t *testing.T, dir string, n int) {
	t.Helper()
	in := record.Schema{Columns: []record.Column{{Name: "id", Type: record.ColumnInt}, {Name: "action", Type: record.ColumnString}}}
	c, diags := plugintest.Build(delta.Plugin, fmt.Sprintf("sink \"delta\" \"lake\" {\n  path = %q\n}", dir), in)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	ctx := context.Background()
	pw, err := c.(*delta.Sink).Open(ctx, &plugins.Runtime{Pipeline: "p", Checkpoints: true})
	must(t, err)
	w := pw.(*delta.Writer)
	defer w.Close()
	for e := 1; e <= n; e++ {
		b := record.NewBatch(in, 10)
		for i := range 10 {
			plugintest.AppendRow(b, record.Origin{}, int64(e*10+i), "view")
		}
		must(t, w.Write(ctx, b))
		m, err := w.Prepare(ctx, int64(e))
		must(t, err)
		must(t, w.Commit(ctx, m))
	}
}

// runDelta runs `sluice delta ARGS` through newDeltaCmd.
func runDelta(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	cmd := newDeltaCmd()
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	err := cmd.Execute()
	var ec exitCode
	switch {
	case err == nil:
	case errors.As(err, &ec):
		code = int(ec)
	default:
		code, errb = exitUsage, *bytes.NewBufferString(err.Error())
	}
	return code, out.String(), errb.String()
}

func TestDeltaCommands(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "table")
	writeDeltaTable(t, dir, 12)
	tests := []struct {
		name    string
		args    []string
		code    int
		want    []string // substrings of stdout, in order
		wantErr string
	}{
		{name: "history", args: []string{"history", dir}, want: []string{
			"VERSION  TIME", "0        ", "STREAMING UPDATE  test/lake  1      1      0        10",
			"11       ", "STREAMING UPDATE  test/lake  12     1      0        10",
		}},
		{name: "optimize", args: []string{"optimize", "--target-size", "1MiB", dir}, want: []string{"version 12: removed 12 files", "added 1 files"}},
		{name: "history after optimize", args: []string{"history", dir}, want: []string{"12       ", "OPTIMIZE          -          -      1      12       0"}},
		{name: "optimize again", args: []string{"optimize", dir}, want: []string{"nothing to compact"}},
		{name: "vacuum keeps recent files", args: []string{"vacuum", "--dry-run", dir}, want: []string{"would delete 0 files"}},
		{name: "vacuum below the minimum", args: []string{"vacuum", "--retain", "10m", dir}, code: exitUsage, wantErr: "invalid --retain 10m0s"},
		{name: "no table", args: []string{"history", t.TempDir()}, code: exitProblems, wantErr: "no Delta table there"},
		{name: "bad size", args: []string{"optimize", "--target-size", "big", dir}, code: exitUsage, wantErr: `invalid --target-size "big"`},
		{name: "missing path", args: []string{"vacuum"}, code: exitUsage, wantErr: "accepts 1 arg(s)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runDelta(tt.args...)
			if code != tt.code || !strings.Contains(errOut, tt.wantErr) {
				t.Fatalf("exit %d, stderr %q; want %d and %q\nstdout:\n%s", code, errOut, tt.code, tt.wantErr, out)
			}
			rest := out
			for _, w := range tt.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("stdout lacks %q (in order):\n%s", w, out)
				}
				rest = rest[i+len(w):]
			}
		})
	}
}
