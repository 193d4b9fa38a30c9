//go:build race

package interop_test

// Under -race the emulator is built with -race too: it reuses the packages
// the race-enabled test build already compiled, and a data race the Node SDK
// provokes in the emulator fails the test.
func init() { raceEnabled = true }
