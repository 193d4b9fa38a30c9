package mixin

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"
)

// DefaultRecentMessages is how many messages [Recent] keeps per conversation
// unless [WithRecentMessages] says otherwise.
const DefaultRecentMessages = 20

// MaxRecentMessages is the largest value [WithRecentMessages] accepts.
const MaxRecentMessages = 1000

// minRecentDedupe is the smallest number of message ids remembered per
// conversation to drop redeliveries, whatever the history length.
const minRecentDedupe = 64

// RecentConversation is one entry of the recent-conversation list kept by
// [Recent]: what a client needs to draw a conversation list and to sync it
// incrementally.
type RecentConversation struct {
	ConversationID string `json:"conversation_id"`
	// Unread counts the messages received from others since the
	// conversation was last marked read (see [Recent.MarkRead] and
	// [Recent.SetUnread]).
	Unread int `json:"unread"`
	// LastMessageSeq is the sequence number of the last recorded message.
	// It counts per conversation from 1, and numbers are never reused: not
	// after a [Recent.Delete] and the revival that follows, nor after a
	// message is taken out again (see [Recent.Middleware]).
	LastMessageSeq uint64 `json:"last_message_seq"`
	// LastMessageID is the id of the last kept message.
	LastMessageID string `json:"last_message_id"`
	// Version is the global version ([Recent.Version]) at the conversation's
	// last change; see [Recent.Since].
	Version uint64 `json:"version"`
	// UpdatedAt is when the conversation last changed (local clock).
	UpdatedAt time.Time `json:"updated_at"`
	// Messages are the last recorded messages, oldest first, at most the
	// number set by [WithRecentMessages].
	Messages []RecentMessage `json:"messages"`
	// Deleted marks a tombstone left by [Recent.Delete]: it is reported by
	// [Recent.Since] but not by [Recent.List] or [Recent.Get].
	Deleted bool `json:"deleted,omitempty"`
}

// RecentMessage is one message kept in a [RecentConversation].
type RecentMessage struct {
	// Seq is the message's sequence number in its conversation.
	Seq       uint64   `json:"seq"`
	MessageID string   `json:"message_id"`
	UserID    string   `json:"user_id"`
	Category  Category `json:"category"`
	// Data is the decoded payload (see [Message.Bytes]); nil when the
	// message's data was not valid base64.
	Data      []byte    `json:"data"`
	CreatedAt time.Time `json:"created_at"`
}

// clone returns a deep copy of c.
func (c RecentConversation) clone() RecentConversation {
	if c.Messages != nil {
		msgs := make([]RecentMessage, len(c.Messages))
		for i, m := range c.Messages {
			if m.Data != nil {
				m.Data = slices.Clone(m.Data)
			}
			msgs[i] = m
		}
		c.Messages = msgs
	}
	return c
}

// lastActivity is when the conversation's last message was created.
func (c *RecentConversation) lastActivity() time.Time {
	if n := len(c.Messages); n > 0 {
		return c.Messages[n-1].CreatedAt
	}
	return time.Time{}
}

// RecentOption configures [NewRecent].
type RecentOption func(*recentConfig) error

type recentConfig struct {
	messages int
	store    RecentStore
	logger   *slog.Logger
	self     string
	now      func() time.Time
}

// WithRecentMessages sets how many messages are kept per conversation
// (default [DefaultRecentMessages], 1 to [MaxRecentMessages]).
func WithRecentMessages(n int) RecentOption {
	return func(c *recentConfig) error {
		if n < 1 || n > MaxRecentMessages {
			return &FieldError{Field: "recent messages", Reason: fmt.Sprintf("must be 1 to %d", MaxRecentMessages)}
		}
		c.messages = n
		return nil
	}
}

// WithRecentStore sets where the list is persisted, e.g. [FileRecentStore].
// Without it the list lives in memory only.
func WithRecentStore(s RecentStore) RecentOption {
	return func(c *recentConfig) error {
		if s == nil {
			return &FieldError{Field: "recent store", Reason: "is nil"}
		}
		c.store = s
		return nil
	}
}

