package mixin

import (
	"context"
	"strconv"
	"strings"
	"sync"
)

// replyScopeKey keys the per-invocation reply counter in a handler's ctx.
type replyScopeKey struct{}

// replyCounter counts the replies to each message during one handler
// invocation.
type replyCounter struct {
	mu sync.Mutex
	n  map[string]int
}

// replyCtx is a handler invocation's ctx with a fresh reply counter. The
// blaze loop makes one per handler invocation (every attempt), in the item
// of the message it handles (no allocation), so the n-th reply of an
// attempt gets the same id as the n-th reply of the attempt before it.
type replyCtx struct {
	context.Context
	counter replyCounter
}

func (c *replyCtx) Value(key any) any {
	if key == (replyScopeKey{}) {
		return &c.counter
	}
	return c.Context.Value(key)
}

// replyID returns the id of the next reply to inID: derived from the bot,
// inID and the reply's rank in the current handler invocation, or random
// outside one.
func (c *Client) replyID(ctx context.Context, inID string) string {
	rc, _ := ctx.Value(replyScopeKey{}).(*replyCounter)
	if rc == nil {
		return NewUUID()
	}
	inID = strings.ToLower(inID)
	rc.mu.Lock()
	if rc.n == nil {
		rc.n = map[string]int{}
	}
	n := rc.n[inID]
	rc.n[inID] = n + 1
	rc.mu.Unlock()
	return UniqueObjectID(c.ks.AppID, inID, "reply", strconv.Itoa(n))
}
