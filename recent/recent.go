// Package recent keeps a recent-conversation list, as IM servers keep one
// for their clients: per conversation the unread count, the last message's
// sequence number and id, the last N messages and a version for incremental
// sync, with set-unread and delete. It lives in a [store.DB] (SQLite or
// PostgreSQL), so a restarted bot answers "what changed since version V" as
// before, and several processes may share one list.
//
// Feed it with [Tracker.Middleware] around the blaze handler and with
// [Tracker.SentHook] given to the client ([mixin.WithSentHook]); read it
// with [Tracker.List] and [Tracker.Since]; serve it to a support dashboard
// with [Tracker.Handler], an HTTP API in the convention of WuKongIM's
// recent-conversation server API (POST /conversation/sync,
// /conversations/setUnread, /conversations/delete) whose wire format,
// deletions and versions included, is documented there.
package recent

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gomixin/mixin"
	"github.com/gomixin/mixin/store"
)

// DefaultMessages is how many messages are kept per conversation unless
// [WithMessages] says otherwise.
const DefaultMessages = 20

// MaxMessages is the largest value [WithMessages] accepts.
const MaxMessages = 1000

// DefaultTombstoneHorizon is how long a deleted conversation's tombstone is
// kept for incremental sync unless [WithTombstoneHorizon] says otherwise.
const DefaultTombstoneHorizon = 30 * 24 * time.Hour

// Kind says whether a conversation is a contact (one user and the bot) or
// a group conversation: channel_type in the HTTP API ([Tracker.Handler]).
type Kind int

// The kinds of conversation. KindUnknown is a conversation known only from
// the bot's own messages, before a user wrote in it.
const (
	KindUnknown Kind = 0
	KindContact Kind = 1
	KindGroup   Kind = 2
)

// Conversation is one entry of the list.
type Conversation struct {
	ConversationID string
	Kind           Kind
	// Unread counts the messages received from others since the
	// conversation was last marked read ([Tracker.MarkRead],
	// [Tracker.SetUnread]).
	Unread int
	// LastMessageSeq is the sequence number of the last recorded message.
	// It counts per conversation from 1 and is not reused after a delete
	// and revival (only after a tombstone is pruned).
	LastMessageSeq uint64
	// LastMessageID is the id of the last kept message.
	LastMessageID string
	// Version is the list's version ([Tracker.Version]) at the
	// conversation's last change.
	Version uint64
	// UpdatedAt is when the conversation last changed (the store's clock).
	UpdatedAt time.Time
	// Messages are the last recorded messages, oldest first.
	Messages []Message
	// Deleted marks a tombstone left by [Tracker.Delete]: reported by
	// [Tracker.Since], not by [Tracker.List] or [Tracker.Get].
	Deleted bool
}

// Message is one kept message.
type Message struct {
	// Seq is the message's sequence number in its conversation.
	Seq uint64
	// Num is a number unique across the list's messages (message_id in
	// the HTTP API).
	Num       uint64
	MessageID string
	UserID    string
	Category  mixin.Category
	// Data is the decoded payload; nil when the message's data was not
	// valid base64.
	Data []byte
	// Unread says the message counted as unread when it came.
	Unread    bool
	CreatedAt time.Time
}

// lastActivity is when the conversation's last message was created.
func (c *Conversation) lastActivity() time.Time {
	if n := len(c.Messages); n > 0 {
		return c.Messages[n-1].CreatedAt
	}
	return time.Time{}
}

// Option configures [New].
type Option interface {
	apply(*config) error
}

type option func(*config) error

func (f option) apply(c *config) error { return f(c) }

type config struct {
	messages int
	horizon  time.Duration
	logger   *slog.Logger
	self     string
}

// WithMessages sets how many messages are kept per conversation (default
// [DefaultMessages], 1 to [MaxMessages]).
func WithMessages(n int) Option {
	return option(func(c *config) error {
		if n < 1 || n > MaxMessages {
			return &mixin.FieldError{Field: "recent messages", Reason: fmt.Sprintf("must be 1 to %d", MaxMessages)}
		}
		c.messages = n
		return nil
	})
}

// WithTombstoneHorizon sets how long the tombstone of a deleted conversation
// is kept (default [DefaultTombstoneHorizon]). A client that syncs from a
// version older than a pruned tombstone gets a full sync.
func WithTombstoneHorizon(d time.Duration) Option {
	return option(func(c *config) error {
		if d <= 0 {
			return &mixin.FieldError{Field: "tombstone horizon", Reason: "must be positive"}
		}
		c.horizon = d
		return nil
	})
}

