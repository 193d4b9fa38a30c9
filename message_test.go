package mixin_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gomixin/mixin"
	"github.com/gomixin/mixin/mixintest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSendTextToUserMatchesSeedView(t *testing.T) {
	s, c, u := newSeedServer(t)
	ctx := ctxT(t)
	_, err := c.CreateContactConversation(ctx, u.UserID)
	require.NoError(t, err)
	m, err := c.SendText(ctx, mixin.ToUser(u.UserID), "hello")
	require.NoError(t, err)
	assert.Equal(t, "dd219235-e83a-3b85-a13f-d0f20fa0e833", m.ConversationID)
	assert.Equal(t, mixin.CategoryPlainText, m.Category)
	assert.Equal(t, "aGVsbG8=", m.Data)
	assert.Equal(t, "aGVsbG8", m.DataBase64)
	assert.Equal(t, "hello", m.Text())
	assert.Equal(t, seedBotID, m.UserID)
	assert.Equal(t, s.Bot().SessionID, m.SessionID)

	inbox, err := u.WaitInbox(ctx, 1)
	require.NoError(t, err)
	assert.Equal(t, "hello", string(inbox[0].Data))
	assert.Equal(t, m.MessageID, inbox[0].MessageID)

	// The request went out as data_base64, URL-safe and unpadded.
	var body map[string]any
	for _, r := range s.Requests() {
		if r.Path == "/messages" {
			require.NoError(t, json.Unmarshal(r.Body, &body))
		}
	}
	assert.Equal(t, "aGVsbG8", body["data_base64"])
	assert.NotContains(t, body, "data")
}

func TestSendToContactNeverCreatedIsForbidden(t *testing.T) {
	_, c, u := newSeedServer(t)
	_, err := c.SendText(ctxT(t), mixin.ToUser(u.UserID), "hello")
	assert.True(t, mixin.IsForbidden(err), "%v", err)
}

func TestSendToGroupMemberQuoteSilentAndChosenID(t *testing.T) {
	s, c, u := newSeedServer(t)
	ctx := ctxT(t)
	other := s.NewUser("Other")
	g, err := c.CreateGroupConversation(ctx, mixin.GroupConversationRequest{Name: "g", Participants: []mixin.ParticipantRequest{{UserID: u.UserID}, {UserID: other.UserID}}})
	require.NoError(t, err)

	all, err := c.SendText(ctx, mixin.ToConversation(g.ConversationID), "to everyone")
	require.NoError(t, err)
	id := mixin.NewUUID()
	_, err = c.SendText(ctx, mixin.ToMember(g.ConversationID, other.UserID), "just you",
		mixin.WithMessageID(id), mixin.WithQuote(all.MessageID), mixin.WithSilent())
	require.NoError(t, err)

	eventually(t, "delivery", func() bool { return len(texts(other.Inbox())) == 2 })
	// The emulator delivers before it answers: the inboxes are final.
	uIn, oIn := texts(u.Inbox()), texts(other.Inbox())
	require.Len(t, uIn, 1, "the member-only message must not reach others")
	assert.Equal(t, "to everyone", string(uIn[0].Data))
	assert.Equal(t, "just you", string(oIn[1].Data))
	assert.Equal(t, id, oIn[1].MessageID)
	assert.Equal(t, all.MessageID, oIn[1].QuoteMessageID)
	assert.True(t, oIn[1].Silent)
}

func TestFailedSendRetriedWithSameIDArrivesOnce(t *testing.T) {
	s, _, u := newSeedServer(t)
	c := botClient(t, s, fastRetry)
	ctx := ctxT(t)
	_, err := c.CreateContactConversation(ctx, u.UserID)
	require.NoError(t, err)
	s.ResetRequests()
	s.FailNext(mixintest.Failure{Method: "POST", Path: "/messages", Times: 2, Status: 500, Code: 500})
	m, err := c.SendText(ctx, mixin.ToUser(u.UserID), "once")
	require.NoError(t, err)
	var ids []string
	for _, r := range s.Requests() {
		var body struct {
			MessageID string `json:"message_id"`
		}
		require.NoError(t, json.Unmarshal(r.Body, &body))
		ids = append(ids, body.MessageID)
	}
	assert.Equal(t, []string{m.MessageID, m.MessageID, m.MessageID}, ids, "every attempt reuses the message id")

	// Even a caller-level retry of the same id is one message.
	_, err = c.SendText(ctx, mixin.ToUser(u.UserID), "once", mixin.WithMessageID(m.MessageID))
	require.NoError(t, err)
	assert.Len(t, u.Inbox(), 1, "the emulator delivers before it answers")
}

