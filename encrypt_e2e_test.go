package mixin_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/gomixin/mixin"
	"github.com/gomixin/mixin/mixintest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// encryptedPosts returns the bodies of POST /encrypted_messages requests.
func encryptedPosts(t *testing.T, s *mixintest.Server) [][]map[string]any {
	t.Helper()
	var out [][]map[string]any
	for _, r := range s.Requests() {
		if r.Method == "POST" && r.Path == "/encrypted_messages" {
			var body []map[string]any
			require.NoError(t, json.Unmarshal(r.Body, &body))
			out = append(out, body)
		}
	}
	return out
}

func requireNoPlainPost(t *testing.T, s *mixintest.Server, secret string) {
	t.Helper()
	for _, r := range s.Requests() {
		require.NotContains(t, string(r.Body), secret, "%s %s carries the plaintext", r.Method, r.Path)
		if r.Path == "/messages" {
			t.Fatalf("an encrypted send went to POST /messages")
		}
	}
}

func TestEncryptedSendToUser(t *testing.T) {
	ctx := context.Background()
	s := mixintest.NewServer(t)
	c := botClient(t, s)
	alice := s.NewUser("Alice")
	_, err := c.CreateContactConversation(ctx, alice.UserID)
	require.NoError(t, err)
	s.ResetRequests()

	view, err := c.SendText(ctx, mixin.ToUser(alice.UserID), "meet at noon", mixin.WithEncryption())
	require.NoError(t, err)
	assert.True(t, view.Encrypted)
	assert.Equal(t, mixin.CategoryPlainText, view.Category)
	assert.Equal(t, "meet at noon", view.Text())

	in, err := alice.WaitInbox(ctx, 1)
	require.NoError(t, err)
	require.Len(t, in, 1)
	assert.Equal(t, mixin.CategoryEncryptedText, in[0].Category)
	assert.Equal(t, view.MessageID, in[0].MessageID)
	assert.Equal(t, "meet at noon", string(in[0].Plaintext))
	assert.NotContains(t, string(in[0].Data), "noon")
	category, plain, err := alice.Decrypt(in[0])
	require.NoError(t, err)
	assert.Equal(t, mixin.CategoryPlainText, category)
	assert.Equal(t, "meet at noon", string(plain))

	posts := encryptedPosts(t, s)
	require.Len(t, posts, 1)
	m := posts[0][0]
	assert.Equal(t, alice.UserID, m["recipient_id"])
	assert.Equal(t, "ENCRYPTED_TEXT", m["category"])
	assert.Len(t, m["recipient_sessions"], 1)
	assert.Len(t, m["checksum"], 32)
	requireNoPlainPost(t, s, "noon")

	raw := mixin.MessageRequest{ConversationID: alice.ContactConversationID(s.Bot().UserID), RecipientID: alice.UserID,
		Category: mixin.CategoryPlainText, DataBase64: mixin.EncodeBase64Data([]byte("raw request"))}
	_, err = c.SendMessage(ctx, raw, mixin.WithEncryption())
	require.NoError(t, err)
	in, err = alice.WaitInbox(ctx, 2)
	require.NoError(t, err)
	assert.Equal(t, mixin.CategoryEncryptedText, in[1].Category)
	assert.Equal(t, "raw request", string(in[1].Plaintext))
	requireNoPlainPost(t, s, "raw request")
	assert.Empty(t, s.EncryptionProblems())
}

// groupWith creates a group owned by the bot with n members, each with
// extra device sessions besides the primary one.
func groupWith(t *testing.T, s *mixintest.Server, c *mixin.Client, n, extraSessions int) (string, []*mixintest.User) {
	t.Helper()
	var ids []mixin.ParticipantRequest
	users := make([]*mixintest.User, n)
	for i := range users {
		users[i] = s.NewUser("Member " + strconv.Itoa(i))
		for range extraSessions {
			users[i].AddSession()
		}
		ids = append(ids, mixin.ParticipantRequest{UserID: users[i].UserID})
	}
	conv, err := c.CreateGroupConversation(context.Background(), mixin.GroupConversationRequest{Name: "e2e", Participants: ids})
	require.NoError(t, err)
	return conv.ConversationID, users
}

