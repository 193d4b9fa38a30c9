package mixin_test

import (
	"testing"
	"time"

	"github.com/gomixin/mixin"
	"github.com/gomixin/mixin/mixintest"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
)

// TestSocialCallsSurfaceServerErrors: every new call returns the server's
// *APIError (here a scripted 403 from the endpoint) instead of a result.
func TestSocialCallsSurfaceServerErrors(t *testing.T) {
	s, c, alice := newSeedServer(t)
	ctx := ctxT(t)
	id := uuid.NewString()
	bio := "b"
	calls := []struct {
		method, path string
		call         func() error
	}{
		{"POST", "/relationships", func() error { _, err := c.AddFriend(ctx, alice.UserID, ""); return err }},
		{"GET", "/friends", func() error { _, err := c.ReadFriends(ctx); return err }},
		{"GET", "/blocking_users", func() error { _, err := c.ReadBlockingUsers(ctx); return err }},
		{"GET", "/circles", func() error { _, err := c.ReadCircles(ctx); return err }},
		{"POST", "/circles", func() error { _, err := c.CreateCircle(ctx, "x"); return err }},
		{"GET", "/circles/" + id, func() error { _, err := c.ReadCircle(ctx, id); return err }},
		{"POST", "/circles/" + id, func() error { _, err := c.UpdateCircle(ctx, id, "y"); return err }},
		{"POST", "/circles/" + id + "/delete", func() error { return c.DeleteCircle(ctx, id) }},
		{"GET", "/circles/" + id + "/conversations", func() error {
			_, err := c.ReadCircleConversations(ctx, id, mixin.CircleConversationsQuery{})
			return err
		}},
		{"POST", "/circles/" + id + "/conversations", func() error {
			_, err := c.UpdateCircleConversations(ctx, id, []mixin.CircleConversationRequest{{ConversationID: id, Action: mixin.CircleActionAdd}})
			return err
		}},
		{"POST", "/conversations/" + id + "/circles", func() error {
			_, err := c.UpdateConversationCircles(ctx, id, []mixin.ConversationCircleRequest{{CircleID: id, Action: mixin.CircleActionAdd}})
			return err
		}},
		{"GET", "/codes/" + id, func() error { _, err := c.ReadCode(ctx, id); return err }},
		{"POST", "/me", func() error { _, err := c.UpdateProfile(ctx, mixin.ProfileUpdate{Biography: &bio}); return err }},
		{"POST", "/me/preferences", func() error {
			_, err := c.UpdatePreferences(ctx, mixin.PreferencesUpdate{FiatCurrency: "USD"})
			return err
		}},
		{"GET", "/messages/status/0", func() error { _, err := c.ReadMessageStatuses(ctx, time.Time{}); return err }},
	}
	for _, tc := range calls {
		s.FailNext(mixintest.Failure{Method: tc.method, Path: tc.path, Times: 1, Status: 202, Code: mixin.CodeForbidden})
		err := tc.call()
		assert.True(t, mixin.IsForbidden(err), "%s %s: %v", tc.method, tc.path, err)
	}
}
