package interop_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
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

// emulator is a running cmd/mixintest process.
type emulator struct {
	api, blaze, botID string
	keystore          string // path of the bot's keystore file
	dir               string
	http              *http.Client
}

type simUser struct {
	id       string
	keystore string // path of the user's keystore file
}

// buildEmulator builds cmd/mixintest into a temporary directory.
func buildEmulator(ctx context.Context, t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "mixintest")
	args := []string{"build", "-o", bin}
	if raceEnabled {
		args = append(args, "-race")
	}
	build := exec.CommandContext(ctx, "go", append(args, "github.com/gomixin/mixin/cmd/mixintest")...)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/mixintest: %v\n%s", err, out)
	}
	return bin
}

// startEmulator runs the emulator on a free port until the test ends.
func startEmulator(ctx context.Context, t *testing.T, bin string, args ...string) *emulator {
	t.Helper()
	dir := t.TempDir()
	e := &emulator{keystore: filepath.Join(dir, "bot.json"), dir: dir, http: &http.Client{Timeout: 5 * time.Second}}
	stdout := newLineWriter()
	var stderr lockedBuffer
	// Not tied to ctx: the cleanup below must still reach it to log what it
	// recorded; the cleanup kills it.
	cmd := exec.Command(bin, append([]string{"-addr", "127.0.0.1:0", "-keystore", e.keystore}, args...)...)
	cmd.Stdout, cmd.Stderr = stdout, &stderr
	cmd.WaitDelay = 2 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatalf("start mixintest: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		if t.Failed() && e.api != "" {
			e.logRejected(t)
		}
		_ = cmd.Process.Kill()
		<-exited
		if strings.Contains(stderr.String(), "WARNING: DATA RACE") {
			t.Errorf("the emulator had a data race")
		}
		if t.Failed() {
			t.Logf("mixintest stdout:\n%s\nmixintest stderr:\n%s", stdout.all(), stderr.String())
		}
	})

	timeout := time.After(15 * time.Second)
	for e.api == "" || e.blaze == "" || e.botID == "" {
		select {
		case line := <-stdout.lines:
			if v, ok := strings.CutPrefix(line, "mixintest: api "); ok {
				e.api = strings.TrimSpace(v)
			} else if v, ok := strings.CutPrefix(line, "mixintest: blaze "); ok {
				e.blaze = strings.TrimSpace(v)
			} else if v, ok := strings.CutPrefix(line, "mixintest: bot "); ok {
				e.botID = strings.TrimSpace(v)
			}
		case err := <-exited:
			exited <- err
			t.Fatalf("mixintest exited before it was ready: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.all(), stderr.String())
		case <-timeout:
			t.Fatalf("mixintest printed no api/blaze/bot lines within 15s\nstdout:\n%s\nstderr:\n%s", stdout.all(), stderr.String())
		}
	}
	data, err := os.ReadFile(e.keystore)
	if err != nil {
		t.Fatalf("bot keystore: %v", err)
	}
	var ks struct {
		AppID string `json:"app_id"`
	}
	if err := json.Unmarshal(data, &ks); err != nil || ks.AppID != e.botID {
		t.Fatalf("bot keystore %s: app_id %q (err %v), bot line says %s", e.keystore, ks.AppID, err, e.botID)
	}
	return e
}

func (e *emulator) createUser(ctx context.Context, t *testing.T, name string) simUser {
	t.Helper()
	var out struct {
		User struct {
			UserID string `json:"user_id"`
		} `json:"user"`
		Keystore json.RawMessage `json:"keystore"`
	}
	e.do(ctx, t, "POST", "/_mixintest/users", map[string]string{"full_name": name}, &out)
	var ks struct {
		AppID string `json:"app_id"`
	}
	if err := json.Unmarshal(out.Keystore, &ks); err != nil || ks.AppID != out.User.UserID || ks.AppID == "" {
		t.Fatalf("POST /_mixintest/users: keystore app_id %q does not match user %q (%v)", ks.AppID, out.User.UserID, err)
	}
	path := filepath.Join(e.dir, name+".json")
	if err := os.WriteFile(path, out.Keystore, 0o600); err != nil {
		t.Fatal(err)
	}
	return simUser{id: out.User.UserID, keystore: path}
}

// userSends makes a simulated user send the bot a message through the admin
// API (the contact conversation is created if needed).
func (e *emulator) userSends(ctx context.Context, t *testing.T, userID, category string, data []byte) message {
	t.Helper()
	return e.userSendsID(ctx, t, userID, "", category, data)
}

func (e *emulator) userSendsID(ctx context.Context, t *testing.T, userID, messageID, category string, data []byte) message {
	t.Helper()
	body := map[string]string{"recipient_id": e.botID, "category": category, "data_base64": base64.RawURLEncoding.EncodeToString(data)}
	if messageID != "" {
		body["message_id"] = messageID
	}
	var m message
	e.do(ctx, t, "POST", "/_mixintest/users/"+userID+"/messages", body, &m)
	if m.MessageID == "" || (messageID != "" && m.MessageID != messageID) {
		t.Fatalf("POST /_mixintest/users/%s/messages returned message_id %q, want %q", userID, m.MessageID, messageID)
	}
	return m
}