func textBatch(conv string, n int) []mixin.MessageRequest {
	msgs := make([]mixin.MessageRequest, n)
	for i := range msgs {
		msgs[i] = mixin.MessageRequest{ConversationID: conv, Category: mixin.CategoryPlainText, DataBase64: mixin.EncodeBase64Data([]byte(fmt.Sprintf("m%03d", i)))}
	}
	return msgs
}

func TestSendMessagesChunks(t *testing.T) {
	for _, tc := range []struct{ n, requests int }{{1, 1}, {100, 1}, {101, 2}, {250, 3}} {
		t.Run(fmt.Sprint(tc.n), func(t *testing.T) {
			s, c, u := newSeedServer(t)
			ctx := ctxT(t)
			conv, err := c.CreateContactConversation(ctx, u.UserID)
			require.NoError(t, err)
			s.ResetRequests()
			msgs := textBatch(conv.ConversationID, tc.n)
			require.NoError(t, c.SendMessages(ctx, msgs))
			assert.Equal(t, tc.requests, countRequests(s, "POST", "/messages"))
			inbox, err := u.WaitInbox(ctx, tc.n)
			require.NoError(t, err)
			assert.Len(t, inbox, tc.n)
			for _, m := range msgs {
				assert.Len(t, m.MessageID, 36, "ids are filled in place")
			}
			// Sending the same slice again creates nothing new.
			require.NoError(t, c.SendMessages(ctx, msgs))
			assert.Len(t, u.Inbox(), tc.n, "the emulator delivers before it answers")
		})
	}
}

func TestSendMessagesEmptyAndByteLimit(t *testing.T) {
	s, _, u := newSeedServer(t)
	c := botClient(t, s, mixin.WithMaxMessageBody(16<<10))
	ctx := ctxT(t)
	conv, err := c.CreateContactConversation(ctx, u.UserID)
	require.NoError(t, err)
	s.ResetRequests()
	require.NoError(t, c.SendMessages(ctx, nil))
	assert.Zero(t, countRequests(s, "POST", "/messages"))

	// 40 messages of ~1.4 KB each do not fit in one 16 KB request.
	msgs := make([]mixin.MessageRequest, 40)
	for i := range msgs {
		msgs[i] = mixin.MessageRequest{ConversationID: conv.ConversationID, Category: mixin.CategoryPlainText, DataBase64: mixin.EncodeBase64Data([]byte(strings.Repeat("x", 1000)))}
	}
	require.NoError(t, c.SendMessages(ctx, msgs))
	n := 0
	for _, r := range s.Requests() {
		if r.Path == "/messages" {
			n++
			assert.LessOrEqual(t, len(r.Body), 16<<10)
		}
	}
	assert.GreaterOrEqual(t, n, 4)
	_, err = u.WaitInbox(ctx, 40)
	require.NoError(t, err)
}

func TestAcknowledgementsChunk(t *testing.T) {
	s, c, u := newSeedServer(t)
	ctx := ctxT(t)
	var acks []mixin.AcknowledgementRequest
	for i := range 250 {
		m, err := u.SendText(ctx, seedBotID, fmt.Sprint(i))
		require.NoError(t, err)
		acks = append(acks, mixin.AcknowledgementRequest{MessageID: m.MessageID, Status: mixin.AckStatusRead})
	}
	require.Equal(t, 250, s.Pending(seedBotID))
	s.ResetRequests()
	require.NoError(t, c.SendAcknowledgements(ctx, acks))
	assert.Equal(t, 3, countRequests(s, "POST", "/acknowledgements"))
	assert.Equal(t, 0, s.Pending(seedBotID))

	m, err := u.SendText(ctx, seedBotID, "one more")
	require.NoError(t, err)
	require.NoError(t, c.SendAcknowledgement(ctx, m.MessageID, mixin.AckStatusDelivered))
	assert.Equal(t, 0, s.Pending(seedBotID))
}

