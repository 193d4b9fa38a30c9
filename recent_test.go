package mixin_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gomixin/mixin"
	"github.com/gomixin/mixin/mixintest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const recentBot = "b0b0b0b0-0000-4000-8000-000000000001"

// recentMsgs makes inbound messages with fresh ids and increasing times.
type recentMsgs struct {
	mu sync.Mutex
	at time.Time
}

func newRecentMsgs() *recentMsgs {
	return &recentMsgs{at: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
}

func (f *recentMsgs) text(conv, user, text string) *mixin.Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.at = f.at.Add(time.Second)
	return &mixin.Message{
		Type: "message", ConversationID: conv, UserID: user, MessageID: mixin.NewUUID(),
		Category: mixin.CategoryPlainText, DataBase64: mixin.EncodeBase64Data([]byte(text)), CreatedAt: f.at,
	}
}

func newRecent(t *testing.T, opts ...mixin.RecentOption) *mixin.Recent {
	t.Helper()
	r, err := mixin.NewRecent(append([]mixin.RecentOption{mixin.WithRecentSelf(recentBot)}, opts...)...)
	require.NoError(t, err)
	return r
}

func recentTexts(c mixin.RecentConversation) []string {
	var out []string
	for _, m := range c.Messages {
		out = append(out, string(m.Data))
	}
	return out
}

func TestRecentOptions(t *testing.T) {
	for _, o := range []mixin.RecentOption{
		mixin.WithRecentMessages(0), mixin.WithRecentMessages(mixin.MaxRecentMessages + 1),
		mixin.WithRecentStore(nil), mixin.WithRecentSelf(""),
	} {
		_, err := mixin.NewRecent(o)
		var fe *mixin.FieldError
		require.ErrorAs(t, err, &fe)
		assert.ErrorIs(t, err, mixin.ErrInvalidInput)
	}
}

func TestRecentUnreadSelfAndNotices(t *testing.T) {
	r := newRecent(t)
	f := newRecentMsgs()
	r.Record(f.text("c1", "alice", "one"))
	r.Record(f.text("c1", "alice", "two"))
	r.Record(f.text("c1", recentBot, "from another bot session"))
	sent := f.text("c1", recentBot, "reply")
	r.RecordSent(sent)

	c, ok := r.Get("c1")
	require.True(t, ok)
	assert.Equal(t, 2, c.Unread, "the bot's own messages are not unread")
	assert.Equal(t, uint64(4), c.LastMessageSeq)
	assert.Equal(t, sent.MessageID, c.LastMessageID)
	assert.Equal(t, []string{"one", "two", "from another bot session", "reply"}, recentTexts(c))
	assert.Equal(t, uint64(4), c.Version)
	assert.Equal(t, uint64(4), r.Version())

	sys := f.text("c1", "alice", "")
	sys.Category = mixin.CategorySystemConversation
	sys.DataBase64 = mixin.EncodeBase64Data([]byte(`{"action":"ADD","participant_id":"` + recentBot + `"}`))
	r.Record(sys)
	c, _ = r.Get("c1")
	assert.Equal(t, 2, c.Unread, "SYSTEM_CONVERSATION is not unread")
	assert.Equal(t, uint64(5), c.LastMessageSeq)
	assert.Equal(t, uint64(5), r.Version(), "but it is a change")

	// A recall is not unread and takes the recalled message out.
	recall := f.text("c1", "alice", "")
	recall.Category = mixin.CategoryMessageRecall
	recall.DataBase64 = mixin.EncodeBase64Data([]byte(`{"message_id":"` + sent.MessageID + `"}`))
	r.Record(recall)
	c, _ = r.Get("c1")
	assert.Equal(t, 2, c.Unread)
	assert.NotContains(t, recentTexts(c), "reply")

	// Ignored: receipts, messages without ids, nil.
	receipt := f.text("c1", "alice", "x")
	receipt.Source = "ACKNOWLEDGE_MESSAGE_RECEIPT"
	r.Record(receipt)
	r.Record(&mixin.Message{ConversationID: "c1"})
	r.Record(&mixin.Message{MessageID: mixin.NewUUID()})
	r.Record(nil)
	r.RecordSent(nil)
	assert.Equal(t, uint64(6), r.Version())

	// Undecodable data is kept as a message without data.
	bad := f.text("c2", "bob", "")
	bad.DataBase64 = "!!!"
	r.Record(bad)
	c, ok = r.Get("c2")
	require.True(t, ok)
	assert.Equal(t, 1, c.Unread)
	assert.Nil(t, c.Messages[0].Data)
}

