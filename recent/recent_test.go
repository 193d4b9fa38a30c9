package recent_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/gomixin/mixin"
	"github.com/gomixin/mixin/internal/pgtest"
	"github.com/gomixin/mixin/mixintest"
	"github.com/gomixin/mixin/recent"
	"github.com/gomixin/mixin/store"
	"github.com/gomixin/mixin/store/postgres"
	"github.com/gomixin/mixin/store/sqlite"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const recentBot = "b0b0b0b0-0000-4000-8000-000000000001"

// opener opens (again) one database, as a restarted or second process
// would.
type opener func(t *testing.T) *store.DB

// eachBackend runs fn on a fresh SQLite file and a fresh PostgreSQL schema
// (skipped without a server).
func eachBackend(t *testing.T, fn func(t *testing.T, open opener)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, sqliteOpener(t, nil)) })
	t.Run("postgres", func(t *testing.T) { fn(t, postgresOpener(t, nil)) })
}

func sqliteOpener(t *testing.T, now func() time.Time) opener {
	path := filepath.Join(t.TempDir(), "recent.db")
	return func(t *testing.T) *store.DB {
		var opts []sqlite.Option
		if now != nil {
			opts = append(opts, sqlite.WithClock(now))
		}
		db, err := sqlite.Open(t.Context(), path, opts...)
		require.NoError(t, err)
		t.Cleanup(func() { _ = db.Close() })
		return db
	}
}

func postgresOpener(t *testing.T, now func() time.Time) opener {
	url := pgtest.Fresh(t)
	return func(t *testing.T) *store.DB {
		var opts []postgres.Option
		if now != nil {
			opts = append(opts, postgres.WithClock(now))
		}
		db, err := postgres.Open(t.Context(), url, opts...)
		require.NoError(t, err)
		t.Cleanup(func() { _ = db.Close() })
		return db
	}
}

// msgs makes inbound messages with fresh ids and increasing times.
type msgs struct {
	mu sync.Mutex
	at time.Time
}

func newMsgs() *msgs { return &msgs{at: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (f *msgs) text(conv, user, text string) *mixin.Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.at = f.at.Add(time.Second)
	return &mixin.Message{
		Type: "message", ConversationID: conv, UserID: user, MessageID: mixin.NewUUID(),
		Category: mixin.CategoryPlainText, DataBase64: mixin.EncodeBase64Data([]byte(text)), CreatedAt: f.at,
	}
}

func newTracker(t *testing.T, db *store.DB, opts ...recent.Option) *recent.Tracker {
	t.Helper()
	r, err := recent.New(t.Context(), db, append([]recent.Option{recent.WithSelf(recentBot)}, opts...)...)
	require.NoError(t, err)
	return r
}

func texts(c recent.Conversation) []string {
	var out []string
	for _, m := range c.Messages {
		out = append(out, string(m.Data))
	}
	return out
}

func ids(cs []recent.Conversation) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.ConversationID)
	}
	return out
}

func get(t *testing.T, r *recent.Tracker, id string) (recent.Conversation, bool) {
	t.Helper()
	c, ok, err := r.Get(t.Context(), id)
	require.NoError(t, err)
	return c, ok
}

func version(t *testing.T, r *recent.Tracker) uint64 {
	t.Helper()
	v, err := r.Version(t.Context())
	require.NoError(t, err)
	return v
}

func list(t *testing.T, r *recent.Tracker) []recent.Conversation {
	t.Helper()
	l, err := r.List(t.Context())
	require.NoError(t, err)
	return l
}

func since(t *testing.T, r *recent.Tracker, v uint64) recent.Sync {
	t.Helper()
	s, err := r.Since(t.Context(), v)
	require.NoError(t, err)
	return s
}