func TestMessageBadInputSendsNothing(t *testing.T) {
	s, c, u := newSeedServer(t)
	ctx := ctxT(t)
	to := mixin.ToUser(u.UserID)
	s.ResetRequests()
	buttons := make([]mixin.Button, 7)
	for i := range buttons {
		buttons[i] = mixin.Button{Label: "b", Color: "#FF0000", Action: "https://mixin.one"}
	}
	calls := map[string]func() error{
		"empty text":     func() error { _, err := c.SendText(ctx, to, ""); return err },
		"huge text":      func() error { _, err := c.SendText(ctx, to, strings.Repeat("x", 200<<10)); return err },
		"bad target":     func() error { _, err := c.SendText(ctx, mixin.ToUser("bob"), "hi"); return err },
		"no target":      func() error { _, err := c.SendText(ctx, mixin.Target{}, "hi"); return err },
		"bad message id": func() error { _, err := c.SendText(ctx, to, "hi", mixin.WithMessageID("1")); return err },
		"bad quote":      func() error { _, err := c.SendText(ctx, to, "hi", mixin.WithQuote("q")); return err },
		"seven buttons":  func() error { _, err := c.SendAppButtons(ctx, to, buttons); return err },
		"no buttons":     func() error { _, err := c.SendAppButtons(ctx, to, nil); return err },
		"bad color": func() error {
			_, err := c.SendAppButtons(ctx, to, []mixin.Button{{Label: "a", Color: "red", Action: "https://x.y"}})
			return err
		},
		"bad action url": func() error {
			_, err := c.SendAppButtons(ctx, to, []mixin.Button{{Label: "a", Color: "#000000", Action: "javascript:alert(1)"}})
			return err
		},
		"negative size": func() error {
			_, err := c.SendData(ctx, to, mixin.DataPayload{AttachmentID: mixin.NewUUID(), MimeType: "text/plain", Size: -1, Name: "a"})
			return err
		},
		"bad attachment": func() error {
			_, err := c.SendImage(ctx, to, mixin.ImagePayload{AttachmentID: "x", MimeType: "image/png", Width: 1, Height: 1, Size: 1})
			return err
		},
		"bad recall":   func() error { _, err := c.SendRecall(ctx, to, "x"); return err },
		"bad pin":      func() error { _, err := c.PinMessages(ctx, to, nil); return err },
		"bad latitude": func() error { _, err := c.SendLocation(ctx, to, mixin.LocationPayload{Latitude: 91}); return err },
		"bad contact":  func() error { _, err := c.SendContact(ctx, to, mixin.ContactPayload{UserID: "x"}); return err },
		"unknown cat": func() error {
			_, err := c.SendMessage(ctx, mixin.MessageRequest{ConversationID: seedUserID, Category: "PLAIN_HOLOGRAM", DataBase64: "aGk"})
			return err
		},
		"system cat": func() error {
			_, err := c.SendMessage(ctx, mixin.MessageRequest{ConversationID: seedUserID, Category: mixin.CategorySystemConversation, DataBase64: "aGk"})
			return err
		},
		"empty data": func() error {
			_, err := c.SendMessage(ctx, mixin.MessageRequest{ConversationID: seedUserID, Category: mixin.CategoryPlainText})
			return err
		},
		"batch bad later": func() error {
			m := textBatch(seedUserID, 150)
			m[120].ConversationID = "x"
			return c.SendMessages(ctx, m)
		},
		"ack bad status": func() error { return c.SendAcknowledgement(ctx, seedUserID, "SEEN") },
		"ack bad id":     func() error { return c.SendAcknowledgement(ctx, "x", mixin.AckStatusRead) },
		"reply nil":      func() error { _, err := c.Reply(ctx, nil, mixin.TextPayload("x")); return err },
	}
	for name, call := range calls {
		err := call()
		var fe *mixin.FieldError
		if assert.ErrorAs(t, err, &fe, name) {
			assert.NotEmpty(t, fe.Field, name)
		}
	}
	assert.Empty(t, s.Requests(), "validation must happen before any request")
}

