package recent_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gomixin/mixin"
	"github.com/gomixin/mixin/recent"
	"github.com/gomixin/mixin/store/sqlite"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// syncEntry is an entry of the sync answer with the tombstone flag.
type syncEntry struct {
	ChannelID   string           `json:"channel_id"`
	ChannelType int              `json:"channel_type"`
	Unread      int              `json:"unread"`
	Version     uint64           `json:"version"`
	Recents     []map[string]any `json:"recents"`
	IsDeleted   *int             `json:"is_deleted"`
}

// syncFrom posts a sync from version and returns the entries, the list's
// version and the sync mode from the headers.
func (a *apiFixture) syncFrom(t *testing.T, version uint64) ([]syncEntry, uint64, string) {
	t.Helper()
	var got []syncEntry
	require.Equal(t, http.StatusOK, a.post(t, "/conversation/sync", `{"version":`+strconv.FormatUint(version, 10)+`}`, &got))
	v, err := strconv.ParseUint(a.header.Get("X-Recent-Version"), 10, 64)
	require.NoError(t, err, "X-Recent-Version")
	return got, v, a.header.Get("X-Recent-Sync")
}

// Incremental HTTP sync reports a deletion as a tombstone and gives the
// list's version, so a client learns of the delete and moves past it.
func TestHTTPSyncReportsDeletions(t *testing.T) {
	a := newAPI(t)
	ctx := t.Context()
	require.NoError(t, a.r.Record(ctx, a.f.text(a.contact, a.alice, "hi")))
	require.NoError(t, a.r.Record(ctx, a.f.text("group-1", a.alice, "hello all")))

	got, v, mode := a.syncFrom(t, 0)
	assert.Equal(t, "full", mode)
	require.Len(t, got, 2)
	assert.Equal(t, version(t, a.r), v)
	for _, e := range got {
		assert.Nil(t, e.IsDeleted, "a listed conversation has no is_deleted field")
	}

	require.NoError(t, a.r.Delete(ctx, a.contact))
	got, v2, mode := a.syncFrom(t, v)
	assert.Equal(t, "incremental", mode)
	require.Len(t, got, 1, "the delete is a change")
	tomb := got[0]
	assert.Equal(t, a.contact, tomb.ChannelID)
	assert.Equal(t, 1, tomb.ChannelType)
	require.NotNil(t, tomb.IsDeleted)
	assert.Equal(t, 1, *tomb.IsDeleted)
	assert.Equal(t, 0, tomb.Unread)
	assert.Empty(t, tomb.Recents)
	assert.NotNil(t, tomb.Recents, "an empty array, not null")
	assert.Equal(t, v2, tomb.Version)
	assert.Greater(t, v2, v)

	got, v3, mode := a.syncFrom(t, v2)
	assert.Equal(t, "incremental", mode)
	assert.Empty(t, got, "the client moved past the delete")
	assert.Equal(t, v2, v3)

	got, _, mode = a.syncFrom(t, 0)
	assert.Equal(t, "full", mode)
	require.Len(t, got, 1, "a full sync lists what is there, no tombstones")
	assert.Equal(t, "group-1", got[0].ChannelID)

	_, _, mode = a.syncFrom(t, v3+100)
	assert.Equal(t, "full", mode, "a version the list never reached: start over")
}

// After a tombstone is pruned, a client behind it is told to start over,
// and the version header (higher than every listed entry's) lets it go on
// incrementally instead of syncing in full forever.
func TestHTTPSyncAfterPrune(t *testing.T) {
	clock := newClock()
	r := newTracker(t, sqliteOpener(t, clock.now)(t), recent.WithTombstoneHorizon(time.Hour))
	h, err := r.Handler(recent.WithBearerToken(token))
	require.NoError(t, err)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	a := &apiFixture{r: r, srv: srv, f: newMsgs()}
	ctx := t.Context()
	require.NoError(t, r.Record(ctx, a.f.text("a", "alice", "1")))
	require.NoError(t, r.Record(ctx, a.f.text("b", "bob", "2")))
	_, before, _ := a.syncFrom(t, 0)
	require.NoError(t, r.Delete(ctx, "b"))
	clock.add(2 * time.Hour)
	require.NoError(t, r.Prune(ctx))

	got, v, mode := a.syncFrom(t, before)
	assert.Equal(t, "full", mode)
	require.Len(t, got, 1)
	assert.Less(t, got[0].Version, v, "the newest change was the pruned delete")
	got, _, mode = a.syncFrom(t, v)
	assert.Equal(t, "incremental", mode)
	assert.Empty(t, got)
}