// WithLogger makes the tracker log through l: store failures it cannot
// return at warn level, skipped messages at debug level. Without it the
// tracker is silent.
func WithLogger(l *slog.Logger) Option {
	return option(func(c *config) error { c.logger = l; return nil })
}

// WithSelf names the bot's own user id ([mixin.Client.AppID]): its messages
// never count as unread, and a conversation whose id is the contact
// conversation of the sender and the bot is a [KindContact].
func WithSelf(botUserID string) Option {
	return option(func(c *config) error {
		if botUserID == "" {
			return &mixin.FieldError{Field: "recent self", Reason: "is empty"}
		}
		c.self = botUserID
		return nil
	})
}

// Tracker keeps the list in a store. It is safe for concurrent use, and
// several trackers (in several processes) may share one store.
//
// Every change bumps the list's version. Changes made at the same time are
// committed together, in one transaction: recording a burst of messages
// costs one store write per batch, not one per message.
type Tracker struct {
	cfg config
	db  *store.DB

	mu       sync.Mutex
	queue    []*op
	flushing bool
	pruned   time.Time // when tombstones were last pruned

	batches atomic.Int64 // transactions committed
}

//go:embed migrations
var migrations embed.FS

// New returns a tracker on db, creating or upgrading its tables.
func New(ctx context.Context, db *store.DB, opts ...Option) (*Tracker, error) {
	if db == nil {
		return nil, &mixin.FieldError{Field: "recent store", Reason: "is nil"}
	}
	cfg := config{messages: DefaultMessages, horizon: DefaultTombstoneHorizon}
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o.apply(&cfg); err != nil {
			return nil, err
		}
	}
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return nil, err
	}
	if err := db.Migrate(ctx, "recent", sub); err != nil {
		return nil, fmt.Errorf("recent: %w", err)
	}
	return &Tracker{cfg: cfg, db: db}, nil
}

func (t *Tracker) q(s string) string { return t.db.Dialect().Rebind(s) }

// readTx opens a read-only snapshot, so that a conversation and its
// messages are read as of one moment.
func (t *Tracker) readTx(ctx context.Context) (*sql.Tx, error) {
	opts := &sql.TxOptions{ReadOnly: true}
	if t.db.Dialect() == store.DialectPostgreSQL {
		opts.Isolation = sql.LevelRepeatableRead
	}
	tx, err := t.db.SQL().BeginTx(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("recent: %w", err)
	}
	return tx, nil
}

// Version returns the list's current version: the number of changes ever
// made.
func (t *Tracker) Version(ctx context.Context) (uint64, error) {
	var v int64
	if err := t.db.SQL().QueryRowContext(ctx, `SELECT version FROM recent_state WHERE id = 1`).Scan(&v); err != nil {
		return 0, fmt.Errorf("recent: %w", err)
	}
	return uint64(v), nil
}

// List returns the conversations that are not deleted, most recent first:
// by the creation time of their last message, then by version.
func (t *Tracker) List(ctx context.Context) ([]Conversation, error) {
	tx, err := t.readTx(ctx)
	if err != nil {
		return nil, err
	}
	defer func() { _ = tx.Rollback() }()
	out, err := t.load(ctx, tx, `c.deleted = 0`)
	if err != nil {
		return nil, err
	}
	sortByActivity(out)
	return out, nil
}

// Get returns one conversation; deleted ones are not found.
func (t *Tracker) Get(ctx context.Context, conversationID string) (Conversation, bool, error) {
	tx, err := t.readTx(ctx)
	if err != nil {
		return Conversation{}, false, err
	}
	defer func() { _ = tx.Rollback() }()
	out, err := t.load(ctx, tx, `c.deleted = 0 AND c.conversation_id = ?`, conversationID)
	if err != nil || len(out) == 0 {
		return Conversation{}, false, err
	}
	return out[0], true, nil
}

// Sync is the answer of [Tracker.Since].
type Sync struct {
	// Changes are the conversations changed after the version asked for,
	// tombstones included, in the order of their changes (ascending
	// Version); for a full sync, every listed conversation.
	Changes []Conversation
	// Version is the list's version, to pass next time.
	Version uint64
	// Full says the client must replace what it has with Changes: it
	// asked from version 0, from a version newer than the list's (the
	// store was reset), or from one older than a pruned tombstone.
	Full bool
}

