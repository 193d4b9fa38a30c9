// Package loopbench measures messages through a whole blaze loop, the way
// BenchmarkBlazeInbound of package mixin does, through the public API only:
// so that other packages (otelmixin) can measure the loop with options of
// their own, in a test binary of their own.
package loopbench

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/gorilla/websocket"

	"github.com/gomixin/mixin"
)

// distinct is more than the loop's dedupe window, so repeats count.
const distinct = 20000

// Inbound runs b.N messages through RunBlaze on a client built with opts:
// an in-process websocket server writes pre-encoded PLAIN_TEXT pushes, a
// no-op handler runs, acknowledgements are batched to an in-process REST
// endpoint. It reports cpu-ns/op, the process's CPU time per message (the
// loop's and the servers'), which other work on the machine sways less than
// wall time; x-decode, the run's time over a plain gzip and JSON decode
// of the same frames just before; and acks/request, how well the loop
// batches its acknowledgements. It fails unless every message was
// acknowledged.
func Inbound(b *testing.B, opts ...mixin.Option) {
	frames := pushes(b)
	baseline := decodeAll(b, frames, b.N)
	var acked, requests atomic.Int64
	target := make(chan int, 1)
	ws := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn := acceptListed(w, r)
		if conn == nil {
			return
		}
		defer conn.Close()
		n := <-target
		for i := range n {
			if conn.WriteMessage(websocket.BinaryMessage, frames[i%distinct]) != nil {
				return
			}
		}
		<-r.Context().Done()
	}))
	defer ws.Close()
	rest := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var acks []mixin.AcknowledgementRequest
		_ = json.NewDecoder(r.Body).Decode(&acks)
		acked.Add(int64(len(acks)))
		requests.Add(1)
		w.Header().Set("X-Request-Id", r.Header.Get("X-Request-Id"))
		_, _ = w.Write([]byte(`{"data":[]}`))
	}))
	defer rest.Close()
	ks, err := mixin.NewKeystore(uuid.NewString(), uuid.NewString(), ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, 32)))
	if err != nil {
		b.Fatal(err)
	}
	opts = append([]mixin.Option{mixin.WithBaseURL(rest.URL), mixin.WithBlazeURL("ws" + strings.TrimPrefix(ws.URL, "http") + "/")}, opts...)
	c, err := mixin.NewClient(ks, opts...)
	if err != nil {
		b.Fatal(err)
	}
	run(b, c, target, baseline)
	if r := requests.Load(); r > 0 {
		b.ReportMetric(float64(acked.Load())/float64(r), "acks/request")
	}
	if acked.Load() != int64(b.N) {
		b.Fatalf("acknowledged %d of %d", acked.Load(), b.N)
	}
}

// run times b.N messages through c's loop.
func run(b *testing.B, c *mixin.Client, target chan<- int, baseline time.Duration) {
	var handled atomic.Int64
	done := make(chan struct{})
	want := int64(b.N)
	h := mixin.HandlerFunc(func(context.Context, *mixin.Message) error {
		if handled.Add(1) == want {
			close(done)
		}
		return nil
	})
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	b.ReportAllocs()
	b.ResetTimer()
	cpu := processCPU()
	go func() { errc <- c.RunBlaze(ctx, h, mixin.WithAckInterval(50*time.Millisecond)) }()
	target <- b.N
	select {
	case <-done:
	case <-time.After(5 * time.Minute):
		b.Fatal("loop stalled")
	}
	b.StopTimer()
	if cpu > 0 {
		b.ReportMetric(float64(processCPU()-cpu)/float64(b.N), "cpu-ns/op")
	}
	b.ReportMetric(float64(b.Elapsed())/float64(baseline), "x-decode")
	cancel()
	if err := <-errc; err != nil {
		b.Fatal(err)
	}
}

// pushes are distinct CREATE_MESSAGE pushes of a PLAIN_TEXT message, as the
// server sends them.
func pushes(b *testing.B) [][]byte {
	frames := make([][]byte, distinct)
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	for i := range frames {
		js := `{"id":"` + uuid.NewString() + `","action":"CREATE_MESSAGE","data":{"type":"message","representative_id":"","quote_message_id":"","conversation_id":"dd219235-e83a-3b85-a13f-d0f20fa0e833","user_id":"e8e8cd79-cd40-4796-8c54-3a13cfe50115","session_id":"69738284-409c-4bef-b4f1-9754923134bf","message_id":"` + uuid.NewString() + `","category":"PLAIN_TEXT","data":"aGVsbG8=","data_base64":"aGVsbG8","status":"SENT","source":"CREATE_MESSAGE","silent":false,"expire_in":0,"created_at":"2022-08-19T03:06:17.363215481Z","updated_at":"2022-08-19T03:06:17.363215481Z"}}`
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

// decodeAll is the plain decode of n frames, the baseline of x-decode.
func decodeAll(b *testing.B, frames [][]byte, n int) time.Duration {
	var rd bytes.Reader
	var out bytes.Buffer
	var zr *gzip.Reader
	start := time.Now()
	for i := range n {
		rd.Reset(frames[i%distinct])
		var err error
		if zr == nil {
			zr, err = gzip.NewReader(&rd)
		} else {
			err = zr.Reset(&rd)
		}
		out.Reset()
		if err == nil {
			_, err = out.ReadFrom(zr)
		}
		var f struct {
			ID     string          `json:"id"`
			Action string          `json:"action"`
			Data   json.RawMessage `json:"data"`
		}
		var m struct {
			MessageID, ConversationID, Category, Data string
			CreatedAt                                 time.Time `json:"created_at"`
		}
		if err == nil {
			err = json.Unmarshal(out.Bytes(), &f)
		}
		if err == nil {
			err = json.Unmarshal(f.Data, &m)
		}
		if err != nil {
			b.Fatal(err)
		}
	}
	return time.Since(start)
}

// acceptListed upgrades a blaze connection and answers its listing of
// pending messages (empty); it returns nil if the client went away.
func acceptListed(w http.ResponseWriter, r *http.Request) *websocket.Conn {
	upgrader := websocket.Upgrader{Subprotocols: []string{"Mixin-Blaze-1"}}
	conn, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return nil
	}
	_, rd, err := conn.NextReader()
	if err != nil {
		_ = conn.Close()
		return nil
	}
	var list struct {
		ID string `json:"id"`
	}
	if zr, err := gzip.NewReader(rd); err == nil {
		_ = json.NewDecoder(zr).Decode(&list)
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write([]byte(`{"id":"` + list.ID + `","action":"LIST_PENDING_MESSAGES"}`))
	_ = zw.Close()
	if conn.WriteMessage(websocket.BinaryMessage, buf.Bytes()) != nil {
		_ = conn.Close()
		return nil
	}
	go func() { // read and drop what the client sends
		for {
			if _, _, err := conn.NextReader(); err != nil {
				return
			}
		}
	}()
	return conn
}
