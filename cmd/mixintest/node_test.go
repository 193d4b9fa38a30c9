package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestNodeSDK runs the official Node SDK against the emulator. It needs node
// and a node_modules directory holding @mixin.dev/mixin-node-sdk, named by
// MIXINTEST_NODE_MODULES; without them it is skipped.
func TestNodeSDK(t *testing.T) {
	modules := os.Getenv("MIXINTEST_NODE_MODULES")
	if modules == "" {
		t.Skip("MIXINTEST_NODE_MODULES not set")
	}
	if _, err := os.Stat(filepath.Join(modules, "@mixin.dev", "mixin-node-sdk")); err != nil {
		t.Skipf("no Node SDK under %s", modules)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not installed")
	}
	st := startRun(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join("testdata", "node_e2e.js"), st.api, st.blaze, st.ksPath)
	cmd.Env = append(os.Environ(), "NODE_PATH="+modules)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "NODE E2E OK") {
		t.Fatalf("node: %v\n%s", err, out)
	}
	t.Logf("%s", out)
}