// Replies keep their ids across retries of one handler call, and two
// identical replies in one call are two messages.
func TestReplyIDsPerHandlerInvocation(t *testing.T) {
	s := mixintest.NewServer(t)
	c := botClient(t, s)
	u := s.NewUser("Alice")
	ctx := ctxT(t)
	in, err := u.SendText(ctx, s.Bot().UserID, "ping")
	require.NoError(t, err)

	var mu sync.Mutex
	var ids [][]string
	handler := mixin.HandlerFunc(func(ctx context.Context, m *mixin.Message) error {
		var got []string
		for range 2 {
			r, err := c.Reply(ctx, m, mixin.TextPayload("pong"))
			if err != nil {
				return err
			}
			got = append(got, r.MessageID)
		}
		mu.Lock()
		defer mu.Unlock()
		ids = append(ids, got)
		if len(ids) == 1 {
			return errors.New("fail the first attempt after replying")
		}
		return nil
	})
	lctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- c.RunBlaze(lctx, handler, mixin.WithHandlerRetry(mixin.Retry{Attempts: 3, Min: time.Millisecond, Max: time.Millisecond}))
	}()
	eventually(t, "handled and acknowledged", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(ids) == 2 && s.Pending(s.Bot().UserID) == 0
	})
	cancel()
	require.NoError(t, <-done)

	require.Len(t, ids, 2)
	assert.Equal(t, ids[0], ids[1], "a retry of the handler reuses the reply ids")
	assert.NotEqual(t, ids[0][0], ids[0][1], "two identical replies in one call are two messages")
	replies := texts(u.Inbox())
	require.Len(t, replies, 2)
	for _, r := range replies {
		assert.Equal(t, in.ConversationID, r.ConversationID)
		assert.Contains(t, ids[0], r.MessageID)
	}

	// Outside a handler each Reply is a new message.
	msg := &mixin.Message{ConversationID: in.ConversationID, MessageID: in.MessageID, UserID: u.UserID, Category: mixin.CategoryPlainText}
	r1, err := c.Reply(ctx, msg, mixin.TextPayload("pong"))
	require.NoError(t, err)
	r2, err := c.Reply(ctx, msg, mixin.TextPayload("pong"))
	require.NoError(t, err)
	assert.NotEqual(t, r1.MessageID, r2.MessageID)
	assert.NotContains(t, ids[0], r1.MessageID)
	r3, err := c.Reply(ctx, msg, mixin.TextPayload("pinned"), mixin.WithMessageID(r1.MessageID))
	require.NoError(t, err)
	assert.Equal(t, r1.MessageID, r3.MessageID, "WithMessageID overrides")
}

// texts keeps the PLAIN_TEXT messages of an inbox (groups also deliver
// SYSTEM_CONVERSATION messages).
func texts(in []mixintest.Message) []mixintest.Message {
	var out []mixintest.Message
	for _, m := range in {
		if m.Category == "PLAIN_TEXT" {
			out = append(out, m)
		}
	}
	return out
}

// SendTranscript gives every item the transcript message's id, which the
// apps require to show them; the emulator's app check agrees.
func TestSendTranscriptFillsTranscriptIDs(t *testing.T) {
	s, c, u := withContact(t)
	ctx := ctxT(t)
	at := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	items := mixin.TranscriptPayload{
		{MessageID: mixin.NewUUID(), UserID: u.UserID, UserFullName: "Alice", Category: mixin.CategoryPlainText, Content: "hi", CreatedAt: at},
		{MessageID: mixin.NewUUID(), UserID: u.UserID, UserFullName: "Alice", Category: mixin.CategoryPlainText, Content: "there", CreatedAt: at.Add(time.Second)},
	}
	m, err := c.SendTranscript(ctx, mixin.ToUser(u.UserID), items)
	require.NoError(t, err)
	for _, it := range items {
		assert.Empty(t, it.TranscriptID, "the caller's slice is left alone")
	}
	inbox, err := u.WaitInbox(ctx, 1)
	require.NoError(t, err)
	require.Equal(t, m.MessageID, inbox[0].MessageID)
	p, err := mixin.DecodePayload(mixin.CategoryPlainTranscript, inbox[0].Data)
	require.NoError(t, err)
	got := p.(mixin.TranscriptPayload)
	require.Len(t, got, 2)
	for _, it := range got {
		assert.Equal(t, m.MessageID, it.TranscriptID)
	}
	assert.Empty(t, s.Problems())

	// With a chosen message id, the items get that id.
	id := mixin.NewUUID()
	m, err = c.SendTranscript(ctx, mixin.ToUser(u.UserID), items, mixin.WithMessageID(id))
	require.NoError(t, err)
	assert.Equal(t, id, m.MessageID)
	inbox, err = u.WaitInbox(ctx, 2)
	require.NoError(t, err)
	assert.Contains(t, string(inbox[1].Data), `"transcript_id":"`+id+`"`)
}

