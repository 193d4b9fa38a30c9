package mixin

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/gorilla/websocket"
)

// frameSource makes a fresh gzip CREATE_MESSAGE push for each sequence
// number, with a distinct message id and one of 200 conversations, reusing
// its buffers so the server side adds no garbage to measure.
type frameSource struct {
	zw     *gzip.Writer
	out    bytes.Buffer
	js     []byte
	prefix []byte
	mid    []byte
	suffix []byte
}

func newFrameSource() *frameSource {
	fs := &frameSource{}
	fs.zw, _ = gzip.NewWriterLevel(&fs.out, gzip.BestSpeed)
	fs.prefix = []byte(`{"id":"00000000-0000-4000-8000-000000000000","action":"CREATE_MESSAGE","data":{"type":"message","conversation_id":"`)
	fs.mid = []byte(`","user_id":"e8e8cd79-cd40-4796-8c54-3a13cfe50115","session_id":"69738284-409c-4bef-b4f1-9754923134bf","message_id":"`)
	fs.suffix = []byte(`","category":"PLAIN_TEXT","data_base64":"aGVsbG8","status":"SENT","source":"CREATE_MESSAGE","created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z"}}`)
	return fs
}

// uuidOf writes n as a version-4-shaped UUID.
func uuidOf(dst []byte, tag byte, n uint64) []byte {
	var u uuid.UUID
	u[0] = tag
	binary.BigEndian.PutUint64(u[8:], n)
	u[6], u[8] = 0x40, 0x80|u[8]&0x3f
	var s [36]byte
	hexs := "0123456789abcdef"
	j := 0
	for i, b := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			s[j] = '-'
			j++
		}
		s[j], s[j+1] = hexs[b>>4], hexs[b&15]
		j += 2
	}
	return append(dst, s[:]...)
}

func (fs *frameSource) frame(n uint64) []byte {
	fs.js = append(fs.js[:0], fs.prefix...)
	fs.js = uuidOf(fs.js, 0xc0, n%200)
	fs.js = append(fs.js, fs.mid...)
	fs.js = uuidOf(fs.js, 0xa0, n)
	fs.js = append(fs.js, fs.suffix...)
	fs.out.Reset()
	fs.zw.Reset(&fs.out)
	_, _ = fs.zw.Write(fs.js)
	_ = fs.zw.Close()
	return fs.out.Bytes()
}

func liveHeap() uint64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// TestBlazeMemoryBounded pushes 1,000,000 distinct messages through the
// loop (in-process websocket server, no-op handler, acknowledgements to an
// in-process endpoint) and checks the live heap then is within 1 MB of the
// live heap after 10,000: the dedupe window, queues, pools and ack batches
// are bounded. MIXIN_MEMORY_MESSAGES overrides the million.
func TestBlazeMemoryBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("memory test: skipped with -short")
	}
	if raceEnabled {
		t.Skip("memory test: skipped under the race detector (minutes long, and its shadow memory skews the heap)")
	}
	const warm = 10000
	total := uint64(1000000)
	if v, err := strconv.ParseUint(os.Getenv("MIXIN_MEMORY_MESSAGES"), 10, 64); err == nil && v > warm {
		total = v
	}

	acks := &ackServer{}
	target := make(chan uint64)
	var sent atomic.Uint64
	ws := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn := acceptListed(w, r)
		if conn == nil {
			return
		}
		defer conn.Close()
		src := newFrameSource()
		for {
			var upTo uint64
			select {
			case upTo = <-target:
			case <-r.Context().Done():
				return
			}
			for n := sent.Load(); n < upTo; n++ {
				if conn.WriteMessage(websocket.BinaryMessage, src.frame(n)) != nil {
					return
				}
				sent.Store(n + 1)
			}
		}
	}))
	defer ws.Close()
	rest := httptest.NewServer(acks)
	defer rest.Close()

	c, err := NewClient(benchKeystore(t), WithBaseURL(rest.URL), WithBlazeURL("ws"+strings.TrimPrefix(ws.URL, "http")+"/"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseIdleConnections()
	var handled atomic.Uint64
	h := HandlerFunc(func(context.Context, *Message) error { handled.Add(1); return nil })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- c.RunBlaze(ctx, h, WithAckInterval(20*time.Millisecond)) }()

	settle := func(n uint64) {
		t.Helper()
		target <- n
		deadline := time.Now().Add(3 * time.Minute)
		for handled.Load() < n || uint64(acks.acks.Load()) < n {
			if time.Now().After(deadline) {
				t.Fatalf("stalled: %d handled, %d acknowledged of %d", handled.Load(), acks.acks.Load(), n)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	start := time.Now()
	settle(warm)
	before := liveHeap()
	settle(total)
	after := liveHeap()
	elapsed := time.Since(start)
	cancel()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	growth := int64(after) - int64(before)
	t.Logf("live heap after %d messages: %d B; after %d: %d B; growth %+d B; %d ack requests; %v (%.0f msg/s)",
		warm, before, total, after, growth, acks.requests.Load(), elapsed.Round(time.Millisecond), float64(total)/elapsed.Seconds())
	if handled.Load() != total {
		t.Errorf("handled %d of %d (duplicates?)", handled.Load(), total)
	}
	if growth > 1<<20 {
		t.Errorf("live heap grew by %d bytes between %d and %d messages; want at most 1 MiB", growth, warm, total)
	}
}