func (e *emulator) get(ctx context.Context, t *testing.T, path string, out any) {
	t.Helper()
	e.do(ctx, t, "GET", path, nil, out)
}

// do calls the admin API, which answers plain JSON (no data envelope).
func (e *emulator) do(ctx context.Context, t *testing.T, method, path string, in, out any) {
	t.Helper()
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, e.api+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := e.http.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		t.Fatalf("%s %s: reading the response: %v", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		t.Fatalf("%s %s: HTTP %d: %s", method, path, resp.StatusCode, data)
	}
	if err := json.Unmarshal(data, out); err != nil {
		t.Fatalf("%s %s: decoding %s: %v", method, path, data, err)
	}
}

// logRejected logs the REST requests the emulator answered with an error,
// to explain a failure.
func (e *emulator) logRejected(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	var reqs []struct {
		Method   string `json:"method"`
		Path     string `json:"path"`
		RawQuery string `json:"raw_query"`
		Body     []byte `json:"body"`
		UserID   string `json:"user_id"`
		Status   int    `json:"status"`
		Code     int    `json:"code"`
	}
	req, err := http.NewRequestWithContext(ctx, "GET", e.api+"/_mixintest/requests", nil)
	if err != nil {
		return
	}
	resp, err := e.http.Do(req)
	if err != nil {
		t.Logf("GET /_mixintest/requests: %v", err)
		return
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&reqs); err != nil {
		t.Logf("GET /_mixintest/requests: %v", err)
		return
	}
	rejected := 0
	for _, r := range reqs {
		if r.Code == 0 && r.Status == http.StatusOK {
			continue
		}
		rejected++
		t.Logf("emulator answered %s %s?%s (signed by %q) with HTTP %d, code %d; body %.300s",
			r.Method, r.Path, r.RawQuery, r.UserID, r.Status, r.Code, r.Body)
	}
	t.Logf("emulator recorded %d REST requests, %d answered with an error", len(reqs), rejected)
}

func (e *emulator) goKeystore(t *testing.T) *mixin.Keystore {
	t.Helper()
	data, err := os.ReadFile(e.keystore)
	if err != nil {
		t.Fatal(err)
	}
	ks, err := mixin.ParseKeystore(data)
	if err != nil {
		t.Fatalf("mixin.ParseKeystore(bot keystore): %v", err)
	}
	return ks
}

func (e *emulator) goClient(t *testing.T) *mixin.Client {
	t.Helper()
	data, err := os.ReadFile(e.keystore)
	if err != nil {
		t.Fatal(err)
	}
	ks, err := mixin.ParseKeystore(data)
	if err != nil {
		t.Fatalf("mixin.ParseKeystore(bot keystore): %v", err)
	}
	c, err := mixin.NewClient(ks, mixin.WithBaseURL(e.api))
	if err != nil {
		t.Fatalf("mixin.NewClient: %v", err)
	}
	return c
}

// callLine is one line a node script prints.
type callLine struct {
	Call     string          `json:"call"`
	OK       bool            `json:"ok"`
	Error    string          `json:"error"`
	Result   json.RawMessage `json:"result"`
	Payload  json.RawMessage `json:"payload"`  // what a send call handed the SDK
	Sent     []message       `json:"sent"`     // messages a batch/raw call sent
	Recalled bool            `json:"recalled"` // the message was recalled later
}

// scriptRun is what one node script printed.
type scriptRun struct {
	all []callLine
	by  map[string]callLine // the last line of each call
}

// runNode runs one script and calls onLine for each line as it arrives. It
// fails the test on a failed call, a non-zero exit or no successful summary.
func runNode(ctx context.Context, t *testing.T, node, script string, env []string, onLine func(callLine)) scriptRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, script)
	cmd.Dir = "node"
	cmd.Env = append(os.Environ(), env...)
	cmd.WaitDelay = 2 * time.Second
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("node %s: %v", script, err)
	}
	run := scriptRun{by: map[string]callLine{}}
	var all []string
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	for sc.Scan() {
		text := sc.Text()
		all = append(all, text)
		var l callLine
		if err := json.Unmarshal([]byte(text), &l); err != nil || l.Call == "" {
			t.Logf("node %s: %s", script, text)
			continue
		}
		if !l.OK && l.Call != "summary" {
			t.Errorf("node %s: %s failed: %s", script, l.Call, l.Error)
		}
		run.all = append(run.all, l)
		run.by[l.Call] = l
		if onLine != nil {
			onLine(l)
		}
	}
	err = cmd.Wait()
	if err != nil || t.Failed() {
		t.Logf("node %s output:\n%s\nstderr:\n%s", script, strings.Join(all, "\n"), stderr.String())
	}
	if err != nil {
		t.Fatalf("node %s: %v", script, err)
	}
	if s, ok := run.by["summary"]; !ok || !s.OK {
		t.Fatalf("node %s: no successful summary line", script)
	}
	return run
}