func TestEncryptedSendToGroupAndMember(t *testing.T) {
	for _, tc := range []struct {
		name          string
		members, each int
	}{
		{"3 sessions", 3, 0},
		{"50 sessions", 10, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			s := mixintest.NewServer(t)
			c := botClient(t, s)
			convID, users := groupWith(t, s, c, tc.members, tc.each)
			s.ResetRequests()
			_, err := c.SendPost(ctx, mixin.ToConversation(convID), "**all hands**", mixin.WithEncryption())
			require.NoError(t, err)
			for _, u := range users {
				in, err := u.WaitInbox(ctx, 1)
				require.NoError(t, err)
				last := in[len(in)-1]
				assert.Equal(t, mixin.CategoryEncryptedPost, last.Category)
				assert.Equal(t, "**all hands**", string(last.Plaintext))
			}
			// One request, one entry per member under one message id, each
			// encrypted for that member's sessions (bot-api-go-client
			// PostEncryptedMessages).
			posts := encryptedPosts(t, s)
			require.Len(t, posts, 1)
			require.Len(t, posts[0], tc.members)
			for i, u := range users {
				e := posts[0][i]
				assert.Equal(t, u.UserID, e["recipient_id"])
				assert.Equal(t, posts[0][0]["message_id"], e["message_id"])
				assert.Len(t, e["recipient_sessions"], 1+tc.each)
			}
			assert.Empty(t, s.Problems(), "the emulator flags an encrypted group message without recipient_id")

			one := users[len(users)-1]
			before := make([]int, len(users))
			for i, u := range users {
				before[i] = len(u.Inbox())
			}
			_, err = c.SendText(ctx, mixin.ToMember(convID, one.UserID), "just you", mixin.WithEncryption())
			require.NoError(t, err)
			in, err := one.WaitInbox(ctx, before[len(users)-1]+1)
			require.NoError(t, err)
			assert.Equal(t, "just you", string(in[len(in)-1].Plaintext))
			for i, u := range users[:len(users)-1] {
				assert.Len(t, u.Inbox(), before[i], "member %d saw a message for another member", i)
			}
			assert.Empty(t, s.EncryptionProblems())
		})
	}
}

func TestEncryptedSendRefreshesStaleSessionsOnce(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []mixintest.Option
		// change makes the cached session set stale.
		change func(u *mixintest.User, extra string)
	}{
		{"new session, FAILED result", nil, func(u *mixintest.User, _ string) { u.AddSession() }},
		{"new session, checksum error", []mixintest.Option{mixintest.WithStaleChecksumError()}, func(u *mixintest.User, _ string) { u.AddSession() }},
		{"removed session, checksum error", nil, func(u *mixintest.User, extra string) { require.NoError(t, u.RemoveSession(extra)) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			s := mixintest.NewServer(t, tc.opts...)
			c := botClient(t, s)
			convID, users := groupWith(t, s, c, 3, 0)
			extra := users[1].AddSession()
			c.InvalidateConversation(convID) // the create answer predates the new session
			info, err := c.LookupConversation(ctx, convID)
			require.NoError(t, err)
			require.Len(t, info.Sessions(), 5)
			tc.change(users[1], extra)
			s.ResetRequests()

			view, err := c.SendText(ctx, mixin.ToConversation(convID), "after the change", mixin.WithEncryption())
			require.NoError(t, err)
			posts := encryptedPosts(t, s)
			require.Len(t, posts, 2, "one post, one re-encrypted retry")
			require.Len(t, posts[0], 3, "one entry per member")
			if tc.opts == nil && tc.name == "new session, FAILED result" {
				require.Len(t, posts[1], 1, "only the member answered FAILED is sent again")
			}
			entryOf := func(post []map[string]any) map[string]any {
				for _, e := range post {
					if e["recipient_id"] == users[1].UserID {
						return e
					}
				}
				t.Fatalf("no entry for member 1 in %v", post)
				return nil
			}
			first, retry := entryOf(posts[0]), entryOf(posts[1])
			assert.Equal(t, view.MessageID, first["message_id"])
			assert.Equal(t, view.MessageID, retry["message_id"], "the retry reuses the message id")
			assert.NotEqual(t, first["checksum"], retry["checksum"])
			for i, u := range users {
				in := u.Inbox()
				var got int
				for _, m := range in {
					if m.MessageID == view.MessageID {
						got++
						assert.Equal(t, "after the change", string(m.Plaintext))
					}
				}
				assert.Equal(t, 1, got, "member %d got the message %d times", i, got)
			}
			assert.Empty(t, s.EncryptionProblems())
		})
	}
}

