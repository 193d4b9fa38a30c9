package mixin

// RaceEnabled lets the external tests (package mixin_test) know whether the
// race detector is on.
const RaceEnabled = raceEnabled

// BenchInbound runs BenchmarkBlazeInbound's measurement with a client built
// with opts, for the benchmarks of package mixin_test.
var BenchInbound = benchInbound
