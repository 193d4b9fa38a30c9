package mixin_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
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
)

// BenchmarkBlazeStore measures messages through the whole loop (socket,
// decode, dispatch, no-op handler, batched acknowledgements) in memory and
// with each store, in one run so the ratios hold: every message has its own
// id (a store drops repeats), in 8 conversations, created 20µs apart as in
// live traffic at 50,000 messages a second. The store variants record
// every message before acknowledging it; -tx also begins the message's
// transaction in the handler (one commit per message). The PostgreSQL
// variants need MIXIN_TEST_POSTGRES.
func BenchmarkBlazeStore(b *testing.B) {
	b.Run("memory", func(b *testing.B) { benchStoreLoop(b, nil, false) })
	b.Run("sqlite", func(b *testing.B) { benchStoreLoop(b, benchSQLite(b), false) })
	b.Run("sqlite-tx", func(b *testing.B) { benchStoreLoop(b, benchSQLite(b), true) })
	b.Run("postgres", func(b *testing.B) { benchStoreLoop(b, benchPostgres(b), false) })
	b.Run("postgres-tx", func(b *testing.B) { benchStoreLoop(b, benchPostgres(b), true) })
}

func benchSQLite(b *testing.B) mixin.Store {
	db, err := sqlite.Open(b.Context(), filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = db.Close() })
	return db
}

func benchPostgres(b *testing.B) mixin.Store {
	db, err := postgres.Open(b.Context(), pgtest.Fresh(b))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = db.Close() })
	return db
}

// benchFrames encodes n CREATE_MESSAGE pushes with fresh ids, created
// 20µs apart.
func benchFrames(b *testing.B, n int) [][]byte {
	frames := make([][]byte, n)
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	t0 := time.Now().Add(-time.Hour)
	for i := range frames {
		conv := fmt.Sprintf("dd219235-e83a-3b85-a13f-d0f20fa0e8%02d", i%8)
		at := t0.Add(time.Duration(i) * 20 * time.Microsecond).UTC().Format(time.RFC3339Nano)
		js := `{"id":"` + uuid.NewString() + `","action":"CREATE_MESSAGE","data":{"type":"message","conversation_id":"` + conv +
			`","user_id":"e8e8cd79-cd40-4796-8c54-3a13cfe50115","session_id":"69738284-409c-4bef-b4f1-9754923134bf","message_id":"` + uuid.NewString() +
			`","category":"PLAIN_TEXT","data":"aGVsbG8=","data_base64":"aGVsbG8","status":"SENT","source":"CREATE_MESSAGE","created_at":"` + at + `","updated_at":"` + at + `"}}`
		buf.Reset()
		zw.Reset(&buf)
		_, _ = zw.Write([]byte(js))
		if err := zw.Close(); err != nil {
			b.Fatal(err)
		}
		frames[i] = bytes.Clone(buf.Bytes())
	}
	return frames
}

func benchStoreLoop(b *testing.B, st mixin.Store, tx bool) {
	frames := benchFrames(b, b.N)
	acks := &mixin.AckServer{}
	start := make(chan struct{})
	ws := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn := mixin.AcceptListed(w, r)
		if conn == nil {
			return
		}
		defer conn.Close()
		<-start
		for _, f := range frames {
			if err := conn.WriteMessage(websocket.BinaryMessage, f); err != nil {
				return
			}
		}
		<-r.Context().Done()
	}))
	defer ws.Close()
	rest := httptest.NewServer(acks)
	defer rest.Close()
	c, err := mixin.NewClient(mixin.BenchKeystore(b), mixin.WithBaseURL(rest.URL), mixin.WithBlazeURL("ws"+strings.TrimPrefix(ws.URL, "http")+"/"))
	if err != nil {
		b.Fatal(err)
	}
	var handled atomic.Int64
	done := make(chan struct{})
	want := int64(b.N)
	h := mixin.HandlerFunc(func(ctx context.Context, m *mixin.Message) error {
		if tx {
			if _, err := mixin.Tx(ctx); err != nil {
				return err
			}
		}
		if handled.Add(1) == want {
			close(done)
		}
		return nil
	})
	opts := []mixin.BlazeOption{mixin.WithAckInterval(50 * time.Millisecond)}
	if st != nil {
		opts = append(opts, mixin.WithStore(st))
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- c.RunBlaze(ctx, h, opts...) }()
	b.ReportAllocs()
	b.ResetTimer()
	close(start)
	select {
	case <-done:
	case <-time.After(5 * time.Minute):
		b.Fatal("loop stalled")
	}
	// Every message acknowledged, so with a store every record committed.
	for acks.Acks() < want {
		time.Sleep(time.Millisecond)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	cancel()
	if err := <-errc; err != nil {
		b.Fatal(err)
	}
}