func TestOptions(t *testing.T) {
	db := sqliteOpener(t, nil)(t)
	for _, o := range []recent.Option{
		recent.WithMessages(0), recent.WithMessages(recent.MaxMessages + 1),
		recent.WithSelf(""), recent.WithTombstoneHorizon(0),
	} {
		_, err := recent.New(t.Context(), db, o)
		var fe *mixin.FieldError
		require.ErrorAs(t, err, &fe)
		assert.ErrorIs(t, err, mixin.ErrInvalidInput)
	}
	_, err := recent.New(t.Context(), nil)
	assert.ErrorIs(t, err, mixin.ErrInvalidInput)
}

func TestUnreadSelfAndNotices(t *testing.T) {
	eachBackend(t, func(t *testing.T, open opener) {
		ctx := t.Context()
		r := newTracker(t, open(t))
		f := newMsgs()
		require.NoError(t, r.Record(ctx, f.text("c1", "alice", "one")))
		require.NoError(t, r.Record(ctx, f.text("c1", "alice", "two")))
		require.NoError(t, r.Record(ctx, f.text("c1", recentBot, "from another bot session")))
		sent := f.text("c1", recentBot, "reply")
		require.NoError(t, r.RecordSent(ctx, sent))

		c, ok := get(t, r, "c1")
		require.True(t, ok)
		assert.Equal(t, 2, c.Unread, "the bot's own messages are not unread")
		assert.Equal(t, uint64(4), c.LastMessageSeq)
		assert.Equal(t, sent.MessageID, c.LastMessageID)
		assert.Equal(t, []string{"one", "two", "from another bot session", "reply"}, texts(c))
		assert.Equal(t, []bool{true, true, false, false}, []bool{c.Messages[0].Unread, c.Messages[1].Unread, c.Messages[2].Unread, c.Messages[3].Unread})
		assert.Equal(t, uint64(4), c.Version)
		assert.Equal(t, uint64(4), version(t, r))

		sys := f.text("c1", "alice", "")
		sys.Category = mixin.CategorySystemConversation
		sys.DataBase64 = mixin.EncodeBase64Data([]byte(`{"action":"ADD","participant_id":"` + recentBot + `"}`))
		require.NoError(t, r.Record(ctx, sys))
		c, _ = get(t, r, "c1")
		assert.Equal(t, 2, c.Unread, "SYSTEM_CONVERSATION is not unread")
		assert.Equal(t, uint64(5), c.LastMessageSeq)
		assert.Equal(t, uint64(5), version(t, r), "but it is a change")

		recall := f.text("c1", "alice", "")
		recall.Category = mixin.CategoryMessageRecall
		recall.DataBase64 = mixin.EncodeBase64Data([]byte(`{"message_id":"` + sent.MessageID + `"}`))
		require.NoError(t, r.Record(ctx, recall))
		c, _ = get(t, r, "c1")
		assert.Equal(t, 2, c.Unread)
		assert.NotContains(t, texts(c), "reply", "a recall takes the recalled message out")

		receipt := f.text("c1", "alice", "x")
		receipt.Source = "ACKNOWLEDGE_MESSAGE_RECEIPT"
		require.NoError(t, r.Record(ctx, receipt))
		require.NoError(t, r.Record(ctx, &mixin.Message{ConversationID: "c1"}))
		require.NoError(t, r.Record(ctx, &mixin.Message{MessageID: mixin.NewUUID()}))
		require.NoError(t, r.Record(ctx, nil))
		require.NoError(t, r.RecordSent(ctx, nil))
		assert.Equal(t, uint64(6), version(t, r), "receipts and messages without ids are ignored")

		bad := f.text("c2", "bob", "")
		bad.DataBase64 = "!!!"
		require.NoError(t, r.Record(ctx, bad))
		c, ok = get(t, r, "c2")
		require.True(t, ok)
		assert.Equal(t, 1, c.Unread)
		assert.Nil(t, c.Messages[0].Data, "undecodable data is kept as a message without data")
	})
}