func TestRecentWithoutSelfCountsEverything(t *testing.T) {
	r, err := mixin.NewRecent()
	require.NoError(t, err)
	r.Record(newRecentMsgs().text("c", recentBot, "x"))
	c, _ := r.Get("c")
	assert.Equal(t, 1, c.Unread)
}

func TestRecentRedeliveryIsIdempotent(t *testing.T) {
	r := newRecent(t)
	f := newRecentMsgs()
	m := f.text("c1", "alice", "once")
	r.Record(m)
	r.Record(m)
	again := *m
	r.Record(&again)
	r.RecordSent(&again)
	c, _ := r.Get("c1")
	assert.Equal(t, 1, c.Unread)
	assert.Equal(t, uint64(1), c.LastMessageSeq)
	assert.Len(t, c.Messages, 1)
	assert.Equal(t, uint64(1), r.Version())

	// The same id in another conversation is another message.
	other := *m
	other.ConversationID = "c2"
	r.Record(&other)
	assert.Len(t, r.List(), 2)
}

func TestRecentKeepsLastN(t *testing.T) {
	r := newRecent(t, mixin.WithRecentMessages(3))
	f := newRecentMsgs()
	for i := range 5 {
		r.Record(f.text("c", "alice", fmt.Sprint(i)))
	}
	c, _ := r.Get("c")
	assert.Equal(t, []string{"2", "3", "4"}, recentTexts(c))
	assert.Equal(t, []uint64{3, 4, 5}, []uint64{c.Messages[0].Seq, c.Messages[1].Seq, c.Messages[2].Seq})
	assert.Equal(t, 5, c.Unread)
	assert.Equal(t, uint64(5), c.LastMessageSeq)
}

func TestRecentListOrderAndSince(t *testing.T) {
	r := newRecent(t)
	f := newRecentMsgs()
	r.Record(f.text("a", "alice", "a1"))
	r.Record(f.text("b", "bob", "b1"))
	r.Record(f.text("c", "carol", "c1"))
	r.Record(f.text("a", "alice", "a2"))

	ids := func(cs []mixin.RecentConversation) []string {
		var out []string
		for _, c := range cs {
			out = append(out, c.ConversationID)
		}
		return out
	}
	assert.Equal(t, []string{"a", "c", "b"}, ids(r.List()), "most recent message first")

	all, v := r.Since(0)
	assert.Equal(t, uint64(4), v)
	assert.Equal(t, []string{"b", "c", "a"}, ids(all), "in the order of their changes")

	require.NoError(t, r.MarkRead("b"))
	assert.Equal(t, []string{"a", "c", "b"}, ids(r.List()), "marking read does not reorder")
	require.NoError(t, r.Delete("c"))
	changes, v2 := r.Since(v)
	assert.Equal(t, uint64(6), v2)
	require.Equal(t, []string{"b", "c"}, ids(changes))
	assert.Equal(t, 0, changes[0].Unread)
	assert.True(t, changes[1].Deleted, "tombstones are reported")
	assert.Empty(t, changes[1].Messages)
	assert.Equal(t, []string{"a", "b"}, ids(r.List()))
	_, ok := r.Get("c")
	assert.False(t, ok)

	none, v3 := r.Since(v2)
	assert.Empty(t, none)
	assert.Equal(t, v2, v3)

	future, _ := r.Since(1000)
	assert.Len(t, future, 3, "a version from the future gets a full sync")
}