// WithRecentLogger makes [Recent] log through l: store failures at warn
// level, skipped messages at debug level. Without it [Recent] is silent.
func WithRecentLogger(l *slog.Logger) RecentOption {
	return func(c *recentConfig) error {
		c.logger = l
		return nil
	}
}

// WithRecentSelf names the bot's own user id ([Client.AppID]): messages
// from it never count as unread.
func WithRecentSelf(botUserID string) RecentOption {
	return func(c *recentConfig) error {
		if botUserID == "" {
			return &FieldError{Field: "recent self", Reason: "is empty"}
		}
		c.self = botUserID
		return nil
	}
}

// Recent keeps a recent-conversation list, as IM servers offer it to their
// clients: per conversation the unread count, the last message's sequence
// number and id, the last N messages, and a version for incremental sync
// ([Recent.Since]). Feed it with [Recent.Middleware] around the blaze
// handler, and with [Recent.RecordSent] for what the bot sends. It is safe
// for concurrent use; the values it returns are copies.
//
// Every change bumps a global version and is handed to the [RecentStore]
// (see [WithRecentStore]) before the feeding or editing call returns;
// concurrent changes are saved together. A failing store never loses the
// in-memory state: the changed conversations are kept and saved again with
// the next change or [Recent.Flush].
type Recent struct {
	cfg recentConfig

	mu      sync.RWMutex
	version uint64
	convs   map[string]*recentEntry
	dirty   map[string]struct{}
	saveErr error

	saveMu sync.Mutex // serialises calls to the store
}

// recentEntry is a conversation and the ids remembered to drop redeliveries.
type recentEntry struct {
	conv RecentConversation
	seen map[string]struct{}
	ring []string // seen ids, oldest first
}

func (e *recentEntry) remember(id string, limit int) {
	if _, ok := e.seen[id]; ok {
		return
	}
	e.seen[id] = struct{}{}
	e.ring = append(e.ring, id)
	if len(e.ring) > limit {
		delete(e.seen, e.ring[0])
		e.ring = slices.Delete(e.ring, 0, 1)
	}
}

// NewRecent returns a recent-conversation list, loaded from the store if one
// is given. A store that cannot be read is an error.
func NewRecent(opts ...RecentOption) (*Recent, error) {
	cfg := recentConfig{messages: DefaultRecentMessages, now: time.Now}
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	r := &Recent{cfg: cfg, convs: map[string]*recentEntry{}, dirty: map[string]struct{}{}}
	if cfg.store == nil {
		return r, nil
	}
	convs, version, err := cfg.store.Load()
	if err != nil {
		return nil, fmt.Errorf("mixin: load recent conversations: %w", err)
	}
	r.version = version
	for _, c := range convs {
		if c.ConversationID == "" {
			return nil, fmt.Errorf("mixin: load recent conversations: %w", &FieldError{Field: "conversation_id", Reason: "is empty"})
		}
		if old, ok := r.convs[c.ConversationID]; ok && old.conv.Version > c.Version {
			continue
		}
		c = c.clone()
		if n := len(c.Messages); n > cfg.messages {
			c.Messages = slices.Delete(c.Messages, 0, n-cfg.messages)
		}
		e := &recentEntry{conv: c, seen: map[string]struct{}{}}
		for _, m := range c.Messages {
			e.remember(m.MessageID, r.dedupeLimit())
		}
		r.convs[c.ConversationID] = e
		r.version = max(r.version, c.Version)
	}
	return r, nil
}

// now is the local time in UTC, without a monotonic reading, so that it
// survives a store unchanged.
func (r *Recent) now() time.Time { return r.cfg.now().UTC() }

func (r *Recent) dedupeLimit() int { return max(r.cfg.messages, minRecentDedupe) }

// Middleware records every message its handler handled successfully, as
// [Recent.Record] does. The message is recorded before the handler runs, so
// that the replies it sends (see [Recent.RecordSent]) come after it; if the
// handler fails or panics, the message is taken out again (a change of its
// own) and is recorded when a retry succeeds. Store failures are logged, never returned,
// so that they cannot make the loop redeliver a handled message.
func (r *Recent) Middleware() Middleware {
	return func(next Handler) Handler {
		return HandlerFunc(func(ctx context.Context, msg *Message) (err error) {
			u := r.record(ctx, msg, true)
			if !u.recorded {
				return next.HandleMessage(ctx, msg)
			}
			defer func() {
				if p := recover(); p != nil {
					r.undo(ctx, u)
					panic(p) // for the loop (or [Recover]) to handle
				}
				if err != nil {
					r.undo(ctx, u)
				}
			}()
			return next.HandleMessage(ctx, msg)
		})
	}
}