func TestKind(t *testing.T) {
	db := sqliteOpener(t, nil)(t)
	r := newTracker(t, db)
	f := newMsgs()
	ctx := t.Context()
	alice := mixin.NewUUID()
	contact := mixin.UniqueConversationID(alice, recentBot)
	require.NoError(t, r.RecordSent(ctx, f.text(contact, recentBot, "hello first")))
	c, _ := get(t, r, contact)
	assert.Equal(t, recent.KindUnknown, c.Kind, "only the bot wrote")
	require.NoError(t, r.Record(ctx, f.text(contact, alice, "hi")))
	require.NoError(t, r.Record(ctx, f.text("group-1", alice, "hi all")))
	c, _ = get(t, r, contact)
	assert.Equal(t, recent.KindContact, c.Kind)
	c, _ = get(t, r, "group-1")
	assert.Equal(t, recent.KindGroup, c.Kind)
}

func TestRedeliveryIsIdempotent(t *testing.T) {
	eachBackend(t, func(t *testing.T, open opener) {
		ctx := t.Context()
		r := newTracker(t, open(t))
		m := newMsgs().text("c1", "alice", "once")
		require.NoError(t, r.Record(ctx, m))
		require.NoError(t, r.Record(ctx, m))
		again := *m
		require.NoError(t, r.RecordSent(ctx, &again))
		c, _ := get(t, r, "c1")
		assert.Equal(t, 1, c.Unread)
		assert.Equal(t, uint64(1), c.LastMessageSeq)
		assert.Len(t, c.Messages, 1)
		assert.Equal(t, uint64(1), version(t, r))

		other := *m
		other.ConversationID = "c2"
		require.NoError(t, r.Record(ctx, &other))
		assert.Len(t, list(t, r), 2, "the same id in another conversation is another message")
	})
}

func TestKeepsLastN(t *testing.T) {
	r := newTracker(t, sqliteOpener(t, nil)(t), recent.WithMessages(3))
	f := newMsgs()
	for i := range 5 {
		require.NoError(t, r.Record(t.Context(), f.text("c", "alice", fmt.Sprint(i))))
	}
	c, _ := get(t, r, "c")
	assert.Equal(t, []string{"2", "3", "4"}, texts(c))
	assert.Equal(t, []uint64{3, 4, 5}, []uint64{c.Messages[0].Seq, c.Messages[1].Seq, c.Messages[2].Seq})
	assert.Equal(t, 5, c.Unread)
	assert.Equal(t, uint64(5), c.LastMessageSeq)
	nums := map[uint64]bool{}
	for _, m := range c.Messages {
		nums[m.Num] = true
	}
	assert.Len(t, nums, 3, "message numbers are unique")
}

func TestListOrderAndIncrementalSync(t *testing.T) {
	eachBackend(t, func(t *testing.T, open opener) {
		ctx := t.Context()
		r := newTracker(t, open(t))
		f := newMsgs()
		require.NoError(t, r.Record(ctx, f.text("a", "alice", "a1")))
		require.NoError(t, r.Record(ctx, f.text("b", "bob", "b1")))
		require.NoError(t, r.Record(ctx, f.text("c", "carol", "c1")))
		require.NoError(t, r.Record(ctx, f.text("a", "alice", "a2")))
		assert.Equal(t, []string{"a", "c", "b"}, ids(list(t, r)), "most recent message first")

		all := since(t, r, 0)
		assert.True(t, all.Full)
		assert.Equal(t, uint64(4), all.Version)
		assert.Equal(t, []string{"b", "c", "a"}, ids(all.Changes), "in the order of their changes")

		require.NoError(t, r.MarkRead(ctx, "b"))
		assert.Equal(t, []string{"a", "c", "b"}, ids(list(t, r)), "marking read does not reorder")
		require.NoError(t, r.Delete(ctx, "c"))
		s := since(t, r, all.Version)
		assert.False(t, s.Full)
		assert.Equal(t, uint64(6), s.Version)
		require.Equal(t, []string{"b", "c"}, ids(s.Changes), "exactly the changes since the version")
		assert.Equal(t, 0, s.Changes[0].Unread)
		assert.True(t, s.Changes[1].Deleted, "tombstones are reported")
		assert.Empty(t, s.Changes[1].Messages)
		assert.Equal(t, []string{"a", "b"}, ids(list(t, r)))
		_, ok := get(t, r, "c")
		assert.False(t, ok)

		none := since(t, r, s.Version)
		assert.Empty(t, none.Changes)
		assert.Equal(t, s.Version, none.Version)
		mid := since(t, r, 4)
		assert.Equal(t, []string{"b", "c"}, ids(mid.Changes))
		mid = since(t, r, 5)
		assert.Equal(t, []string{"c"}, ids(mid.Changes))

		future := since(t, r, 1000)
		assert.True(t, future.Full, "a version from the future gets a full sync")
		assert.Equal(t, []string{"a", "b"}, ids(future.Changes), "live ones only, by version")
	})
}

