package mixin_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gomixin/mixin"
	"github.com/gomixin/mixin/internal/pgtest"
	"github.com/gomixin/mixin/store/postgres"
	"github.com/gomixin/mixin/store/sqlite"
	"github.com/google/uuid"
	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// rssStoreEnv makes the test binary run the backlog with the store it
// names ("memory", "sqlite", "postgres") instead of the test.
const rssStoreEnv = "MIXIN_RSS_STORE_CHILD"

// rssBacklog is the backlog's size.
const rssBacklog = 200000

// TestBlazePeakRSSWithStore runs a 200,000-message backlog through the
// loop in a child process with GOMAXPROCS=1, in memory and with each store
// (every message recorded before its acknowledgement), and reports each
// child's peak RSS (VmHWM) beside the in-memory one: the recorder's queue
// is bounded like the acknowledgements', so a store adds its own fixed
// footprint (page caches, connections, statements), not memory per
// message.
func TestBlazePeakRSSWithStore(t *testing.T) {
	if kind := os.Getenv(rssStoreEnv); kind != "" {
		rssStoreChild(t, kind)
		return
	}
	if testing.Short() || mixin.RaceEnabled {
		t.Skip("peak RSS test: skipped with -short and under the race detector")
	}
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("peak RSS test: needs /proc")
	}
	kinds := []string{"memory", "sqlite"}
	if os.Getenv(pgtest.EnvURL) != "" || os.Getenv(pgtest.EnvRequire) == "1" {
		kinds = append(kinds, "postgres")
	}
	peak := map[string]float64{}
	for _, kind := range kinds {
		env := []string{rssStoreEnv + "=" + kind, "GOMAXPROCS=1"}
		if kind == "postgres" {
			env = append(env, pgtest.EnvURL+"="+pgtest.Fresh(t))
		}
		cmd := exec.Command(os.Args[0], "-test.run=^TestBlazePeakRSSWithStore$", "-test.v")
		cmd.Env = append(os.Environ(), env...)
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s child:\n%s", kind, out)
		var hwm, handled, acked int64 = -1, 0, 0
		for _, line := range strings.Split(string(out), "\n") {
			if i := strings.Index(line, "rss-result "); i >= 0 {
				_, _ = fmt.Sscanf(line[i:], "rss-result %d %d %d", &hwm, &handled, &acked)
			}
		}
		require.GreaterOrEqual(t, hwm, int64(0), "no result from the %s child:\n%s", kind, out)
		assert.Equal(t, int64(rssBacklog), handled, kind)
		assert.Equal(t, int64(rssBacklog), acked, kind)
		peak[kind] = float64(hwm) / (1 << 20)
	}
	t.Logf("GOMAXPROCS=1, %d-message backlog: peak RSS in memory %.1f MB, with SQLite %.1f MB, with PostgreSQL %.1f MB",
		rssBacklog, peak["memory"], peak["sqlite"], peak["postgres"])
	for _, kind := range kinds[1:] {
		assert.LessOrEqual(t, peak[kind], peak["memory"]+40, "%s: peak RSS beyond the in-memory loop's plus 40 MB", kind)
	}
}

// rssFrames makes the backlog's frames one at a time: fresh ids, created
// a millisecond apart, over 200 conversations.
type rssFrames struct {
	zw  *gzip.Writer
	out bytes.Buffer
	t0  time.Time
}

func (f *rssFrames) frame(n uint64) []byte {
	var id uuid.UUID
	binary.BigEndian.PutUint64(id[8:], n)
	id[0], id[6], id[8] = 0xa0, 0x40, 0x80|id[8]&0x3f
	conv := mixin.UniqueConversationID("e8e8cd79-cd40-4796-8c54-3a13cfe50115", fmt.Sprint(n%200))
	at := f.t0.Add(time.Duration(n) * time.Millisecond).UTC().Format(time.RFC3339Nano)
	js := `{"id":"00000000-0000-4000-8000-000000000000","action":"CREATE_MESSAGE","data":{"type":"message","conversation_id":"` + conv +
		`","user_id":"e8e8cd79-cd40-4796-8c54-3a13cfe50115","session_id":"69738284-409c-4bef-b4f1-9754923134bf","message_id":"` + id.String() +
		`","category":"PLAIN_TEXT","data_base64":"aGVsbG8","status":"SENT","source":"LIST_PENDING_MESSAGES","created_at":"` + at + `","updated_at":"` + at + `"}}`
	f.out.Reset()
	f.zw.Reset(&f.out)
	_, _ = f.zw.Write([]byte(js))
	_ = f.zw.Close()
	return f.out.Bytes()
}

// rssStoreChild pushes the backlog through a loop with the store kind and
// prints "rss-result VmHWM handled acked".
func rssStoreChild(t *testing.T, kind string) {
	acks := &mixin.AckServer{}
	ws := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn := mixin.AcceptListed(w, r)
		if conn == nil {
			return
		}
		defer conn.Close()
		zw, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed)
		src := &rssFrames{zw: zw, t0: time.Now().Add(-time.Hour)}
		for n := uint64(0); n < rssBacklog; n++ {
			if conn.WriteMessage(websocket.BinaryMessage, src.frame(n)) != nil {
				return
			}
		}
		<-r.Context().Done()
	}))
	defer ws.Close()
	rest := httptest.NewServer(acks)
	defer rest.Close()
	c, err := mixin.NewClient(mixin.BenchKeystore(t), mixin.WithBaseURL(rest.URL), mixin.WithBlazeURL("ws"+strings.TrimPrefix(ws.URL, "http")+"/"))
	require.NoError(t, err)
	defer c.CloseIdleConnections()
	var opts []mixin.BlazeOption
	switch kind {
	case "sqlite":
		db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "rss.db"))
		require.NoError(t, err)
		defer db.Close()
		opts = append(opts, mixin.WithStore(db))
	case "postgres":
		db, err := postgres.Open(t.Context(), os.Getenv(pgtest.EnvURL))
		require.NoError(t, err)
		defer db.Close()
		opts = append(opts, mixin.WithStore(db))
	}
	var handled atomic.Int64
	h := mixin.HandlerFunc(func(context.Context, *mixin.Message) error { handled.Add(1); return nil })
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- c.RunBlaze(ctx, h, opts...) }()
	progress := func() int { return int(handled.Load() + acks.Acks()) }
	waitFor(t, "the backlog handled and acknowledged", progress, func() bool { return progress() == 2*rssBacklog })
	cancel()
	require.NoError(t, <-errc)
	fmt.Printf("rss-result %d %d %d\n", mixin.VMHWM(t), handled.Load(), acks.Acks())
}