// Payloads the apps would show broken are refused with a *FieldError before
// any request: the emulator sees nothing.
func TestBrokenPayloadsSendNothing(t *testing.T) {
	s, c, u := withContact(t)
	ctx := ctxT(t)
	to := mixin.ToUser(u.UserID)
	s.ResetRequests()
	elsewhere := mixin.NewUUID()
	cases := map[string]struct {
		p     mixin.Payload
		field string
	}{
		"sticker without id":       {mixin.StickerPayload{AlbumID: mixin.NewUUID(), Name: "wave"}, "sticker_id"},
		"image without dimensions": {mixin.ImagePayload{AttachmentID: mixin.NewUUID(), MimeType: "image/png", Size: 10}, "width"},
		"video without height":     {mixin.VideoPayload{AttachmentID: mixin.NewUUID(), MimeType: "video/mp4", Width: 10, Size: 10, Duration: 1000}, "height"},
		"live without width":       {mixin.LivePayload{Height: 10, ThumbURL: "https://x.test/t.png", URL: "https://x.test/l.m3u8"}, "width"},
		"image of a text file":     {mixin.ImagePayload{AttachmentID: mixin.NewUUID(), MimeType: "text/plain", Width: 1, Height: 1, Size: 10}, "mime_type"},
		"transcript item pointing elsewhere": {mixin.TranscriptPayload{
			{MessageID: mixin.NewUUID(), Category: mixin.CategoryPlainText, Content: "a", CreatedAt: time.Now()},
			{TranscriptID: elsewhere, MessageID: mixin.NewUUID(), Category: mixin.CategoryPlainText, Content: "b", CreatedAt: time.Now()},
		}, "transcript[1].transcript_id"},
		"transcript with no item of its own": {mixin.TranscriptPayload{
			{TranscriptID: elsewhere, MessageID: elsewhere, Category: mixin.CategoryPlainTranscript, CreatedAt: time.Now()},
		}, "transcript"},
		"card without shareable icon": {mixin.AppCardPayload{AppID: c.AppID(), Title: "t", Description: "d", Action: "https://x.test"}, "icon_url"},
	}
	for name, tc := range cases {
		_, err := c.Send(ctx, to, tc.p)
		var fe *mixin.FieldError
		if assert.ErrorAs(t, err, &fe, name) {
			assert.Equal(t, tc.field, fe.Field, name)
		}
	}
	assert.Empty(t, s.Requests(), "validation happens before any request")
	assert.Empty(t, u.Inbox())

	// A nested transcript's items may point at it.
	inner := mixin.NewUUID()
	_, err := c.SendTranscript(ctx, to, mixin.TranscriptPayload{
		{MessageID: inner, Category: mixin.CategoryPlainTranscript, CreatedAt: time.Now()},
		{TranscriptID: inner, MessageID: mixin.NewUUID(), Category: mixin.CategoryPlainText, Content: "inside", CreatedAt: time.Now()},
	})
	require.NoError(t, err)
}

// An inbound payload of a sendable category goes back out as it is: no type
// assertion, no category check.
func TestEchoInboundPayloadAsIs(t *testing.T) {
	s, c, u := withContact(t)
	ctx := ctxT(t)
	sticker := `{"sticker_id":"` + s.AddSticker(mixintest.Sticker{Name: "wave"}).StickerID + `"}` // a sticker the server knows
	in, err := u.Send(ctx, mixintest.MessageRequest{ConversationID: u.ContactConversationID(s.Bot().UserID),
		RecipientID: s.Bot().UserID, Category: mixin.CategoryPlainSticker, Data: []byte(sticker)})
	require.NoError(t, err)
	msg := &mixin.Message{ConversationID: in.ConversationID, MessageID: in.MessageID, UserID: u.UserID,
		Category: in.Category, DataBase64: mixin.EncodeBase64Data(in.Data)}
	p, err := msg.Payload()
	require.NoError(t, err)
	_, ok := p.(mixin.StickerPayload)
	require.True(t, ok, "%T", p)
	out, err := c.Reply(ctx, msg, p)
	require.NoError(t, err)
	assert.Equal(t, mixin.CategoryPlainSticker, out.Category)
	inbox, err := u.WaitInbox(ctx, 1)
	require.NoError(t, err)
	assert.JSONEq(t, sticker, string(inbox[0].Data))

	// An inbound-only payload is refused before any request.
	s.ResetRequests()
	_, err = c.Reply(ctx, msg, mixin.SystemConversationPayload{Action: mixin.SystemConversationActionAdd})
	assert.ErrorIs(t, err, mixin.ErrInvalidInput)
	assert.Empty(t, s.Requests())
}

// Input the client refuses is refused again on a retry: a handler that
// returns such an error is not retried.
func TestFieldErrorsArePermanent(t *testing.T) {
	s := mixintest.NewServer(t)
	c := botClient(t, s)
	_, err := c.Send(ctxT(t), mixin.ToConversation(mixin.NewUUID()), mixin.StickerPayload{})
	require.ErrorIs(t, err, mixin.ErrInvalidInput)
	assert.True(t, mixin.IsPermanent(err))
	assert.True(t, mixin.IsPermanent(fmt.Errorf("handler: %w", err)))
	assert.False(t, mixin.IsPermanent(errors.New("network down")))
}
