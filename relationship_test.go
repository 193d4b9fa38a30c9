package mixin_test

import (
	"strings"
	"testing"

	"github.com/gomixin/mixin"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRelationships(t *testing.T) {
	s, c, alice := newSeedServer(t)
	ctx := ctxT(t)
	bob := s.NewUser("Bob")

	u, err := c.AddFriend(ctx, alice.UserID, "Al")
	require.NoError(t, err)
	assert.Equal(t, mixin.RelationshipFriend, u.Relationship)
	assert.Equal(t, "Al", u.FullName, "the alias is what the bot sees")
	_, err = c.AddFriend(ctx, bob.UserID, "")
	require.NoError(t, err)
	u, err = c.UpdateRelationship(ctx, mixin.RelationshipRequest{UserID: alice.UserID, Action: mixin.RelationshipActionUpdate, FullName: "Alice A."})
	require.NoError(t, err)
	assert.Equal(t, "Alice A.", u.FullName)

	friends, err := c.ReadFriends(ctx)
	require.NoError(t, err)
	require.Len(t, friends, 2)
	assert.Equal(t, alice.UserID, friends[0].UserID, "oldest first")
	assert.Equal(t, bob.UserID, friends[1].UserID)
	// One-sided: Alice did not add the bot.
	assert.Equal(t, mixin.RelationshipStranger, s.Relationship(alice.UserID, s.Bot().UserID))
	assert.Equal(t, mixin.RelationshipFriend, s.Relationship(s.Bot().UserID, alice.UserID))

	u, err = c.RemoveFriend(ctx, bob.UserID)
	require.NoError(t, err)
	assert.Equal(t, mixin.RelationshipStranger, u.Relationship)
	u, err = c.BlockUser(ctx, bob.UserID)
	require.NoError(t, err)
	assert.Equal(t, mixin.RelationshipBlocking, u.Relationship)
	blocked, err := c.ReadBlockingUsers(ctx)
	require.NoError(t, err)
	require.Len(t, blocked, 1)
	assert.Equal(t, bob.UserID, blocked[0].UserID)
	read, err := c.ReadUser(ctx, bob.UserID)
	require.NoError(t, err)
	assert.Equal(t, mixin.RelationshipBlocking, read.Relationship)

	u, err = c.UnblockUser(ctx, bob.UserID)
	require.NoError(t, err)
	assert.Equal(t, mixin.RelationshipStranger, u.Relationship)
	blocked, err = c.ReadBlockingUsers(ctx)
	require.NoError(t, err)
	assert.Empty(t, blocked)

	// Failures from the server: an unknown user, UPDATE of a non-friend.
	_, err = c.AddFriend(ctx, uuid.NewString(), "")
	assert.True(t, mixin.IsNotFound(err), "%v", err)
	_, err = c.UpdateRelationship(ctx, mixin.RelationshipRequest{UserID: bob.UserID, Action: mixin.RelationshipActionUpdate, FullName: "B"})
	assert.Equal(t, mixin.CodeInvalidField, apiCodeOf(err), "%v", err)
}

// TestBlockedUserCannotMessage: a user the bot blocks cannot message it; a
// user who blocks the bot, or accepts messages from contacts only, refuses
// the bot's messages with 403.
func TestBlockedUserCannotMessage(t *testing.T) {
	s, c, alice := newSeedServer(t)
	ctx := ctxT(t)
	_, err := alice.SendText(ctx, s.Bot().UserID, "before")
	require.NoError(t, err)
	_, err = c.BlockUser(ctx, alice.UserID)
	require.NoError(t, err)
	_, err = alice.SendText(ctx, s.Bot().UserID, "blocked")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "403")
	_, err = c.UnblockUser(ctx, alice.UserID)
	require.NoError(t, err)
	_, err = alice.SendText(ctx, s.Bot().UserID, "after")
	require.NoError(t, err)

	// Alice blocks the bot: the bot's sends fail 403 (IsForbidden).
	_, err = c.SendText(ctx, mixin.ToUser(alice.UserID), "hi")
	require.NoError(t, err)
	require.NoError(t, alice.Block(ctx, s.Bot().UserID))
	_, err = c.SendText(ctx, mixin.ToUser(alice.UserID), "hi again")
	assert.True(t, mixin.IsForbidden(err), "%v", err)
	require.NoError(t, alice.Unblock(ctx, s.Bot().UserID))

	// Contacts only: the bot needs to be Alice's friend.
	require.NoError(t, alice.AcceptMessagesFrom(mixin.MessageSourceContacts))
	_, err = c.SendText(ctx, mixin.ToUser(alice.UserID), "stranger")
	assert.True(t, mixin.IsForbidden(err), "%v", err)
	require.NoError(t, alice.AddFriend(ctx, s.Bot().UserID))
	_, err = c.SendText(ctx, mixin.ToUser(alice.UserID), "friend")
	require.NoError(t, err)
	texts := []string{}
	for _, m := range alice.Inbox() {
		texts = append(texts, string(m.Data))
	}
	assert.Equal(t, []string{"hi", "friend"}, texts)
}

func TestRelationshipBadInput(t *testing.T) {
	s, c, alice := newSeedServer(t)
	ctx := ctxT(t)
	cases := []struct {
		field string
		req   mixin.RelationshipRequest
	}{
		{"action", mixin.RelationshipRequest{UserID: alice.UserID, Action: "FOLLOW"}},
		{"action", mixin.RelationshipRequest{UserID: alice.UserID, Action: "add"}},
		{"user_id", mixin.RelationshipRequest{UserID: "nope", Action: mixin.RelationshipActionAdd}},
		{"user_id", mixin.RelationshipRequest{UserID: s.Bot().UserID, Action: mixin.RelationshipActionBlock}},
		{"full_name", mixin.RelationshipRequest{UserID: alice.UserID, Action: mixin.RelationshipActionAdd, FullName: strings.Repeat("n", 41)}},
		{"full_name", mixin.RelationshipRequest{UserID: alice.UserID, Action: mixin.RelationshipActionUpdate}},
		{"full_name", mixin.RelationshipRequest{UserID: alice.UserID, Action: mixin.RelationshipActionBlock, FullName: "x"}},
		{"phone", mixin.RelationshipRequest{UserID: alice.UserID, Action: mixin.RelationshipActionAdd, Phone: "call me"}},
	}
	for _, tc := range cases {
		noRequest(t, s, tc.field, func() error { _, err := c.UpdateRelationship(ctx, tc.req); return err })
	}
	// At the limit is fine.
	_, err := c.AddFriend(ctx, alice.UserID, strings.Repeat("é", mixin.MaxFullNameLength))
	require.NoError(t, err)
}