func TestSetUnreadMarkReadDeleteRevive(t *testing.T) {
	eachBackend(t, func(t *testing.T, open opener) {
		ctx := t.Context()
		r := newTracker(t, open(t))
		f := newMsgs()
		require.NoError(t, r.Record(ctx, f.text("c", "alice", "a")))
		require.NoError(t, r.Record(ctx, f.text("c", "alice", "b")))

		require.NoError(t, r.SetUnread(ctx, "c", 5))
		c, _ := get(t, r, "c")
		assert.Equal(t, 5, c.Unread)
		assert.Equal(t, uint64(3), c.Version)
		require.NoError(t, r.SetUnread(ctx, "c", 5))
		assert.Equal(t, uint64(3), version(t, r), "no change, no new version")

		var fe *mixin.FieldError
		require.ErrorAs(t, r.SetUnread(ctx, "c", -1), &fe)
		assert.Equal(t, "unread", fe.Field)
		assert.ErrorIs(t, r.SetUnread(ctx, "nope", 1), mixin.ErrInvalidInput)
		assert.ErrorIs(t, r.MarkRead(ctx, ""), mixin.ErrInvalidInput)
		assert.ErrorIs(t, r.Delete(ctx, "nope"), mixin.ErrInvalidInput)

		require.NoError(t, r.MarkRead(ctx, "c"))
		c, _ = get(t, r, "c")
		assert.Equal(t, 0, c.Unread, "mark-read drops unread to 0")
		require.NoError(t, r.Record(ctx, f.text("c", "alice", "c")))
		c, _ = get(t, r, "c")
		assert.Equal(t, 1, c.Unread, "and inbound raises it again")

		require.NoError(t, r.Delete(ctx, "c"))
		v := version(t, r)
		require.NoError(t, r.Delete(ctx, "c"), "deleting twice is fine")
		assert.Equal(t, v, version(t, r))
		assert.ErrorIs(t, r.MarkRead(ctx, "c"), mixin.ErrInvalidInput, "a deleted conversation is not listed")
		assert.Empty(t, list(t, r))

		m := f.text("c", "alice", "back")
		require.NoError(t, r.Record(ctx, m))
		c, ok := get(t, r, "c")
		require.True(t, ok, "a new message re-creates it")
		assert.False(t, c.Deleted)
		assert.Equal(t, 1, c.Unread)
		assert.Equal(t, []string{"back"}, texts(c), "with a fresh history")
		assert.Equal(t, uint64(4), c.LastMessageSeq, "sequence numbers keep counting")
		assert.Equal(t, m.MessageID, c.LastMessageID)
	})
}

