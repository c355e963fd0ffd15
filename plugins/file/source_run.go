package file

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/sluice-io/sluice/record"

	"github.com/sluice-io/sluice/plugins"
)

var _ plugins.Opener = (*Source)(nil)

const (
	// readChunk is how many bytes the source asks the file for at a time:
	// small enough for the bytes to be in the core's cache still when they
	// are cut into lines (1 MiB reads cost three times as much here).
	readChunk = 256 << 10
	// maxLineBytes is the longest line the source accepts.
	maxLineBytes = 64 << 20
)

// Open opens the file for reading from its start. It fails when the file
// cannot be opened or is a directory.
func (s *Source) Open(ctx context.Context, rt *plugins.Runtime) (plugins.Reader, error) {
	f, err := os.Open(s.Path)
	if err != nil {
		return nil, fmt.Errorf("source \"file\": %w", err)
	}
	if fi, err := f.Stat(); err != nil {
		f.Close()
		return nil, fmt.Errorf("source \"file\": %w", err)
	} else if fi.IsDir() {
		f.Close()
		return nil, fmt.Errorf("source \"file\": %s is a directory", s.Path)
	}
	r := &sourceReader{
		life:    ctx,
		f:       f,
		path:    s.Path,
		follow:  s.Follow,
		poll:    s.PollInterval,
		logger:  slog.New(slog.DiscardHandler),
		buf:     make([]byte, 2*readChunk), // a chunk and the partial line before it
		maxLine: maxLineBytes,
		chunk:   readChunk,
	}
	if rt != nil && rt.Logger != nil {
		r.logger = rt.Logger
	}
	if r.poll <= 0 {
		r.poll = 250 * time.Millisecond
	}
	return r, nil
}

// sourceReader reads lines from a file through one reusable buffer. The
// bytes read but not yet returned are buf[start:end]; buf[start] is at byte
// off of the file.
type sourceReader struct {
	life    context.Context // the context given to Open
	f       *os.File
	path    string
	follow  bool
	poll    time.Duration
	logger  *slog.Logger
	timer   *time.Timer // made on the first wait of a followed file
	maxLine int         // the longest accepted line; a field for tests
	chunk   int         // bytes asked for at a time (readChunk); a field for tests

	// The bytes and newlines ReadUnsplit handed over, for the average
	// length of a line.
	seenBytes, seenLines int64

	buf        []byte
	start, end int
	off        int64
	eof        bool // a bounded file was read to its end
	skipLine   bool // Resume: the line at off was read before the checkpoint
}

// Partitions returns 1: the file is one partition.
func (r *sourceReader) Partitions() int { return 1 }

var _ plugins.Resumer = (*sourceReader)(nil)

// PartitionKey names the file's one partition by the file's path.
func (r *sourceReader) PartitionKey(int) string { return r.path }

// Position is the byte offset of the line that starts at offset.
func (r *sourceReader) Position(_ int, offset int64) ([]byte, error) {
	return binary.AppendVarint(nil, offset), nil
}

// Resume goes on after the line at the recorded offset.
func (r *sourceReader) Resume(positions map[string][]byte) error {
	pos, ok := positions[r.path]
	if !ok {
		return nil
	}
	off, n := binary.Varint(pos)
	if n <= 0 || off < 0 {
		return fmt.Errorf("source \"file\": %s: bad checkpoint position %x", r.path, pos)
	}
	fi, err := r.f.Stat()
	if err != nil {
		return fmt.Errorf("source \"file\": %w", err)
	}
	if fi.Size() <= off {
		return fmt.Errorf("source \"file\": %s has %d bytes, but the checkpoint was taken after reading a line at byte %d: "+
			"the file was truncated or replaced (run with --reset-state to read it from the start)", r.path, fi.Size(), off)
	}
	if _, err := r.f.Seek(off, io.SeekStart); err != nil {
		return fmt.Errorf("source \"file\": %w", err)
	}
	r.start, r.end, r.off, r.skipLine = 0, 0, off, true
	return nil
}

// Read appends up to maxRows lines to b, one raw record per non-empty line,
// with the byte offset of the line's first byte as origin. It blocks until
// at least one line is available.
func (r *sourceReader) Read(ctx context.Context, b *record.Batch, maxRows int) error {
	if err := r.canceled(ctx); err != nil {
		return err
	}
	if maxRows <= 0 {
		return nil
	}
	for {
		n, err := r.lines(b, maxRows)
		if n > 0 {
			return nil
		}
		if err != nil {
			return err
		}
		if r.eof {
			return io.EOF
		}
		if r.end-r.start > r.maxLine {
			return r.tooLong(r.off)
		}
		n, err = r.fill()
		if n > 0 {
			continue
		}
		if err != nil && err != io.EOF {
			return fmt.Errorf("source \"file\": %w", err)
		}
		// At the end of the file.
		if !r.follow {
			r.eof = true
			if r.start < r.end {
				// The last line has no newline: it is a record all the same.
				line, off := r.buf[r.start:r.end], r.off
				if r.skipLine {
					r.skipLine = false
					return io.EOF
				}
				if len(line) > r.maxLine {
					return r.tooLong(off)
				}
				r.off += int64(len(line))
				r.start, r.end = 0, 0
				if r.appendLine(b, line, off) {
					return nil
				}
			}
			return io.EOF
		}
		if err := r.checkTruncated(); err != nil {
			return err
		}
		if err := r.wait(ctx); err != nil {
			return err
		}
	}
}