// recentUndo is what undo needs to take a recorded message out again.
type recentUndo struct {
	recorded       bool
	conversationID string
	messageID      string
	counted        bool // it added one to Unread
	fresh          bool // it created or revived the conversation
}

// undo takes out a message a failing handler was given: its history entry,
// its unread count and its id (so a retry is recorded). A conversation it
// created or revived and that holds nothing else becomes a tombstone.
// Messages trimmed to make room for it, and a recall's effect, stay lost.
func (r *Recent) undo(ctx context.Context, u recentUndo) {
	r.mu.Lock()
	e, ok := r.convs[u.conversationID]
	if !ok {
		r.mu.Unlock()
		return
	}
	c := &e.conv
	n := len(c.Messages)
	c.Messages = slices.DeleteFunc(c.Messages, func(x RecentMessage) bool { return x.MessageID == u.messageID })
	if len(c.Messages) == n {
		r.mu.Unlock()
		return // already gone: deleted, trimmed or recalled
	}
	if u.counted && c.Unread > 0 {
		c.Unread--
	}
	c.LastMessageID = ""
	if k := len(c.Messages); k > 0 {
		c.LastMessageID = c.Messages[k-1].MessageID
	}
	if u.fresh && len(c.Messages) == 0 {
		c.Deleted, c.Unread = true, 0
	}
	delete(e.seen, u.messageID)
	e.ring = slices.DeleteFunc(e.ring, func(id string) bool { return id == u.messageID })
	r.changedLocked(c, r.now())
	r.mu.Unlock()
	if err := r.flush(); err != nil {
		r.warn(ctx, "mixin: recent: store failed; the change is kept in memory and saved again later",
			slog.String("conversation_id", u.conversationID), slog.String("error", err.Error()))
	}
}

// Record records an inbound message: it becomes the conversation's last
// message and, unless it is from the bot itself (see [WithRecentSelf]),
// adds one to the unread count. SYSTEM_CONVERSATION, MESSAGE_PIN and
// MESSAGE_RECALL messages are changes but not unread; a recall also removes
// the recalled message from the kept history. Receipts (source
// ACKNOWLEDGE_MESSAGE_RECEIPT), messages without a conversation or message id,
// and ids already recorded in the conversation are ignored, so redeliveries
// are harmless: the last max(N, 64) ids of each conversation are remembered
// (N set by [WithRecentMessages]); after a restart, the ids of its kept
// messages. A message to a deleted conversation revives it with a fresh
// history.
func (r *Recent) Record(m *Message) { r.record(context.Background(), m, true) }

// RecordSent records a message the bot sent (e.g. what [Client.SendText]
// returned): it becomes the conversation's last message without changing the
// unread count.
func (r *Recent) RecordSent(m *Message) { r.record(context.Background(), m, false) }

// countsAsUnread reports whether a message of category c is content a user
// would see as unread, rather than a notice.
func countsAsUnread(c Category) bool {
	switch c {
	case CategorySystemConversation, CategoryMessagePin, CategoryMessageRecall:
		return false
	}
	return true
}