func TestRecentSetUnreadMarkReadDeleteRevive(t *testing.T) {
	r := newRecent(t)
	f := newRecentMsgs()
	r.Record(f.text("c", "alice", "a"))
	r.Record(f.text("c", "alice", "b"))

	require.NoError(t, r.SetUnread("c", 5))
	c, _ := r.Get("c")
	assert.Equal(t, 5, c.Unread)
	assert.Equal(t, uint64(3), c.Version)
	require.NoError(t, r.SetUnread("c", 5))
	assert.Equal(t, uint64(3), r.Version(), "no change, no new version")

	var fe *mixin.FieldError
	require.ErrorAs(t, r.SetUnread("c", -1), &fe)
	assert.Equal(t, "unread", fe.Field)
	assert.ErrorIs(t, r.SetUnread("nope", 1), mixin.ErrInvalidInput)
	assert.ErrorIs(t, r.MarkRead(""), mixin.ErrInvalidInput)
	assert.ErrorIs(t, r.Delete("nope"), mixin.ErrInvalidInput)

	require.NoError(t, r.MarkRead("c"))
	c, _ = r.Get("c")
	assert.Equal(t, 0, c.Unread)

	require.NoError(t, r.Delete("c"))
	v := r.Version()
	require.NoError(t, r.Delete("c"), "deleting twice is fine")
	assert.Equal(t, v, r.Version())
	assert.ErrorIs(t, r.MarkRead("c"), mixin.ErrInvalidInput, "a deleted conversation is not listed")
	assert.Empty(t, r.List())

	m := f.text("c", "alice", "back")
	r.Record(m)
	c, ok := r.Get("c")
	require.True(t, ok, "a new message revives it")
	assert.False(t, c.Deleted)
	assert.Equal(t, 1, c.Unread)
	assert.Equal(t, []string{"back"}, recentTexts(c), "with a fresh history")
	assert.Equal(t, uint64(3), c.LastMessageSeq, "sequence numbers keep counting")
	assert.Equal(t, m.MessageID, c.LastMessageID)
}

func TestRecentReturnsCopies(t *testing.T) {
	r := newRecent(t)
	m := newRecentMsgs().text("c", "alice", "original")
	r.Record(m)
	m.DataBase64 = mixin.EncodeBase64Data([]byte("changed"))

	c, _ := r.Get("c")
	c.Messages[0].Data[0] = 'X'
	c.Messages[0].MessageID = "x"
	c.Messages = append(c.Messages[:0], mixin.RecentMessage{MessageID: "y"})
	c.Unread = 99
	l := r.List()
	l[0].Messages[0].Data[1] = 'Y'
	s, _ := r.Since(0)
	s[0].Messages[0].Data[2] = 'Z'

	c, _ = r.Get("c")
	assert.Equal(t, []string{"original"}, recentTexts(c))
	assert.Equal(t, 1, c.Unread)
}

