package mixin_test

import (
	"strings"
	"testing"

	"github.com/gomixin/mixin"
	"github.com/gomixin/mixin/mixintest"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Samples from developers.mixin.one (docs/_partials/_resp.circle.md,
// api/circles/list-items.md, api/circles/add-to-remove-from-circles.md).
const (
	docCircle     = `{"circle_id":"a465ffdb-4441-4cb9-8b45-00cf79dfbc46","name":"Circle Name","created_at":"2018-05-29T09:31:04.202186212Z"}`
	docCircleItem = `{"circle_id":"a465ffdb-4441-4cb9-8b45-00cf79dfbc46","conversation_id":"e1524f3c-2e4f-411f-8a06-b5e1b1601308","created_at":"2018-05-29T09:31:04.202186212Z"}`
	docGroupItem  = `{"circle_id":"a465ffdb-4441-4cb9-8b45-00cf79dfbc46","user_id":"06aed1e3-bd77-4a59-991a-5bb5ae6fbb09","name":"Circle Name","created_at":"2018-05-29T09:31:04.202186212Z"}`
)

func TestCircleDocSamplesLossless(t *testing.T) {
	assertLossless(t, docCircle, &mixin.Circle{})
	assertLossless(t, docCircleItem, &mixin.ConversationCircle{})
	assertLossless(t, docGroupItem, &mixin.ConversationCircle{})
}

func TestCircles(t *testing.T) {
	s, c, alice := newSeedServer(t)
	ctx := ctxT(t)
	contact, err := c.CreateContactConversation(ctx, alice.UserID)
	require.NoError(t, err)
	group, err := c.CreateGroupConversation(ctx, mixin.GroupConversationRequest{Name: "G", Participants: []mixin.ParticipantRequest{{UserID: alice.UserID}}})
	require.NoError(t, err)

	work, err := c.CreateCircle(ctx, "Work")
	require.NoError(t, err)
	assert.Equal(t, "Work", work.Name)
	assert.Equal(t, s.Bot().UserID, work.UserID)
	_, err = c.CreateCircle(ctx, "Home")
	require.NoError(t, err)
	all, err := c.ReadCircles(ctx)
	require.NoError(t, err)
	require.Len(t, all, 2)
	assert.Equal(t, "Work", all[0].Name)

	renamed, err := c.UpdateCircle(ctx, work.CircleID, "Office")
	require.NoError(t, err)
	assert.Equal(t, "Office", renamed.Name)
	read, err := c.ReadCircle(ctx, work.CircleID)
	require.NoError(t, err)
	assert.Equal(t, "Office", read.Name)

	items, err := c.UpdateCircleConversations(ctx, work.CircleID, []mixin.CircleConversationRequest{
		{ConversationID: contact.ConversationID, Action: mixin.CircleActionAdd},
		{ConversationID: group.ConversationID, Action: mixin.CircleActionAdd},
	})
	require.NoError(t, err)
	require.Len(t, items, 2)
	assert.Equal(t, alice.UserID, items[0].UserID, "a contact item names the other user")
	assert.Empty(t, items[1].UserID)

	page, err := c.ReadCircleConversations(ctx, work.CircleID, mixin.CircleConversationsQuery{Limit: 1})
	require.NoError(t, err)
	require.Len(t, page, 1)
	assert.Equal(t, contact.ConversationID, page[0].ConversationID)
	page, err = c.ReadCircleConversations(ctx, work.CircleID, mixin.CircleConversationsQuery{Offset: page[0].CreatedAt})
	require.NoError(t, err)
	require.Len(t, page, 1)
	assert.Equal(t, group.ConversationID, page[0].ConversationID)

	// The other direction: the group's circles.
	conv, err := c.UpdateConversationCircles(ctx, group.ConversationID, []mixin.ConversationCircleRequest{{CircleID: all[1].CircleID, Action: mixin.CircleActionAdd}})
	require.NoError(t, err)
	assert.Len(t, conv, 2, "the group is in both circles now")
	readConv, err := c.ReadConversation(ctx, group.ConversationID)
	require.NoError(t, err)
	assert.Len(t, readConv.Circles, 2, "the conversation view lists the reader's circles")
	_, err = c.UpdateConversationCircles(ctx, group.ConversationID, []mixin.ConversationCircleRequest{{CircleID: work.CircleID, Action: mixin.CircleActionRemove}})
	require.NoError(t, err)
	page, err = c.ReadCircleConversations(ctx, work.CircleID, mixin.CircleConversationsQuery{})
	require.NoError(t, err)
	assert.Len(t, page, 1)

	require.NoError(t, c.DeleteCircle(ctx, work.CircleID))
	_, err = c.ReadCircle(ctx, work.CircleID)
	assert.True(t, mixin.IsNotFound(err), "%v", err)
	all, err = c.ReadCircles(ctx)
	require.NoError(t, err)
	assert.Len(t, all, 1)
}

// TestCircleBelongsToOwner: another user's circle is not found for the bot,
// and the bot cannot file a conversation it is not in.
func TestCircleBelongsToOwner(t *testing.T) {
	s, c, alice := newSeedServer(t)
	ctx := ctxT(t)
	aliceClient := userClient(t, s, alice)
	hers, err := aliceClient.CreateCircle(ctx, "Alice's")
	require.NoError(t, err)
	_, err = c.ReadCircle(ctx, hers.CircleID)
	assert.True(t, mixin.IsNotFound(err), "%v", err)
	_, err = c.UpdateCircle(ctx, hers.CircleID, "mine now")
	assert.True(t, mixin.IsNotFound(err), "%v", err)
	assert.True(t, mixin.IsNotFound(c.DeleteCircle(ctx, hers.CircleID)))
	mine, err := c.ReadCircles(ctx)
	require.NoError(t, err)
	assert.Empty(t, mine)
	still, err := aliceClient.ReadCircle(ctx, hers.CircleID)
	require.NoError(t, err)
	assert.Equal(t, "Alice's", still.Name)

	// A group the bot is not in.
	bob := s.NewUser("Bob")
	g, err := bob.CreateGroup(ctx, "Bob's", alice.UserID)
	require.NoError(t, err)
	circle, err := c.CreateCircle(ctx, "Mine")
	require.NoError(t, err)
	_, err = c.UpdateCircleConversations(ctx, circle.CircleID, []mixin.CircleConversationRequest{{ConversationID: g.ConversationID, Action: mixin.CircleActionAdd}})
	assert.True(t, mixin.IsForbidden(err), "%v", err)
}

func TestCircleLimit(t *testing.T) {
	_, c, _ := newSeedServer(t)
	ctx := ctxT(t)
	for i := range mixin.MaxCircles {
		_, err := c.CreateCircle(ctx, "c"+strings.Repeat("x", i%5))
		require.NoError(t, err)
	}
	_, err := c.CreateCircle(ctx, "one too many")
	assert.Equal(t, mixin.CodeTooManyCircles, apiCodeOf(err), "%v", err)
}

func TestCircleBadInput(t *testing.T) {
	s, c, _ := newSeedServer(t)
	ctx := ctxT(t)
	id := uuid.NewString()
	checks := map[string]func() error{
		"name": func() error {
			_, err := c.CreateCircle(ctx, strings.Repeat("n", mixin.MaxCircleNameLength+1))
			return err
		},
		"name ":     func() error { _, err := c.CreateCircle(ctx, "  "); return err },
		"circle_id": func() error { _, err := c.UpdateCircle(ctx, "x", "ok"); return err },
		"limit": func() error {
			_, err := c.ReadCircleConversations(ctx, id, mixin.CircleConversationsQuery{Limit: 501})
			return err
		},
		"conversations": func() error { _, err := c.UpdateCircleConversations(ctx, id, nil); return err },
		"conversations[0].action": func() error {
			_, err := c.UpdateCircleConversations(ctx, id, []mixin.CircleConversationRequest{{ConversationID: id, Action: "MOVE"}})
			return err
		},
		"conversations[0].conversation_id": func() error {
			_, err := c.UpdateCircleConversations(ctx, id, []mixin.CircleConversationRequest{{ConversationID: "x", Action: mixin.CircleActionAdd}})
			return err
		},
		"circles[0].circle_id": func() error {
			_, err := c.UpdateConversationCircles(ctx, id, []mixin.ConversationCircleRequest{{CircleID: "", Action: mixin.CircleActionAdd}})
			return err
		},
		"circle_id ": func() error { return c.DeleteCircle(ctx, "1234") },
	}
	for field, fn := range checks {
		noRequest(t, s, strings.TrimSpace(field), fn)
	}
	_, err := c.CreateCircle(ctx, strings.Repeat("é", mixin.MaxCircleNameLength))
	require.NoError(t, err, "a name at the limit is accepted by both sides")
}

func TestUserCircles(t *testing.T) {
	s, c, alice := newSeedServer(t)
	ctx := ctxT(t)
	var ids []string
	for _, name := range []string{"a", "b", "c", "d", "e", "f"} {
		ci, err := c.CreateCircle(ctx, name)
		require.NoError(t, err)
		ids = append(ids, ci.CircleID)
	}
	in, err := c.AddUserToCircle(ctx, alice.UserID, ids[0])
	require.NoError(t, err)
	require.Len(t, in, 1)
	assert.Equal(t, "a", in[0].Name)
	assert.Equal(t, alice.UserID, in[0].UserID)
	assert.Equal(t, mixin.UniqueConversationID(s.Bot().UserID, alice.UserID), in[0].ConversationID)
	for _, id := range ids[1:5] {
		_, err = c.AddUserToCircle(ctx, alice.UserID, id)
		require.NoError(t, err)
	}
	_, err = c.AddUserToCircle(ctx, alice.UserID, ids[5])
	assert.Equal(t, mixin.CodeTooManyCircles, apiCodeOf(err), "a user is in at most 5 circles: %v", err)
	in, err = c.RemoveUserFromCircle(ctx, alice.UserID, ids[0])
	require.NoError(t, err)
	assert.Len(t, in, 4)
	items, err := c.ReadCircleConversations(ctx, ids[1], mixin.CircleConversationsQuery{})
	require.NoError(t, err)
	require.Len(t, items, 1)
	assert.Equal(t, alice.UserID, items[0].UserID)

	_, err = c.AddUserToCircle(ctx, uuid.NewString(), ids[0])
	assert.True(t, mixin.IsNotFound(err), "%v", err)
	noRequest(t, s, "user_id", func() error { _, err := c.AddUserToCircle(ctx, s.Bot().UserID, ids[0]); return err })
	noRequest(t, s, "circle_id", func() error { _, err := c.RemoveUserFromCircle(ctx, alice.UserID, "c1"); return err })
}

func TestRotateCode(t *testing.T) {
	s, c, _ := newSeedServer(t)
	ctx := ctxT(t)
	before, err := c.ReadMe(ctx)
	require.NoError(t, err)
	after, err := c.RotateCode(ctx)
	require.NoError(t, err)
	assert.NotEqual(t, before.CodeID, after.CodeID)
	assert.Equal(t, "https://mixin.one/codes/"+after.CodeID, after.CodeURL)
	_, err = c.ReadCode(ctx, before.CodeID)
	assert.True(t, mixin.IsNotFound(err), "the old code no longer resolves: %v", err)
	code, err := c.ReadCode(ctx, after.CodeID)
	require.NoError(t, err)
	assert.Equal(t, s.Bot().UserID, code.User.UserID)
	s.FailNext(mixintest.Failure{Method: "GET", Path: "/me/code", Times: 1, Status: 500, Code: 500})
	_, err = c.RotateCode(ctx)
	require.Error(t, err)
	assert.Equal(t, 1, countRequests(s, "GET", "/me/code")-1, "a failed rotation is not repeated")
}
