package interop_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gomixin/mixin"
)

// sdkVersion is the Node SDK release node/package.json pins.
const sdkVersion = "7.5.5"

// testBudget bounds the whole test: build, emulator, every node script.
const testBudget = 55 * time.Second

// raceEnabled is set by race_test.go when the test runs with -race.
var raceEnabled bool

// TestNodeSDK runs the official Node SDK against cmd/mixintest: conversations,
// messages and attachments over REST, then the blaze websocket.
func TestNodeSDK(t *testing.T) {
	node := requireNode(t)
	ctx, cancel := context.WithTimeout(context.Background(), testBudget)
	defer cancel()

	bin := buildEmulator(ctx, t)
	emu := startEmulator(ctx, t, bin, "-ping", "200ms")
	alice := emu.createUser(ctx, t, "Alice")
	bob := emu.createUser(ctx, t, "Bob")
	env := []string{
		"MIXIN_API=" + emu.api,
		"MIXIN_BLAZE=" + emu.blaze,
		"MIXIN_BOT_KEYSTORE=" + emu.keystore,
		"MIXIN_USER_KEYSTORE=" + alice.keystore,
		"MIXIN_USER2_ID=" + bob.id,
	}
	contactID := ""

	t.Run("conversations", func(t *testing.T) {
		lines := runNode(ctx, t, node, "conversations.mjs", env, nil)
		requireCalls(t, lines, "user.profile", "user.fetch", "user.fetchList",
			"conversation.createContact", "conversation.createGroup", "conversation.updateGroupInfo",
			"conversation.fetch", "conversation.removeParticipants", "conversation.addParticipants",
			"conversation.setAdmin", "conversation.updateParticipants.ROLE", "conversation.revokeAdmin",
			"conversation.updateParticipants.REMOVE", "conversation.updateParticipants.ADD",
			"conversation.resetGroupCode", "conversation.mute", "conversation.unmute.contact",
			"conversation.disappearDuration", "user.conversation.exitGroup", "user.conversation.joinGroup",
			"conversation.fetch.final", "auth.wrongKey", "conversation.fetch.unknown", "ids")
		var ids struct {
			GroupID   string `json:"group_id"`
			ContactID string `json:"contact_id"`
			CodeID    string `json:"code_id"`
		}
		decode(t, lines.by["ids"].Result, &ids)
		contactID = ids.ContactID

		// What Node saw last, what the emulator holds, what the script did.
		var fromNode conversation
		decode(t, lines.by["conversation.fetch.final"].Result, &fromNode)
		var fromEmu conversation
		emu.get(ctx, t, "/_mixintest/conversations/"+ids.GroupID, &fromEmu)
		want := conversation{
			ConversationID: ids.GroupID,
			Category:       "GROUP",
			Name:           "测试群聊2 interop",
			Announcement:   `测试公告 <interop> & "quotes"`,
			CodeID:         ids.CodeID,
			Participants: []participant{
				{UserID: emu.botID, Role: "OWNER"},
				{UserID: alice.id, Role: ""}, // admin, then exited and joined by code
				{UserID: bob.id, Role: ""},   // admin revoked, removed, added back
			},
		}
		if got := fromNode.normal(); !reflect.DeepEqual(got, want.normal()) {
			t.Errorf("Node's final group view:\n got %+v\nwant %+v", got, want.normal())
		}
		if got := fromEmu.normal(); !reflect.DeepEqual(got, want.normal()) {
			t.Errorf("emulator's group state (GET /_mixintest/conversations/%s):\n got %+v\nwant %+v", ids.GroupID, got, want.normal())
		}

		// The Go client reads the same group and contact conversation.
		client := emu.goClient(t)
		for _, id := range []string{ids.GroupID, ids.ContactID} {
			var fromNode conversation
			call := "conversation.fetch.final"
			if id == ids.ContactID {
				call = "conversation.fetch.contact"
			}
			decode(t, lines.by[call].Result, &fromNode)
			c, err := client.ReadConversation(ctx, id)
			if err != nil {
				t.Errorf("Go client ReadConversation(%s): %v", id, err)
				continue
			}
			fromGo := conversation{ConversationID: c.ConversationID, Category: string(c.Category), Name: c.Name,
				Announcement: c.Announcement, CodeID: c.CodeID, CreatorID: c.CreatorID}
			for _, p := range c.Participants {
				fromGo.Participants = append(fromGo.Participants, participant{UserID: p.UserID, Role: string(p.Role)})
			}
			if !reflect.DeepEqual(fromGo.normal(), fromNode.normal()) {
				t.Errorf("conversation %s: Go client and Node SDK disagree:\n  go %+v\nnode %+v", id, fromGo.normal(), fromNode.normal())
			}
		}
	})

	// Two messages from Alice that the bot acks over REST in messages.mjs.
	acked := []string{
		emu.userSends(ctx, t, alice.id, "PLAIN_TEXT", []byte("ack me 1")).MessageID,
		emu.userSends(ctx, t, alice.id, "PLAIN_TEXT", []byte("ack me 2")).MessageID,
	}
	var userSent message // what Alice sent the bot with the Node SDK
	var ackedByNode []string
	var botText string // a PLAIN_TEXT the bot sent Alice with the Node SDK

	t.Run("messages", func(t *testing.T) {
		lines := runNode(ctx, t, node, "messages.mjs", append(env, "MIXIN_ACK_IDS="+strings.Join(acked, ",")), nil)
		requireCalls(t, lines, "attachment.upload", "attachment.fetch", "attachment.download",
			"message.sendText", "message.sendPost", "message.sendImage", "message.sendFile", "message.sendSticker",
			"message.sendContact", "message.sendAppCard", "message.sendAudio", "message.sendLive", "message.sendVideo",
			"message.sendLocation", "message.sendAppButton", "message.sendRecall", "message.sendBatch",
			"message.sendOne", "message.sendOne.retry", "message.sendLegacy", "user.message.sendText",
			"message.sendAcknowledgement", "message.sendAcknowledges", "ids")
		var ids struct {
			ContactID    string `json:"contact_id"`
			AttachmentID string `json:"attachment_id"`
		}
		decode(t, lines.by["ids"].Result, &ids)
		if contactID != "" && ids.ContactID != contactID {
			t.Errorf("contact conversation: messages.mjs used %s, conversations.mjs %s", ids.ContactID, contactID)
		}
		decode(t, lines.by["user.message.sendText"].Result, &userSent)
		ackedByNode = acked
		var text message
		decode(t, lines.by["message.sendText"].Result, &text)
		botText = text.MessageID

		// Every message the bot sent must be in Alice's inbox once, with the
		// category and bytes Node sent.
		var inbox []message
		emu.get(ctx, t, "/_mixintest/users/"+alice.id+"/inbox", &inbox)
		seen := map[string][]message{}
		for _, m := range inbox {
			seen[m.MessageID] = append(seen[m.MessageID], m)
		}
		checked := 0
		for _, l := range lines.all {
			name := l.Call
			var sent []message
			switch {
			case l.Payload != nil:
				var m message
				decode(t, l.Result, &m)
				sent = []message{m}
				if !bytes.Equal(payloadBytes(t, l.Payload), m.bytes(t)) {
					t.Errorf("%s: the SDK encoded %q for payload %s", name, m.bytes(t), l.Payload)
				}
			case l.Sent != nil:
				sent = l.Sent
			}
			for _, s := range sent {
				if s.ConversationID == ids.ContactID && s.RecipientID == emu.botID {
					continue // Alice's message to the bot: checked over blaze
				}
				got := seen[s.MessageID]
				if len(got) == 0 && l.Recalled {
					continue // the emulator may drop a recalled message
				}
				if len(got) != 1 {
					t.Errorf("%s: message %s is %d times in Alice's inbox, want once", name, s.MessageID, len(got))
					continue
				}
				m := got[0]
				if m.Category != s.Category || m.ConversationID != ids.ContactID || m.UserID != emu.botID {
					t.Errorf("%s: inbox has category %s, conversation %s, sender %s; Node sent %s in %s as %s",
						name, m.Category, m.ConversationID, m.UserID, s.Category, ids.ContactID, emu.botID)
				}
				if !bytes.Equal(m.bytes(t), s.bytes(t)) {
					t.Errorf("%s: inbox payload %q, Node sent %q", name, m.bytes(t), s.bytes(t))
				}
				checked++
			}
		}
		if checked < 18 {
			t.Errorf("checked %d sent messages in the inbox, want at least 18", checked)
		}
	})

	t.Run("blaze", func(t *testing.T) {
		// Pending before the bot connects: Alice's Node message and one more;
		// live after LIST_PENDING_MESSAGES: three more, and Alice reading the
		// bot's text, whose receipt the SDK routes to onAckReceipt.
		want := map[string][]byte{}
		if userSent.MessageID != "" {
			want[userSent.MessageID] = userSent.bytes(t)
		}
		before := emu.userSends(ctx, t, alice.id, "PLAIN_TEXT", []byte("pending before connect"))
		want[before.MessageID] = []byte("pending before connect")
		live := make([]string, 3)
		for i := range live {
			live[i] = mixin.NewUUID()
			want[live[i]] = fmt.Appendf(nil, "live %d 你好", i)
		}
		expect := slices.Collect(maps.Keys(want))
		lines := runNode(ctx, t, node, "blaze.mjs", append(env,
			"MIXIN_BLAZE_EXPECT_IDS="+strings.Join(expect, ","),
			"MIXIN_BLAZE_FORBID_IDS="+strings.Join(ackedByNode, ","),
			"MIXIN_BLAZE_EXPECT_RECEIPTS="+botText,
		), func(l callLine) {
			if l.Call != "blaze.list_pending" {
				return
			}
			for _, id := range live {
				emu.userSendsID(ctx, t, alice.id, id, "PLAIN_TEXT", want[id])
			}
			if botText != "" {
				var out json.RawMessage
				emu.do(ctx, t, "POST", "/_mixintest/users/"+alice.id+"/acknowledgements",
					[]map[string]string{{"message_id": botText, "status": "READ"}}, &out)
			}
		})
		requireCalls(t, lines, "blaze.open", "blaze.list_pending", "blaze.message")
		if botText != "" && !lines.hasReceipt(t, botText, "READ") {
			t.Errorf("no READ receipt of message %s reached onAckReceipt", botText)
		}
		for _, m := range lines.messages(t) {
			w, ok := want[m.MessageID]
			if !ok {
				continue
			}
			if m.Category != "PLAIN_TEXT" || m.UserID != alice.id || !bytes.Equal(m.bytes(t), w) {
				t.Errorf("blaze delivered %s as %s from %s with %q; want PLAIN_TEXT from %s with %q",
					m.MessageID, m.Category, m.UserID, m.bytes(t), alice.id, w)
			}
		}

		// The SDK acked everything it received (syncAck): a new connection
		// must not get any of it again.
		var summary struct {
			Received []string `json:"received"`
		}
		decode(t, lines.by["summary"].Result, &summary)
		runNode(ctx, t, node, "blaze.mjs", append(env,
			"MIXIN_BLAZE_FORBID_IDS="+strings.Join(append(summary.Received, ackedByNode...), ","),
			"MIXIN_BLAZE_SETTLE_MS=1500",
			"MIXIN_BLAZE_MIN_PINGS=2", // the emulator pings every 200ms here
		), nil)
	})

	// The other direction: the Node SDK, as a user, sends one message of
	// each category; the Go SDK's blaze loop, as the bot, receives and
	// decodes them all.
	t.Run("node-to-go-blaze", func(t *testing.T) {
		bob := emu.createUser(ctx, t, "Bob")
		lines := runNode(ctx, t, node, "usersends.mjs", []string{
			"MIXIN_API=" + emu.api, "MIXIN_USER_KEYSTORE=" + bob.keystore, "MIXIN_BOT_ID=" + emu.botID,
		}, nil)
		want := map[string]callLine{}
		for _, l := range lines.all {
			if strings.HasPrefix(l.Call, "user.send") {
				var m message
				decode(t, l.Result, &m)
				want[m.MessageID] = l
			}
		}
		if len(want) != 7 {
			t.Fatalf("usersends.mjs sent %d messages, want 7", len(want))
		}
		c, err := mixin.NewClient(emu.goKeystore(t), mixin.WithBaseURL(emu.api), mixin.WithBlazeURL(emu.blaze))
		if err != nil {
			t.Fatal(err)
		}
		got := make(chan *mixin.Message, 64)
		lctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		done := make(chan error, 1)
		go func() {
			done <- c.RunBlaze(lctx, mixin.HandlerFunc(func(ctx context.Context, m *mixin.Message) error {
				if m.UserID == bob.id {
					got <- m
				}
				return nil
			}), mixin.WithAckInterval(20*time.Millisecond))
		}()
		for len(want) > 0 {
			select {
			case m := <-got:
				l, ok := want[m.MessageID]
				if !ok {
					continue
				}
				delete(want, m.MessageID)
				p, err := m.Payload()
				if err != nil {
					t.Errorf("%s: Go cannot decode what Node sent: %v", l.Call, err)
					continue
				}
				if err := samePayload(p, l.Payload); err != nil {
					t.Errorf("%s: %v", l.Call, err)
				}
			case <-lctx.Done():
				t.Fatalf("the Go loop did not receive %d of Node's messages", len(want))
			}
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("RunBlaze: %v", err)
		}
	})

	// A base URL with a path: the Node SDK signs the URI with the base URL
	// sliced off, so the emulator must accept the path after the prefix.
	t.Run("prefix", func(t *testing.T) {
		emu := startEmulator(ctx, t, bin, "-prefix", "/api")
		if !strings.HasSuffix(emu.api, "/api") || !strings.HasSuffix(emu.blaze, "/api/") {
			t.Fatalf("with -prefix /api the emulator printed api %s, blaze %s", emu.api, emu.blaze)
		}
		alice := emu.createUser(ctx, t, "Alice")
		bob := emu.createUser(ctx, t, "Bob")
		env := []string{
			"MIXIN_API=" + emu.api,
			"MIXIN_BLAZE=" + emu.blaze,
			"MIXIN_BOT_KEYSTORE=" + emu.keystore,
			"MIXIN_USER_KEYSTORE=" + alice.keystore,
			"MIXIN_USER2_ID=" + bob.id,
		}
		requireCalls(t, runNode(ctx, t, node, "conversations.mjs", env, nil), "conversation.fetch.final")
		msg := emu.userSends(ctx, t, alice.id, "PLAIN_TEXT", []byte("through a prefix"))
		requireCalls(t, runNode(ctx, t, node, "blaze.mjs", append(env, "MIXIN_BLAZE_EXPECT_IDS="+msg.MessageID), nil), "blaze.message")
	})
}

