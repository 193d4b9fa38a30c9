package interop_test

import (
	"context"
	"slices"
	"strings"
	"testing"
)

// problem is one finding of GET /_mixintest/problems.
type problem struct {
	Kind      string `json:"kind"`
	MessageID string `json:"message_id"`
	UserID    string `json:"user_id"`
	Field     string `json:"field"`
	Reason    string `json:"reason"`
	App       string `json:"app"`
	Source    string `json:"source"`
}

// TestNodeSDKAppCheck: the official Node SDK sends, through cmd/mixintest,
// one payload per rule the app check added or changed and payloads it must
// not flag; every finding is read back from GET /_mixintest/problems, as a
// client in any language would.
func TestNodeSDKAppCheck(t *testing.T) {
	node := requireNode(t)
	ctx, cancel := context.WithTimeout(context.Background(), testBudget)
	defer cancel()
	emu := startEmulator(ctx, t, buildEmulator(ctx, t))
	alice := emu.createUser(ctx, t, "Alice")
	var stickers []struct {
		StickerID string `json:"sticker_id"`
	}
	emu.get(ctx, t, "/_mixintest/stickers", &stickers)
	if len(stickers) == 0 {
		t.Fatal("the emulator has no built-in sticker")
	}
	lines := runNode(ctx, t, node, "appcheck.mjs", []string{
		"MIXIN_API=" + emu.api, "MIXIN_BOT_KEYSTORE=" + emu.keystore, "MIXIN_USER_KEYSTORE=" + alice.keystore,
		"MIXIN_STICKER_ID=" + stickers[0].StickerID,
	}, nil)
	var probs []problem
	emu.get(ctx, t, "/_mixintest/problems", &probs)
	byMessage := map[string][]problem{}
	for _, p := range probs {
		byMessage[p.MessageID] = append(byMessage[p.MessageID], p)
	}
	checked, clean := 0, 0
	for _, l := range lines.all {
		if !strings.HasPrefix(l.Call, "appcheck.") || len(l.Sent) != 1 {
			continue
		}
		got := []string{}
		for _, p := range byMessage[l.Sent[0].MessageID] {
			got = append(got, p.Kind+":"+p.Field)
			if p.UserID != emu.botID || p.Reason == "" || p.App == "" || p.Source == "" {
				t.Errorf("%s: incomplete problem %+v", l.Call, p)
			}
		}
		want := l.Expect
		if want == nil {
			want = []string{}
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: problems %v, want %v", l.Call, got, want)
		}
		checked++
		if len(want) == 0 {
			clean++
		}
	}
	if checked < 25 || clean < 7 {
		t.Fatalf("checked %d payloads (%d that must not be flagged), want 25 and 7", checked, clean)
	}
}
