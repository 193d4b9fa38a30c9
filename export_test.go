package mixin

// RaceEnabled lets the external tests (package mixin_test) know whether the
// race detector is on.
const RaceEnabled = raceEnabled
