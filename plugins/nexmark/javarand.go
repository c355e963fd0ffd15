package nexmark

// javaRandom is java.util.Random: the 48-bit linear congruential generator
// its documentation specifies, with the same nextInt, nextInt(bound),
// nextLong and nextDouble. The Nexmark generators of Apache Beam seed one
// with each event's id, so implementing it exactly makes every event match
// theirs value for value. It is a value: copying it forks the sequence.
type javaRandom struct {
	seed int64 // the 48-bit state
}

const (
	javaMultiplier = 0x5DEECE66D
	javaAddend     = 0xB
	javaMask       = 1<<48 - 1
	javaDoubleUnit = 1.0 / (1 << 53)
)

// newJavaRandom returns the generator `new java.util.Random(seed)` is.
func newJavaRandom(seed int64) javaRandom {
	return javaRandom{seed: (seed ^ javaMultiplier) & javaMask}
}

// next advances the state and returns its top bits (1 to 32) as Java's
// protected next(bits) does.
func (r *javaRandom) next(bits uint) int32 {
	r.seed = (r.seed*javaMultiplier + javaAddend) & javaMask
	return int32(r.seed >> (48 - bits))
}

// nextInt is Random.nextInt(): 32 uniform bits.
func (r *javaRandom) nextInt() int32 { return r.next(32) }

// intn is Random.nextInt(bound) for bound > 0, with its rejection loop
// (the int32 overflow in the loop's test is Java's, on purpose).
func (r *javaRandom) intn(bound int32) int32 {
	x := r.next(31)
	m := bound - 1
	if bound&m == 0 { // a power of two
		return int32((int64(bound) * int64(x)) >> 31)
	}
	for u := x; ; u = r.next(31) {
		x = u % bound
		if u-x+m >= 0 {
			return x
		}
	}
}

// nextLong is Random.nextLong().
func (r *javaRandom) nextLong() int64 {
	hi := int64(r.next(32))
	return hi<<32 + int64(r.next(32))
}

// nextDouble is Random.nextDouble(): 53 uniform bits in [0, 1).
func (r *javaRandom) nextDouble() float64 {
	hi := int64(r.next(26))
	return float64(hi<<27+int64(r.next(27))) * javaDoubleUnit
}

// longn is the Nexmark generators' LongGenerator.nextLong(random, n): a
// value in [0, n) from nextInt when n fits an int, else the (skewed)
// |nextLong() % n| they use.
func (r *javaRandom) longn(n int64) int64 {
	if n < 1<<31-1 {
		return int64(r.intn(int32(n)))
	}
	v := r.nextLong() % n
	if v < 0 {
		v = -v
	}
	return v
}