func TestMiddleware(t *testing.T) {
	eachBackend(t, func(t *testing.T, open opener) {
		ctx := t.Context()
		r := newTracker(t, open(t))
		f := newMsgs()
		fail := errors.New("boom")
		calls := 0
		h := r.Middleware()(mixin.HandlerFunc(func(ctx context.Context, m *mixin.Message) error {
			calls++
			if m.Text() == "fail" {
				return fail
			}
			return nil
		}))
		require.NoError(t, h.HandleMessage(ctx, f.text("c", "alice", "ok")))
		failing := f.text("c", "alice", "fail")
		require.ErrorIs(t, h.HandleMessage(ctx, failing), fail)
		c, _ := get(t, r, "c")
		assert.Equal(t, []string{"ok"}, texts(c), "a failed message is not recorded")
		assert.Equal(t, 1, c.Unread)
		assert.Equal(t, c.Messages[0].MessageID, c.LastMessageID)
		assert.Equal(t, 2, calls)

		failing.DataBase64 = mixin.EncodeBase64Data([]byte("fail no more"))
		require.NoError(t, h.HandleMessage(ctx, failing))
		c, _ = get(t, r, "c")
		assert.Equal(t, []string{"ok", "fail no more"}, texts(c), "a retry that succeeds is recorded")
		assert.Equal(t, 2, c.Unread)

		require.Error(t, h.HandleMessage(ctx, f.text("new", "bob", "fail")))
		_, ok := get(t, r, "new")
		assert.False(t, ok, "a failure in a new conversation leaves only a tombstone")
		s := since(t, r, 1)
		assert.True(t, s.Changes[len(s.Changes)-1].Deleted)

		panicky := r.Middleware()(mixin.HandlerFunc(func(ctx context.Context, m *mixin.Message) error { panic("oops") }))
		assert.PanicsWithValue(t, "oops", func() { _ = panicky.HandleMessage(ctx, f.text("c", "alice", "panic")) })
		c, _ = get(t, r, "c")
		assert.Equal(t, []string{"ok", "fail no more"}, texts(c), "a panic is like a failure")

		reply := mixin.HandlerFunc(func(ctx context.Context, m *mixin.Message) error {
			r.SentHook()(ctx, []*mixin.Message{f.text(m.ConversationID, recentBot, "re: "+m.Text())})
			return nil
		})
		require.NoError(t, r.Middleware()(reply).HandleMessage(ctx, f.text("c", "alice", "q")))
		c, _ = get(t, r, "c")
		assert.Equal(t, []string{"ok", "fail no more", "q", "re: q"}, texts(c), "replies come after the message they answer")
	})
}

func TestRestartKeepsState(t *testing.T) {
	eachBackend(t, func(t *testing.T, open opener) {
		ctx := t.Context()
		f := newMsgs()
		r1 := newTracker(t, open(t), recent.WithMessages(2))
		var redeliver *mixin.Message
		for i := range 5 {
			redeliver = f.text("a", "alice", fmt.Sprint("a", i))
			require.NoError(t, r1.Record(ctx, redeliver))
			require.NoError(t, r1.Record(ctx, f.text("b", "bob", fmt.Sprint("b", i))))
		}
		require.NoError(t, r1.RecordSent(ctx, f.text("c", recentBot, "hello carol")))
		mid := version(t, r1)
		require.NoError(t, r1.SetUnread(ctx, "b", 1))
		require.NoError(t, r1.Delete(ctx, "c"))
		require.NoError(t, r1.Record(ctx, f.text("d", "dave", "d")))

		list1, since1, all1 := list(t, r1), since(t, r1, mid), since(t, r1, 0)
		r2 := newTracker(t, open(t), recent.WithMessages(2)) // a restarted process
		assert.Equal(t, version(t, r1), version(t, r2))
		assert.Equal(t, list1, list(t, r2))
		assert.Equal(t, since1, since(t, r2, mid))
		assert.Equal(t, all1, since(t, r2, 0))
		require.Len(t, since1.Changes, 3)
		assert.True(t, since1.Changes[1].Deleted, "the tombstone survives")

		v := version(t, r2)
		require.NoError(t, r2.Record(ctx, redeliver))
		assert.Equal(t, v, version(t, r2), "a kept message redelivered after the restart is recognised")
	})
}

