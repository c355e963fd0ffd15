package file

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-io/sluice/record"

	"github.com/sluice-io/sluice/plugins"
)

// line is one record as read: its payload and the offset of its first byte.
type line struct {
	Offset int64
	Text   string
}

func (l line) String() string { return fmt.Sprintf("%d:%q", l.Offset, l.Text) }

func lines(b *record.Batch) []line {
	var out []line
	for i := range b.Rows {
		if b.Origins[i].Partition != 0 {
			panic("partition")
		}
		out = append(out, line{b.Origins[i].Offset, strings.Clone(b.Columns[0].String(i))})
	}
	return out
}

func writeFile(t testing.TB, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "in.ndjson")
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func appendFile(t testing.TB, path, content string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Error(err)
		return
	}
	defer f.Close()
	if _, err := f.WriteString(content); err != nil {
		t.Error(err)
	}
}

func open(t testing.TB, ctx context.Context, s *Source, rt *plugins.Runtime) *sourceReader {
	t.Helper()
	r, err := s.Open(ctx, rt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	if r.Partitions() != 1 {
		t.Fatalf("Partitions() = %d, want 1", r.Partitions())
	}
	return r.(*sourceReader)
}

// readAll reads a bounded source to io.EOF with batches of max rows,
// checking each batch.
func readAll(t *testing.T, r plugins.Reader, max int) ([]line, error) {
	t.Helper()
	var got []line
	b := record.NewBatch(record.RawSchema(), max)
	for {
		b.Reset()
		err := r.Read(context.Background(), b, max)
		if verr := b.Validate(); verr != nil {
			t.Fatal(verr)
		}
		if b.Rows > max {
			t.Fatalf("read %d rows, max %d", b.Rows, max)
		}
		if err == nil && b.Rows == 0 {
			t.Fatal("Read returned no rows and no error")
		}
		if err != nil && b.Rows > 0 {
			t.Fatalf("Read returned %d rows with error %v", b.Rows, err)
		}
		got = append(got, lines(b)...)
		if err != nil {
			return got, err
		}
	}
}

func TestSourceReadBounded(t *testing.T) {
	tests := []struct {
		name    string
		content string
		want    []line
	}{
		{name: "empty file"},
		{name: "lines", content: "{\"a\":1}\n{\"a\":2}\n", want: []line{{0, `{"a":1}`}, {8, `{"a":2}`}}},
		{name: "no final newline", content: "a\nbc", want: []line{{0, "a"}, {2, "bc"}}},
		{name: "CRLF", content: "a\r\nbc\r\nd\r", want: []line{{0, "a"}, {3, "bc"}, {7, "d"}}},
		{name: "empty lines", content: "\n\na\n\r\n\n b \n\n", want: []line{{2, "a"}, {7, " b "}}},
		{name: "only blank", content: "\n\r\n\r"},
		{name: "CR inside", content: "a\rb\n", want: []line{{0, "a\rb"}}},
		{name: "binary", content: "\x00\xff\n\xfe", want: []line{{0, "\x00\xff"}, {3, "\xfe"}}},
	}
	for _, tt := range tests {
		for _, max := range []int{1, 2, 1000} {
			t.Run(fmt.Sprintf("%s/max=%d", tt.name, max), func(t *testing.T) {
				r := open(t, context.Background(), &Source{Path: writeFile(t, tt.content)}, nil)
				got, err := readAll(t, r, max)
				if err != io.EOF {
					t.Fatalf("err = %v, want io.EOF", err)
				}
				if !reflect.DeepEqual(got, tt.want) {
					t.Fatalf("read %v, want %v", got, tt.want)
				}
				// Once at the end, it stays there.
				if err := r.Read(context.Background(), record.NewBatch(record.RawSchema(), 1), max); err != io.EOF {
					t.Fatalf("Read after EOF = %v, want io.EOF", err)
				}
			})
		}
	}
}

// TestSourceReadChunks reads lines that straddle the 1 MiB reads, one of
// them longer than a read.
func TestSourceReadChunks(t *testing.T) {
	var content bytes.Buffer
	var want []line
	for i := 0; content.Len() < 5<<20; i++ {
		n := i * 7919 % 3000
		if i == 200 {
			n = 3 << 19 // 1.5 MiB
		}
		s := fmt.Sprintf("%d:%s", i, strings.Repeat(string(rune('a'+i%26)), n))
		want = append(want, line{int64(content.Len()), s})
		content.WriteString(s + "\n")
	}
	r := open(t, context.Background(), &Source{Path: writeFile(t, content.String())}, nil)
	got, err := readAll(t, r, 100)
	if err != io.EOF {
		t.Fatalf("err = %v, want io.EOF", err)
	}
	if len(got) != len(want) {
		t.Fatalf("read %d lines, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("line %d: offset %d, %d bytes; want offset %d, %d bytes", i, got[i].Offset, len(got[i].Text), want[i].Offset, len(want[i].Text))
		}
	}
}

func TestSourceLineTooLong(t *testing.T) {
	tests := []struct {
		name    string
		content string
		follow  bool
		want    []line
		offset  int
	}{
		{name: "complete line", content: "short\n0123456789A\nok\n", want: []line{{0, "short"}}, offset: 6},
		{name: "last line", content: "short\n0123456789A", want: []line{{0, "short"}}, offset: 6},
		{name: "partial line followed", content: "short\n0123456789A", follow: true, want: []line{{0, "short"}}, offset: 6},
		{name: "at the limit", content: "0123456789\n0123456789", want: []line{{0, "0123456789"}, {11, "0123456789"}}, offset: -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, tt.content)
			r := open(t, context.Background(), &Source{Path: path, Follow: tt.follow, PollInterval: time.Millisecond}, nil)
			r.maxLine = 10
			got, err := readAll(t, r, 10)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("read %v, want %v", got, tt.want)
			}
			if tt.offset < 0 {
				if err != io.EOF {
					t.Fatalf("err = %v, want io.EOF", err)
				}
				return
			}
			want := fmt.Sprintf(`source "file": %s: the line at offset %d is longer than 10 bytes`, path, tt.offset)
			if err == nil || err.Error() != want {
				t.Fatalf("err = %v, want %s", err, want)
			}
		})
	}
}

func TestSourceOpenErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		path string
		want string
	}{
		{filepath.Join(dir, "missing.ndjson"), `source "file": open ` + filepath.Join(dir, "missing.ndjson") + `: no such file or directory`},
		{dir, `source "file": ` + dir + ` is a directory`},
	}
	for _, tt := range tests {
		r, err := (&Source{Path: tt.path}).Open(context.Background(), &plugins.Runtime{})
		if r != nil || err == nil || err.Error() != tt.want {
			t.Errorf("Open(%s) = %v, %v; want error %s", tt.path, r, err, tt.want)
		}
	}
}

// logBuffer collects log lines; it is safe for concurrent use.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func TestSourceFollow(t *testing.T) {
	path := writeFile(t, "a\nb")
	var logs logBuffer
	rt := &plugins.Runtime{Pipeline: "p", Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	r := open(t, context.Background(), &Source{Path: path, Follow: true, PollInterval: 5 * time.Millisecond}, rt)
	b := record.NewBatch(record.RawSchema(), 10)

	// read reads one batch, waiting at most d.
	read := func(d time.Duration) ([]line, error) {
		ctx, cancel := context.WithTimeout(context.Background(), d)
		defer cancel()
		b.Reset()
		err := r.Read(ctx, b, 10)
		return lines(b), err
	}
	expect := func(step string, got []line, err error, want []line) {
		t.Helper()
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: read %v, %v; want %v", step, got, err, want)
		}
	}

	got, err := read(5 * time.Second)
	expect("first line", got, err, []line{{0, "a"}})

	// "b" has no newline yet: it is held back, and Read waits.
	if got, err := read(100 * time.Millisecond); err != context.DeadlineExceeded || got != nil {
		t.Fatalf("partial line: read %v, %v; want nothing and %v", got, err, context.DeadlineExceeded)
	}

	// Lines appended while Read waits are returned.
	done := make(chan struct{})
	go func() {
		defer close(done)
		time.Sleep(30 * time.Millisecond)
		appendFile(t, path, "c\r\n\nd")
		time.Sleep(30 * time.Millisecond)
		appendFile(t, path, "\n")
	}()
	got, err = read(5 * time.Second)
	expect("appended line", got, err, []line{{2, "bc"}})
	got, err = read(5 * time.Second)
	expect("newline appended later", got, err, []line{{7, "d"}})
	<-done

	// A truncated file is read again from the start, with a warning.
	appendFile(t, path, "partial")
	if err := os.WriteFile(path, []byte("x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err = read(5 * time.Second)
	expect("after truncation", got, err, []line{{0, "x"}})
	if l := logs.String(); !strings.Contains(l, "level=WARN") || !strings.Contains(l, "truncated") || !strings.Contains(l, path) {
		t.Errorf("log = %q, want a warning naming the file", l)
	}
	appendFile(t, path, "y\n")
	got, err = read(5 * time.Second)
	expect("after truncation, appended", got, err, []line{{2, "y"}})
}

// TestSourceCancel checks that a waiting Read returns promptly when its
// context, or the one given to Open, is canceled, however long the poll
// interval.
func TestSourceCancel(t *testing.T) {
	for _, which := range []string{"read", "open"} {
		t.Run(which, func(t *testing.T) {
			life, cancelLife := context.WithCancel(context.Background())
			defer cancelLife()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			r := open(t, life, &Source{Path: writeFile(t, "a\n"), Follow: true, PollInterval: time.Hour}, nil)
			b := record.NewBatch(record.RawSchema(), 10)
			if err := r.Read(ctx, b, 10); err != nil || b.Rows != 1 {
				t.Fatalf("Read = %v with %d rows, want 1 row", err, b.Rows)
			}
			b.Reset()
			errc := make(chan error, 1)
			go func() { errc <- r.Read(ctx, b, 10) }()
			time.Sleep(20 * time.Millisecond)
			start := time.Now()
			if which == "read" {
				cancel()
			} else {
				cancelLife()
			}
			select {
			case err := <-errc:
				if !errors.Is(err, context.Canceled) {
					t.Fatalf("Read = %v, want context.Canceled", err)
				}
				if d := time.Since(start); d > time.Second {
					t.Fatalf("Read returned %v after cancel", d)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("Read did not return after cancel")
			}
			// A canceled context is noticed before reading, also when
			// bounded.
			if err := r.Read(ctx, b, 10); which == "read" && err != context.Canceled {
				t.Fatalf("Read with canceled context = %v", err)
			}
		})
	}
}

// eventLines generates about size bytes of user-event lines.
func eventLines(size int) []byte {
	actions := []string{"click", "view", "purchase", "heartbeat"}
	devices := []string{"ios", "android", "web"}
	buf := make([]byte, 0, size+200)
	for i := 0; len(buf) < size; i++ {
		buf = fmt.Appendf(buf, `{"user_id":%d,"action":%q,"ts":%d,"device":%q}`+"\n",
			100000+i%5000, actions[i%4], 1714564800000+int64(i)*37, devices[i%3])
	}
	return buf
}

// TestSourceReadAllocations checks that reading batches does not allocate
// once the buffers have grown.
func TestSourceReadAllocations(t *testing.T) {
	path := writeFile(t, string(eventLines(8<<20)))
	r := open(t, context.Background(), &Source{Path: path}, nil)
	b := record.NewBatch(record.RawSchema(), 256)
	b.Columns[0].Bytes = make([]byte, 0, 1<<16)
	ctx := context.Background()
	for range 10 {
		b.Reset()
		if err := r.Read(ctx, b, 256); err != nil {
			t.Fatal(err)
		}
	}
	if n := testing.AllocsPerRun(200, func() {
		b.Reset()
		if err := r.Read(ctx, b, 256); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Fatalf("%v allocations per Read, want 0", n)
	}
}

func BenchmarkSourceRead(bm *testing.B) {
	data := eventLines(50 << 20)
	path := filepath.Join(bm.TempDir(), "events.ndjson")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		bm.Fatal(err)
	}
	const max = 1024
	b := record.NewBatch(record.RawSchema(), max)
	ctx := context.Background()
	s := &Source{Path: path}
	bm.SetBytes(int64(len(data)))
	bm.ReportAllocs()
	batches := 0
	for bm.Loop() {
		r, err := s.Open(ctx, nil)
		if err != nil {
			bm.Fatal(err)
		}
		for {
			b.Reset()
			err := r.Read(ctx, b, max)
			if err == io.EOF {
				break
			}
			if err != nil {
				bm.Fatal(err)
			}
			batches++
		}
		r.Close()
	}
	bm.ReportMetric(float64(batches)/float64(bm.N), "batches/op")
}

func TestSourceResumable(t *testing.T) {
	for _, follow := range []bool{false, true} {
		var c plugins.Component = &Source{Path: "events.ndjson", Follow: follow}
		r, ok := c.(plugins.Resumable)
		if !ok {
			t.Fatalf("source \"file\" (follow = %v) does not implement plugins.Resumable", follow)
		}
		if diags := r.CheckResumable(); len(diags) != 0 {
			t.Fatalf("follow = %v: CheckResumable = %v, want nothing", follow, diags)
		}
	}
}