func (r *Recent) record(ctx context.Context, m *Message, inbound bool) recentUndo {
	if m == nil {
		return recentUndo{}
	}
	if strings.HasPrefix(m.Source, "ACKNOWLEDGE") {
		return recentUndo{}
	}
	if m.ConversationID == "" || m.MessageID == "" {
		r.debug(ctx, "mixin: recent: message without conversation or message id skipped",
			slog.String("conversation_id", m.ConversationID), slog.String("message_id", m.MessageID))
		return recentUndo{}
	}
	data, err := m.Bytes()
	if err != nil {
		data = nil
		r.debug(ctx, "mixin: recent: message data is not base64", slog.String("message_id", m.MessageID))
	}
	var recalled string
	if m.Category == CategoryMessageRecall && data != nil {
		if p, err := DecodePayload(m.Category, data); err == nil {
			if rp, ok := p.(*RecallPayload); ok {
				recalled = rp.MessageID
			}
		}
	}
	now := r.now()
	created := m.CreatedAt.UTC()
	if m.CreatedAt.IsZero() {
		created = now
	}

	r.mu.Lock()
	u := recentUndo{recorded: true, conversationID: m.ConversationID, messageID: m.MessageID}
	e, ok := r.convs[m.ConversationID]
	if !ok {
		u.fresh = true
		e = &recentEntry{conv: RecentConversation{ConversationID: m.ConversationID}, seen: map[string]struct{}{}}
		r.convs[m.ConversationID] = e
	}
	if _, dup := e.seen[m.MessageID]; dup {
		r.mu.Unlock()
		return recentUndo{}
	}
	e.remember(m.MessageID, r.dedupeLimit())
	c := &e.conv
	if c.Deleted {
		u.fresh = true
		c.Deleted = false
		c.Unread = 0
		c.Messages = nil
	}
	if recalled != "" {
		c.Messages = slices.DeleteFunc(c.Messages, func(x RecentMessage) bool { return x.MessageID == recalled })
	}
	c.LastMessageSeq++
	c.LastMessageID = m.MessageID
	c.Messages = append(c.Messages, RecentMessage{
		Seq: c.LastMessageSeq, MessageID: m.MessageID, UserID: m.UserID,
		Category: m.Category, Data: data, CreatedAt: created,
	})
	if n := len(c.Messages); n > r.cfg.messages {
		c.Messages = slices.Delete(c.Messages, 0, n-r.cfg.messages)
	}
	if inbound && countsAsUnread(m.Category) && (r.cfg.self == "" || m.UserID != r.cfg.self) {
		c.Unread++
		u.counted = true
	}
	r.changedLocked(c, now)
	r.mu.Unlock()

	if err := r.flush(); err != nil {
		r.warn(ctx, "mixin: recent: store failed; the change is kept in memory and saved again later",
			slog.String("conversation_id", m.ConversationID), slog.String("error", err.Error()))
	}
	return u
}

// changedLocked bumps the version for a change of c. r.mu must be held.
func (r *Recent) changedLocked(c *RecentConversation, now time.Time) {
	r.version++
	c.Version = r.version
	c.UpdatedAt = now
	r.dirty[c.ConversationID] = struct{}{}
}

// flush saves the conversations changed since the last successful save. It
// serialises store calls, so concurrent changes are saved in one call.
func (r *Recent) flush() error {
	if r.cfg.store == nil {
		r.mu.Lock()
		clear(r.dirty)
		r.mu.Unlock()
		return nil
	}
	r.saveMu.Lock()
	defer r.saveMu.Unlock()
	r.mu.Lock()
	if len(r.dirty) == 0 {
		r.mu.Unlock()
		return nil
	}
	changed := make([]RecentConversation, 0, len(r.dirty))
	for id := range r.dirty {
		changed = append(changed, r.convs[id].conv.clone())
	}
	version := r.version
	clear(r.dirty)
	r.mu.Unlock()
	slices.SortFunc(changed, func(a, b RecentConversation) int { return cmp.Compare(a.Version, b.Version) })

	err := r.cfg.store.Save(changed, version)

	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		for _, c := range changed {
			r.dirty[c.ConversationID] = struct{}{}
		}
		r.saveErr = err
		return fmt.Errorf("mixin: save recent conversations: %w", err)
	}
	r.saveErr = nil
	return nil
}

// Flush saves the conversations whose last save failed and returns the
// store's error, if it fails again. Without a pending failure it does nothing.
func (r *Recent) Flush() error { return r.flush() }

// Err returns the error of the last save, or nil if it succeeded.
func (r *Recent) Err() error {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.saveErr
}

// Version returns the current global version: the number of changes ever
// made (including those loaded from the store).
func (r *Recent) Version() uint64 {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.version
}