func TestRecentMiddleware(t *testing.T) {
	r := newRecent(t)
	f := newRecentMsgs()
	fail := errors.New("boom")
	var calls int
	h := r.Middleware()(mixin.HandlerFunc(func(ctx context.Context, m *mixin.Message) error {
		calls++
		if m.Text() == "fail" {
			return fail
		}
		return nil
	}))
	ctx := context.Background()
	require.NoError(t, h.HandleMessage(ctx, f.text("c", "alice", "ok")))
	failing := f.text("c", "alice", "fail")
	require.ErrorIs(t, h.HandleMessage(ctx, failing), fail)
	c, _ := r.Get("c")
	assert.Equal(t, []string{"ok"}, recentTexts(c), "a failed message is not recorded")
	assert.Equal(t, 1, c.Unread)
	assert.Equal(t, c.Messages[0].MessageID, c.LastMessageID)
	assert.Equal(t, 2, calls)

	// The loop retries: this time it succeeds and is recorded.
	failing.DataBase64 = mixin.EncodeBase64Data([]byte("fail no more"))
	require.NoError(t, h.HandleMessage(ctx, failing))
	c, _ = r.Get("c")
	assert.Equal(t, []string{"ok", "fail no more"}, recentTexts(c))
	assert.Equal(t, 2, c.Unread)

	// A failure in a new conversation leaves only a tombstone.
	require.Error(t, h.HandleMessage(ctx, f.text("new", "bob", "fail")))
	_, ok := r.Get("new")
	assert.False(t, ok)
	changes, _ := r.Since(0)
	assert.True(t, changes[len(changes)-1].Deleted)

	// A panic is like a failure, and still reaches the loop.
	panicky := r.Middleware()(mixin.HandlerFunc(func(ctx context.Context, m *mixin.Message) error { panic("oops") }))
	assert.PanicsWithValue(t, "oops", func() { _ = panicky.HandleMessage(ctx, f.text("c", "alice", "panic")) })
	c, _ = r.Get("c")
	assert.Equal(t, []string{"ok", "fail no more"}, recentTexts(c))

	// Replies sent by the handler come after the message they answer.
	reply := mixin.HandlerFunc(func(ctx context.Context, m *mixin.Message) error {
		r.RecordSent(f.text(m.ConversationID, recentBot, "re: "+m.Text()))
		return nil
	})
	require.NoError(t, r.Middleware()(reply).HandleMessage(ctx, f.text("c", "alice", "q")))
	c, _ = r.Get("c")
	assert.Equal(t, []string{"ok", "fail no more", "q", "re: q"}, recentTexts(c))
}

func TestRecentFileStoreCompactsWhileRunning(t *testing.T) {
	path := filepath.Join(t.TempDir(), "recent.jsonl")
	r := newRecent(t, mixin.WithRecentStore(mixin.FileRecentStore(path)), mixin.WithRecentMessages(1))
	f := newRecentMsgs()
	big := strings.Repeat("x", 16<<10)
	for range 200 { // about 4.5 MiB of log without compaction
		r.Record(f.text("c", "alice", big))
	}
	require.NoError(t, r.Err())
	fi, err := os.Stat(path)
	require.NoError(t, err)
	assert.Less(t, fi.Size(), int64(2<<20))
	r2 := newRecent(t, mixin.WithRecentStore(mixin.FileRecentStore(path)), mixin.WithRecentMessages(1))
	assert.Equal(t, r.List(), r2.List())
	assert.Equal(t, uint64(200), r2.Version())
}

// flakyStore is an in-memory RecentStore that can be made to fail.
type flakyStore struct {
	mu    sync.Mutex
	fail  bool
	saves [][]string
	convs map[string]mixin.RecentConversation
	ver   uint64
}

func (s *flakyStore) Load() ([]mixin.RecentConversation, uint64, error) { return nil, 0, nil }

func (s *flakyStore) Save(changed []mixin.RecentConversation, version uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail {
		return errors.New("disk full")
	}
	var ids []string
	for _, c := range changed {
		ids = append(ids, c.ConversationID)
		s.convs[c.ConversationID] = c
	}
	s.saves = append(s.saves, ids)
	s.ver = version
	return nil
}

func TestRecentStoreFailureKeepsStateAndRetries(t *testing.T) {
	var logs bytes.Buffer
	st := &flakyStore{fail: true, convs: map[string]mixin.RecentConversation{}}
	r := newRecent(t, mixin.WithRecentStore(st),
		mixin.WithRecentLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))))
	f := newRecentMsgs()
	r.Record(f.text("a", "alice", "1"))
	require.Error(t, r.Err())
	assert.Contains(t, logs.String(), "disk full")
	c, ok := r.Get("a")
	require.True(t, ok, "the in-memory state is kept")
	assert.Equal(t, 1, c.Unread)
	assert.ErrorContains(t, r.SetUnread("a", 3), "disk full", "edits return the store's error")
	c, _ = r.Get("a")
	assert.Equal(t, 3, c.Unread, "but keep the change")

	st.mu.Lock()
	st.fail = false
	st.mu.Unlock()
	r.Record(f.text("b", "bob", "2"))
	require.NoError(t, r.Err())
	st.mu.Lock()
	defer st.mu.Unlock()
	require.Len(t, st.saves, 1)
	assert.ElementsMatch(t, []string{"a", "b"}, st.saves[0], "the failed change is saved with the next")
	assert.Equal(t, 3, st.convs["a"].Unread)
	assert.Equal(t, r.Version(), st.ver)
	assert.NoError(t, r.Flush())
}

func TestRecentFileStoreSurvivesRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "recent.jsonl")
	f := newRecentMsgs()
	r1 := newRecent(t, mixin.WithRecentStore(mixin.FileRecentStore(path)), mixin.WithRecentMessages(2))
	var redeliver *mixin.Message
	for i := range 5 {
		redeliver = f.text("a", "alice", fmt.Sprint("a", i))
		r1.Record(redeliver)
		r1.Record(f.text("b", "bob", fmt.Sprint("b", i)))
	}
	r1.RecordSent(f.text("c", recentBot, "hello carol"))
	mid := r1.Version()
	require.NoError(t, r1.SetUnread("b", 1))
	require.NoError(t, r1.Delete("c"))
	r1.Record(f.text("d", "dave", "d"))
	require.NoError(t, r1.Err())

	list1 := r1.List()
	since1, v1 := r1.Since(mid)
	all1, _ := r1.Since(0)

	restart := func() *mixin.Recent {
		return newRecent(t, mixin.WithRecentStore(mixin.FileRecentStore(path)), mixin.WithRecentMessages(2))
	}
	r2 := restart()
	assert.Equal(t, v1, r2.Version())
	assert.Equal(t, list1, r2.List())
	since2, v2 := r2.Since(mid)
	assert.Equal(t, since1, since2)
	assert.Equal(t, v1, v2)
	all2, _ := r2.Since(0)
	assert.Equal(t, all1, all2)
	require.Len(t, since2, 3)
	assert.True(t, since2[1].Deleted, "the tombstone survives")

	// The log was compacted to one line per conversation.
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, 1+4, strings.Count(string(b), "\n"))

	// A message redelivered after the restart is still recognised.
	r2.Record(redeliver)
	assert.Equal(t, v1, r2.Version())

	// Changes after the restart are appended and survive the next one.
	r2.Record(f.text("c", "carol", "revived"))
	require.NoError(t, r2.MarkRead("a"))
	r3 := restart()
	assert.Equal(t, r2.List(), r3.List())
	assert.Equal(t, r2.Version(), r3.Version())
	c, ok := r3.Get("c")
	require.True(t, ok)
	assert.Equal(t, []string{"revived"}, recentTexts(c))
}

