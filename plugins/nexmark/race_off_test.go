//go:build !race

package nexmark

// raceEnabled tells whether the race detector is on.
const raceEnabled = false
