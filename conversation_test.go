package mixin_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/gomixin/mixin"
	"github.com/gomixin/mixin/mixintest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	seedBotID  = "11efbb75-e7fe-44d7-a14f-698535289310"
	seedUserID = "e8e8cd79-cd40-4796-8c54-3a13cfe50115"
)

// newSeedServer is the seed's pair of users on an emulator whose URLs carry
// a path prefix, so that absolute-path bugs and signing of the full URI
// show up.
func newSeedServer(t *testing.T, opts ...mixintest.Option) (*mixintest.Server, *mixin.Client, *mixintest.User) {
	t.Helper()
	opts = append([]mixintest.Option{mixintest.WithBotID(seedBotID), mixintest.WithPathPrefix("/v1")}, opts...)
	s := mixintest.NewServer(t, opts...)
	u := s.NewUserWithID(seedUserID, "Seed User")
	return s, botClient(t, s), u
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestUniqueConversationIDSeed(t *testing.T) {
	assert.Equal(t, "dd219235-e83a-3b85-a13f-d0f20fa0e833", mixin.UniqueConversationID(seedBotID, seedUserID))
	assert.Equal(t, "dd219235-e83a-3b85-a13f-d0f20fa0e833", mixin.UniqueConversationID(seedUserID, seedBotID))
	assert.Equal(t, "dd219235-e83a-3b85-a13f-d0f20fa0e833", mixin.UniqueConversationID(strings.ToUpper(seedUserID), seedBotID))
	assert.Equal(t, "3afe01f8-d10b-3343-97c1-1c7b26f61981",
		mixin.GroupConversationID(seedBotID, "test-group", []string{seedUserID}, "00000000-0000-4000-8000-000000000001"))
	assert.Equal(t, "4c405d19-de7b-32f9-afef-5906cbcda94d", mixin.UniqueObjectID("c81e774b-a762-49f8-9114-35900be2c90e", "reply"))
}

func TestCreateContactConversation(t *testing.T) {
	s, c, _ := newSeedServer(t)
	conv, err := c.CreateContactConversation(ctxT(t), seedUserID)
	require.NoError(t, err)
	assert.Equal(t, "dd219235-e83a-3b85-a13f-d0f20fa0e833", conv.ConversationID)
	assert.Equal(t, mixin.ConversationCategoryContact, conv.Category)
	assert.Len(t, conv.Participants, 2)
	_, ok := conv.Participant(seedUserID)
	assert.True(t, ok)

	// Creating again returns the same conversation.
	again, err := c.CreateContactConversation(ctxT(t), seedUserID)
	require.NoError(t, err)
	assert.Equal(t, conv.ConversationID, again.ConversationID)
	assert.Equal(t, conv.CreatedAt, again.CreatedAt)

	// Unknown user: the API refuses.
	_, err = c.CreateContactConversation(ctxT(t), "00000000-0000-4000-8000-000000000099")
	var apiErr *mixin.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, 202, apiErr.Status)
	assert.NotEmpty(t, apiErr.RequestID)

	_, ok = s.Conversation(conv.ConversationID)
	assert.True(t, ok)
}

