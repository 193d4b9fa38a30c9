package mixin_test

import (
	"bytes"
	"encoding/base64"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gomixin/mixin"
	"github.com/gomixin/mixin/mixintest"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func jpegBytes(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 8, 8))
	img.Set(1, 1, color.RGBA{G: 200, A: 255})
	var b bytes.Buffer
	require.NoError(t, jpeg.Encode(&b, img, nil))
	return b.Bytes()
}

func TestUpdateProfile(t *testing.T) {
	s, c, alice := newSeedServer(t)
	ctx := ctxT(t)
	bio := "I answer."
	avatar := pngBytes(t, 16, 16)
	me, err := c.UpdateProfile(ctx, mixin.ProfileUpdate{FullName: "Helper Bot", Biography: &bio, Avatar: avatar})
	require.NoError(t, err)
	assert.Equal(t, "Helper Bot", me.FullName)
	assert.Equal(t, bio, me.Biography)
	require.NotEmpty(t, me.AvatarURL)
	// The avatar is served where the view says, byte for byte.
	res, err := http.Get(me.AvatarURL)
	require.NoError(t, err)
	got, _ := io.ReadAll(res.Body)
	res.Body.Close()
	assert.Equal(t, avatar, got)
	assert.Equal(t, "image/png", res.Header.Get("Content-Type"))
	// Others see the new profile.
	seen, err := userClient(t, s, alice).ReadUser(ctx, s.Bot().UserID)
	require.NoError(t, err)
	assert.Equal(t, "Helper Bot", seen.FullName)
	assert.Equal(t, bio, seen.Biography)
	// Clearing the biography; a JPEG avatar.
	empty := ""
	me, err = c.UpdateProfile(ctx, mixin.ProfileUpdate{Biography: &empty, Avatar: jpegBytes(t)})
	require.NoError(t, err)
	assert.Empty(t, me.Biography)
	assert.Equal(t, "Helper Bot", me.FullName, "an unset field is left as it is")

	// The server refuses what the client lets through when sent raw.
	body := []byte(`{"avatar_base64":"` + base64.StdEncoding.EncodeToString([]byte("not an image at all")) + `"}`)
	resp := rawPost(t, s, "/me", body)
	assert.Contains(t, resp, `"code":10002`)
}

func TestUpdateProfileBadInput(t *testing.T) {
	s, c, _ := newSeedServer(t)
	ctx := ctxT(t)
	long := strings.Repeat("b", mixin.MaxBiographyLength+1)
	checks := map[string]mixin.ProfileUpdate{
		"profile":    {},
		"full_name":  {FullName: strings.Repeat("n", mixin.MaxFullNameLength+1)},
		"full_name ": {FullName: "   "},
		"biography":  {Biography: &long},
		"avatar":     {Avatar: []byte("GIF89a but not really an image, just text")},
		"avatar ":    {Avatar: []byte("plain text")},
		"avatar  ":   {Avatar: append(pngBytes(t, 4, 4), make([]byte, mixin.MaxAvatarSize)...)},
		"avatar   ":  {Avatar: pngBytes(t, 4, 4)[:40]},
		"avatar    ": {Avatar: jpegBytes(t)[:200]},
	}
	for field, u := range checks {
		noRequest(t, s, strings.TrimSpace(field), func() error { _, err := c.UpdateProfile(ctx, u); return err })
	}
}

func TestUpdatePreferences(t *testing.T) {
	s, c, alice := newSeedServer(t)
	ctx := ctxT(t)
	threshold := 5.5
	me, err := c.UpdatePreferences(ctx, mixin.PreferencesUpdate{ReceiveMessageSource: mixin.MessageSourceContacts,
		AcceptSearchSource: mixin.MessageSourceNobody, FiatCurrency: "EUR", TransferNotificationThreshold: &threshold})
	require.NoError(t, err)
	assert.Equal(t, mixin.MessageSourceContacts, me.ReceiveMessageSource)
	assert.Equal(t, mixin.MessageSourceNobody, me.AcceptSearchSource)
	assert.Equal(t, mixin.MessageSourceEverybody, me.AcceptConversationSource, "an unset preference is left as it is")
	assert.Equal(t, "EUR", me.FiatCurrency)
	assert.Equal(t, 5.5, me.TransferNotificationThreshold)
	again, err := c.ReadMe(ctx)
	require.NoError(t, err)
	assert.Equal(t, mixin.MessageSourceContacts, again.ReceiveMessageSource)

	// CONTACTS: strangers cannot message the bot; friends can.
	_, err = alice.SendText(ctx, s.Bot().UserID, "hi")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "403")
	_, err = c.AddFriend(ctx, alice.UserID, "")
	require.NoError(t, err)
	_, err = alice.SendText(ctx, s.Bot().UserID, "hi")
	require.NoError(t, err)

	bad := -1.0
	checks := map[string]mixin.PreferencesUpdate{
		"preferences":                     {},
		"receive_message_source":          {ReceiveMessageSource: mixin.MessageSourceNobody},
		"accept_conversation_source":      {AcceptConversationSource: "FRIENDS"},
		"accept_search_source":            {AcceptSearchSource: "everybody"},
		"fiat_currency":                   {FiatCurrency: "usd"},
		"transfer_confirmation_threshold": {TransferConfirmationThreshold: &bad},
	}
	for field, p := range checks {
		noRequest(t, s, field, func() error { _, err := c.UpdatePreferences(ctx, p); return err })
	}
}

