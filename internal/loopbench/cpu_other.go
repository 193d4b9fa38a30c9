//go:build !unix

package loopbench

import "time"

// processCPU cannot be read here: no cpu-ns/op is reported.
func processCPU() time.Duration { return 0 }
