package eventtime

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
)

// The frame layout is documented in doc.go (package documentation).
const (
	snapshotVersion = 1
	headerLen       = 1 + 1 + 8 + 4
)

const (
	kindValve  byte = 1
	kindTimers byte = 2
	kindEvery  byte = 3
)

var kindNames = [...]string{kindValve: "valve", kindTimers: "timer service", kindEvery: "every"}

// ErrBadSnapshot is wrapped by every error Restore returns for input that is
// not a snapshot this build can read: an unknown version, another part's
// snapshot, truncated or corrupt bytes. Errors of the reader itself are
// returned as they are.
var ErrBadSnapshot = errors.New("bad event-time snapshot")

var crcTable = crc32.MakeTable(crc32.Castagnoli)

func kindName(k byte) string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return fmt.Sprintf("unknown kind %d", k)
}

func corrupt(what, format string, args ...any) error {
	return fmt.Errorf("eventtime: restore %s: %w: %s", what, ErrBadSnapshot, fmt.Sprintf(format, args...))
}

func writeFrame(w io.Writer, kind byte, payload []byte) error {
	buf := make([]byte, headerLen, headerLen+len(payload))
	buf[0] = snapshotVersion
	buf[1] = kind
	binary.LittleEndian.PutUint64(buf[2:], uint64(len(payload)))
	binary.LittleEndian.PutUint32(buf[10:], crc32.Checksum(payload, crcTable))
	buf = append(buf, payload...)
	if _, err := w.Write(buf); err != nil {
		return fmt.Errorf("eventtime: snapshot %s: %w", kindName(kind), err)
	}
	return nil
}

// readFrame reads one frame of the given kind from r and returns its
// verified payload.
func readFrame(r io.Reader, kind byte) ([]byte, error) {
	what := kindName(kind)
	var h [headerLen]byte
	if n, err := io.ReadFull(r, h[:]); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, corrupt(what, "truncated header (%d of %d bytes)", n, headerLen)
		}
		return nil, fmt.Errorf("eventtime: restore %s: %w", what, err)
	}
	if h[0] != snapshotVersion {
		return nil, corrupt(what, "unsupported version %d (this build reads version %d)", h[0], snapshotVersion)
	}
	if h[1] != kind {
		return nil, corrupt(what, "snapshot is of a %s, not a %s", kindName(h[1]), what)
	}
	size := binary.LittleEndian.Uint64(h[2:])
	sum := binary.LittleEndian.Uint32(h[10:])
	if size > math.MaxInt64 {
		return nil, corrupt(what, "payload length %d out of range", size)
	}
	// Read through a LimitReader rather than allocating size bytes up front, so
	// a corrupt length cannot make us allocate more than the input holds.
	payload, err := io.ReadAll(io.LimitReader(r, int64(size)))
	if err != nil {
		return nil, fmt.Errorf("eventtime: restore %s: %w", what, err)
	}
	if uint64(len(payload)) != size {
		return nil, corrupt(what, "truncated payload (%d of %d bytes)", len(payload), size)
	}
	if got := crc32.Checksum(payload, crcTable); got != sum {
		return nil, corrupt(what, "checksum mismatch (%08x, want %08x)", got, sum)
	}
	return payload, nil
}

func appendVarint(b []byte, v int64) []byte   { return binary.AppendVarint(b, v) }
func appendUvarint(b []byte, v uint64) []byte { return binary.AppendUvarint(b, v) }
func appendBool(b []byte, v bool) []byte {
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}

// decoder reads a payload; the first error sticks and later reads return
// zero values.
type decoder struct {
	what string
	b    []byte
	err  error
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = corrupt(d.what, format, args...)
	}
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("bad or truncated varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail("bad or truncated varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) bool() bool {
	if d.err != nil {
		return false
	}
	if len(d.b) == 0 {
		d.fail("truncated payload")
		return false
	}
	c := d.b[0]
	d.b = d.b[1:]
	if c > 1 {
		d.fail("bad boolean %d", c)
	}
	return c == 1
}

// count reads an element count and checks that the rest of the payload can
// hold that many elements of at least minSize bytes each, so that corrupt
// input cannot make the caller allocate more than the input justifies.
func (d *decoder) count(minSize int) int {
	n := d.uvarint()
	if d.err != nil {
		return 0
	}
	if n > uint64(len(d.b)/minSize) {
		d.fail("count %d larger than the payload can hold", n)
		return 0
	}
	return int(n)
}

// finish returns the first error, or an error if bytes are left over.
func (d *decoder) finish() error {
	if d.err == nil && len(d.b) != 0 {
		d.fail("%d unexpected trailing bytes", len(d.b))
	}
	return d.err
}
