package file

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"

	"github.com/sluice-io/sluice/plugins"
	"github.com/sluice-io/sluice/record"
)

var _ plugins.SplitReader = (*sourceReader)(nil)

// ReadUnsplit reads the next whole lines of the file straight into
// b.Columns[0].Bytes, newlines included, for Split to make rows of on a
// worker: the reading goroutine copies no line. It returns the origin of
// the first byte. The bytes hold at most maxRows lines: a read asks for
// about as many bytes as maxRows lines have had so far, and the lines
// beyond maxRows stay buffered for the next call. Like Read it blocks
// until a complete line is available, hands over a file's last line
// without a newline once the file ended (unless it follows the file), and
// fails on a line longer than the limit once the lines before it were
// handed over.
func (r *sourceReader) ReadUnsplit(ctx context.Context, b *record.Batch, maxRows int) (record.Origin, error) {
	v := &b.Columns[0]
	for {
		if err := r.canceled(ctx); err != nil {
			return record.Origin{}, err
		}
		if r.eof {
			return record.Origin{}, io.EOF
		}
		// The buffered bytes first, then a chunk read after them.
		dst := append(v.Bytes[:0], r.buf[r.start:r.end]...)
		at := r.off
		r.start, r.end = 0, 0
		// Buffered bytes may hold whole lines (beyond maxRows, last time).
		buffered := bytes.IndexByte(dst, '\n') >= 0
		for {
			var n int
			var err error
			if buffered {
				buffered = false
			} else {
				if len(dst) > r.maxLine {
					r.keep(dst, at)
					return record.Origin{}, r.tooLong(at)
				}
				want := r.unsplitChunk(maxRows)
				dst = slices.Grow(dst, want)
				n, err = r.f.Read(dst[len(dst) : len(dst)+want])
				dst = dst[:len(dst)+n]
			}
			if r.skipLine { // Resume: the line at at was read before the checkpoint
				i := bytes.IndexByte(dst, '\n')
				if i < 0 {
					i = len(dst) - 1
				} else {
					r.skipLine = false
				}
				at += int64(i + 1)
				dst = dst[:copy(dst, dst[i+1:])]
			}
			if k := bytes.LastIndexByte(dst, '\n'); k >= 0 {
				v.Bytes = r.cut(dst, at, r.limitRows(dst[:k+1], maxRows))
				return record.Origin{Offset: at}, r.checkLong(v, at)
			}
			if n > 0 {
				continue // in the middle of a line: read on
			}
			if err != nil && err != io.EOF {
				r.keep(dst, at)
				return record.Origin{}, fmt.Errorf("source \"file\": %w", err)
			}
			if !r.follow {
				r.eof = true
				if len(dst) == 0 || r.skipLine {
					v.Bytes = dst[:0]
					return record.Origin{}, io.EOF
				}
				v.Bytes, r.off = dst, at+int64(len(dst)) // the last line, without a newline
				return record.Origin{Offset: at}, r.checkLong(v, at)
			}
			r.keep(dst, at)
			break
		}
		// At the end of a followed file: wait for more.
		if err := r.checkTruncated(); err != nil {
			return record.Origin{}, err
		}
		if err := r.wait(ctx); err != nil {
			return record.Origin{}, err
		}
	}
}

// unsplitChunk is how many bytes ReadUnsplit asks the file for: about the
// size of maxRows lines as long as the lines read so far, at most chunk.
func (r *sourceReader) unsplitChunk(maxRows int) int {
	if r.seenLines == 0 {
		return r.chunk
	}
	n := int(r.seenBytes/r.seenLines) * maxRows * 15 / 16
	return max(min(n, r.chunk), 1)
}

// limitRows returns how many bytes of lines, which ends with a newline,
// hold at most maxRows lines: all of them, or the bytes up to the newline
// that ends line maxRows. The lines handed over count towards the average
// line length.
func (r *sourceReader) limitRows(lines []byte, maxRows int) int {
	n := bytes.Count(lines, []byte{'\n'})
	end := len(lines)
	if n > maxRows {
		end, n = 0, maxRows
		for range maxRows {
			end += bytes.IndexByte(lines[end:], '\n') + 1
		}
	}
	r.seenBytes += int64(end)
	r.seenLines += int64(n)
	return end
}

// keep makes dst, read from offset at, the reader's buffered bytes again.
func (r *sourceReader) keep(dst []byte, at int64) {
	if len(dst) > len(r.buf) {
		r.buf = make([]byte, max(2*len(r.buf), len(dst)+r.chunk))
	}
	r.start, r.end, r.off = 0, copy(r.buf, dst), at
}

// cut keeps the bytes of dst (read from offset at) after its first n,
// which hold whole lines, as the reader's buffered bytes and returns the
// first n.
func (r *sourceReader) cut(dst []byte, at int64, n int) []byte {
	r.keep(dst[n:], at+int64(n))
	return dst[:n]
}

// checkLong makes sure no line of v.Bytes (read from offset at) is longer
// than the limit. The lines up to such a line stay in v.Bytes, the rest
// goes back to the reader's buffered bytes; the error is returned when the
// long line is the first.
func (r *sourceReader) checkLong(v *record.Vector, at int64) error {
	data := v.Bytes
	if len(data) <= r.maxLine {
		return nil
	}
	for pos := 0; pos < len(data); {
		e := bytes.IndexByte(data[pos:], '\n')
		if e < 0 {
			e = len(data) - pos
		}
		if e > r.maxLine {
			if pos == 0 {
				r.keep(data, at)
				v.Bytes = data[:0]
				return r.tooLong(at)
			}
			r.keep(append(data[pos:len(data):len(data)], r.buf[r.start:r.end]...), at+int64(pos))
			v.Bytes = data[:pos]
			return nil
		}
		pos += e + 1
	}
	return nil
}

// Split makes the rows of a batch ReadUnsplit filled, whose first byte is
// at origin at: one raw record per non-empty line (a trailing '\r'
// removed), with the byte offset of the line's first byte as origin, as
// Read makes them. The lines are moved down over the newlines in place.
func (r *sourceReader) Split(b *record.Batch, at record.Origin) {
	v := &b.Columns[0]
	data := v.Bytes
	v.Offsets = append(v.Offsets[:0], 0)
	w := 0
	for pos := 0; pos < len(data); {
		e := bytes.IndexByte(data[pos:], '\n')
		next := 0
		if e < 0 {
			e, next = len(data), len(data)
		} else {
			e += pos
			next = e + 1
		}
		if line := linePayload(data[pos:e]); len(line) > 0 {
			w += copy(data[w:], line)
			v.Offsets = append(v.Offsets, int32(w))
			b.Origins = append(b.Origins, record.Origin{Partition: at.Partition, Offset: at.Offset + int64(pos)})
			b.Rows++
		}
		pos = next
	}
	v.Bytes = data[:w]
}