// uid is optional; when given it must be the bot's id (any case), and a
// tracker that does not know the bot's id cannot check it.
func TestHTTPUID(t *testing.T) {
	a := newAPI(t)
	for _, body := range []string{`{}`, `{"uid":"` + recentBot + `"}`, `{"uid":"` + strings.ToUpper(recentBot) + `"}`} {
		var got []syncEntry
		assert.Equal(t, http.StatusOK, a.post(t, "/conversation/sync", body, &got), body)
	}
	var e errBody
	assert.Equal(t, http.StatusBadRequest, a.post(t, "/conversation/sync", `{"uid":""}`, &e))
	assert.Contains(t, e.Msg, "uid must be the bot's user id")

	r, err := recent.New(t.Context(), sqliteOpener(t, nil)(t)) // no WithSelf
	require.NoError(t, err)
	h, err := r.Handler(recent.WithBearerToken(token))
	require.NoError(t, err)
	req := httptest.NewRequest(http.MethodPost, "/conversation/sync", strings.NewReader(`{"uid":"anyone"}`))
	req.Header.Set("Authorization", "Bearer "+token)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	assert.Equal(t, http.StatusOK, w.Code, w.Body.String())
}

// A dashboard syncs the list over HTTP: a full sync, then, from the
// version in X-Recent-Version, only what changed, deletions as tombstones.
func ExampleTracker_Handler() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "recent-http-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	db, err := sqlite.Open(ctx, filepath.Join(dir, "bot.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	tracker, err := recent.New(ctx, db, recent.WithSelf("11efbb75-e7fe-44d7-a14f-698535289310"))
	if err != nil {
		log.Fatal(err)
	}
	for _, conv := range []string{"conversation-a", "conversation-b"} {
		err := tracker.Record(ctx, &mixin.Message{ConversationID: conv, UserID: "e8e8cd79-cd40-4796-8c54-3a13cfe50115",
			MessageID: mixin.NewUUID(), Category: mixin.CategoryPlainText, DataBase64: mixin.EncodeBase64Data([]byte("hi"))})
		if err != nil {
			log.Fatal(err)
		}
	}
	api, err := tracker.Handler(recent.WithBearerToken("a-long-random-secret-token")) // no option: an error
	if err != nil {
		log.Fatal(err)
	}
	srv := httptest.NewServer(api)
	defer srv.Close()

	sync := func(version string) string {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/conversation/sync",
			strings.NewReader(`{"version":`+version+`,"msg_count":0}`))
		req.Header.Set("Authorization", "Bearer a-long-random-secret-token")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			log.Fatal(err)
		}
		defer resp.Body.Close()
		var list []struct {
			ChannelID string `json:"channel_id"`
			Unread    int    `json:"unread"`
			Version   uint64 `json:"version"`
			IsDeleted int    `json:"is_deleted"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
			log.Fatal(err)
		}
		fmt.Printf("sync from %s: %s, list version %s\n", version, resp.Header.Get("X-Recent-Sync"), resp.Header.Get("X-Recent-Version"))
		for _, c := range list {
			fmt.Printf("  %s unread=%d version=%d is_deleted=%d\n", c.ChannelID, c.Unread, c.Version, c.IsDeleted)
		}
		return resp.Header.Get("X-Recent-Version")
	}
	v := sync("0")
	if err := tracker.Delete(ctx, "conversation-a"); err != nil {
		log.Fatal(err)
	}
	v = sync(v)
	sync(v)
	// Output:
	// sync from 0: full, list version 2
	//   conversation-a unread=1 version=1 is_deleted=0
	//   conversation-b unread=1 version=2 is_deleted=0
	// sync from 2: incremental, list version 3
	//   conversation-a unread=0 version=3 is_deleted=1
	// sync from 3: incremental, list version 3
}

// The middleware refuses a nil handler when it wraps it, not per message.
func TestMiddlewareNilHandler(t *testing.T) {
	r := newTracker(t, sqliteOpener(t, nil)(t))
	assert.PanicsWithValue(t, "recent: Tracker.Middleware: nil handler to wrap", func() { r.Middleware()(nil) })
	assert.PanicsWithValue(t, "recent: Tracker.Middleware: nil handler to wrap", func() { r.Middleware()(mixin.HandlerFunc(nil)) })
}