// Since returns what changed after version.
func (t *Tracker) Since(ctx context.Context, version uint64) (Sync, error) {
	tx, err := t.readTx(ctx)
	if err != nil {
		return Sync{}, err
	}
	defer func() { _ = tx.Rollback() }()
	var cur, pruned int64
	if err := tx.QueryRowContext(ctx, `SELECT version, pruned_version FROM recent_state WHERE id = 1`).Scan(&cur, &pruned); err != nil {
		return Sync{}, fmt.Errorf("recent: %w", err)
	}
	s := Sync{Version: uint64(cur)}
	if version == 0 || version > s.Version || int64(version) < pruned {
		s.Full = true
		s.Changes, err = t.load(ctx, tx, `c.deleted = 0`)
	} else {
		s.Changes, err = t.load(ctx, tx, `c.version > ?`, int64(version))
	}
	return s, err
}

// load reads the conversations matching where (on c, with args) and their
// messages, in ascending version.
func (t *Tracker) load(ctx context.Context, tx *sql.Tx, where string, args ...any) ([]Conversation, error) {
	rows, err := tx.QueryContext(ctx, t.q(`SELECT c.conversation_id, c.kind, c.unread, c.last_seq, c.last_message_id,
		c.version, c.updated_at, c.deleted FROM recent_conversations c WHERE `+where+` ORDER BY c.version`), args...)
	if err != nil {
		return nil, fmt.Errorf("recent: %w", err)
	}
	var out []Conversation
	index := map[string]int{}
	for rows.Next() {
		var c Conversation
		var kind, unread, seq, version, updated, deleted int64
		if err := rows.Scan(&c.ConversationID, &kind, &unread, &seq, &c.LastMessageID, &version, &updated, &deleted); err != nil {
			rows.Close()
			return nil, fmt.Errorf("recent: %w", err)
		}
		c.Kind, c.Unread, c.LastMessageSeq, c.Version = Kind(kind), int(unread), uint64(seq), uint64(version)
		c.UpdatedAt, c.Deleted = time.UnixMilli(updated).UTC(), deleted != 0
		index[c.ConversationID] = len(out)
		out = append(out, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("recent: %w", err)
	}
	if len(out) == 0 {
		return nil, nil
	}
	rows, err = tx.QueryContext(ctx, t.q(`SELECT m.conversation_id, m.seq, m.num, m.message_id, m.user_id, m.category,
		m.data, m.unread, m.created_at FROM recent_messages m JOIN recent_conversations c ON c.conversation_id = m.conversation_id
		WHERE m.seq > c.last_seq - `+strconv.Itoa(t.cfg.messages)+` AND `+where+` ORDER BY m.conversation_id, m.seq`), args...)
	if err != nil {
		return nil, fmt.Errorf("recent: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var conv, cat string
		var m Message
		var seq, num, unread, created int64
		if err := rows.Scan(&conv, &seq, &num, &m.MessageID, &m.UserID, &cat, &m.Data, &unread, &created); err != nil {
			return nil, fmt.Errorf("recent: %w", err)
		}
		m.Seq, m.Num, m.Category, m.Unread = uint64(seq), uint64(num), mixin.Category(cat), unread != 0
		m.CreatedAt = time.UnixMilli(created).UTC()
		if i, ok := index[conv]; ok {
			out[i].Messages = append(out[i].Messages, m)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("recent: %w", err)
	}
	return out, nil
}

func (t *Tracker) warn(ctx context.Context, msg string, attrs ...slog.Attr) {
	if t.cfg.logger != nil {
		t.cfg.logger.LogAttrs(ctx, slog.LevelWarn, msg, attrs...)
	}
}

func (t *Tracker) debug(ctx context.Context, msg string, attrs ...slog.Attr) {
	if t.cfg.logger != nil {
		t.cfg.logger.LogAttrs(ctx, slog.LevelDebug, msg, attrs...)
	}
}

// errNotListed is the error of an edit of a conversation not in the list.
func errNotListed() error {
	return &mixin.FieldError{Field: "conversation_id", Reason: "is not a recent conversation"}
}

// recallOf returns the id a MESSAGE_RECALL payload recalls.
func recallOf(p any) (string, bool) {
	switch rp := p.(type) {
	case *mixin.RecallPayload:
		return rp.MessageID, rp != nil
	case mixin.RecallPayload:
		return rp.MessageID, true
	}
	return "", false
}
