//go:build race

package nexmark

const raceEnabled = true
