// Package interop holds no code: its test proves that the mixintest emulator
// (cmd/mixintest) accepts a client no one here wrote. interop_test.go builds
// and starts the emulator, then drives the official Node SDK
// (@mixin.dev/mixin-node-sdk, pinned in node/package-lock.json) through every
// conversation and message call of the seeds, an attachment upload and the
// blaze websocket, with only the SDK's base URL changed, and cross-checks what
// the emulator recorded and what this module's Go client reads.
//
// The test skips when node or node/node_modules is missing; with CI=true or
// MIXIN_INTEROP=1 it fails instead. Set it up with:
//
//	cd interop/node && npm ci
package interop