// requireNode returns the node binary, or skips (fails under CI=true or
// MIXIN_INTEROP=1) when node or the installed SDK is missing.
func requireNode(t *testing.T) string {
	t.Helper()
	forced := os.Getenv("CI") == "true" || os.Getenv("MIXIN_INTEROP") == "1"
	unavailable := func(format string, args ...any) {
		t.Helper()
		msg := fmt.Sprintf(format, args...)
		if forced {
			t.Fatalf("%s (the interop test is required because CI=true or MIXIN_INTEROP=1)", msg)
		}
		t.Skipf("%s; skipping the Node SDK interop test (set MIXIN_INTEROP=1 to make this a failure)", msg)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		unavailable("node is not on PATH")
	}
	data, err := os.ReadFile(filepath.Join("node", "node_modules", "@mixin.dev", "mixin-node-sdk", "package.json"))
	if err != nil {
		unavailable("interop/node/node_modules has no @mixin.dev/mixin-node-sdk: run `npm ci` in interop/node")
	}
	var pkg struct{ Version string }
	if err := json.Unmarshal(data, &pkg); err != nil || pkg.Version != sdkVersion {
		t.Fatalf("interop/node/node_modules has @mixin.dev/mixin-node-sdk %q, want %s: run `npm ci` in interop/node", pkg.Version, sdkVersion)
	}
	return node
}
