//go:build race

package mixin

// raceEnabled reports that the race detector is on: TestBlazeMemoryBounded
// would take minutes, and the detector's shadow memory skews the heap.
const raceEnabled = true