func TestEncryptedSendGivesUpAfterOneRefresh(t *testing.T) {
	ctx := context.Background()
	s := mixintest.NewServer(t)
	c := botClient(t, s)
	alice := s.NewUser("Alice")
	_, err := c.CreateContactConversation(ctx, alice.UserID)
	require.NoError(t, err)
	s.FailNext(mixintest.Failure{Method: "POST", Path: "/encrypted_messages", Times: 2, Code: mixin.CodeConversationChecksumFailed})
	s.ResetRequests()
	_, err = c.SendText(ctx, mixin.ToUser(alice.UserID), "x", mixin.WithEncryption())
	require.Error(t, err)
	var apiErr *mixin.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, mixin.CodeConversationChecksumFailed, apiErr.Code)
	var tries int
	for _, r := range s.Requests() {
		if r.Path == "/encrypted_messages" {
			tries++
		}
	}
	assert.Equal(t, 2, tries, "one post and one retry, no more")
}

func TestEncryptedSendRefusals(t *testing.T) {
	ctx := context.Background()
	s := mixintest.NewServer(t)
	c := botClient(t, s)
	alice := s.NewUser("Alice")
	_, err := c.CreateContactConversation(ctx, alice.UserID)
	require.NoError(t, err)
	s.ResetRequests()

	_, err = c.SendAppButtons(ctx, mixin.ToUser(alice.UserID), []mixin.Button{{Label: "Go", Color: "#ABABAB", Action: "https://mixin.one"}}, mixin.WithEncryption())
	var fe *mixin.FieldError
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, "category", fe.Field)

	m, err := c.NewMessageRequest(mixin.ToUser(alice.UserID), mixin.TextPayload("batch"), mixin.WithEncryption())
	require.NoError(t, err)
	err = c.SendMessages(ctx, []mixin.MessageRequest{m})
	require.ErrorAs(t, err, &fe)
	assert.Contains(t, fe.Reason, "one at a time")
	assert.Empty(t, s.Requests(), "refusals made requests")

	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rsaKey)})
	raw, _ := json.Marshal(map[string]string{"client_id": s.Bot().UserID, "session_id": s.Bot().SessionID, "private_key": string(pemKey)})
	ks, err := mixin.ParseKeystore(raw)
	require.NoError(t, err)
	legacy, err := mixin.NewClient(ks, mixin.WithBaseURL(s.URL()))
	require.NoError(t, err)
	_, err = legacy.SendText(ctx, mixin.ToUser(alice.UserID), "x", mixin.WithEncryption())
	require.ErrorIs(t, err, mixin.ErrEncryptionUnsupported)
	assert.Empty(t, s.Requests())
	msg := &mixin.Message{MessageID: mixin.NewUUID(), Category: mixin.CategoryEncryptedText, DataBase64: "AQ"}
	err = legacy.DecryptMessage(msg)
	var de *mixin.DecryptError
	require.ErrorAs(t, err, &de)
	assert.Equal(t, mixin.DecryptReasonUnsupportedKeystore, de.Reason)
	assert.ErrorIs(t, err, mixin.ErrEncryptionUnsupported)
	assert.Contains(t, err.Error(), "legacy RSA")
}

// botInbound turns what the emulator delivered to the bot into the message
// view the loop hands to DecryptMessage.
func botInbound(m mixintest.Message) *mixin.Message {
	return &mixin.Message{Type: "message", ConversationID: m.ConversationID, UserID: m.UserID, SessionID: m.SessionID,
		MessageID: m.MessageID, Category: mixin.Category(m.Category), DataBase64: mixin.EncodeBase64Data(m.Data)}
}