func TestGroupLifecycle(t *testing.T) {
	s, c, u := newSeedServer(t)
	ctx := ctxT(t)
	other := s.NewUser("Other")
	third := s.NewUser("Third")

	g, err := c.CreateGroupConversation(ctx, mixin.GroupConversationRequest{
		Name:         "测试群组",
		Participants: []mixin.ParticipantRequest{{UserID: seedUserID, Role: mixin.ParticipantRoleAdmin}, {UserID: other.UserID}},
	})
	require.NoError(t, err)
	assert.Equal(t, mixin.ConversationCategoryGroup, g.Category)
	assert.Equal(t, "测试群组", g.Name)
	assert.Equal(t, seedBotID, g.CreatorID)
	p, _ := g.Participant(seedBotID)
	assert.Equal(t, mixin.ParticipantRoleOwner, p.Role)
	p, _ = g.Participant(seedUserID)
	assert.Equal(t, mixin.ParticipantRoleAdmin, p.Role)
	assert.NotEmpty(t, g.CodeID)
	assert.Equal(t, "https://mixin.one/codes/"+g.CodeID, g.CodeURL)

	g, err = c.UpdateConversation(ctx, g.ConversationID, mixin.ConversationUpdate{Name: "测试群聊2", Announcement: "测试公告"})
	require.NoError(t, err)
	assert.Equal(t, "测试群聊2", g.Name)
	assert.Equal(t, "测试公告", g.Announcement)

	read, err := c.ReadConversation(ctx, g.ConversationID)
	require.NoError(t, err)
	assert.Equal(t, g.Name, read.Name)
	assert.Equal(t, g.Announcement, read.Announcement)

	g, err = c.RemoveParticipants(ctx, g.ConversationID, seedUserID)
	require.NoError(t, err)
	_, ok := g.Participant(seedUserID)
	assert.False(t, ok)

	g, err = c.AddParticipants(ctx, g.ConversationID, seedUserID, third.UserID)
	require.NoError(t, err)
	p, ok = g.Participant(seedUserID)
	require.True(t, ok)
	assert.Equal(t, mixin.ParticipantRoleMember, p.Role)

	g, err = c.AdminParticipants(ctx, g.ConversationID, seedUserID)
	require.NoError(t, err)
	p, _ = g.Participant(seedUserID)
	assert.Equal(t, mixin.ParticipantRoleAdmin, p.Role)

	g, err = c.RevokeAdminParticipants(ctx, g.ConversationID, seedUserID)
	require.NoError(t, err)
	p, _ = g.Participant(seedUserID)
	assert.Equal(t, mixin.ParticipantRoleMember, p.Role)

	g, err = c.ManageParticipants(ctx, g.ConversationID, mixin.ParticipantActionRole, []mixin.ParticipantRequest{{UserID: seedUserID, Role: mixin.ParticipantRoleAdmin}})
	require.NoError(t, err)
	p, _ = g.Participant(seedUserID)
	assert.Equal(t, mixin.ParticipantRoleAdmin, p.Role)

	oldCode := g.CodeID
	g, err = c.RotateConversation(ctx, g.ConversationID)
	require.NoError(t, err)
	assert.NotEqual(t, oldCode, g.CodeID)
	assert.Equal(t, "https://mixin.one/codes/"+g.CodeID, g.CodeURL)

	g, err = c.MuteConversation(ctx, g.ConversationID, 8*time.Hour)
	require.NoError(t, err)
	assert.WithinDuration(t, time.Now().Add(8*time.Hour), g.MuteUntil, time.Minute)
	g, err = c.UnmuteConversation(ctx, g.ConversationID)
	require.NoError(t, err)
	assert.False(t, g.MuteUntil.After(time.Now().Add(time.Minute)))

	g, err = c.DisappearConversation(ctx, g.ConversationID, 24*time.Hour)
	require.NoError(t, err)
	assert.EqualValues(t, 86400, g.ExpireIn)

	// The admin user removes the bot? No: only members below the owner go.
	// The bot leaves, then rejoins by the invite code... once a member
	// rotates it, the old code no longer works.
	err = c.ExitConversation(ctx, g.ConversationID)
	require.NoError(t, err)
	_, err = c.ReadConversation(ctx, g.ConversationID)
	assert.True(t, mixin.IsForbidden(err) || mixin.IsNotFound(err), "after exit: %v", err)
	_, err = c.JoinConversation(ctx, oldCode)
	assert.Error(t, err, "a rotated code must not work")
	g, err = c.JoinConversation(ctx, g.CodeID)
	require.NoError(t, err)
	_, ok = g.Participant(seedBotID)
	assert.True(t, ok)
	_ = u
}

func TestPermissionRules(t *testing.T) {
	s, c, u := newSeedServer(t)
	ctx := ctxT(t)
	// The user owns a group and adds the bot as a plain member.
	g, err := u.CreateGroup(ctx, "user's group", seedBotID)
	require.NoError(t, err)
	other := s.NewUser("Other")

	_, err = c.AddParticipants(ctx, g.ConversationID, other.UserID)
	assert.True(t, mixin.IsForbidden(err), "member adding: %v", err)
	_, err = c.AdminParticipants(ctx, g.ConversationID, seedBotID)
	assert.True(t, mixin.IsForbidden(err), "member changing roles: %v", err)
	_, err = c.UpdateConversation(ctx, g.ConversationID, mixin.ConversationUpdate{Name: "hijack"})
	assert.True(t, mixin.IsForbidden(err), "member renaming: %v", err)
	_, err = c.RotateConversation(ctx, g.ConversationID)
	assert.True(t, mixin.IsForbidden(err), "member rotating: %v", err)
	_, err = c.DisappearConversation(ctx, g.ConversationID, time.Hour)
	assert.True(t, mixin.IsForbidden(err), "member setting timer: %v", err)

	// Made admin, the bot may add but still not change roles.
	_, err = u.SetRole(ctx, g.ConversationID, "ADMIN", seedBotID)
	require.NoError(t, err)
	_, err = c.AddParticipants(ctx, g.ConversationID, other.UserID)
	require.NoError(t, err)
	_, err = c.AdminParticipants(ctx, g.ConversationID, other.UserID)
	assert.True(t, mixin.IsForbidden(err), "admin changing roles: %v", err)
	_, err = c.RemoveParticipants(ctx, g.ConversationID, seedUserID)
	assert.Error(t, err, "nobody removes the owner")

	// A conversation the bot is not in.
	g2, err := u.CreateGroup(ctx, "private", other.UserID)
	require.NoError(t, err)
	_, err = c.ReadConversation(ctx, g2.ConversationID)
	assert.True(t, mixin.IsForbidden(err), "reading a foreign group: %v", err)
	_, err = c.ReadConversation(ctx, "00000000-0000-4000-8000-00000000abcd")
	assert.True(t, mixin.IsNotFound(err), "reading a missing group: %v", err)
	_, err = c.MuteConversation(ctx, "00000000-0000-4000-8000-00000000abcd", time.Hour)
	assert.Error(t, err)
}