func TestRecentFileStoreDamage(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "recent.jsonl")
	f := newRecentMsgs()
	r := newRecent(t, mixin.WithRecentStore(mixin.FileRecentStore(path)))
	r.Record(f.text("a", "alice", "1"))
	r.Record(f.text("b", "bob", "2"))
	require.NoError(t, r.Err())
	good, err := os.ReadFile(path)
	require.NoError(t, err)

	t.Run("torn last line is dropped", func(t *testing.T) {
		require.NoError(t, os.WriteFile(path, append(cloneRecentBytes(good), `{"version":3,"conversations":[{"conver`...), 0o600))
		r2 := newRecent(t, mixin.WithRecentStore(mixin.FileRecentStore(path)))
		assert.Equal(t, r.List(), r2.List())
		r2.Record(f.text("c", "carol", "3"))
		r3 := newRecent(t, mixin.WithRecentStore(mixin.FileRecentStore(path)))
		assert.Len(t, r3.List(), 3, "appending after a torn line works")
	})
	t.Run("corrupt line is an error", func(t *testing.T) {
		lines := strings.SplitAfter(string(good), "\n")
		bad := lines[0] + "{not json}\n" + strings.Join(lines[1:], "")
		require.NoError(t, os.WriteFile(path, []byte(bad), 0o600))
		_, err := mixin.NewRecent(mixin.WithRecentStore(mixin.FileRecentStore(path)))
		require.Error(t, err)
		assert.Contains(t, err.Error(), path)
		assert.Contains(t, err.Error(), "line 2")
		after, _ := os.ReadFile(path)
		assert.Equal(t, bad, string(after), "a damaged store is left alone")
	})
	t.Run("not a store", func(t *testing.T) {
		require.NoError(t, os.WriteFile(path, []byte("hello"), 0o600))
		_, err := mixin.NewRecent(mixin.WithRecentStore(mixin.FileRecentStore(path)))
		assert.ErrorContains(t, err, "not a recent-conversation store")
	})
	t.Run("conversation without id", func(t *testing.T) {
		lines := strings.SplitAfter(string(good), "\n")
		bad := lines[0] + `{"version":9,"conversations":[{"unread":1}]}` + "\n"
		require.NoError(t, os.WriteFile(path, []byte(bad), 0o600))
		_, err := mixin.NewRecent(mixin.WithRecentStore(mixin.FileRecentStore(path)))
		assert.ErrorContains(t, err, "line 2")
	})
	t.Run("unwritable store keeps memory", func(t *testing.T) {
		p := filepath.Join(dir, "missing-dir", "recent.jsonl")
		r := newRecent(t, mixin.WithRecentStore(mixin.FileRecentStore(p)))
		r.Record(f.text("a", "alice", "1"))
		assert.Error(t, r.Err())
		assert.Len(t, r.List(), 1)
		require.NoError(t, os.Mkdir(filepath.Dir(p), 0o700))
		require.NoError(t, r.Flush())
		r2 := newRecent(t, mixin.WithRecentStore(mixin.FileRecentStore(p)))
		assert.Equal(t, r.List(), r2.List())
	})
}

func cloneRecentBytes(b []byte) []byte { return append([]byte(nil), b...) }

func TestRecentConcurrentFeeding(t *testing.T) {
	path := filepath.Join(t.TempDir(), "recent.jsonl")
	r := newRecent(t, mixin.WithRecentStore(mixin.FileRecentStore(path)), mixin.WithRecentMessages(5))
	f := newRecentMsgs()
	const workers, perWorker, convs = 8, 100, 4
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWorker {
				conv := fmt.Sprint("c", (w+i)%convs)
				m := f.text(conv, "alice", "x")
				r.Record(m)
				r.Record(m) // a redelivery
				if i%10 == 0 {
					r.RecordSent(f.text(conv, recentBot, "y"))
					_ = r.MarkRead(conv)
				}
				_ = r.List()
				_, _ = r.Since(uint64(i))
			}
		}()
	}
	wg.Wait()
	require.NoError(t, r.Err())
	var seq uint64
	for _, c := range r.List() {
		seq += c.LastMessageSeq
		assert.Len(t, c.Messages, 5)
	}
	assert.Equal(t, uint64(workers*perWorker+workers*perWorker/10), seq, "every distinct message once")
	r2 := newRecent(t, mixin.WithRecentStore(mixin.FileRecentStore(path)), mixin.WithRecentMessages(5))
	assert.Equal(t, r.List(), r2.List())
	assert.Equal(t, r.Version(), r2.Version())
}