func TestTombstonesPruned(t *testing.T) {
	clock := newClock()
	r := newTracker(t, sqliteOpener(t, clock.now)(t), recent.WithTombstoneHorizon(24*time.Hour))
	ctx := t.Context()
	f := newMsgs()
	require.NoError(t, r.Record(ctx, f.text("a", "alice", "1")))
	require.NoError(t, r.Record(ctx, f.text("b", "bob", "2")))
	before := version(t, r)
	require.NoError(t, r.Delete(ctx, "a"))
	require.NoError(t, r.Prune(ctx))
	s := since(t, r, before)
	require.Len(t, s.Changes, 1, "a young tombstone is kept")
	assert.False(t, s.Full)

	clock.add(25 * time.Hour)
	require.NoError(t, r.Prune(ctx))
	s = since(t, r, before)
	assert.True(t, s.Full, "a client older than a pruned tombstone must start over")
	assert.Equal(t, []string{"b"}, ids(s.Changes))
	s = since(t, r, s.Version)
	assert.False(t, s.Full, "a client that synced after the prune goes on incrementally")

	// Pruning also happens with ordinary changes, at most once an hour.
	require.NoError(t, r.Delete(ctx, "b"))
	v := version(t, r)
	clock.add(26 * time.Hour)
	require.NoError(t, r.Record(ctx, f.text("c", "carol", "3")))
	assert.True(t, since(t, r, v-1).Full, "the record's batch pruned b's tombstone")
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// TestConcurrentFeeding has 8 workers, on two trackers sharing one store as
// two processes would, record, redeliver, send and mark read at once.
func TestConcurrentFeeding(t *testing.T) {
	eachBackend(t, func(t *testing.T, open opener) {
		ctx := t.Context()
		trackers := []*recent.Tracker{newTracker(t, open(t), recent.WithMessages(5)), newTracker(t, open(t), recent.WithMessages(5))}
		f := newMsgs()
		const workers, perWorker, convs = 8, 20, 4
		var wg sync.WaitGroup
		errs := make(chan error, workers*perWorker*4)
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := trackers[w%2]
				for i := range perWorker {
					conv := fmt.Sprint("c", (w+i)%convs)
					m := f.text(conv, "alice", "x")
					errs <- r.Record(ctx, m)
					errs <- r.Record(ctx, m) // a redelivery
					if i%10 == 0 {
						errs <- r.RecordSent(ctx, f.text(conv, recentBot, "y"))
						errs <- r.MarkRead(ctx, conv)
					}
					_, err := r.Since(ctx, uint64(i))
					errs <- err
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
		var seq uint64
		for _, c := range list(t, trackers[0]) {
			seq += c.LastMessageSeq
			assert.Len(t, c.Messages, 5)
		}
		assert.Equal(t, uint64(workers*perWorker+workers*perWorker/10), seq, "every distinct message once")
		assert.Equal(t, list(t, trackers[0]), list(t, trackers[1]))
	})
}

func TestBlazeEndToEnd(t *testing.T) {
	s := mixintest.NewServer(t)
	ctx := t.Context()
	r := newTracker(t, sqliteOpener(t, nil)(t), recent.WithSelf(s.Bot().UserID))
	c, err := s.Client(mixin.WithSentHook(r.SentHook())) // sends are recorded by the client
	require.NoError(t, err)
	handler := mixin.HandlerFunc(func(ctx context.Context, m *mixin.Message) error {
		if m.Text() == "ping" {
			_, err := c.Reply(ctx, m, mixin.TextPayload("pong"))
			return err
		}
		return nil
	})
	loopCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- c.RunBlaze(loopCtx, r.Middleware()(handler)) }()

	a, b := s.NewUser("A"), s.NewUser("B")
	for _, text := range []string{"hi", "ping"} {
		_, err := a.SendText(ctx, s.Bot().UserID, text)
		require.NoError(t, err)
	}
	_, err = b.SendText(ctx, s.Bot().UserID, "hello")
	require.NoError(t, err)
	deadline := time.Now().Add(20 * time.Second)
	for {
		l := list(t, r)
		if len(l) == 2 && l[0].Unread+l[1].Unread == 3 && l[0].LastMessageSeq+l[1].LastMessageSeq == 4 {
			break
		}
		require.True(t, time.Now().Before(deadline), "both conversations recorded")
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	require.NoError(t, <-done)

	convA := mixin.UniqueConversationID(a.UserID, s.Bot().UserID)
	ca, ok := get(t, r, convA)
	require.True(t, ok)
	assert.Equal(t, 2, ca.Unread)
	assert.Equal(t, []string{"hi", "ping", "pong"}, texts(ca))
	assert.Equal(t, s.Bot().UserID, ca.Messages[2].UserID)
	assert.Equal(t, recent.KindContact, ca.Kind)
	cb, ok := get(t, r, mixin.UniqueConversationID(b.UserID, s.Bot().UserID))
	require.True(t, ok)
	assert.Equal(t, []string{"hello"}, texts(cb))
}

func ExampleTracker() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "recent-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	db, err := sqlite.Open(ctx, filepath.Join(dir, "bot.db"))
	if err != nil {
		panic(err)
	}
	defer db.Close()
	r, err := recent.New(ctx, db, recent.WithSelf("bot-id"), recent.WithMessages(10))
	if err != nil {
		panic(err)
	}
	// In a bot: mixin.NewClient(ks, mixin.WithSentHook(r.SentHook())) and
	// client.RunBlaze(ctx, r.Middleware()(handler)).
	_ = r.Record(ctx, &mixin.Message{ConversationID: "conv-1", UserID: "alice", MessageID: "m-1",
		Category: mixin.CategoryPlainText, DataBase64: mixin.EncodeBase64Data([]byte("hi"))})
	_ = r.RecordSent(ctx, &mixin.Message{ConversationID: "conv-1", UserID: "bot-id", MessageID: "m-2",
		Category: mixin.CategoryPlainText, DataBase64: mixin.EncodeBase64Data([]byte("hello"))})
	full, _ := r.Since(ctx, 0) // a client's full sync

	_ = r.MarkRead(ctx, "conv-1")
	next, _ := r.Since(ctx, full.Version) // the next sync gets only what changed
	for _, c := range next.Changes {
		fmt.Println(c.ConversationID, "unread:", c.Unread, "last seq:", c.LastMessageSeq, "messages:", len(c.Messages))
	}
	fmt.Println("version", full.Version, "->", next.Version)
	// Output:
	// conv-1 unread: 0 last seq: 2 messages: 2
	// version 2 -> 3
}

// TestSentInHandlerTx: a handler that took the message's transaction on
// the tracker's SQLite store sends a reply; the reply is recorded in that
// transaction (a second writer would wait for it forever), and commits
// with it.
func TestSentInHandlerTx(t *testing.T) {
	s := mixintest.NewServer(t)
	db := sqliteOpener(t, nil)(t)
	r := newTracker(t, db, recent.WithSelf(s.Bot().UserID))
	c, err := s.Client(mixin.WithSentHook(r.SentHook()))
	require.NoError(t, err)
	h := mixin.HandlerFunc(func(ctx context.Context, m *mixin.Message) error {
		if _, err := mixin.Tx(ctx); err != nil {
			return err
		}
		_, err := c.Reply(ctx, m, mixin.TextPayload("done: "+m.Text()))
		return err
	})
	loopCtx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- c.RunBlaze(loopCtx, r.Middleware()(h), mixin.WithStore(db)) }()
	a := s.NewUser("A")
	_, err = a.SendText(t.Context(), s.Bot().UserID, "task")
	require.NoError(t, err)
	conv := mixin.UniqueConversationID(a.UserID, s.Bot().UserID)
	start := time.Now()
	for {
		c, ok := get(t, r, conv)
		if ok && len(c.Messages) == 2 {
			assert.Equal(t, []string{"task", "done: task"}, texts(c))
			break
		}
		require.Less(t, time.Since(start), 15*time.Second, "the reply is recorded without waiting for the handler's transaction")
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	require.NoError(t, <-done)
}
