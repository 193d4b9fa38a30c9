package mixin_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gomixin/mixin"
	"github.com/gomixin/mixin/mixintest"
	"github.com/google/uuid"
	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// What the loop does with inbound frames as the official apps read them,
// on fake time against scripted servers beside the emulator's REST API.

// messageFrame is a CREATE_MESSAGE push; data fields override the default
// PLAIN_TEXT view.
func messageFrame(data map[string]any) map[string]any {
	d := map[string]any{"type": "message", "conversation_id": uuid.NewString(), "user_id": uuid.NewString(),
		"session_id": uuid.NewString(), "message_id": uuid.NewString(), "category": "PLAIN_TEXT",
		"data_base64": mixin.EncodeBase64Data([]byte("hi")), "status": "SENT", "source": "CREATE_MESSAGE",
		"created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"}
	for k, v := range data {
		d[k] = v
	}
	return map[string]any{"id": uuid.NewString(), "action": "CREATE_MESSAGE", "data": d}
}

// ackedIDs returns the message ids the emulator saw acknowledged over REST.
func ackedIDs(b *bubble) map[string]bool {
	out := map[string]bool{}
	for _, r := range b.S.Requests() {
		if r.Method == "POST" && r.Path == "/acknowledgements" && r.Status == 200 {
			for _, id := range uuidsIn(r.Body) {
				out[id] = true
			}
		}
	}
	return out
}

func uuidsIn(body []byte) []string {
	var acks []mixin.AcknowledgementRequest
	_ = json.Unmarshal(body, &acks)
	ids := make([]string, len(acks))
	for i, a := range acks {
		ids[i] = a.MessageID
	}
	return ids
}

// A message whose data does not decode (created_at "") reaches the
// dead-letter hook with a *MessageDecodeError and is acknowledged; the
// connection stays up and the next message is handled.
func TestBlazePoisonMessageGoesToTheDeadLetter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBubble(t)
		defer b.close()
		poison := messageFrame(map[string]any{"created_at": ""})
		poisonID := poison["data"].(map[string]any)["message_id"].(string)
		good := messageFrame(nil)
		b.setUpgrade(scripted(t, func(_ int, conn *websocket.Conn, listID string) int {
			if conn != nil {
				_ = answerListing(conn, listID)
				_ = writeFrame(conn, poison)
				_ = writeFrame(conn, good)
				drain(conn)
			}
			return 0
		}))
		var mu sync.Mutex
		var dead []error
		var deadMsg *mixin.Message
		rec := newRecorder()
		var st states
		stop := b.run(rec, st.hook(), mixin.WithDeadLetter(func(_ context.Context, m *mixin.Message, err error) {
			mu.Lock()
			dead, deadMsg = append(dead, err), m
			mu.Unlock()
		}))
		waitFake(t, "the good message", time.Minute, func() bool { return rec.total.Load() == 1 })
		waitFake(t, "the poison's acknowledgement", time.Minute, func() bool { return ackedIDs(b)[poisonID] })
		require.NoError(t, stop())
		mu.Lock()
		defer mu.Unlock()
		require.Len(t, dead, 1)
		var de *mixin.MessageDecodeError
		require.ErrorAs(t, dead[0], &de)
		assert.Equal(t, poisonID, de.MessageID)
		assert.Equal(t, poisonID, deadMsg.MessageID, "the hook gets what could be read")
		assert.Empty(t, st.disconnects(), "a poison message must not cost the connection")
	})
}

