//go:build !race

package mixin

// raceEnabled reports that the race detector is on.
const raceEnabled = false
