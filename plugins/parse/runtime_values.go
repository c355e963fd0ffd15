package parse

import (
	"math"
	"strconv"
	"unsafe"
)

// number is a lexed decimal number: [-]intPart[.frac][e±exp].
type number struct {
	text    []byte // the whole number as written
	neg     bool
	intPart []byte // digits before the point
	frac    []byte // digits after the point; nil without a point
	exp     int    // the exponent, clamped to ±maxExp
	hasFrac bool
	hasExp  bool
}

// maxExp bounds the exponents the runtime computes with; larger ones only
// make a number overflow (or round to zero) sooner.
const maxExp = 1_000_000

// lexNumber reads a number at b[i:] into n and returns the offset just past
// it. It follows JSON's grammar; lenient (CSV) also allows a leading '+' and
// leading zeros. On failure it returns ok = false and the offset of the
// offending byte.
func lexNumber(n *number, b []byte, i int, lenient bool) (end int, ok bool) {
	*n = number{}
	start := i
	if i < len(b) && (b[i] == '-' || lenient && b[i] == '+') {
		n.neg = b[i] == '-'
		i++
	}
	d := i
	for i < len(b) && b[i]-'0' <= 9 {
		i++
	}
	if i == d || !lenient && b[d] == '0' && i-d > 1 {
		if i == d {
			return i, false
		}
		return d + 1, false
	}
	n.intPart = b[d:i]
	if i < len(b) && b[i] == '.' {
		i++
		d = i
		for i < len(b) && b[i]-'0' <= 9 {
			i++
		}
		if i == d {
			return i, false
		}
		n.frac, n.hasFrac = b[d:i], true
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		neg := false
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			neg = b[i] == '-'
			i++
		}
		d = i
		e := 0
		for i < len(b) && b[i]-'0' <= 9 {
			if e < maxExp {
				e = e*10 + int(b[i]-'0')
			}
			i++
		}
		if i == d {
			return i, false
		}
		if e > maxExp {
			e = maxExp
		}
		if neg {
			e = -e
		}
		n.exp, n.hasExp = e, true
	}
	n.text = b[start:i]
	return i, true
}

// numberError values say why a number does not fit a field.
const (
	numOK = iota
	numFraction
	numExponent
	numRange
)

// toInt converts n to an int64: whole numbers without an exponent only, as
// encoding/json does.
func (n *number) toInt() (int64, int) {
	if n.hasFrac {
		return 0, numFraction
	}
	if n.hasExp {
		return 0, numExponent
	}
	return n.scaled(0)
}

// toFloat converts n to a float64; a number beyond float64's range is an
// error, as in encoding/json.
func (n *number) toFloat() (float64, int) {
	f, err := strconv.ParseFloat(unsafe.String(unsafe.SliceData(n.text), len(n.text)), 64)
	if err != nil {
		return 0, numRange
	}
	return f, numOK
}

// unitScale is the power of ten that turns a value in unit into
// milliseconds.
func unitScale(unit string) int {
	switch unit {
	case "s":
		return 3
	case "us":
		return -3
	case "ns":
		return -6
	}
	return 0
}

// scaled returns floor(n × 10^scale) exactly, computed on the decimal digits
// (no float rounding): 1700000000.123 s is 1700000000123 ms, -1.5 ms in
// microseconds (-1500) is -2 ms.
func (n *number) scaled(scale int) (int64, int) {
	if len(n.frac) == 0 && n.exp == 0 && len(n.intPart) <= 15 && scale >= 0 && scale <= 3 {
		// Fast path: at most 18 digits cannot overflow.
		var v int64
		for _, c := range n.intPart {
			v = v*10 + int64(c-'0')
		}
		for ; scale > 0; scale-- {
			v *= 10
		}
		if n.neg {
			v = -v
		}
		return v, numOK
	}
	zero := true
	for _, c := range n.intPart {
		zero = zero && c == '0'
	}
	for _, c := range n.frac {
		zero = zero && c == '0'
	}
	if zero {
		return 0, numOK
	}
	total := len(n.intPart) + len(n.frac)
	digit := func(j int) uint64 {
		if j < len(n.intPart) {
			return uint64(n.intPart[j] - '0')
		}
		if j -= len(n.intPart); j < len(n.frac) {
			return uint64(n.frac[j] - '0')
		}
		return 0
	}
	k := len(n.intPart) + n.exp + scale // digits before the scaled point
	limit := uint64(math.MaxInt64)
	if n.neg {
		limit = 1 << 63
	}
	var u uint64
	for j := 0; j < k; j++ {
		d := digit(j)
		if u > (limit-d)/10 {
			return 0, numRange
		}
		u = u*10 + d
	}
	rest := false
	for j := max(k, 0); j < total && !rest; j++ {
		rest = digit(j) != 0
	}
	if !n.neg {
		return int64(u), numOK
	}
	v := -int64(u)
	if rest {
		if v == math.MinInt64 {
			return 0, numRange
		}
		v--
	}
	return v, numOK
}

// parseRFC3339 reads an RFC 3339 date-time, such as "2024-05-01T12:00:00Z"
// or "2024-05-01T14:00:00.123456+02:00", as Unix milliseconds (fractions
// finer than a millisecond are dropped, which is the floor). 't' and 'z' may
// be lower case, as RFC 3339 allows.
func parseRFC3339(b []byte) (int64, bool) {
	if len(b) < 20 || b[4] != '-' || b[7] != '-' || b[10] != 'T' && b[10] != 't' || b[13] != ':' || b[16] != ':' {
		return 0, false
	}
	num := func(i, n int) int {
		v := 0
		for _, c := range b[i : i+n] {
			if c-'0' > 9 {
				return -1
			}
			v = v*10 + int(c-'0')
		}
		return v
	}
	year, month, day := num(0, 4), num(5, 2), num(8, 2)
	hour, minute, sec := num(11, 2), num(14, 2), num(17, 2)
	if year < 0 || month < 1 || month > 12 || day < 1 || day > daysIn(month, year) ||
		hour < 0 || hour > 23 || minute < 0 || minute > 59 || sec < 0 || sec > 59 {
		return 0, false
	}
	i := 19
	ms := 0
	if b[i] == '.' {
		i++
		d := i
		for i < len(b) && b[i]-'0' <= 9 {
			if i-d < 3 {
				ms = ms*10 + int(b[i]-'0')
			}
			i++
		}
		if i == d {
			return 0, false
		}
		for n := i - d; n < 3; n++ {
			ms *= 10
		}
	}
	if i >= len(b) {
		return 0, false
	}
	offset := 0
	switch b[i] {
	case 'Z', 'z':
		i++
	case '+', '-':
		if len(b)-i != 6 || b[i+3] != ':' {
			return 0, false
		}
		oh, om := num(i+1, 2), num(i+4, 2)
		if oh < 0 || oh > 23 || om < 0 || om > 59 {
			return 0, false
		}
		offset = oh*3600 + om*60
		if b[i] == '-' {
			offset = -offset
		}
		i += 6
	default:
		return 0, false
	}
	if i != len(b) {
		return 0, false
	}
	secs := daysFromCivil(year, month, day)*86400 + int64(hour*3600+minute*60+sec-offset)
	return secs*1000 + int64(ms), true
}

// daysIn returns the number of days of month in year.
func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysFromCivil returns the days from 1970-01-01 to the given proleptic
// Gregorian date (Howard Hinnant's algorithm).
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y
	if era < 0 {
		era -= 399
	}
	era /= 400
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}
