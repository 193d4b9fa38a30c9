package mixin

import (
	"context"
	"errors"
	"net/url"
	"strconv"
	"strings"
)

// sendTraced is send reported to the client's tracer, if it has one.
func (c *Client) sendTraced(ctx context.Context, r request, uri string, body []byte, attempt int) (response, error) {
	t := c.cfg.tracer
	if t == nil {
		return c.send(ctx, r, uri, body)
	}
	start := RequestStart{Method: r.method, Route: routeTemplate(r.path), ServerAddress: c.server.host,
		ServerPort: c.server.port, Attempt: attempt}
	tctx := t.TraceRequestStart(ctx, start)
	res, err := c.send(tctx, r, uri, body)
	end := RequestEnd{RequestStart: start, Status: res.status, RequestID: res.requestID, Err: err}
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		end.Code, end.RetryAfter = apiErr.Code, apiErr.RetryAfter
	}
	t.TraceRequestEnd(tctx, end)
	return res, err
}

// serverAddr is the host and port requests go to.
type serverAddr struct {
	host string
	port int
}

func serverOf(u *url.URL) serverAddr {
	a := serverAddr{host: u.Hostname()}
	if p, err := strconv.Atoi(u.Port()); err == nil {
		a.port = p
	} else if u.Scheme == "http" {
		a.port = 80
	} else {
		a.port = 443
	}
	return a
}

// routeTemplate returns the template of path (relative to the base URL,
// with any query) for metrics and spans: ids, searched numbers and the
// query never appear in it. A path no template matches keeps its first
// segment and hides the rest as {id}, so a new endpoint leaks nothing
// before it is added to the list.
func routeTemplate(path string) string {
	// The templates of the API paths the client calls. A segment in braces
	// stands for any one segment; the names follow the API docs'
	// parameters. More specific templates come first.
	routes := [...]string{
		"/acknowledgements",
		"/attachments",
		"/attachments/{attachment_id}",
		"/blocking_users",
		"/circles",
		"/circles/{circle_id}",
		"/circles/{circle_id}/conversations",
		"/circles/{circle_id}/delete",
		"/codes/{code_id}",
		"/conversations",
		"/conversations/{conversation_id}",
		"/conversations/{conversation_id}/circles",
		"/conversations/{conversation_id}/disappear",
		"/conversations/{conversation_id}/exit",
		"/conversations/{code_id}/join",
		"/conversations/{conversation_id}/mute",
		"/conversations/{conversation_id}/participants/{action}",
		"/conversations/{conversation_id}/rotate",
		"/encrypted_messages",
		"/friends",
		"/me",
		"/me/code",
		"/me/preferences",
		"/messages",
		"/messages/status/{offset}",
		"/relationships",
		"/search/{query}",
		"/sessions/fetch",
		"/users/fetch",
		"/users/{user_id}",
		"/users/{user_id}/circles",
	}
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	for _, t := range routes {
		if routeMatches(t, path) {
			return t
		}
	}
	rest := strings.TrimPrefix(path, "/")
	first, more, _ := strings.Cut(rest, "/")
	if more == "" {
		return "/" + first
	}
	return "/" + first + strings.Repeat("/{id}", strings.Count(more, "/")+1)
}

// routeMatches reports whether path has the shape of template t: the same
// number of segments, literal ones equal.
func routeMatches(t, path string) bool {
	for {
		ts, trest, tmore := strings.Cut(strings.TrimPrefix(t, "/"), "/")
		ps, prest, pmore := strings.Cut(strings.TrimPrefix(path, "/"), "/")
		if ps == "" || (ts != ps && !strings.HasPrefix(ts, "{")) {
			return false
		}
		if !tmore || !pmore {
			return tmore == pmore
		}
		t, path = trest, prest
	}
}
