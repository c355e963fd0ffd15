package schema

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ParseDuration parses a duration such as "90s", "1m30s", "2h", "500ms" or
// "1d" (24h). It accepts what time.ParseDuration accepts plus the day unit,
// and rejects negative values. The error says what is wrong and what is valid.
func ParseDuration(s string) (time.Duration, error) {
	if s == "" {
		return 0, errors.New("a duration must not be empty; write for example \"90s\", \"1m30s\" or \"2h\"")
	}
	in := s
	var days time.Duration
	if i := strings.IndexByte(s, 'd'); i > 0 {
		n, err := strconv.ParseUint(s[:i], 10, 32)
		if err == nil {
			days = time.Duration(n) * 24 * time.Hour
			s = s[i+1:]
			if s == "" {
				return days, nil
			}
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		if _, numErr := strconv.ParseFloat(in, 64); numErr == nil {
			return 0, fmt.Errorf("%q has no unit; write for example %q or %q", in, in+"s", in+"ms")
		}
		return 0, fmt.Errorf("%q is not a duration; use a number and a unit (ns, us, ms, s, m, h, d), for example \"90s\", \"1m30s\" or \"2h\"", in)
	}
	d += days
	if d < 0 {
		return 0, fmt.Errorf("%q is negative; a duration must be zero or more", in)
	}
	return d, nil
}

var byteUnits = []struct {
	suffix string
	factor int64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
	{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12},
	{"B", 1},
}

// ParseByteSize parses a size such as "64MiB", "1.5GB", "512KiB" or "100"
// (bytes) into a number of bytes.
func ParseByteSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	factor := int64(1)
	for _, u := range byteUnits {
		if strings.HasSuffix(t, u.suffix) {
			factor = u.factor
			t = strings.TrimSpace(strings.TrimSuffix(t, u.suffix))
			break
		}
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || t == "" {
		return 0, fmt.Errorf("%q is not a size; use a number and a unit (B, KB, MB, GB, TB, KiB, MiB, GiB, TiB), for example \"64MiB\"", s)
	}
	if f < 0 {
		return 0, fmt.Errorf("%q is negative; a size must be zero or more", s)
	}
	n := f * float64(factor)
	if n > 1<<62 {
		return 0, fmt.Errorf("%q is too large", s)
	}
	return int64(n), nil
}

// FormatDuration writes d the way users write durations: "1h", "10m",
// "1m30s", "250ms", "1d".
func FormatDuration(d time.Duration) string {
	if d == 0 {
		return "0s"
	}
	var b strings.Builder
	if d < 0 {
		b.WriteByte('-')
		d = -d
	}
	for _, u := range []struct {
		unit string
		size time.Duration
	}{{"d", 24 * time.Hour}, {"h", time.Hour}, {"m", time.Minute}, {"s", time.Second}, {"ms", time.Millisecond}, {"us", time.Microsecond}, {"ns", 1}} {
		if d >= u.size {
			fmt.Fprintf(&b, "%d%s", d/u.size, u.unit)
			d %= u.size
		}
	}
	return b.String()
}
