package recent

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/gomixin/mixin"
	"github.com/gomixin/mixin/store"
)

// op is one change waiting for the next batch. apply runs in the batch's
// transaction; a *mixin.FieldError it returns is the op's own answer and
// must come before any write; any other error fails the whole batch.
type op struct {
	apply func(ctx context.Context, b *batch) error
	err   error
	done  chan struct{}
}

// batch is the state of one transaction applying queued ops.
type batch struct {
	t       *Tracker
	tx      *sql.Tx
	version int64
	now     time.Time
}

// bump returns the version of a new change.
func (b *batch) bump() int64 { b.version++; return b.version }

// batchTimeout bounds one batch's transaction; it runs for every op in it,
// so no one caller's ctx may cancel it.
const batchTimeout = 30 * time.Second

// submit queues fn and waits for the batch that applies it: the first
// caller to find no batch running runs batches until the queue is empty,
// so changes made meanwhile by others are committed together.
func (t *Tracker) submit(ctx context.Context, fn func(ctx context.Context, b *batch) error) error {
	o := &op{apply: fn, done: make(chan struct{})}
	t.mu.Lock()
	t.queue = append(t.queue, o)
	lead := !t.flushing
	t.flushing = true
	t.mu.Unlock()
	if lead {
		for {
			t.mu.Lock()
			ops := t.queue
			t.queue = nil
			if len(ops) == 0 {
				t.flushing = false
				t.mu.Unlock()
				break
			}
			t.mu.Unlock()
			t.run(ops)
		}
	}
	select {
	case <-o.done:
		return o.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// run applies ops in one transaction and tells each its outcome.
func (t *Tracker) run(ops []*op) {
	ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
	defer cancel()
	err := t.runTx(ctx, ops)
	for _, o := range ops {
		if err != nil {
			o.err = err
		}
		close(o.done)
	}
}

func (t *Tracker) runTx(ctx context.Context, ops []*op) error {
	tx, err := t.db.Writer().BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("recent: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	if err := t.applyTx(ctx, tx, ops); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("recent: %w", err)
	}
	t.batches.Add(1)
	return nil
}

// applyTx applies ops in tx, which the caller commits.
func (t *Tracker) applyTx(ctx context.Context, tx *sql.Tx, ops []*op) error {
	lock := `SELECT version FROM recent_state WHERE id = 1`
	if t.db.Dialect() == store.DialectPostgreSQL {
		lock += ` FOR UPDATE` // one batch at a time, across processes
	}
	b := &batch{t: t, tx: tx, now: t.db.Now()}
	if err := tx.QueryRowContext(ctx, lock).Scan(&b.version); err != nil {
		return fmt.Errorf("recent: %w", err)
	}
	start := b.version
	for _, o := range ops {
		if err := o.apply(ctx, b); err != nil {
			var fe *mixin.FieldError
			if !errors.As(err, &fe) {
				return fmt.Errorf("recent: %w", err)
			}
			o.err = err
		}
	}
	if err := t.pruneTx(ctx, b); err != nil {
		return fmt.Errorf("recent: prune: %w", err)
	}
	if b.version != start {
		if _, err := tx.ExecContext(ctx, t.q(`UPDATE recent_state SET version = ? WHERE id = 1`), b.version); err != nil {
			return fmt.Errorf("recent: %w", err)
		}
	}
	return nil
}

// inHandlerTx applies fn in the transaction of the handler attempt ctx
// belongs to, if the handler began one ([mixin.Tx]) on this tracker's
// store: the change then commits with the handler's work, or not at all,
// and waits for no other writer. False if there is no such transaction.
func (t *Tracker) inHandlerTx(ctx context.Context, fn func(ctx context.Context, b *batch) error) (bool, error) {
	st, tx, ok := mixin.CurrentTx(ctx)
	if !ok || st != mixin.Store(t.db) {
		return false, nil
	}
	o := &op{apply: fn, done: make(chan struct{})}
	if err := t.applyTx(ctx, tx, []*op{o}); err != nil {
		return true, err
	}
	return true, o.err
}

// pruneEvery is how often a batch also prunes old tombstones.
const pruneEvery = time.Hour

// pruneTx deletes the tombstones older than the horizon, at most once per
// pruneEvery, remembering the highest version deleted.
func (t *Tracker) pruneTx(ctx context.Context, b *batch) error {
	t.mu.Lock()
	due := b.now.Sub(t.pruned) >= pruneEvery
	if due {
		t.pruned = b.now
	}
	t.mu.Unlock()
	if !due {
		return nil
	}
	return t.pruneBefore(ctx, b.tx, b.now.Add(-t.cfg.horizon))
}

func (t *Tracker) pruneBefore(ctx context.Context, tx *sql.Tx, before time.Time) error {
	var top sql.NullInt64
	if err := tx.QueryRowContext(ctx, t.q(`SELECT max(version) FROM recent_conversations WHERE deleted = 1 AND updated_at < ?`),
		before.UnixMilli()).Scan(&top); err != nil {
		return err
	}
	if !top.Valid {
		return nil
	}
	if _, err := tx.ExecContext(ctx, t.q(`DELETE FROM recent_conversations WHERE deleted = 1 AND updated_at < ?`), before.UnixMilli()); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, t.q(`UPDATE recent_state SET pruned_version = ? WHERE id = 1 AND pruned_version < ?`), top.Int64, top.Int64)
	return err
}

// Prune deletes now the tombstones older than the horizon
// ([WithTombstoneHorizon]); batches also do it once an hour.
func (t *Tracker) Prune(ctx context.Context) error {
	return t.submit(ctx, func(ctx context.Context, b *batch) error {
		return t.pruneBefore(ctx, b.tx, b.now.Add(-t.cfg.horizon))
	})
}

// convRow is a conversation's row as a change reads and writes it.
type convRow struct {
	exists  bool
	kind    int64
	unread  int64
	seq     int64
	lastID  string
	deleted bool
}

func (b *batch) conv(ctx context.Context, id string) (convRow, error) {
	var r convRow
	var deleted int64
	err := b.tx.QueryRowContext(ctx, b.t.q(`SELECT kind, unread, last_seq, last_message_id, deleted FROM recent_conversations WHERE conversation_id = ?`), id).
		Scan(&r.kind, &r.unread, &r.seq, &r.lastID, &deleted)
	if errors.Is(err, sql.ErrNoRows) {
		return convRow{}, nil
	}
	r.exists, r.deleted = err == nil, deleted != 0
	return r, err
}

// save writes r as conversation id's new state, at a new version.
func (b *batch) save(ctx context.Context, id string, r convRow) error {
	deleted := 0
	if r.deleted {
		deleted = 1
	}
	_, err := b.tx.ExecContext(ctx, b.t.q(`INSERT INTO recent_conversations
		(conversation_id, kind, unread, last_seq, last_message_id, version, updated_at, deleted) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (conversation_id) DO UPDATE SET kind = excluded.kind, unread = excluded.unread, last_seq = excluded.last_seq,
		last_message_id = excluded.last_message_id, version = excluded.version, updated_at = excluded.updated_at, deleted = excluded.deleted`),
		id, r.kind, r.unread, r.seq, r.lastID, b.bump(), b.now.UnixMilli(), deleted)
	return err
}

// lastKept returns the id of the conversation's newest kept message, or "".
func (b *batch) lastKept(ctx context.Context, id string) (string, error) {
	var last string
	err := b.tx.QueryRowContext(ctx, b.t.q(`SELECT message_id FROM recent_messages WHERE conversation_id = ? ORDER BY seq DESC LIMIT 1`), id).Scan(&last)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return last, err
}

// countsAsUnread reports whether a message of category c is content a user
// would see as unread, rather than a notice.
func countsAsUnread(c mixin.Category) bool {
	switch c {
	case mixin.CategorySystemConversation, mixin.CategoryMessagePin, mixin.CategoryMessageRecall:
		return false
	}
	return true
}

// entry is a message prepared for recording.
type entry struct {
	conv, id, user string
	category       mixin.Category
	data           []byte
	recalled       string
	created        time.Time
	inbound        bool
}

// recorded is what recording a message did, for undoing it.
type recorded struct {
	ok      bool // the message was recorded (not skipped, not a repeat)
	counted bool // it added one to unread
	fresh   bool // it created or revived the conversation
}

// prepare turns m into an entry; false if it is not recorded at all.
func (t *Tracker) prepare(ctx context.Context, m *mixin.Message, inbound bool) (entry, bool) {
	if m == nil || strings.HasPrefix(m.Source, "ACKNOWLEDGE") {
		return entry{}, false
	}
	if m.ConversationID == "" || m.MessageID == "" {
		t.debug(ctx, "recent: message without conversation or message id skipped",
			slog.String("conversation_id", m.ConversationID), slog.String("message_id", m.MessageID))
		return entry{}, false
	}
	e := entry{conv: m.ConversationID, id: m.MessageID, user: m.UserID, category: m.Category, created: m.CreatedAt.UTC(), inbound: inbound}
	data, err := m.Bytes()
	if err != nil {
		t.debug(ctx, "recent: message data is not base64", slog.String("message_id", m.MessageID))
		data = nil
	}
	e.data = data
	if m.Category == mixin.CategoryMessageRecall {
		if p, err := m.Payload(); err == nil {
			if rp, ok := recallOf(p); ok {
				e.recalled = rp
			}
		}
	}
	return e, true
}

// kindOf guesses the conversation's kind from an inbound message: the
// contact conversation of the sender and the bot is the id
// [mixin.UniqueConversationID] gives them.
func (t *Tracker) kindOf(e entry) int64 {
	if !e.inbound || t.cfg.self == "" || e.user == "" || e.user == t.cfg.self {
		return int64(KindUnknown)
	}
	if mixin.UniqueConversationID(e.user, t.cfg.self) == e.conv {
		return int64(KindContact)
	}
	return int64(KindGroup)
}

// record applies one message in b.
func (t *Tracker) record(ctx context.Context, b *batch, e entry) (recorded, error) {
	var dup int
	err := b.tx.QueryRowContext(ctx, t.q(`SELECT count(*) FROM recent_messages WHERE conversation_id = ? AND message_id = ?`), e.conv, e.id).Scan(&dup)
	if err != nil || dup > 0 {
		return recorded{}, err // a repeat: no change
	}
	r, err := b.conv(ctx, e.conv)
	if err != nil {
		return recorded{}, err
	}
	res := recorded{ok: true, fresh: !r.exists || r.deleted}
	if r.deleted {
		r.deleted, r.unread = false, 0
	}
	if k := t.kindOf(e); k != int64(KindUnknown) {
		r.kind = k
	}
	if e.recalled != "" {
		if _, err := b.tx.ExecContext(ctx, t.q(`DELETE FROM recent_messages WHERE conversation_id = ? AND message_id = ?`), e.conv, e.recalled); err != nil {
			return recorded{}, err
		}
	}
	r.seq++
	r.lastID = e.id
	unread := e.inbound && countsAsUnread(e.category) && (t.cfg.self == "" || e.user != t.cfg.self)
	if unread {
		r.unread++
		res.counted = true
	}
	created := e.created
	if created.IsZero() {
		created = b.now
	}
	if err := b.save(ctx, e.conv, r); err != nil {
		return recorded{}, err
	}
	if _, err := b.tx.ExecContext(ctx, t.q(`INSERT INTO recent_messages
		(conversation_id, seq, num, message_id, user_id, category, data, unread, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		e.conv, r.seq, b.version, e.id, e.user, string(e.category), e.data, boolInt(unread), created.UnixMilli()); err != nil {
		return recorded{}, err
	}
	if _, err := b.tx.ExecContext(ctx, t.q(`DELETE FROM recent_messages WHERE conversation_id = ? AND seq <= ?`), e.conv, r.seq-int64(t.keep())); err != nil {
		return recorded{}, err
	}
	return res, nil
}

// minDedupe is the smallest number of messages kept per conversation to
// recognise redeliveries, however few [WithMessages] shows.
const minDedupe = 64

// keep is how many messages are kept per conversation: those shown and,
// hidden, enough more to recognise redeliveries.
func (t *Tracker) keep() int { return max(t.cfg.messages, minDedupe) }

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// undo takes a message out again (its handler failed): its history entry,
// its unread count; a conversation it created or revived that holds nothing
// else becomes a tombstone. Messages trimmed to make room for it, and a
// recall's effect, stay lost.
func (t *Tracker) undo(ctx context.Context, b *batch, e entry, res recorded) error {
	r, err := b.conv(ctx, e.conv)
	if err != nil || !r.exists {
		return err
	}
	out, err := b.tx.ExecContext(ctx, t.q(`DELETE FROM recent_messages WHERE conversation_id = ? AND message_id = ?`), e.conv, e.id)
	if err != nil {
		return err
	}
	if n, err := out.RowsAffected(); err != nil || n == 0 {
		return err // already gone: deleted, trimmed or recalled
	}
	if res.counted && r.unread > 0 {
		r.unread--
	}
	if r.lastID, err = b.lastKept(ctx, e.conv); err != nil {
		return err
	}
	if res.fresh && r.lastID == "" {
		r.deleted, r.unread = true, 0
	}
	return b.save(ctx, e.conv, r)
}

// Record records an inbound message: it becomes the conversation's last
// message and, unless it is from the bot itself (see [WithSelf]), adds one
// to the unread count. SYSTEM_CONVERSATION, MESSAGE_PIN and MESSAGE_RECALL
// messages are changes but not unread; a recall also removes the recalled
// message from the kept history. Receipts, messages without a conversation
// or message id, and ids among the conversation's last max(N, 64) messages
// (N set by [WithMessages]) are ignored, so redeliveries are harmless. A
// message to a deleted conversation revives it with a fresh history.
func (t *Tracker) Record(ctx context.Context, m *mixin.Message) error {
	_, err := t.recordOne(ctx, m, true)
	return err
}

// RecordSent records a message the bot sent: it becomes the conversation's
// last message without changing the unread count.
func (t *Tracker) RecordSent(ctx context.Context, m *mixin.Message) error {
	_, err := t.recordOne(ctx, m, false)
	return err
}

func (t *Tracker) recordOne(ctx context.Context, m *mixin.Message, inbound bool) (recorded, error) {
	e, ok := t.prepare(ctx, m, inbound)
	if !ok {
		return recorded{}, nil
	}
	var res recorded
	err := t.submit(ctx, func(ctx context.Context, b *batch) error {
		var err error
		res, err = t.record(ctx, b, e)
		return err
	})
	return res, err
}

// SentHook returns the function to give [mixin.WithSentHook], so that
// every message the client sends is recorded with [Tracker.RecordSent],
// all the messages of one batch send in one change. A send from a handler
// that took the message's transaction ([mixin.Tx]) on this tracker's store
// is recorded in that transaction. A store failure is logged: the message
// was sent.
func (t *Tracker) SentHook() func(ctx context.Context, sent []*mixin.Message) {
	return func(ctx context.Context, sent []*mixin.Message) {
		entries := make([]entry, 0, len(sent))
		for _, m := range sent {
			if e, ok := t.prepare(ctx, m, false); ok {
				entries = append(entries, e)
			}
		}
		if len(entries) == 0 {
			return
		}
		apply := func(ctx context.Context, b *batch) error {
			for _, e := range entries {
				if _, err := t.record(ctx, b, e); err != nil {
					return err
				}
			}
			return nil
		}
		done, err := t.inHandlerTx(ctx, apply)
		if !done {
			err = t.submit(context.WithoutCancel(ctx), apply)
		}
		if err != nil {
			t.warn(ctx, "recent: sent messages not recorded", slog.Int("messages", len(entries)), slog.String("error", err.Error()))
		}
	}
}

// Middleware records every message its handler handles, as
// [Tracker.Record] does. The message is recorded before the handler runs,
// so that the replies it sends come after it; if recording fails, the
// handler is not called and the error is returned (the loop retries the
// message later). If the handler fails or panics, the message is taken out
// again (a change of its own) and recorded when a retry succeeds. Wrapping
// a nil handler panics, when it is wrapped.
func (t *Tracker) Middleware() mixin.Middleware {
	return func(next mixin.Handler) mixin.Handler {
		if f, ok := next.(mixin.HandlerFunc); next == nil || (ok && f == nil) {
			panic("recent: Tracker.Middleware: nil handler to wrap")
		}
		return mixin.HandlerFunc(func(ctx context.Context, msg *mixin.Message) (err error) {
			e, ok := t.prepare(ctx, msg, true)
			if !ok {
				return next.HandleMessage(ctx, msg)
			}
			var res recorded
			if err := t.submit(ctx, func(ctx context.Context, b *batch) error {
				var err error
				res, err = t.record(ctx, b, e)
				return err
			}); err != nil {
				return err
			}
			if !res.ok {
				return next.HandleMessage(ctx, msg)
			}
			defer func() {
				p := recover()
				if p != nil || err != nil {
					if uerr := t.submit(context.WithoutCancel(ctx), func(ctx context.Context, b *batch) error { return t.undo(ctx, b, e, res) }); uerr != nil {
						t.warn(ctx, "recent: failed message not taken out", slog.String("message_id", e.id), slog.String("error", uerr.Error()))
					}
				}
				if p != nil {
					panic(p) // for the loop to handle
				}
			}()
			return next.HandleMessage(ctx, msg)
		})
	}
}

// SetUnread sets the unread count of a listed conversation (n ≥ 0). Setting
// the count it has is not a change. Input errors and a conversation that is
// not listed (unknown or deleted) are [*mixin.FieldError]s.
func (t *Tracker) SetUnread(ctx context.Context, conversationID string, n int) error {
	if n < 0 {
		return &mixin.FieldError{Field: "unread", Reason: "is negative"}
	}
	return t.edit(ctx, conversationID, false, func(r *convRow) bool {
		if r.unread == int64(n) {
			return false
		}
		r.unread = int64(n)
		return true
	})
}

// MarkRead sets the unread count of a conversation to zero; see
// [Tracker.SetUnread].
func (t *Tracker) MarkRead(ctx context.Context, conversationID string) error {
	return t.SetUnread(ctx, conversationID, 0)
}

// Delete removes a conversation from the list, leaving a tombstone that
// [Tracker.Since] reports so that clients drop it too (until the tombstone
// is pruned). Its history and unread count are cleared; a later message
// revives it with a fresh history and sequence numbers that keep counting.
// Deleting a deleted conversation does nothing; an unknown one is a
// [*mixin.FieldError].
func (t *Tracker) Delete(ctx context.Context, conversationID string) error {
	return t.edit(ctx, conversationID, true, func(r *convRow) bool {
		r.deleted, r.unread = true, 0
		return true
	})
}

// edit applies fn to a listed conversation and saves it if fn reports a
// change. A tombstone is not found unless onTombstoneOK: then it is a no-op.
func (t *Tracker) edit(ctx context.Context, id string, onTombstoneOK bool, fn func(*convRow) bool) error {
	if id == "" {
		return &mixin.FieldError{Field: "conversation_id", Reason: "is empty"}
	}
	return t.submit(ctx, func(ctx context.Context, b *batch) error {
		r, err := b.conv(ctx, id)
		if err != nil {
			return err
		}
		if !r.exists || (r.deleted && !onTombstoneOK) {
			return errNotListed()
		}
		if r.deleted || !fn(&r) {
			return nil
		}
		if r.deleted {
			if _, err := b.tx.ExecContext(ctx, t.q(`DELETE FROM recent_messages WHERE conversation_id = ?`), id); err != nil {
				return err
			}
			r.lastID = ""
		}
		return b.save(ctx, id, r)
	})
}

// sortByActivity orders conversations most recent first: by their last
// message's creation time, then by version.
func sortByActivity(cs []Conversation) {
	slices.SortFunc(cs, func(a, b Conversation) int {
		if c := b.lastActivity().Compare(a.lastActivity()); c != 0 {
			return c
		}
		return cmp.Compare(b.Version, a.Version)
	})
}
