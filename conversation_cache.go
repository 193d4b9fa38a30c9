package mixin

import (
	"container/list"
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Defaults of the conversation cache (see [WithConversationCache]).
const (
	DefaultConversationCacheSize   = 1024
	DefaultConversationCacheMaxAge = time.Hour
)

// convCacheConfig is the client's conversation-cache setting; zero values
// mean the defaults.
type convCacheConfig struct {
	size   int
	maxAge time.Duration
}

// WithConversationCache bounds the client's cache of conversations (kind,
// participants with roles, participant sessions; see
// [Client.LookupConversation]): at most size conversations are kept (least
// recently used ones are dropped; default 1024; an entry takes about 300
// bytes per member session), and an entry older than
// maxAge is fetched again (default one hour; it is also refreshed by
// SYSTEM_CONVERSATION events, by the bot's own participant calls and when an
// encrypted send finds its sessions stale).
func WithConversationCache(size int, maxAge time.Duration) Option {
	return clientOption(func(c *config) error {
		if size < 1 {
			return &FieldError{Field: "conversation cache size", Reason: "must be at least 1"}
		}
		if maxAge <= 0 {
			return &FieldError{Field: "conversation cache max age", Reason: "must be positive"}
		}
		c.convCache = convCacheConfig{size: size, maxAge: maxAge}
		return nil
	})
}

// ConversationInfo is a cached, read-only view of a conversation: whether it
// is a group, who is in it with which role, and the members' device sessions.
// Get one with [Client.LookupConversation]; the methods return copies.
type ConversationInfo struct {
	id           string
	category     ConversationCategory
	creatorID    string
	participants []Participant
	roles        map[string]ParticipantRole
	sessions     []*sessionPeer
	fetchedAt    time.Time
}

func newConversationInfo(conv *Conversation, now time.Time) *ConversationInfo {
	info := &ConversationInfo{
		id: conv.ConversationID, category: conv.Category, creatorID: conv.CreatorID,
		participants: append([]Participant(nil), conv.Participants...),
		roles:        make(map[string]ParticipantRole, len(conv.Participants)),
		sessions:     make([]*sessionPeer, 0, len(conv.ParticipantSessions)),
		fetchedAt:    now,
	}
	for _, p := range conv.Participants {
		info.roles[strings.ToLower(p.UserID)] = p.Role
	}
	for _, s := range conv.ParticipantSessions {
		info.sessions = append(info.sessions, newSessionPeer(s.UserID, s.SessionID, s.PublicKey))
	}
	return info
}

// ConversationID returns the conversation's id.
func (i *ConversationInfo) ConversationID() string { return i.id }

// Category returns CONTACT or GROUP.
func (i *ConversationInfo) Category() ConversationCategory { return i.category }

// IsGroup reports whether the conversation is a group.
func (i *ConversationInfo) IsGroup() bool { return i.category == ConversationCategoryGroup }

// CreatorID returns the user who created the conversation.
func (i *ConversationInfo) CreatorID() string { return i.creatorID }

// FetchedAt returns when the view was read from the API.
func (i *ConversationInfo) FetchedAt() time.Time { return i.fetchedAt }

// Role returns a participant's role and whether userID is a participant
// (user ids compare case-insensitively, as UUIDs do).
func (i *ConversationInfo) Role(userID string) (ParticipantRole, bool) {
	r, ok := i.roles[strings.ToLower(userID)]
	return r, ok
}

// IsAdmin reports whether userID is the owner or an admin.
func (i *ConversationInfo) IsAdmin(userID string) bool {
	r := i.roles[strings.ToLower(userID)]
	return r == ParticipantRoleOwner || r == ParticipantRoleAdmin
}

// Participants returns a copy of the members with their roles.
func (i *ConversationInfo) Participants() []Participant {
	return append([]Participant(nil), i.participants...)
}

// Sessions returns a copy of the members' device sessions.
func (i *ConversationInfo) Sessions() []ParticipantSession {
	out := make([]ParticipantSession, len(i.sessions))
	for k, s := range i.sessions {
		out[k] = ParticipantSession{Type: "participant", UserID: s.userID, SessionID: s.sessionID, PublicKey: s.publicKey}
	}
	return out
}

// withSessions returns a copy of i in which userID's sessions are replaced.
func (i *ConversationInfo) withSessions(userID string, fresh []*sessionPeer) *ConversationInfo {
	cp := *i
	cp.sessions = make([]*sessionPeer, 0, len(i.sessions)+len(fresh))
	for _, s := range i.sessions {
		if s.userID != userID {
			cp.sessions = append(cp.sessions, s)
		}
	}
	cp.sessions = append(cp.sessions, fresh...)
	return &cp
}

// LookupConversation returns the conversation's kind, participants with their
// roles and sessions, from the client's bounded cache or, on a miss, from
// [Client.ReadConversation]. Entries are dropped on the SYSTEM_CONVERSATION
// events the blaze loop sees for the conversation, replaced by the results of
// the bot's own conversation calls, and expire after the cache's max age (see
// [WithConversationCache]). Concurrent lookups of one conversation share a
// single request.
func (c *Client) LookupConversation(ctx context.Context, conversationID string) (*ConversationInfo, error) {
	id, err := parseUUID("conversation_id", conversationID)
	if err != nil {
		return nil, err
	}
	return c.e2eInit().convs.get(ctx, id, func(ctx context.Context) (*Conversation, error) {
		return c.readConversation(ctx, id)
	})
}

// InvalidateConversation drops a conversation from the cache, so the next
// lookup reads it again. Call it after changes the client cannot see (the
// loop already handles SYSTEM_CONVERSATION events).
func (c *Client) InvalidateConversation(conversationID string) {
	if id, err := parseUUID("conversation_id", conversationID); err == nil {
		c.e2eInit().convs.invalidate(id)
	}
}

// rememberConversation refreshes a cached conversation with a view the API
// just returned.
func (c *Client) rememberConversation(conv *Conversation) {
	if conv != nil && conv.ConversationID != "" {
		c.e2eInit().convs.replace(conv)
	}
}

// observeSystemConversation drops the cached conversation of a
// SYSTEM_CONVERSATION message that changes members, roles or sessions.
func (c *Client) observeSystemConversation(m *Message) {
	if m.Category != CategorySystemConversation || m.ConversationID == "" {
		return
	}
	var p SystemConversationPayload
	if b, err := m.Bytes(); err == nil && json.Unmarshal(b, &p) == nil {
		switch p.Action {
		case SystemConversationActionUpdate, SystemConversationActionExpire:
			return // name, announcement or timer: nothing the cache holds
		}
	}
	c.e2eInit().convs.invalidate(m.ConversationID)
}

// conversationCache is a bounded LRU of conversation views with
// per-conversation request sharing.
type conversationCache struct {
	mu      sync.Mutex
	size    int
	maxAge  time.Duration
	now     func() time.Time
	lru     *list.List // of *ConversationInfo, most recent first
	entries map[string]*list.Element
	loading map[string]*convLoad
}

type convLoad struct {
	done chan struct{}
	info *ConversationInfo
	err  error
}

func newConversationCache(cfg convCacheConfig, now func() time.Time) *conversationCache {
	if cfg.size <= 0 {
		cfg.size = DefaultConversationCacheSize
	}
	if cfg.maxAge <= 0 {
		cfg.maxAge = DefaultConversationCacheMaxAge
	}
	if now == nil {
		now = time.Now
	}
	return &conversationCache{size: cfg.size, maxAge: cfg.maxAge, now: now, lru: list.New(),
		entries: make(map[string]*list.Element), loading: make(map[string]*convLoad)}
}

// get returns the cached view of id or loads it with fetch; a load another
// caller started is shared.
func (cc *conversationCache) get(ctx context.Context, id string, fetch func(context.Context) (*Conversation, error)) (*ConversationInfo, error) {
	for {
		cc.mu.Lock()
		if e, ok := cc.entries[id]; ok {
			info := e.Value.(*ConversationInfo)
			if cc.now().Sub(info.fetchedAt) < cc.maxAge {
				cc.lru.MoveToFront(e)
				cc.mu.Unlock()
				return info, nil
			}
			cc.removeLocked(e)
		}
		if l, ok := cc.loading[id]; ok {
			cc.mu.Unlock()
			select {
			case <-l.done:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			if l.err != nil && ctx.Err() == nil && isContextError(l.err) {
				continue // the caller who loaded gave up; try on our own
			}
			return l.info, l.err
		}
		l := &convLoad{done: make(chan struct{})}
		cc.loading[id] = l
		cc.mu.Unlock()
		conv, err := fetch(ctx)
		cc.mu.Lock()
		if err == nil && conv.ConversationID != id {
			err = &ResponseError{Status: 200, Reason: "conversation " + strconvQuote(conv.ConversationID) + " returned for " + id}
		}
		if err == nil {
			l.info = newConversationInfo(conv, cc.now())
			if cc.loading[id] == l { // not invalidated while loading
				cc.putLocked(l.info)
			}
		}
		l.err = err
		if cc.loading[id] == l {
			delete(cc.loading, id)
		}
		close(l.done)
		cc.mu.Unlock()
		return l.info, l.err
	}
}

func isContextError(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

func (cc *conversationCache) putLocked(info *ConversationInfo) {
	if e, ok := cc.entries[info.id]; ok {
		e.Value = info
		cc.lru.MoveToFront(e)
		return
	}
	cc.entries[info.id] = cc.lru.PushFront(info)
	for cc.lru.Len() > cc.size {
		cc.removeLocked(cc.lru.Back())
	}
}

func (cc *conversationCache) removeLocked(e *list.Element) {
	cc.lru.Remove(e)
	delete(cc.entries, e.Value.(*ConversationInfo).id)
}

// invalidate drops id, and makes a load in flight not store its result.
func (cc *conversationCache) invalidate(id string) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if e, ok := cc.entries[id]; ok {
		cc.removeLocked(e)
	}
	delete(cc.loading, id)
}

// replace stores a fresh view of a conversation.
func (cc *conversationCache) replace(conv *Conversation) {
	info := newConversationInfo(conv, cc.now())
	cc.mu.Lock()
	defer cc.mu.Unlock()
	delete(cc.loading, info.id)
	cc.putLocked(info)
}

// updateSessions replaces one user's sessions in a cached view (the fresh
// sessions an encrypted send was answered with); false if id is not cached.
func (cc *conversationCache) updateSessions(id, userID string, fresh []*sessionPeer) bool {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	e, ok := cc.entries[id]
	if !ok {
		return false
	}
	e.Value = e.Value.(*ConversationInfo).withSessions(userID, fresh)
	return true
}

// len reports how many conversations are cached (tests).
func (cc *conversationCache) len() int {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	return cc.lru.Len()
}

// String describes the view without session keys.
func (i *ConversationInfo) String() string {
	return "mixin.ConversationInfo{" + i.id + " " + string(i.category) + " participants:" + strconv.Itoa(len(i.participants)) + " sessions:" + strconv.Itoa(len(i.sessions)) + "}"
}
