package mixin_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gomixin/mixin"
	"github.com/gomixin/mixin/mixintest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSearchUserKeepsTheQueryOutOfErrors: the number searched for (often
// a phone number) is personal data; errors and their Path name the call
// without it, whether the API refused it or the network failed.
func TestSearchUserKeepsTheQueryOutOfErrors(t *testing.T) {
	const phone = "+8613800138000"
	s := mixintest.NewServer(t)
	c := botClient(t, s)
	_, err := c.SearchUser(ctxT(t), phone)
	var apiErr *mixin.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.True(t, mixin.IsNotFound(err), "%v", err)
	assert.Equal(t, "/search/{query}", apiErr.Path)
	assert.NotContains(t, err.Error(), "13800138000")

	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hj, ok := w.(http.Hijacker)
		require.True(t, ok)
		conn, _, err := hj.Hijack()
		require.NoError(t, err)
		_ = conn.Close() // no answer at all: a transport error
	}))
	defer down.Close()
	c = botClient(t, s, mixin.WithBaseURL(down.URL))
	_, err = c.SearchUser(ctxT(t), phone)
	require.Error(t, err)
	assert.False(t, errors.As(err, &apiErr))
	assert.NotContains(t, err.Error(), "13800138000")
	assert.Contains(t, err.Error(), "/search/{query}")
}