func TestConversationBadInputSendsNothing(t *testing.T) {
	s, c, _ := newSeedServer(t)
	ctx := ctxT(t)
	s.ResetRequests()
	tooMany := make([]mixin.ParticipantRequest, 257)
	for i := range tooMany {
		tooMany[i].UserID = mixin.NewUUID()
	}
	calls := map[string]func() error{
		"contact bad id":   func() error { _, err := c.CreateContactConversation(ctx, "not-a-uuid"); return err },
		"contact self":     func() error { _, err := c.CreateContactConversation(ctx, seedBotID); return err },
		"group empty name": func() error { _, err := c.CreateGroupConversation(ctx, mixin.GroupConversationRequest{}); return err },
		"group long name": func() error {
			_, err := c.CreateGroupConversation(ctx, mixin.GroupConversationRequest{Name: strings.Repeat("名", 513)})
			return err
		},
		"group 257 members": func() error {
			_, err := c.CreateGroupConversation(ctx, mixin.GroupConversationRequest{Name: "x", Participants: tooMany})
			return err
		},
		"group bad member": func() error {
			_, err := c.CreateGroupConversation(ctx, mixin.GroupConversationRequest{Name: "x", Participants: []mixin.ParticipantRequest{{UserID: "x"}}})
			return err
		},
		"group owner role": func() error {
			_, err := c.CreateGroupConversation(ctx, mixin.GroupConversationRequest{Name: "x", Participants: []mixin.ParticipantRequest{{UserID: seedUserID, Role: mixin.ParticipantRoleOwner}}})
			return err
		},
		"group dup member": func() error {
			_, err := c.CreateGroupConversation(ctx, mixin.GroupConversationRequest{Name: "x", Participants: []mixin.ParticipantRequest{{UserID: seedUserID}, {UserID: seedUserID}}})
			return err
		},
		"group bad id": func() error {
			_, err := c.CreateGroupConversation(ctx, mixin.GroupConversationRequest{Name: "x", ConversationID: "{bad}"})
			return err
		},
		"long announcement": func() error {
			_, err := c.UpdateConversation(ctx, seedUserID, mixin.ConversationUpdate{Announcement: strings.Repeat("a", 1025)})
			return err
		},
		"empty update":        func() error { _, err := c.UpdateConversation(ctx, seedUserID, mixin.ConversationUpdate{}); return err },
		"read bad id":         func() error { _, err := c.ReadConversation(ctx, "123"); return err },
		"manage bad action":   func() error { _, err := c.ManageParticipants(ctx, seedUserID, "JOIN", nil); return err },
		"add nobody":          func() error { _, err := c.AddParticipants(ctx, seedUserID); return err },
		"remove bad id":       func() error { _, err := c.RemoveParticipants(ctx, seedUserID, "bob"); return err },
		"rotate bad id":       func() error { _, err := c.RotateConversation(ctx, ""); return err },
		"join bad code":       func() error { _, err := c.JoinConversation(ctx, "https://mixin.one/codes/x"); return err },
		"exit bad id":         func() error { return c.ExitConversation(ctx, "x") },
		"mute negative":       func() error { _, err := c.MuteConversation(ctx, seedUserID, -time.Hour); return err },
		"disappear too long":  func() error { _, err := c.DisappearConversation(ctx, seedUserID, 13*7*24*time.Hour); return err },
		"disappear fractions": func() error { _, err := c.DisappearConversation(ctx, seedUserID, 1500*time.Millisecond); return err },
		"read user empty":     func() error { _, err := c.ReadUser(ctx, " "); return err },
		"read user bad":       func() error { _, err := c.ReadUser(ctx, "bob"); return err },
		"sessions bad":        func() error { _, err := c.ReadSessions(ctx, "x"); return err },
		"search empty":        func() error { _, err := c.SearchUser(ctx, ""); return err },
		"search letters":      func() error { _, err := c.SearchUser(ctx, "../me"); return err },
	}
	for name, call := range calls {
		err := call()
		var fe *mixin.FieldError
		if assert.ErrorAs(t, err, &fe, name) {
			assert.NotEmpty(t, fe.Field, name)
			assert.NotEmpty(t, fe.Reason, name)
		}
	}
	assert.Empty(t, s.Requests(), "validation must happen before any request")
}

