package parse

import (
	"encoding/binary"
	"math/bits"
)

// Reading decimal digits eight at a time (SWAR: "SIMD within a register"):
// a number's digits are loaded as one little-endian uint64, the count of
// leading digits found from a mask of the non-digit bytes, and their value
// combined pairwise in three multiplications.

// pow10 holds 10^k for k = 0 … 8.
var pow10 = [9]int64{1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000}

// leadingDigits reads the decimal digits at b[j:], at most 16, and returns
// their value and how many they are (16 means 16 or more).
func leadingDigits(b []byte, j int) (v int64, n int) {
	for n < 16 {
		if len(b)-j < 8 {
			for j < len(b) && b[j]-'0' <= 9 && n < 16 {
				v = v*10 + int64(b[j]-'0')
				j++
				n++
			}
			return v, n
		}
		w := binary.LittleEndian.Uint64(b[j:])
		k := min(digitCount(w), 16-n)
		if k == 0 {
			return v, n
		}
		v = v*pow10[k] + int64(digitValue(w, k))
		n += k
		j += k
		if k < 8 {
			return v, n
		}
	}
	return v, n
}

// digitCount returns how many of the eight bytes of w, from the lowest,
// are ASCII digits before the first that is not.
func digitCount(w uint64) int {
	// A byte is not a digit when it is below '0' (subtracting '0' sets its
	// high bit), above '9' (adding 0x46 sets it) or not ASCII. Borrows and
	// carries only run towards higher bytes, past the first non-digit.
	const ones = 0x0101010101010101
	nonDigit := ((w - '0'*ones) | (w + 0x46*ones) | w) & (0x80 * ones)
	return bits.TrailingZeros64(nonDigit) / 8
}

// digitValue returns the value of the first k (1 … 8) digits of w.
func digitValue(w uint64, k int) uint64 {
	const ones = 0x0101010101010101
	d := (w - '0'*ones) << (8 * (8 - k)) // leading zeros in the low bytes
	d = (d*10 + d>>8) & 0x00FF00FF00FF00FF
	d = (d*100 + d>>16) & 0x0000FFFF0000FFFF
	return (d*10000 + d>>32) & 0xFFFFFFFF
}