// lines appends to b up to maxRows complete lines from the buffer and
// returns how many it appended. It fails on a line longer than the limit
// when it has appended none: the lines before it are returned first.
func (r *sourceReader) lines(b *record.Batch, maxRows int) (int, error) {
	n := 0
	for n < maxRows {
		i := bytes.IndexByte(r.buf[r.start:r.end], '\n')
		if i < 0 {
			break
		}
		if r.skipLine {
			r.skipLine = false
			r.start += i + 1
			r.off += int64(i + 1)
			continue
		}
		if i > r.maxLine {
			if n > 0 {
				break
			}
			return 0, r.tooLong(r.off)
		}
		if r.appendLine(b, r.buf[r.start:r.start+i], r.off) {
			n++
		}
		r.start += i + 1
		r.off += int64(i + 1)
	}
	if r.start == r.end {
		r.start, r.end = 0, 0
	}
	return n, nil
}

// tooLong is the error for a line at off longer than the limit.
func (r *sourceReader) tooLong(off int64) error {
	return fmt.Errorf("source \"file\": %s: the line at offset %d is longer than %s", r.path, off, sizeText(r.maxLine))
}

// appendLine appends line, without its '\n', as a record unless it is
// empty once a trailing '\r' is removed, and reports whether it did.
func (r *sourceReader) appendLine(b *record.Batch, line []byte, off int64) bool {
	line = linePayload(line)
	if len(line) == 0 {
		return false
	}
	b.Columns[0].AppendString(line)
	b.Origins = append(b.Origins, record.Origin{Partition: 0, Offset: off})
	b.Rows++
	return true
}

// linePayload is the record of a line without its '\n': the line without
// a trailing '\r'. An empty payload is no record.
func linePayload(line []byte) []byte {
	if n := len(line); n > 0 && line[n-1] == '\r' {
		return line[:n-1]
	}
	return line
}

// fill reads the next chunk of the file after the buffered bytes, which hold
// no complete line. It makes room first, moving the partial line to the
// front of the buffer or growing it.
func (r *sourceReader) fill() (int, error) {
	pending := r.end - r.start
	if len(r.buf)-r.end < r.chunk {
		if r.start > 0 {
			copy(r.buf, r.buf[r.start:r.end])
			r.start, r.end = 0, pending
		}
		if len(r.buf)-r.end < r.chunk {
			grown := make([]byte, max(2*len(r.buf), r.end+r.chunk))
			copy(grown, r.buf[:r.end])
			r.buf = grown
		}
	}
	n, err := r.f.Read(r.buf[r.end : r.end+r.chunk])
	r.end += n
	return n, err
}

// sizeText renders a byte count such as 64 MiB.
func sizeText(n int) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}

// checkTruncated starts again from the beginning of a followed file that is
// now shorter than what was read from it.
func (r *sourceReader) checkTruncated() error {
	fi, err := r.f.Stat()
	if err != nil {
		return fmt.Errorf("source \"file\": %w", err)
	}
	read := r.off + int64(r.end-r.start)
	if fi.Size() >= read {
		return nil
	}
	r.logger.Warn("file truncated, reading it again from the start", "path", r.path, "size", fi.Size(), "offset", read)
	if _, err := r.f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("source \"file\": %w", err)
	}
	r.start, r.end, r.off = 0, 0, 0
	return nil
}

// wait sleeps for the poll interval, or until ctx or the source's life ends.
func (r *sourceReader) wait(ctx context.Context) error {
	if r.timer == nil {
		r.timer = time.NewTimer(r.poll)
	} else {
		r.timer.Reset(r.poll)
	}
	select {
	case <-r.timer.C:
		return nil
	case <-ctx.Done():
		r.timer.Stop()
		return ctx.Err()
	case <-r.life.Done():
		r.timer.Stop()
		return r.life.Err()
	}
}

// canceled returns the error of ctx or of the source's life, if either
// ended.
func (r *sourceReader) canceled(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return r.life.Err()
}

// Close closes the file.
func (r *sourceReader) Close() error {
	if r.timer != nil {
		r.timer.Stop()
	}
	if err := r.f.Close(); err != nil && !errors.Is(err, os.ErrClosed) {
		return fmt.Errorf("source \"file\": %w", err)
	}
	return nil
}
