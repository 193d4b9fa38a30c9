package mixin

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
)

func benchKeystore(b testing.TB) *Keystore {
	ks, err := NewKeystore(testAppID, testSessionID, ed25519.NewKeyFromSeed(testSeed()))
	if err != nil {
		b.Fatal(err)
	}
	return ks
}

var benchBody = bytes.Repeat([]byte("x"), 1024)

// BenchmarkSign is the whole per-request signing cost: sig hash, claims,
// JWT and the Authorization header, for POST /messages with a 1 KB body.
func BenchmarkSign(b *testing.B) {
	ks := benchKeystore(b)
	now := time.Now()
	reqID := uuid.NewString()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ks.authorization("POST", "/messages", benchBody, reqID, now, 5*time.Minute); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSignBaseline is the physical limit of signing: sha256 over the
// same bytes plus one Ed25519 signature.
func BenchmarkSignBaseline(b *testing.B) {
	key := ed25519.NewKeyFromSeed(testSeed())
	msg := append([]byte("POST/messages"), benchBody...)
	// The signing input of a real token is ~330 bytes of header.claims.
	input := bytes.Repeat([]byte("a"), 330)
	b.ReportAllocs()
	for b.Loop() {
		sum := sha256.Sum256(msg)
		input[0] = sum[0]
		_ = ed25519.Sign(key, input)
	}
}

// seedPushFrame is a PLAIN_TEXT CREATE_MESSAGE push like the seed's.
func seedPushFrame(tb testing.TB, messageID string) []byte {
	var zw *gzip.Writer
	return seedPushFrameWith(tb, &zw, messageID)
}

// seedPushFrameWith is seedPushFrame reusing *zw, so that making many
// frames does not churn the heap before a measurement.
func seedPushFrameWith(tb testing.TB, zw **gzip.Writer, messageID string) []byte {
	js := `{"id":"` + uuid.NewString() + `","action":"CREATE_MESSAGE","data":{"type":"message","representative_id":"","quote_message_id":"","conversation_id":"dd219235-e83a-3b85-a13f-d0f20fa0e833","user_id":"e8e8cd79-cd40-4796-8c54-3a13cfe50115","session_id":"69738284-409c-4bef-b4f1-9754923134bf","message_id":"` + messageID + `","category":"PLAIN_TEXT","data":"aGVsbG8=","data_base64":"aGVsbG8","status":"SENT","source":"CREATE_MESSAGE","silent":false,"expire_in":0,"created_at":"2022-08-19T03:06:17.363215481Z","updated_at":"2022-08-19T03:06:17.363215481Z"}}`
	var buf bytes.Buffer
	if *zw == nil {
		*zw = gzip.NewWriter(&buf)
	} else {
		(*zw).Reset(&buf)
	}
	_, _ = (*zw).Write([]byte(js))
	if err := (*zw).Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// BenchmarkFrameDecode turns one inbound gzip frame into the typed message
// a handler receives.
func BenchmarkFrameDecode(b *testing.B) {
	frame := seedPushFrame(b, uuid.NewString())
	dec := frameDecoder{maxDecompressed: 8 << 20}
	rd := bytes.NewReader(frame) // stands for the websocket's frame reader
	b.ReportAllocs()
	b.SetBytes(int64(len(frame)))
	for b.Loop() {
		rd.Reset(frame)
		var f inFrame
		if err := dec.decode(rd, &f); err != nil || f.Data == nil {
			b.Fatal(err)
		}
	}
}

// plainView is what a hand-written decoder would fill: the same fields.
type plainView struct {
	Type             string    `json:"type"`
	RepresentativeID string    `json:"representative_id"`
	QuoteMessageID   string    `json:"quote_message_id"`
	ConversationID   string    `json:"conversation_id"`
	UserID           string    `json:"user_id"`
	SessionID        string    `json:"session_id"`
	MessageID        string    `json:"message_id"`
	Category         string    `json:"category"`
	Data             string    `json:"data"`
	DataBase64       string    `json:"data_base64"`
	Status           string    `json:"status"`
	Source           string    `json:"source"`
	Silent           bool      `json:"silent"`
	ExpireIn         int64     `json:"expire_in"`
	CreatedAt        time.Time `json:"created_at"`
	UpdatedAt        time.Time `json:"updated_at"`
}

// BenchmarkFrameDecodeBaseline is the physical limit: a reused gzip.Reader
// and encoding/json into plain structs of the same frame.
func BenchmarkFrameDecodeBaseline(b *testing.B) {
	frame := seedPushFrame(b, uuid.NewString())
	var d baselineDecoder
	b.ReportAllocs()
	b.SetBytes(int64(len(frame)))
	for b.Loop() {
		d.decode(b, frame)
	}
}

// baselineDecoder is the plain decode of a frame: a reused gzip.Reader and
// encoding/json into plain structs.
type baselineDecoder struct {
	zr  *gzip.Reader
	rd  bytes.Reader
	out bytes.Buffer
}

func (d *baselineDecoder) decode(tb testing.TB, frame []byte) {
	d.rd.Reset(frame)
	if d.zr == nil {
		d.zr, _ = gzip.NewReader(&d.rd)
	} else if err := d.zr.Reset(&d.rd); err != nil {
		tb.Fatal(err)
	}
	d.out.Reset()
	if _, err := d.out.ReadFrom(d.zr); err != nil {
		tb.Fatal(err)
	}
	var f struct {
		ID     string     `json:"id"`
		Action string     `json:"action"`
		Data   *plainView `json:"data"`
	}
	if err := json.Unmarshal(d.out.Bytes(), &f); err != nil {
		tb.Fatal(err)
	}
}

// ackServer is an in-process REST endpoint that accepts acknowledgements
// and counts them.
type ackServer struct {
	requests, acks atomic.Int64
}

func (a *ackServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Request-Id", r.Header.Get("X-Request-Id"))
	var acks []AcknowledgementRequest
	body, _ := io.ReadAll(r.Body)
	_ = json.Unmarshal(body, &acks)
	a.requests.Add(1)
	a.acks.Add(int64(len(acks)))
	_, _ = w.Write([]byte(`{"data":[]}`))
}

// messagesServer answers POST /messages like the API (single object or
// array).
func messagesServer() *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Request-Id", r.Header.Get("X-Request-Id"))
		body, _ := io.ReadAll(r.Body)
		if len(body) > 0 && body[0] == '[' {
			_, _ = w.Write([]byte(`{"data":[]}`))
			return
		}
		var m MessageRequest
		_ = json.Unmarshal(body, &m)
		fmt.Fprintf(w, `{"data":{"type":"message","message_id":%q,"conversation_id":%q,"category":%q,"data_base64":%q}}`, m.MessageID, m.ConversationID, m.Category, m.DataBase64)
	}))
}

// BenchmarkSendMessages sends 10,000 messages per op: batched, and one POST
// per message as the comparison.
func BenchmarkSendMessages(b *testing.B) {
	srv := messagesServer()
	defer srv.Close()
	c, err := NewClient(benchKeystore(b), WithBaseURL(srv.URL))
	if err != nil {
		b.Fatal(err)
	}
	const n = 10000
	conv := UniqueConversationID(testAppID, "e8e8cd79-cd40-4796-8c54-3a13cfe50115")
	build := func() []MessageRequest {
		msgs := make([]MessageRequest, n)
		for i := range msgs {
			msgs[i] = MessageRequest{ConversationID: conv, Category: CategoryPlainText, DataBase64: EncodeBase64Data([]byte(fmt.Sprintf("message %d", i)))}
		}
		return msgs
	}
	ctx := context.Background()
	b.Run("batched", func(b *testing.B) {
		for b.Loop() {
			if err := c.SendMessages(ctx, build()); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "msgs/s")
	})
	b.Run("one-per-request", func(b *testing.B) {
		for b.Loop() {
			for _, m := range build() {
				if _, err := c.SendMessage(ctx, m); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "msgs/s")
	})
}