// Status updates (a CREATE_MESSAGE of the bot itself with an empty
// category), a late reply to a send over the socket, and the bot's own
// message from another session never reach the handler; the own message
// is acknowledged, the status updates are not.
func TestBlazeStatusUpdatesAndLateRepliesAreNotMessages(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBubble(t)
		defer b.close()
		bot := b.S.Bot().UserID
		alice := b.S.NewUser("Alice")
		_, err := b.C.CreateContactConversation(context.Background(), alice.UserID)
		require.NoError(t, err)
		status := messageFrame(map[string]any{"user_id": bot, "category": "", "data_base64": ""})
		own := messageFrame(map[string]any{"user_id": bot})
		good := messageFrame(nil)
		id := func(f map[string]any) string { return f["data"].(map[string]any)["message_id"].(string) }
		b.setUpgrade(scripted(t, func(_ int, conn *websocket.Conn, listID string) int {
			if conn == nil {
				return 0
			}
			_ = answerListing(conn, listID)
			_ = writeFrame(conn, status)
			_ = writeFrame(conn, own)
			// Read the send, answer it after its waiter gave up, then push.
			req, err := readRequest(conn)
			if err != nil {
				return 0
			}
			time.Sleep(2 * time.Second)
			late := messageFrame(map[string]any{"user_id": bot, "category": "", "message_id": req.Params.MessageID, "data_base64": ""})
			late["id"] = req.ID
			_ = writeFrame(conn, late)
			_ = writeFrame(conn, good)
			drain(conn)
			return 0
		}))
		rec := newRecorder()
		stop := b.run(rec, mixin.WithSocketReplyTimeout(500*time.Millisecond))
		time.Sleep(time.Second)
		_, err = b.C.SendText(context.Background(), mixin.ToUser(alice.UserID), "over the socket", mixin.OverBlaze())
		require.NoError(t, err, "the send falls back to REST")
		waitFake(t, "the good message", time.Minute, func() bool { return rec.total.Load() >= 1 })
		waitFake(t, "the own message's acknowledgement", time.Minute, func() bool { return ackedIDs(b)[id(own)] })
		synctest.Wait()
		require.NoError(t, stop())
		assert.EqualValues(t, 1, rec.total.Load(), "only the good message is a message")
		acked := ackedIDs(b)
		assert.True(t, acked[id(good)])
		assert.False(t, acked[id(status)], "a status update is not acknowledged")
	})
}

type request struct {
	ID     string `json:"id"`
	Action string `json:"action"`
	Params struct {
		MessageID string `json:"message_id"`
	} `json:"params"`
}

func readRequest(conn *websocket.Conn) (request, error) {
	var req request
	_, rd, err := conn.NextReader()
	if err != nil {
		return req, err
	}
	zr, err := gzipReader(rd)
	if err != nil {
		return req, err
	}
	err = json.NewDecoder(zr).Decode(&req)
	return req, err
}

// A 401 in an ERROR frame, from a server whose clock is an hour ahead, is
// retried once with the clock corrected from the upgrade's X-Server-Time,
// and the loop goes on; without skew, the same 401 ends RunBlaze at once.
func TestBlazeUnauthorizedErrorFrameWithSkewRecovers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const skew = time.Hour // the server's clock, REST and blaze alike, is an hour ahead
		b := newBubble(t, mixintest.WithClock(func() time.Time { return time.Now().Add(skew) }))
		defer b.close()
		good := messageFrame(nil)
		var rejected atomic.Int32
		b.setUpgrade(scriptedReq(t, skew, func(_ int, r *http.Request, conn *websocket.Conn, listID string) int {
			if conn == nil {
				return 0
			}
			iat, _ := strconv.ParseInt(tokenIat(r), 10, 64)
			if d := time.Since(time.Unix(iat, 0).Add(-skew)); d > 5*time.Minute || d < -5*time.Minute {
				rejected.Add(1)
				_ = writeFrame(conn, map[string]any{"id": uuid.NewString(), "action": "ERROR",
					"error": map[string]any{"status": 202, "code": 401, "description": "Unauthorized, maybe invalid token."}})
				return 0
			}
			_ = answerListing(conn, listID)
			_ = writeFrame(conn, good)
			drain(conn)
			return 0
		}))
		rec := newRecorder()
		stop := b.run(rec)
		waitFake(t, "the message after the clock correction", time.Minute, func() bool { return rec.total.Load() == 1 })
		require.NoError(t, stop())
		assert.EqualValues(t, 1, rejected.Load(), "one 401, then the corrected token")
		assert.InDelta(t, float64(skew), float64(b.C.ClockOffset()), float64(time.Second))

		// No skew: the 401 is final.
		b.setUpgrade(scriptedAt(t, 0, func(_ int, conn *websocket.Conn, _ string) int {
			if conn != nil {
				_ = writeFrame(conn, map[string]any{"id": uuid.NewString(), "action": "ERROR",
					"error": map[string]any{"status": 202, "code": 401, "description": "Unauthorized"}})
			}
			return 0
		}))
		c := b.client()
		start := time.Now()
		err := c.RunBlaze(context.Background(), rec, fastBlaze...)
		assert.True(t, mixin.IsUnauthorized(err), "%v", err)
		assert.Less(t, time.Since(start), time.Second, "a 401 the clock does not explain is not retried")
	})
}