func TestRecentBlazeEndToEnd(t *testing.T) {
	s := mixintest.NewServer(t)
	ctx := ctxT(t)
	r, err := mixin.NewRecent(mixin.WithRecentSelf(s.Bot().ID))
	require.NoError(t, err)
	c := s.Client(mixin.WithRecent(r)) // sends are recorded by the client
	handler := mixin.HandlerFunc(func(ctx context.Context, m *mixin.Message) error {
		if m.Text() == "ping" {
			_, err := c.Reply(ctx, m, mixin.Text("pong"))
			return err
		}
		return nil
	})
	stop := runBlaze(t, c, r.Middleware()(handler))

	a, b := s.NewUser("A"), s.NewUser("B")
	for _, text := range []string{"hi", "ping"} {
		_, err := a.SendText(ctx, s.Bot().ID, text)
		require.NoError(t, err)
	}
	_, err = b.SendText(ctx, s.Bot().ID, "hello")
	require.NoError(t, err)
	eventually(t, "both conversations", func() bool {
		l := r.List()
		return len(l) == 2 && l[0].Unread+l[1].Unread == 3 && l[0].LastMessageSeq+l[1].LastMessageSeq == 4
	})
	require.NoError(t, stop())

	convA := mixin.UniqueConversationID(a.ID, s.Bot().ID)
	convB := mixin.UniqueConversationID(b.ID, s.Bot().ID)
	ca, ok := r.Get(convA)
	require.True(t, ok)
	assert.Equal(t, 2, ca.Unread)
	assert.Equal(t, []string{"hi", "ping", "pong"}, recentTexts(ca))
	assert.Equal(t, s.Bot().ID, ca.Messages[2].UserID)
	cb, ok := r.Get(convB)
	require.True(t, ok)
	assert.Equal(t, 1, cb.Unread)
	assert.Equal(t, []string{"hello"}, recentTexts(cb))
	assert.Equal(t, a.ID, ca.Messages[0].UserID)

	require.NoError(t, r.MarkRead(convA))
	changes, _ := r.Since(cb.Version)
	require.NotEmpty(t, changes)
	assert.Equal(t, convA, changes[len(changes)-1].ConversationID)
	assert.Equal(t, 0, changes[len(changes)-1].Unread)
}

func ExampleRecent() {
	r, err := mixin.NewRecent(mixin.WithRecentSelf("bot-id"), mixin.WithRecentMessages(10))
	if err != nil {
		panic(err)
	}
	// In a bot: client.RunBlaze(ctx, r.Middleware()(handler)), and
	// r.RecordSent(msg) for what the handler sends.
	r.Record(&mixin.Message{ConversationID: "conv-1", UserID: "alice", MessageID: "m-1",
		Category: mixin.CategoryPlainText, DataBase64: mixin.EncodeBase64Data([]byte("hi"))})
	r.RecordSent(&mixin.Message{ConversationID: "conv-1", UserID: "bot-id", MessageID: "m-2",
		Category: mixin.CategoryPlainText, DataBase64: mixin.EncodeBase64Data([]byte("hello"))})
	_, v := r.Since(0) // a client's full sync

	_ = r.MarkRead("conv-1")
	changes, v2 := r.Since(v) // the next sync gets only what changed
	for _, c := range changes {
		fmt.Println(c.ConversationID, "unread:", c.Unread, "last seq:", c.LastMessageSeq, "messages:", len(c.Messages))
	}
	fmt.Println("version", v, "->", v2)
	// Output:
	// conv-1 unread: 0 last seq: 2 messages: 2
	// version 2 -> 3
}

// BenchmarkRecentRecord measures recording one inbound text message into a
// list of 100 conversations: in memory, with the file store, and, as the
// baseline of the file store, one raw append and fsync of 1 KiB.
func BenchmarkRecentRecord(b *testing.B) {
	run := func(b *testing.B, opts ...mixin.RecentOption) {
		r, err := mixin.NewRecent(opts...)
		require.NoError(b, err)
		f := newRecentMsgs()
		msgs := make([]*mixin.Message, 1000)
		for i := range msgs {
			msgs[i] = f.text(fmt.Sprint("c", i%100), "alice", "hello there, a message of ordinary length")
		}
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; b.Loop(); i++ {
			m := *msgs[i%len(msgs)]
			m.MessageID = mixin.NewUUID()
			r.Record(&m)
		}
	}
	b.Run("memory", func(b *testing.B) { run(b) })
	b.Run("file", func(b *testing.B) {
		run(b, mixin.WithRecentStore(mixin.FileRecentStore(filepath.Join(b.TempDir(), "recent.jsonl"))))
	})
	b.Run("baseline-append-fsync", func(b *testing.B) {
		fh, err := os.Create(filepath.Join(b.TempDir(), "log"))
		require.NoError(b, err)
		defer fh.Close()
		line := append(bytes.Repeat([]byte("x"), 1023), '\n')
		for b.Loop() {
			_, err := fh.Write(line)
			require.NoError(b, err)
			require.NoError(b, fh.Sync())
		}
	})
}