func TestReadCode(t *testing.T) {
	s, c, alice := newSeedServer(t)
	ctx := ctxT(t)
	group, err := c.CreateGroupConversation(ctx, mixin.GroupConversationRequest{Name: "Invite me"})
	require.NoError(t, err)
	code, err := c.ReadCode(ctx, group.CodeID)
	require.NoError(t, err)
	assert.Equal(t, mixin.CodeTypeConversation, code.Type)
	require.NotNil(t, code.Conversation)
	assert.Equal(t, group.ConversationID, code.Conversation.ConversationID)
	assert.Equal(t, "Invite me", code.Conversation.Name)

	// Alice's user code, as the bot reads it; she is not in the group yet
	// but can read its invite code.
	aliceMe, err := userClient(t, s, alice).ReadMe(ctx)
	require.NoError(t, err)
	code, err = c.ReadCode(ctx, aliceMe.CodeID)
	require.NoError(t, err)
	require.NotNil(t, code.User)
	assert.Equal(t, alice.UserID, code.User.UserID)
	code, err = userClient(t, s, alice).ReadCode(ctx, group.CodeID)
	require.NoError(t, err)
	assert.Equal(t, group.ConversationID, code.Conversation.ConversationID)

	_, err = c.ReadCode(ctx, uuid.NewString())
	assert.True(t, mixin.IsNotFound(err), "%v", err)
	for _, bad := range []string{"", "abc", "https://mixin.one/codes/x", "12345678-1234-1234-1234-12345678901"} {
		noRequest(t, s, "code_id", func() error { _, err := c.ReadCode(ctx, bad); return err })
	}
}

func TestConversationIcon(t *testing.T) {
	s, c, alice := newSeedServer(t)
	ctx := ctxT(t)
	icon := pngBytes(t, 12, 12)
	g, err := c.CreateGroupConversation(ctx, mixin.GroupConversationRequest{Name: "Icons", Icon: icon,
		Participants: []mixin.ParticipantRequest{{UserID: alice.UserID}}})
	require.NoError(t, err)
	require.NotEmpty(t, g.IconURL)
	assert.Equal(t, icon, fetch(t, g.IconURL))
	icon2 := jpegBytes(t)
	u, err := c.UpdateConversation(ctx, g.ConversationID, mixin.ConversationUpdate{Icon: icon2})
	require.NoError(t, err)
	assert.NotEqual(t, g.IconURL, u.IconURL)
	assert.Equal(t, icon2, fetch(t, u.IconURL))
	assert.Equal(t, "Icons", u.Name, "only the icon changed")

	noRequest(t, s, "icon", func() error {
		_, err := c.UpdateConversation(ctx, g.ConversationID, mixin.ConversationUpdate{Icon: []byte("<svg/>")})
		return err
	})
	noRequest(t, s, "icon", func() error {
		_, err := c.CreateGroupConversation(ctx, mixin.GroupConversationRequest{Name: "x", Icon: make([]byte, mixin.MaxIconSize+1)})
		return err
	})
}

func TestReadMessageStatuses(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	clock := func() time.Time { return now }
	s, c, alice := newSeedServer(t, mixintest.WithClock(clock), mixintest.WithStatusPageSize(2))
	ctx := ctxT(t)
	_, err := c.CreateContactConversation(ctx, alice.UserID)
	require.NoError(t, err)
	var ids []string
	for i := range 3 {
		m, err := c.SendText(ctx, mixin.ToUser(alice.UserID), "m"+string(rune('0'+i)))
		require.NoError(t, err)
		ids = append(ids, m.MessageID)
	}
	start := now
	for i, id := range ids {
		now = now.Add(time.Second)
		require.NoError(t, alice.Ack(ctx, id, "DELIVERED"))
		if i == 0 {
			now = now.Add(time.Second)
			require.NoError(t, alice.Ack(ctx, id, "READ"))
		}
	}
	// Page through as the official apps do.
	var got []string
	since := start
	for range 10 {
		page, err := c.ReadMessageStatuses(ctx, since)
		require.NoError(t, err)
		if len(page) == 0 {
			break
		}
		for _, m := range page {
			if m.UpdatedAt.Equal(since) && len(got) > 0 {
				continue // the inclusive offset repeats the last item
			}
			got = append(got, m.MessageID[:4]+":"+string(m.Status))
		}
		last := page[len(page)-1].UpdatedAt
		if last.Equal(since) {
			break
		}
		since = last
	}
	want := []string{ids[0][:4] + ":DELIVERED", ids[0][:4] + ":READ", ids[1][:4] + ":DELIVERED", ids[2][:4] + ":DELIVERED"}
	assert.Equal(t, want, got)
	// Alice sent nothing: no statuses for her.
	page, err := userClient(t, s, alice).ReadMessageStatuses(ctx, time.Time{})
	require.NoError(t, err)
	assert.Empty(t, page)
	noRequest(t, s, "offset", func() error {
		_, err := c.ReadMessageStatuses(ctx, time.Date(1969, 1, 1, 0, 0, 0, 0, time.UTC))
		return err
	})
}

func fetch(t *testing.T, url string) []byte {
	t.Helper()
	res, err := http.Get(url)
	require.NoError(t, err)
	defer res.Body.Close()
	require.Equal(t, 200, res.StatusCode)
	b, _ := io.ReadAll(res.Body)
	return b
}
