package file

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sluice-io/sluice/record"
)

// readAllUnsplit reads a bounded source to io.EOF as the runner reads a
// plugins.SplitReader: ReadUnsplit, then Split on the batch.
func readAllUnsplit(t *testing.T, r *sourceReader, max int) ([]line, error) {
	t.Helper()
	var got []line
	b := record.NewBatch(record.RawSchema(), 16)
	for {
		b.Reset()
		at, err := r.ReadUnsplit(context.Background(), b, max)
		if b.Rows != 0 {
			t.Fatalf("ReadUnsplit left %d rows", b.Rows)
		}
		if err == nil && len(b.Columns[0].Bytes) == 0 {
			t.Fatal("ReadUnsplit returned no bytes and no error")
		}
		if err != nil && err != io.EOF && len(b.Columns[0].Bytes) > 0 {
			t.Fatalf("ReadUnsplit returned %d bytes with error %v", len(b.Columns[0].Bytes), err)
		}
		r.Split(b, at)
		if verr := b.Validate(); verr != nil {
			t.Fatal(verr)
		}
		if b.Rows > max {
			t.Fatalf("split %d rows, max %d", b.Rows, max)
		}
		got = append(got, lines(b)...)
		if err != nil {
			return got, err
		}
	}
}

// randomContent returns lines of random lengths (some empty, some longer
// than maxLine, some ending in '\r'), with or without a last newline.
func randomContent(rng *rand.Rand, maxLine int) string {
	var b strings.Builder
	for range rng.IntN(60) {
		n := rng.IntN(maxLine + maxLine/4 + 2)
		if rng.IntN(8) == 0 {
			n = 0
		}
		for range n {
			b.WriteByte(byte('a' + rng.IntN(26)))
		}
		if rng.IntN(6) == 0 {
			b.WriteByte('\r')
		}
		b.WriteByte('\n')
	}
	if rng.IntN(3) == 0 {
		b.WriteString("last")
	}
	return b.String()
}

// TestSplitMatchesRead checks that ReadUnsplit and Split give the records,
// origins and errors that Read gives, on random files read in small
// chunks, with line limits that some lines pass, from the start and
// resumed after a random line.
func TestSplitMatchesRead(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	for i := range 300 {
		maxLine := []int{8, 40, 1 << 20}[i%3]
		chunk := 1 + rng.IntN(50)
		content := randomContent(rng, min(maxLine, 60))
		path := writeFile(t, content)
		openAt := func(resume int64) *sourceReader {
			r := open(t, context.Background(), &Source{Path: path}, nil)
			r.maxLine, r.chunk = maxLine, chunk
			if resume >= 0 {
				pos, _ := r.Position(0, resume)
				if err := r.Resume(map[string][]byte{path: pos}); err != nil {
					t.Fatal(err)
				}
			}
			return r
		}
		want, wantErr := readAll(t, openAt(-1), 7)
		got, gotErr := readAllUnsplit(t, openAt(-1), 7)
		name := fmt.Sprintf("case %d (max line %d, chunk %d, %q)", i, maxLine, chunk, content)
		if !reflect.DeepEqual(got, want) || fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
			t.Fatalf("%s:\nsplit %v, %v\nread  %v, %v", name, got, gotErr, want, wantErr)
		}
		if len(want) == 0 {
			continue
		}
		from := want[rng.IntN(len(want))].Offset
		want, wantErr = readAll(t, openAt(from), 7)
		got, gotErr = readAllUnsplit(t, openAt(from), 7)
		if !reflect.DeepEqual(got, want) || fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
			t.Fatalf("%s resumed after %d:\nsplit %v, %v\nread  %v, %v", name, from, got, gotErr, want, wantErr)
		}
	}
}

// TestSplitFollow follows a file with ReadUnsplit: a partial line is held
// back until its newline arrives, and lines appended later are read.
func TestSplitFollow(t *testing.T) {
	path := writeFile(t, "a\nb")
	r := open(t, context.Background(), &Source{Path: path, Follow: true, PollInterval: 5 * time.Millisecond}, nil)
	b := record.NewBatch(record.RawSchema(), 10)
	read := func(d time.Duration) ([]line, error) {
		ctx, cancel := context.WithTimeout(context.Background(), d)
		defer cancel()
		b.Reset()
		at, err := r.ReadUnsplit(ctx, b, 10)
		r.Split(b, at)
		return lines(b), err
	}
	if got, err := read(5 * time.Second); err != nil || !reflect.DeepEqual(got, []line{{0, "a"}}) {
		t.Fatalf("first line: %v, %v", got, err)
	}
	if got, err := read(100 * time.Millisecond); err != context.DeadlineExceeded || got != nil {
		t.Fatalf("partial line: read %v, %v; want nothing and %v", got, err, context.DeadlineExceeded)
	}
	go func() {
		time.Sleep(30 * time.Millisecond)
		appendFile(t, path, "c\r\n\nd\n")
	}()
	if got, err := read(5 * time.Second); err != nil || !reflect.DeepEqual(got, []line{{2, "bc"}, {7, "d"}}) {
		t.Fatalf("appended lines: %v, %v", got, err)
	}
}

// BenchmarkSourceReadUnsplit is BenchmarkSourceRead's workload read as the
// runner reads it: ReadUnsplit on the reading goroutine, Split after.
func BenchmarkSourceReadUnsplit(bm *testing.B) {
	data := eventLines(64 << 20)
	path := writeFile(bm, string(data))
	bm.SetBytes(int64(len(data)))
	b := record.NewBatch(record.RawSchema(), 1024)
	for bm.Loop() {
		r := open(bm, context.Background(), &Source{Path: path}, nil)
		for {
			b.Reset()
			at, err := r.ReadUnsplit(context.Background(), b, 1024)
			r.Split(b, at)
			if err != nil {
				break
			}
		}
		r.Close()
	}
}
