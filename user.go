package mixin

import (
	"context"
	"net/url"
	"strings"
)

// ReadMe returns the bot's own user, with its app and session details.
func (c *Client) ReadMe(ctx context.Context) (*User, error) {
	var u User
	if err := c.do(ctx, request{method: "GET", path: "/me", out: &u}); err != nil {
		return nil, err
	}
	return &u, nil
}

// Me is [Client.ReadMe] under the short name of its endpoint, GET /me.
func (c *Client) Me(ctx context.Context) (*User, error) { return c.ReadMe(ctx) }

// ReadUser returns a user by user id or by Mixin identity number.
func (c *Client) ReadUser(ctx context.Context, userIDOrIdentityNumber string) (*User, error) {
	key := strings.TrimSpace(userIDOrIdentityNumber)
	if key == "" {
		return nil, &FieldError{Field: "user_id", Reason: "is empty"}
	}
	if len(key) == 36 {
		var err error
		if key, err = parseUUID("user_id", key); err != nil {
			return nil, err
		}
	} else if !isDigits(key) {
		return nil, &FieldError{Field: "user_id", Reason: "must be a UUID or an identity number, got " + strconvQuote(key)}
	}
	var u User
	if err := c.do(ctx, request{method: "GET", path: "/users/" + key, out: &u}); err != nil {
		return nil, err
	}
	return &u, nil
}

// MaxFetchUsers is how many ids one POST /users/fetch or /sessions/fetch
// carries; longer lists are split by the client.
const MaxFetchUsers = 100

// ReadUsers returns the users with the given ids; unknown ids are skipped.
// Any number of ids may be given: the client splits them into requests of
// [MaxFetchUsers]. No ids make no request and return an empty slice.
func (c *Client) ReadUsers(ctx context.Context, userIDs ...string) ([]User, error) {
	return fetchChunked[User](ctx, c, "/users/fetch", userIDs)
}

// ReadSessions returns the device sessions of the given users (e.g. to
// encrypt messages for them), split into requests as [Client.ReadUsers]
// does. No ids make no request and return an empty slice.
func (c *Client) ReadSessions(ctx context.Context, userIDs ...string) ([]Session, error) {
	return fetchChunked[Session](ctx, c, "/sessions/fetch", userIDs)
}

// FetchSessions is [Client.ReadSessions] under the name of the endpoint it
// calls, POST /sessions/fetch.
func (c *Client) FetchSessions(ctx context.Context, userIDs ...string) ([]Session, error) {
	return c.ReadSessions(ctx, userIDs...)
}

func fetchChunked[T any](ctx context.Context, c *Client, path string, userIDs []string) ([]T, error) {
	if len(userIDs) == 0 {
		return []T{}, nil // an empty batch is no request, as in SendMessages
	}
	ids, err := parseUUIDs("user_ids", userIDs, 0)
	if err != nil {
		return nil, err
	}
	out := make([]T, 0, len(ids))
	for len(ids) > 0 {
		n := min(len(ids), MaxFetchUsers)
		var page []T
		if err := c.do(ctx, request{method: "POST", path: path, body: ids[:n], out: &page}); err != nil {
			return nil, err
		}
		out = append(out, page...)
		ids = ids[n:]
	}
	return out, nil
}

// SearchUser finds a user by Mixin identity number or phone number. The API
// rate-limits this endpoint hard: after a 429 its documentation says to wait
// 12 hours before trying again. So SearchUser is never retried
// automatically, whatever [WithRequestRetry] says; a rate limit comes back at once
// ([IsRateLimited]) and the next try is the caller's.
func (c *Client) SearchUser(ctx context.Context, query string) (*User, error) {
	// developers.mixin.one api/users/search.md: "if a 429 error occurs,
	// wait 12 hours and try again".
	q := strings.TrimSpace(query)
	if q == "" {
		return nil, &FieldError{Field: "query", Reason: "is empty"}
	}
	if !isDigits(strings.TrimPrefix(q, "+")) {
		return nil, &FieldError{Field: "query", Reason: "must be an identity number or a phone number"}
	}
	var u User
	if err := c.do(ctx, request{method: "GET", path: "/search/" + url.PathEscape(q), shown: "/search/{query}", out: &u, retry: retryNever}); err != nil {
		return nil, err
	}
	return &u, nil
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