// The loop against an emulator that answers acknowledgements with {} (as
// the docs show) acknowledges every message.
func TestBlazeAcknowledgesAgainstEmptyAnswers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBubble(t)
		defer b.close()
		var mu sync.Mutex
		var answers []string
		b.setWrap(func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if !strings.HasSuffix(r.URL.Path, "/acknowledgements") {
					next.ServeHTTP(w, r)
					return
				}
				rw := &recordingWriter{ResponseWriter: w}
				next.ServeHTTP(rw, r)
				mu.Lock()
				answers = append(answers, strings.TrimSpace(rw.body.String()))
				mu.Unlock()
			})
		})
		bot := b.S.Bot().UserID
		sendTexts(t, b.S.NewUser("Alice"), bot, 250, "%d")
		rec := newRecorder()
		stop := b.run(rec)
		waitFake(t, "every acknowledgement", time.Minute, func() bool { return b.S.Pending(bot) == 0 })
		require.NoError(t, stop())
		mu.Lock()
		defer mu.Unlock()
		require.NotEmpty(t, answers)
		for _, a := range answers {
			assert.Equal(t, "{}", a)
		}
	})
}

type recordingWriter struct {
	http.ResponseWriter
	body bytes.Buffer
}

func (w *recordingWriter) Write(p []byte) (int, error) {
	w.body.Write(p)
	return w.ResponseWriter.Write(p)
}

// With WithSocketAcks, acknowledgements go as ACKNOWLEDGE_MESSAGE_RECEIPTS
// frames: the emulator ends with nothing pending and saw no REST
// acknowledgement.
func TestBlazeSocketAcknowledgements(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBubble(t)
		defer b.close()
		bot := b.S.Bot().UserID
		sendTexts(t, b.S.NewUser("Alice"), bot, 250, "%d")
		rec := newRecorder()
		stop := b.run(rec, mixin.WithSocketAcks())
		waitFake(t, "every acknowledgement", time.Minute, func() bool { return b.S.Pending(bot) == 0 })
		require.NoError(t, stop())
		assert.EqualValues(t, 250, rec.total.Load())
		assert.Zero(t, countRequests(b.S, "POST", "/acknowledgements"), "acknowledged over REST")
	})
}

// Receipts are not acknowledged by default; WithReceiptAcks acknowledges
// them (READ), as the Node and Kotlin clients do.
func TestBlazeReceiptAcknowledgementIsAnOption(t *testing.T) {
	for _, ackReceipts := range []bool{false, true} {
		t.Run(strconv.FormatBool(ackReceipts), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				b := newBubble(t)
				defer b.close()
				alice := b.S.NewUser("Alice")
				ctx := context.Background()
				_, err := b.C.CreateContactConversation(ctx, alice.UserID)
				require.NoError(t, err)
				var receipts atomic.Int32
				opts := []mixin.BlazeOption{mixin.WithReceiptHook(func(context.Context, mixin.Receipt) error { receipts.Add(1); return nil })}
				if ackReceipts {
					opts = append(opts, mixin.WithReceiptAcks())
				}
				stop := b.run(newRecorder(), opts...)
				sent, err := b.C.SendText(ctx, mixin.ToUser(alice.UserID), "read me")
				require.NoError(t, err)
				require.NoError(t, alice.Ack(ctx, sent.MessageID, "READ"))
				waitFake(t, "the receipt", time.Minute, func() bool { return receipts.Load() == 1 })
				time.Sleep(time.Second) // several ack intervals
				require.NoError(t, stop())
				assert.Equal(t, ackReceipts, ackedIDs(b)[sent.MessageID])
			})
		})
	}
}

