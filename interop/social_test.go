package interop_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gomixin/mixin"
)

func testPNG(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 6, 6))
	img.Set(2, 3, color.RGBA{B: 255, A: 255})
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func userGoClient(t *testing.T, e *emulator, u simUser) *mixin.Client {
	t.Helper()
	data, err := os.ReadFile(u.keystore)
	if err != nil {
		t.Fatal(err)
	}
	ks, err := mixin.ParseKeystore(data)
	if err != nil {
		t.Fatal(err)
	}
	c, err := mixin.NewClient(ks, mixin.WithBaseURL(e.api), mixin.WithHTTPClient(e.http))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestNodeSDKSocial runs the official Node SDK's relationship, profile,
// circle and code calls against cmd/mixintest (social.mjs) and checks that
// the Go client reads the same state afterwards.
func TestNodeSDKSocial(t *testing.T) {
	node := requireNode(t)
	ctx, cancel := context.WithTimeout(context.Background(), testBudget)
	defer cancel()
	emu := startEmulator(ctx, t, buildEmulator(ctx, t))
	alice := emu.createUser(ctx, t, "Alice")
	bob := emu.createUser(ctx, t, "Bob")
	c := emu.goClient(t)

	// What the script expects to find: a circle holding the contact
	// conversation with Alice, a group with an invite code, Alice's code.
	contact, err := c.CreateContactConversation(ctx, alice.id)
	must(t, err)
	group, err := c.CreateGroupConversation(ctx, mixin.GroupConversationRequest{Name: "Social",
		Participants: []mixin.ParticipantRequest{{UserID: alice.id}}})
	must(t, err)
	circle, err := c.CreateCircle(ctx, "Prepared")
	must(t, err)
	_, err = c.UpdateCircleConversations(ctx, circle.CircleID, []mixin.CircleConversationRequest{
		{ConversationID: contact.ConversationID, Action: mixin.CircleActionAdd}})
	must(t, err)
	aliceMe, err := userGoClient(t, emu, alice).ReadMe(ctx)
	must(t, err)
	avatar := testPNG(t)

	run := runNode(ctx, t, node, "social.mjs", []string{
		"MIXIN_API=" + emu.api, "MIXIN_BOT_KEYSTORE=" + emu.keystore,
		"MIXIN_USER_ID=" + alice.id, "MIXIN_USER2_ID=" + bob.id,
		"MIXIN_USER_CODE=" + aliceMe.CodeID, "MIXIN_GROUP_CODE=" + group.CodeID,
		"MIXIN_GROUP_ID=" + group.ConversationID, "MIXIN_CONTACT_ID=" + contact.ConversationID,
		"MIXIN_AVATAR_BASE64=" + base64.StdEncoding.EncodeToString(avatar),
	}, nil)
	requireCalls(t, run, "relationship.add", "relationship.remove", "relationship.block", "user.friends",
		"user.blockings", "relationship.unblock", "relationship.badAction", "user.update", "user.updatePreferences",
		"user.updatePreferences.bad", "circle.fetchList", "circle.fetch", "circle.conversations", "circle.create",
		"circle.update", "circle.addConversation", "circle.removeConversation", "circle.addUser", "circle.removeUser",
		"user.rotateCode", "code.fetch.self", "circle.delete", "circle.fetch.deleted", "circle.fetchList.final",
		"code.fetch.user", "code.fetch.group", "code.fetch.unknown", "summary")

	// Relationships: what Node left, the Go client reads.
	var nodeFriends []mixin.User
	decode(t, run.by["user.friends"].Result, &nodeFriends)
	friends, err := c.ReadFriends(ctx)
	must(t, err)
	if len(friends) != 1 || friends[0].UserID != nodeFriends[0].UserID || friends[0].FullName != nodeFriends[0].FullName {
		t.Errorf("friends: Go %+v, Node %+v", friends, nodeFriends)
	}
	blocked, err := c.ReadBlockingUsers(ctx)
	must(t, err)
	if len(blocked) != 1 || blocked[0].UserID != bob.id {
		t.Errorf("blocking users: %+v", blocked)
	}
	// Node blocked Bob: Bob cannot message the bot.
	bobSend := []byte(`{"recipient_id":"` + emu.botID + `","category":"PLAIN_TEXT","data_base64":"aGk"}`)
	res, err := emu.http.Post(emu.api+"/_mixintest/users/"+bob.id+"/messages", "application/json", bytes.NewReader(bobSend))
	must(t, err)
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden {
		t.Errorf("a user the bot blocked sent a message: HTTP %d", res.StatusCode)
	}

	// Profile and preferences.
	var nodeMe mixin.User
	decode(t, run.by["user.update"].Result, &nodeMe)
	me, err := c.ReadMe(ctx)
	must(t, err)
	if me.FullName != "Node Named Bot" || me.AvatarURL != nodeMe.AvatarURL || me.ReceiveMessageSource != "CONTACTS" || me.FiatCurrency != "EUR" {
		t.Errorf("profile as Go reads it: %+v (Node saw avatar %q)", me, nodeMe.AvatarURL)
	}
	res, err = emu.http.Get(me.AvatarURL)
	must(t, err)
	got, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !bytes.Equal(got, avatar) {
		t.Errorf("the avatar Node uploaded is not served back (%d bytes)", len(got))
	}

	// Circles.
	var nodeCircles []mixin.Circle
	decode(t, run.by["circle.fetchList.final"].Result, &nodeCircles)
	circles, err := c.ReadCircles(ctx)
	must(t, err)
	names := func(cs []mixin.Circle) []string {
		var out []string
		for _, c := range cs {
			out = append(out, c.CircleID+"="+c.Name)
		}
		slices.Sort(out)
		return out
	}
	if !slices.Equal(names(circles), names(nodeCircles)) || len(circles) != 2 {
		t.Errorf("circles: Go %v, Node %v", names(circles), names(nodeCircles))
	}
	var nodeItems []mixin.ConversationCircle
	decode(t, run.by["circle.conversations"].Result, &nodeItems)
	items, err := c.ReadCircleConversations(ctx, circle.CircleID, mixin.CircleConversationsQuery{})
	must(t, err)
	if len(items) != 1 || len(nodeItems) != 1 || items[0] != nodeItems[0] {
		t.Errorf("circle items: Go %+v, Node %+v", items, nodeItems)
	}

	var rotated mixin.User
	decode(t, run.by["user.rotateCode"].Result, &rotated)
	if me.CodeID != rotated.CodeID {
		t.Errorf("code after Node's rotateCode: Go reads %q, Node got %q", me.CodeID, rotated.CodeID)
	}

	// Codes: Node's answer decodes to what ReadCode returns.
	for call, id := range map[string]string{"code.fetch.user": aliceMe.CodeID, "code.fetch.group": group.CodeID} {
		var fromNode mixin.Code
		decode(t, run.by[call].Result, &fromNode)
		fromGo, err := c.ReadCode(ctx, id)
		must(t, err)
		switch {
		case fromGo.Type != fromNode.Type:
			t.Errorf("%s: type Go %q, Node %q", call, fromGo.Type, fromNode.Type)
		case fromGo.User != nil && (fromNode.User == nil || fromGo.User.UserID != fromNode.User.UserID):
			t.Errorf("%s: user differs", call)
		case fromGo.Conversation != nil && (fromNode.Conversation == nil || fromGo.Conversation.ConversationID != fromNode.Conversation.ConversationID ||
			len(fromGo.Conversation.Participants) != len(fromNode.Conversation.Participants)):
			t.Errorf("%s: conversation differs", call)
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestNodeSDKTLS runs the official Node SDK against cmd/mixintest -tls:
// REST over https:// and the blaze loop over wss://, trusting only the
// certificate file the emulator wrote (NODE_EXTRA_CA_CERTS), with
// verification on; without that file the same call is refused.
func TestNodeSDKTLS(t *testing.T) {
	node := requireNode(t)
	ctx, cancel := context.WithTimeout(context.Background(), testBudget)
	defer cancel()
	certPath := filepath.Join(t.TempDir(), "emu.pem")
	emu := startEmulator(ctx, t, buildEmulator(ctx, t), "-tls", "-cert", certPath, "-ping", "200ms")
	if !strings.HasPrefix(emu.api, "https://") || !strings.HasPrefix(emu.blaze, "wss://") {
		t.Fatalf("urls %s %s", emu.api, emu.blaze)
	}
	emu.http = trustingClient(t, certPath)
	alice := emu.createUser(ctx, t, "Alice")
	base := []string{"MIXIN_API=" + emu.api, "MIXIN_BOT_KEYSTORE=" + emu.keystore, "MIXIN_USER_ID=" + alice.id}

	// Untrusted: refused by verification (NODE_EXTRA_CA_CERTS cleared).
	runNode(ctx, t, node, "tls.mjs", append(base, "NODE_EXTRA_CA_CERTS=", "MIXIN_TLS_EXPECT_REFUSAL=1"), nil)
	// Trusted: REST works.
	run := runNode(ctx, t, node, "tls.mjs", append(base, "NODE_EXTRA_CA_CERTS="+certPath), nil)
	requireCalls(t, run, "tls.user.profile", "tls.conversation.createContact", "tls.message.sendText", "tls.admin.inbox")

	// Blaze over wss: a message Alice sent is delivered to the SDK's loop.
	m := emu.userSends(ctx, t, alice.id, "PLAIN_TEXT", []byte("over wss"))
	run = runNode(ctx, t, node, "blaze.mjs", []string{"MIXIN_BLAZE=" + emu.blaze, "MIXIN_BOT_KEYSTORE=" + emu.keystore,
		"NODE_EXTRA_CA_CERTS=" + certPath, "MIXIN_BLAZE_EXPECT_IDS=" + m.MessageID}, nil)
	got := run.messages(t)
	if len(got) != 1 || got[0].MessageID != m.MessageID {
		t.Fatalf("over wss the SDK received %+v", got)
	}

	// The Go client with nothing but SSL_CERT_FILE-style trust (a pool from
	// the file) reads the same conversation the Node SDK created.
	ks, err := os.ReadFile(emu.keystore)
	must(t, err)
	k, err := mixin.ParseKeystore(ks)
	must(t, err)
	c, err := mixin.NewClient(k, mixin.WithBaseURL(emu.api), mixin.WithHTTPClient(trustingClient(t, certPath)))
	must(t, err)
	conv, err := c.ReadConversation(ctx, mixin.UniqueConversationID(emu.botID, alice.id))
	must(t, err)
	if len(conv.Participants) != 2 {
		t.Fatalf("conversation over TLS: %+v", conv)
	}

	// curl (libcurl's own TLS stack, a client no one here wrote) verifies
	// the certificate too: a signed GET /me with --cacert succeeds, without
	// it curl refuses (exit 60, peer certificate cannot be authenticated).
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Log("curl not installed; skipping the curl check")
		return
	}
	reqID := mixin.NewUUID()
	tok, err := c.Token("GET", "/me", nil, reqID)
	must(t, err)
	args := []string{"-sS", "--max-time", "10", "-H", "Authorization: Bearer " + tok, "-H", "X-Request-Id: " + reqID, emu.api + "/me"}
	out, err := exec.CommandContext(ctx, curl, append([]string{"--cacert", certPath}, args...)...).CombinedOutput()
	if err != nil || !strings.Contains(string(out), `"user_id":"`+emu.botID+`"`) {
		t.Fatalf("curl --cacert: %v\n%s", err, out)
	}
	out, err = exec.CommandContext(ctx, curl, args...).CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 60 {
		t.Fatalf("curl without the certificate: %v\n%s", err, out)
	}
}

func trustingClient(t *testing.T, certPath string) *http.Client {
	t.Helper()
	pemBytes, err := os.ReadFile(certPath)
	must(t, err)
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemBytes) {
		t.Fatalf("%s holds no certificate", certPath)
	}
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
}