func TestEncryptedMessagesFromUsersDecrypt(t *testing.T) {
	ctx := context.Background()
	s := mixintest.NewServer(t, mixintest.WithBotCapabilities("CONTACT", "GROUP", "ENCRYPTED"))
	c := botClient(t, s)
	me, err := c.ReadMe(ctx)
	require.NoError(t, err)
	assert.Contains(t, me.App.Capabilities, "ENCRYPTED")
	alice := s.NewUser("Alice")
	alice.AddSession() // her desktop gets a copy: the Android app encrypts for it too
	_, err = alice.SendText(ctx, s.Bot().UserID, "ping")
	require.NoError(t, err)
	in := s.Bot().Inbox()
	require.Len(t, in, 1)
	assert.Equal(t, mixin.CategoryEncryptedText, in[0].Category)
	assert.False(t, bytes.Contains(in[0].Data, []byte("ping")))

	msg := botInbound(in[0])
	require.NoError(t, c.DecryptMessage(msg))
	assert.True(t, msg.Encrypted)
	assert.Equal(t, mixin.CategoryPlainText, msg.Category)
	assert.Equal(t, "ping", msg.Text())
	p, err := msg.Payload()
	require.NoError(t, err)
	assert.Equal(t, mixin.TextPayload("ping"), p)

	damaged := botInbound(in[0])
	raw := append([]byte(nil), in[0].Data...)
	raw[len(raw)-3] ^= 0x40
	damaged.DataBase64 = mixin.EncodeBase64Data(raw)
	err = c.DecryptMessage(damaged)
	var de *mixin.DecryptError
	require.ErrorAs(t, err, &de)
	assert.Equal(t, mixin.DecryptReasonAuthFailed, de.Reason)
	assert.Equal(t, mixin.CategoryEncryptedText, damaged.Category, "a failed decryption changed the message")
	assert.Equal(t, in[0].MessageID, de.MessageID)
}

func TestLookupConversationCaches(t *testing.T) {
	ctx := context.Background()
	s := mixintest.NewServer(t)
	c := botClient(t, s, mixin.WithConversationCache(8, time.Hour))
	convID, users := groupWith(t, s, c, 2, 0)
	s.ResetRequests()
	reads := func() int {
		n := 0
		for _, r := range s.Requests() {
			if r.Method == "GET" && r.Path == "/conversations/"+convID {
				n++
			}
		}
		return n
	}
	info, err := c.LookupConversation(ctx, convID)
	require.NoError(t, err)
	assert.True(t, info.IsGroup())
	assert.True(t, info.IsAdmin(s.Bot().UserID))
	assert.False(t, info.IsAdmin(users[0].UserID))
	assert.Equal(t, 0, reads(), "the create call's answer should have filled the cache")

	_, err = c.AdminParticipants(ctx, convID, users[0].UserID)
	require.NoError(t, err)
	info, err = c.LookupConversation(ctx, convID)
	require.NoError(t, err)
	assert.True(t, info.IsAdmin(users[0].UserID), "the bot's own role change is not reflected")

	c.InvalidateConversation(convID)
	_, err = c.LookupConversation(ctx, convID)
	require.NoError(t, err)
	_, err = c.LookupConversation(ctx, convID)
	require.NoError(t, err)
	assert.Equal(t, 1, reads())

	_, err = c.LookupConversation(ctx, mixin.NewUUID())
	assert.True(t, mixin.IsForbidden(err) || mixin.IsNotFound(err), "err = %v", err)
	_, err = c.LookupConversation(ctx, "nope")
	assert.True(t, errors.Is(err, mixin.ErrInvalidInput))
}

// The app check reads an encrypted message as its recipients' apps do:
// decrypted. A broken image inside ENCRYPTED_IMAGE is reported.
func TestAppCheckReadsDecryptedPayloads(t *testing.T) {
	ctx := context.Background()
	s := mixintest.NewUnstartedServer() // no t: the problem is read, not failed on
	s.Start()
	defer s.Close()
	c, err := s.Client()
	require.NoError(t, err)
	alice := s.NewUser("Alice")
	_, err = c.CreateContactConversation(ctx, alice.UserID)
	require.NoError(t, err)
	broken := `{"attachment_id":"` + mixin.NewUUID() + `","mime_type":"image/png","width":0,"height":0,"size":10}`
	m := mixin.MessageRequest{ConversationID: alice.ContactConversationID(s.Bot().UserID), RecipientID: alice.UserID,
		Category: mixin.CategoryPlainImage, DataBase64: mixin.EncodeBase64Data([]byte(broken))}
	_, err = c.SendMessage(ctx, m, mixin.WithEncryption())
	require.NoError(t, err)
	problems := s.Problems()
	require.NotEmpty(t, problems, "the decrypted image without dimensions passed the app check")
	assert.Equal(t, mixin.CategoryEncryptedImage, problems[0].Category)
	assert.Empty(t, s.EncryptionProblems())
}
