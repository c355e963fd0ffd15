package record

import (
	"encoding/binary"
	"slices"
)

// A ColumnStringMap value is encoded as its entries in key order, each as
// the key's length (uvarint), the key, the value's length (uvarint) and the
// value. An empty map is zero bytes.

// AppendStringMap appends the encoding of m to dst.
func AppendStringMap(dst []byte, m map[string]string) []byte {
	// Called for every message of a source: no allocation for the few
	// keys messages usually carry.
	var buf [8]string
	keys := buf[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		dst = binary.AppendUvarint(dst, uint64(len(k)))
		dst = append(dst, k...)
		dst = binary.AppendUvarint(dst, uint64(len(m[k])))
		dst = append(dst, m[k]...)
	}
	return dst
}

// LookupStringMap returns the value of key in the encoded map enc. The
// value aliases enc.
func LookupStringMap(enc []byte, key string) ([]byte, bool) {
	found := false
	var out []byte
	rangeStringMap(enc, func(k, v []byte) bool {
		if string(k) == key {
			out, found = v, true
			return false
		}
		return true
	})
	return out, found
}

// DecodeStringMap returns the encoded map enc as a map (never nil).
func DecodeStringMap(enc []byte) map[string]string {
	m := map[string]string{}
	rangeStringMap(enc, func(k, v []byte) bool {
		m[string(k)] = string(v)
		return true
	})
	return m
}

// rangeStringMap calls yield for each entry of enc until it returns false.
// A malformed tail ends the walk.
func rangeStringMap(enc []byte, yield func(k, v []byte) bool) {
	next := func() ([]byte, bool) {
		n, w := binary.Uvarint(enc)
		if w <= 0 || uint64(len(enc)-w) < n {
			return nil, false
		}
		s := enc[w : w+int(n)]
		enc = enc[w+int(n):]
		return s, true
	}
	for len(enc) > 0 {
		k, ok := next()
		if !ok {
			return
		}
		v, ok := next()
		if !ok || !yield(k, v) {
			return
		}
	}
}

// AppendStringMap appends m, encoded, to a ColumnStringMap vector.
func (v *Vector) AppendStringMap(m map[string]string) {
	if len(v.Offsets) == 0 {
		v.Offsets = append(v.Offsets, 0)
	}
	v.Bytes = AppendStringMap(v.Bytes, m)
	v.Offsets = append(v.Offsets, int32(len(v.Bytes)))
	v.markNotNull()
}
