package parse

import (
	"strconv"
	"testing"
)

// leadingDigits agrees with reading digits one by one, for every length up
// to 17 digits, at every position of the 8-byte loads, followed by every
// kind of byte (including the neighbours of '0' and '9', and non-ASCII).
func TestLeadingDigits(t *testing.T) {
	followers := []string{"", ",", "/", ":", "}", " ", "e", ".", "\x00", "\x80", "\xff", "\xb9", "\xba"}
	for digits := 0; digits <= 17; digits++ {
		num := ""
		for d := range digits {
			num += strconv.Itoa((d*7 + 3) % 10)
		}
		for _, pad := range []string{"", "x", "xxxxxxx"} {
			for _, f := range followers {
				for _, tail := range []string{"", "123456789"} {
					b := []byte(pad + num + f + tail)
					wantV, wantN := int64(0), 0
					for j := len(pad); j < len(b) && b[j]-'0' <= 9 && wantN < 16; j++ {
						wantV = wantV*10 + int64(b[j]-'0')
						wantN++
					}
					v, n := leadingDigits(b, len(pad))
					if v != wantV || n != wantN {
						t.Errorf("leadingDigits(%q, %d) = %d, %d; want %d, %d", b, len(pad), v, n, wantV, wantN)
					}
				}
			}
		}
	}
}