// requireCalls fails unless every named call printed a line.
func requireCalls(t *testing.T, run scriptRun, calls ...string) {
	t.Helper()
	for _, c := range calls {
		if _, ok := run.by[c]; !ok {
			t.Errorf("no line for call %q", c)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
}

// messages returns the messages blaze.mjs printed.
func (r scriptRun) messages(t *testing.T) []message {
	t.Helper()
	var ms []message
	for _, l := range r.all {
		if l.Call == "blaze.message" {
			var m message
			decode(t, l.Result, &m)
			ms = append(ms, m)
		}
	}
	return ms
}

// hasReceipt reports whether blaze.mjs printed a receipt of messageID with
// status.
func (r scriptRun) hasReceipt(t *testing.T, messageID, status string) bool {
	t.Helper()
	for _, l := range r.all {
		var m struct {
			MessageID string `json:"message_id"`
			Status    string `json:"status"`
		}
		if l.Call == "blaze.receipt" {
			decode(t, l.Result, &m)
			if m.MessageID == messageID && m.Status == status {
				return true
			}
		}
	}
	return false
}

// message is the part of a message request or view the test compares.
type message struct {
	MessageID      string `json:"message_id"`
	ConversationID string `json:"conversation_id"`
	RecipientID    string `json:"recipient_id"`
	UserID         string `json:"user_id"`
	Category       string `json:"category"`
	DataBase64     string `json:"data_base64"`
}

// bytes decodes data_base64, which the protocol defines as RawURL base64.
func (m message) bytes(t *testing.T) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(m.DataBase64)
	if err != nil {
		t.Errorf("message %s: data_base64 %q is not unpadded URL-safe base64: %v", m.MessageID, m.DataBase64, err)
	}
	return b
}

// payloadBytes is what the SDK should have sent for a payload: a string as
// is, anything else as JSON.stringify would write it.
func payloadBytes(t *testing.T, raw json.RawMessage) []byte {
	t.Helper()
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return []byte(s)
	}
	return raw
}

type conversation struct {
	ConversationID string        `json:"conversation_id"`
	Category       string        `json:"category"`
	CreatorID      string        `json:"creator_id"`
	Name           string        `json:"name"`
	Announcement   string        `json:"announcement"`
	CodeID         string        `json:"code_id"`
	Participants   []participant `json:"participants"`
}

type participant struct {
	UserID string `json:"user_id"`
	Role   string `json:"role"`
}

// normal sorts participants and drops the creator, which want does not set.
func (c conversation) normal() conversation {
	c.CreatorID = ""
	c.Participants = slices.Clone(c.Participants)
	slices.SortFunc(c.Participants, func(a, b participant) int { return strings.Compare(a.UserID, b.UserID) })
	return c
}

func decode(t *testing.T, raw json.RawMessage, out any) {
	t.Helper()
	if err := json.Unmarshal(raw, out); err != nil {
		t.Fatalf("decoding %s: %v", raw, err)
	}
}

// lineWriter keeps a process's output and hands out complete lines.
type lineWriter struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	part  []byte
	lines chan string
}

func newLineWriter() *lineWriter { return &lineWriter{lines: make(chan string, 64)} }

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	w.part = append(w.part, p...)
	for {
		i := bytes.IndexByte(w.part, '\n')
		if i < 0 {
			break
		}
		select {
		case w.lines <- string(w.part[:i]):
		default: // nobody is waiting for lines any more
		}
		w.part = w.part[i+1:]
	}
	return len(p), nil
}

func (w *lineWriter) all() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// samePayload compares a payload the Go SDK decoded with the JSON (or text)
// the Node SDK was handed.
func samePayload(p any, sent json.RawMessage) error {
	switch v := p.(type) {
	case mixin.Text:
		var s string
		if err := json.Unmarshal(sent, &s); err != nil || string(v) != s {
			return fmt.Errorf("text %q, Node sent %s", v, sent)
		}
		return nil
	case mixin.Post:
		var s string
		if err := json.Unmarshal(sent, &s); err != nil || string(v) != s {
			return fmt.Errorf("post %q, Node sent %s", v, sent)
		}
		return nil
	}
	// Decode what Node sent into the same Go type and compare.
	want := reflect.New(reflect.TypeOf(p)).Interface()
	if err := json.Unmarshal(sent, want); err != nil {
		return fmt.Errorf("node payload %s does not decode into %T: %v", sent, p, err)
	}
	if got := reflect.ValueOf(want).Elem().Interface(); !reflect.DeepEqual(got, p) {
		return fmt.Errorf("Go decoded %+v, Node sent %s", p, sent)
	}
	return nil
}
