package agg

import "unsafe"

// Approximate sizes of the sketches' internals, in bytes: a HyperLogLog of
// precision HLLPrecision in its dense form, and a DDSketch with the few
// hundred bins a latency-like distribution needs at PercentileAccuracy.
const (
	hllBytes = 1 << HLLPrecision
	ddBytes  = 4 << 10
)

// SizeBytes estimates the memory the state holds, for the state size a
// window reports: the struct, a string value's copy, a distinct set's
// table and the sketches. It is an estimate (map and allocator overheads
// are approximated), cheap enough to sum over every open group now and
// then, and it grows and shrinks with the real footprint.
func (s *State) SizeBytes() int64 {
	n := int64(unsafe.Sizeof(*s)) + int64(cap(s.str)) + int64(cap(s.set.slots)+cap(s.set.small))*8
	if x := s.ext; x != nil {
		n += int64(unsafe.Sizeof(*x))
		for k := range x.strs {
			n += int64(len(k)) + 32 // key bytes, string header and map slot
		}
		if x.hll != nil {
			n += hllBytes
		}
		n += int64(cap(x.by))
		for _, v := range x.ties {
			n += int64(len(v)) + 16 // bytes and string header
		}
		if x.dd != nil {
			n += ddBytes
		}
	}
	return n
}