// List returns the conversations that are not deleted, most recent first:
// by the creation time of their last message, then by version.
func (r *Recent) List() []RecentConversation {
	r.mu.RLock()
	out := make([]RecentConversation, 0, len(r.convs))
	for _, e := range r.convs {
		if !e.conv.Deleted {
			out = append(out, e.conv.clone())
		}
	}
	r.mu.RUnlock()
	slices.SortFunc(out, func(a, b RecentConversation) int {
		if c := b.lastActivity().Compare(a.lastActivity()); c != 0 {
			return c
		}
		return cmp.Compare(b.Version, a.Version)
	})
	return out
}

// Get returns one conversation; deleted ones are not found.
func (r *Recent) Get(conversationID string) (RecentConversation, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	e, ok := r.convs[conversationID]
	if !ok || e.conv.Deleted {
		return RecentConversation{}, false
	}
	return e.conv.clone(), true
}

// Since returns every conversation changed after version, tombstones of
// deleted ones included, in the order of their changes (ascending Version),
// and the current version to pass next time. Since(0) is a full sync. A
// version newer than the current one (the store was reset) also gets
// everything, so a client can start over.
func (r *Recent) Since(version uint64) (changes []RecentConversation, current uint64) {
	r.mu.RLock()
	current = r.version
	if version > current {
		version = 0
	}
	for _, e := range r.convs {
		if e.conv.Version > version {
			changes = append(changes, e.conv.clone())
		}
	}
	r.mu.RUnlock()
	slices.SortFunc(changes, func(a, b RecentConversation) int { return cmp.Compare(a.Version, b.Version) })
	return changes, current
}

// SetUnread sets the unread count of a conversation (n ≥ 0). Setting the
// count it already has is not a change. Input errors, and a conversation that
// is not listed (unknown or deleted), are [*FieldError]s. If the store fails, the change is kept in
// memory and the store's error returned.
func (r *Recent) SetUnread(conversationID string, n int) error {
	if n < 0 {
		return &FieldError{Field: "unread", Reason: "is negative"}
	}
	return r.edit(conversationID, false, func(c *RecentConversation) bool {
		if c.Unread == n {
			return false
		}
		c.Unread = n
		return true
	})
}

// MarkRead sets the unread count of a conversation to zero; see
// [Recent.SetUnread].
func (r *Recent) MarkRead(conversationID string) error { return r.SetUnread(conversationID, 0) }

// Delete removes a conversation from the list, leaving a tombstone that
// [Recent.Since] reports so that clients drop it too. Its history and unread
// count are cleared; a later message revives it with a fresh history (and
// sequence numbers that keep counting). Deleting a deleted conversation does
// nothing.
func (r *Recent) Delete(conversationID string) error {
	return r.edit(conversationID, true, func(c *RecentConversation) bool {
		c.Deleted = true
		c.Unread = 0
		c.Messages = nil
		return true
	})
}

// edit applies fn to a listed conversation and saves it if fn reports a
// change. A tombstone is not found, unless onTombstoneOK: then it is a no-op.
func (r *Recent) edit(conversationID string, onTombstoneOK bool, fn func(*RecentConversation) bool) error {
	if conversationID == "" {
		return &FieldError{Field: "conversation_id", Reason: "is empty"}
	}
	r.mu.Lock()
	e, ok := r.convs[conversationID]
	if !ok || (e.conv.Deleted && !onTombstoneOK) {
		r.mu.Unlock()
		return &FieldError{Field: "conversation_id", Reason: "is not a recent conversation"}
	}
	if e.conv.Deleted || !fn(&e.conv) {
		r.mu.Unlock()
		return nil
	}
	r.changedLocked(&e.conv, r.now())
	r.mu.Unlock()
	return r.flush()
}

func (r *Recent) warn(ctx context.Context, msg string, attrs ...slog.Attr) {
	if r.cfg.logger != nil {
		r.cfg.logger.LogAttrs(ctx, slog.LevelWarn, msg, attrs...)
	}
}

func (r *Recent) debug(ctx context.Context, msg string, attrs ...slog.Attr) {
	if r.cfg.logger != nil {
		r.cfg.logger.LogAttrs(ctx, slog.LevelDebug, msg, attrs...)
	}
}
