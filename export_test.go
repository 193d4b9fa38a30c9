package mixin

import "time"

// RaceEnabled lets the external tests (package mixin_test) know whether the
// race detector is on.
const RaceEnabled = raceEnabled

// The fixtures below let external tests reach internal test helpers: the
// store benchmarks and tests live in package mixin_test because the store
// packages import this one.

// AcceptListed upgrades a fake blaze connection and answers its listing.
var AcceptListed = acceptListed

// BenchKeystore is the benchmarks' keystore.
var BenchKeystore = benchKeystore

// VMHWM reads the process's peak RSS in bytes.
var VMHWM = vmHWM

// AckServer is a fake POST /acknowledgements that counts what it took.
type AckServer = ackServer

// Acks is how many acknowledgements the server took.
func (a *ackServer) Acks() int64 { return a.acks.Load() }

// StoreKey is the key a message (not a receipt) with id, created at
// created, is recorded under.
func StoreKey(id string, created time.Time) string {
	return storeKey(&item{msg: Message{MessageID: id, CreatedAt: created}, key: itemKey(id, false, "")})
}
