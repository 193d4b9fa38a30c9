// Package interop holds no code: its tests prove that the mixintest emulator
// (cmd/mixintest) accepts a client no one here wrote. They build and start
// the emulator (emulator_test.go), then drive the official Node SDK
// (@mixin.dev/mixin-node-sdk, pinned in node/package-lock.json; the scripts
// in node/ are run by script_test.go) with only the SDK's base URL changed,
// and cross-check what the emulator recorded and what this module's Go
// client reads: every conversation and message call of the seeds, an
// attachment upload and the blaze websocket (interop_test.go), and
// relationships, profile, circles, codes and REST and blaze over TLS
// (social_test.go).
//
// The tests skip when node or node/node_modules is missing; with CI=true or
// MIXIN_INTEROP=1 they fail instead. Set it up with:
//
//	cd interop/node && npm ci
package interop