// With WithReceiptAcks each receipt is acknowledged with its own status:
// on a server that keeps receipts until they are acknowledged, keyed by
// message and status, the handler sees DELIVERED then READ, both are
// retired, and a new connection pushes neither again.
func TestBlazeReceiptsAcknowledgedWithTheirStatus(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBubble(t, mixintest.WithReceiptsUntilAcked())
		defer b.close()
		bot, alice := b.S.Bot().UserID, b.S.NewUser("Alice")
		ctx := context.Background()
		_, err := b.C.CreateContactConversation(ctx, alice.UserID)
		require.NoError(t, err)
		sent, err := b.C.SendText(ctx, mixin.ToUser(alice.UserID), "read me")
		require.NoError(t, err)
		var mu sync.Mutex
		var seen []mixin.AckStatus
		hook := mixin.WithReceiptHook(func(_ context.Context, r mixin.Receipt) error {
			mu.Lock()
			defer mu.Unlock()
			if r.MessageID == sent.MessageID {
				seen = append(seen, r.Status)
			}
			return nil
		})
		stop := b.run(newRecorder(), hook, mixin.WithReceiptAcks())
		require.NoError(t, alice.Ack(ctx, sent.MessageID, mixin.AckStatusDelivered))
		require.NoError(t, alice.Ack(ctx, sent.MessageID, mixin.AckStatusRead))
		waitFake(t, "both receipts acknowledged", time.Minute, func() bool { return b.S.Pending(bot) == 0 })
		require.NoError(t, stop())
		mu.Lock()
		assert.Equal(t, []mixin.AckStatus{mixin.AckStatusDelivered, mixin.AckStatusRead}, seen)
		mu.Unlock()

		pushed := b.S.Pushes(bot)
		var st states
		stop = b.run(newRecorder(), hook, mixin.WithReceiptAcks(), st.hook())
		waitFake(t, "a new connection", time.Minute, func() bool { return st.count(mixin.ConnStateConnected) == 1 })
		time.Sleep(10 * time.Second)
		require.NoError(t, stop())
		assert.Equal(t, pushed, b.S.Pushes(bot), "pushed again on a new connection")
		mu.Lock()
		assert.Len(t, seen, 2, "a receipt reached the hook again")
		mu.Unlock()
	})
}

func gzipReader(r io.Reader) (io.Reader, error) { return gzip.NewReader(r) }

// A 401 from a server whose clock is an hour ahead, at the upgrade or in
// the ERROR frame the emulator sends by default, is retried once with the
// clock learnt from the answer's headers.
func TestBlazeUnauthorizedUpgradeWithSkewRecovers(t *testing.T) {
	for name, form := range map[string]mixintest.BlazeAuthFailure{"upgrade": mixintest.BlazeAuthFailureHTTP401, "error frame": mixintest.BlazeAuthFailureErrorFrame} {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				const skew = time.Hour
				b := newBubble(t, mixintest.WithClock(func() time.Time { return time.Now().Add(skew) }), mixintest.WithBlazeAuthFailure(form))
				defer b.close()
				var upgrades atomic.Int32
				b.setWrap(func(next http.Handler) http.Handler {
					return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
						if r.Header.Get("Upgrade") != "" {
							upgrades.Add(1)
						}
						next.ServeHTTP(w, r)
					})
				})
				sendTexts(t, b.S.NewUser("Alice"), b.S.Bot().UserID, 1, "%d")
				rec := newRecorder()
				var st states
				stop := b.run(rec, st.hook())
				waitFake(t, "the message after the clock correction", time.Minute, func() bool { return rec.total.Load() == 1 })
				require.NoError(t, stop())
				assert.InDelta(t, float64(skew), float64(b.C.ClockOffset()), float64(time.Second))
				if form == mixintest.BlazeAuthFailureHTTP401 {
					assert.Empty(t, st.disconnects(), "the corrected dial is part of the same attempt")
				}
				assert.EqualValues(t, 2, upgrades.Load(), "one 401, then the corrected token")
			})
		})
	}
}