func TestUsers(t *testing.T) {
	s, c, u := newSeedServer(t)
	ctx := ctxT(t)
	me, err := c.ReadMe(ctx)
	require.NoError(t, err)
	assert.Equal(t, seedBotID, me.UserID)
	require.NotNil(t, me.App)
	assert.Equal(t, seedBotID, me.App.AppID)
	assert.Equal(t, s.Bot().SessionID, me.SessionID)

	got, err := c.ReadUser(ctx, seedUserID)
	require.NoError(t, err)
	assert.Equal(t, "Seed User", got.FullName)
	byNumber, err := c.ReadUser(ctx, u.IdentityNumber)
	require.NoError(t, err)
	assert.Equal(t, seedUserID, byNumber.UserID)
	_, err = c.ReadUser(ctx, "00000000-0000-4000-8000-000000000077")
	assert.True(t, mixin.IsNotFound(err), "%v", err)

	// More than one request's worth of ids: split, unknown ones skipped.
	ids := []string{seedUserID}
	for range 150 {
		ids = append(ids, s.NewUser("bulk").UserID)
	}
	ids = append(ids, "00000000-0000-4000-8000-000000000078")
	s.ResetRequests()
	users, err := c.ReadUsers(ctx, ids...)
	require.NoError(t, err)
	assert.Len(t, users, 151)
	assert.Len(t, s.Requests(), 2)

	found, err := c.SearchUser(ctx, u.IdentityNumber)
	require.NoError(t, err)
	assert.Equal(t, seedUserID, found.UserID)
	_, err = c.SearchUser(ctx, "999999999999")
	assert.True(t, mixin.IsNotFound(err), "%v", err)

	sessions, err := c.ReadSessions(ctx, seedUserID, seedBotID)
	require.NoError(t, err)
	require.Len(t, sessions, 2)
	for _, se := range sessions {
		assert.NotEmpty(t, se.SessionID)
		assert.NotEmpty(t, se.PublicKey)
	}
}

func TestUpdateConversationClearsAnnouncementExplicitly(t *testing.T) {
	s, c, _ := newSeedServer(t)
	ctx := ctxT(t)
	g, err := c.CreateGroupConversation(ctx, mixin.GroupConversationRequest{Name: "g", Announcement: "old news",
		Participants: []mixin.ParticipantRequest{{UserID: seedUserID}}})
	require.NoError(t, err)
	path := "/conversations/" + g.ConversationID
	lastBody := func() map[string]any {
		var body map[string]any
		reqs := s.Requests()
		require.NoError(t, json.Unmarshal(reqs[len(reqs)-1].Body, &body))
		return body
	}

	// A rename leaves the announcement alone: no announcement key is sent.
	g, err = c.UpdateConversation(ctx, g.ConversationID, mixin.ConversationUpdate{Name: "renamed"})
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"name": "renamed"}, lastBody())
	assert.Equal(t, "old news", g.Announcement)

	g, err = c.UpdateConversation(ctx, g.ConversationID, mixin.ConversationUpdate{ClearAnnouncement: true})
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"announcement": ""}, lastBody())
	assert.Empty(t, g.Announcement)
	assert.Equal(t, "renamed", g.Name)
	conv, ok := s.Conversation(g.ConversationID)
	require.True(t, ok)
	assert.Empty(t, conv.Announcement)

	n := countRequests(s, "POST", path)
	_, err = c.UpdateConversation(ctx, g.ConversationID, mixin.ConversationUpdate{Announcement: "x", ClearAnnouncement: true})
	var fe *mixin.FieldError
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, "announcement", fe.Field)
	_, err = c.UpdateConversation(ctx, g.ConversationID, mixin.ConversationUpdate{})
	assert.ErrorIs(t, err, mixin.ErrInvalidInput)
	assert.Equal(t, n, countRequests(s, "POST", path), "refused before any request")
}
