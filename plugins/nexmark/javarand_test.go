package nexmark

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"strings"
	"testing"
)

// The values below were printed by a Java 17 JVM (java.util.Random).
func TestJavaRandomKnownValues(t *testing.T) {
	tests := []struct {
		name string
		seed int64
		draw func(r *javaRandom) any
		want []any
	}{
		{"nextInt(100) from 42", 42, func(r *javaRandom) any { return r.intn(100) },
			[]any{int32(30), int32(63), int32(48), int32(84), int32(70), int32(25), int32(5), int32(18), int32(19), int32(93)}},
		{"mixed draws from 42", 42, nil, []any{int32(-1170105035), int64(1008396158678580193), 0.047939305137387644,
			int32(4), int32(290537), int32(1519796918)}},
		{"mixed draws from -7", -7, nil, []any{int32(577934662), 0.9014975826916275, int64(-998974524265310116)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newJavaRandom(tt.seed)
			var got []any
			switch {
			case tt.draw != nil:
				for range tt.want {
					got = append(got, tt.draw(&r))
				}
			case tt.seed == 42:
				got = append(got, r.nextInt(), r.nextLong(), r.nextDouble(), r.intn(7), r.intn(1<<20), r.intn(1<<31-1))
			default:
				got = append(got, r.intn(1000000007), r.nextDouble(), r.nextLong())
			}
			for i := range tt.want {
				if got[i] != tt.want[i] {
					t.Fatalf("draw %d = %v, want %v (all: %v)", i, got[i], tt.want[i], got)
				}
			}
		})
	}
}

// TestMatchesJVM compares the generator with a JVM run of the Java
// generator functions (Beam's Person, Auction and Bid generators seeded
// with new Random(eventId), with the Flink generator's channel and URL
// draws after the price and its URLs seeded as appendBaseURL says), at
// 10,000 events/s from 2024-01-01T00:00:00Z: testdata/java_events.txt holds
// its first lines, javaSHA256 the SHA-256 of its first 50,000.
func TestMatchesJVM(t *testing.T) {
	const javaSHA256 = "1623f8ff01c7680e59bcf65385cf81de0c53e04b2015d460de0b36183c09f43e"
	var out strings.Builder
	writeJavaLines(&out, NewGenerator(10_000, 1704067200000), 50_000)
	f, err := os.Open("testdata/java_events.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got := bufio.NewScanner(strings.NewReader(out.String()))
	want := bufio.NewScanner(f)
	for line := 1; want.Scan(); line++ {
		if !got.Scan() || got.Text() != want.Text() {
			t.Fatalf("event %d:\n got %s\nwant %s", line-1, got.Text(), want.Text())
		}
	}
	sum := sha256.Sum256([]byte(out.String()))
	if h := hex.EncodeToString(sum[:]); h != javaSHA256 {
		t.Fatalf("SHA-256 of the first 50,000 events = %s, want the JVM's %s", h, javaSHA256)
	}
}
