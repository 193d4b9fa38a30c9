package mixin_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gomixin/mixin"
	"github.com/google/uuid"
	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func gz(t testing.TB, js []byte) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	_, _ = zw.Write(js)
	require.NoError(t, zw.Close())
	return buf.Bytes()
}

// pushJSON is a CREATE_MESSAGE push of a PLAIN_TEXT message.
func pushJSON(messageID, conversationID, text string) []byte {
	b, _ := json.Marshal(map[string]any{"id": uuid.NewString(), "action": "CREATE_MESSAGE", "data": map[string]any{
		"type": "message", "conversation_id": conversationID, "user_id": uuid.NewString(), "message_id": messageID,
		"category": "PLAIN_TEXT", "data_base64": mixin.EncodeBase64Data([]byte(text)), "status": "SENT", "source": "CREATE_MESSAGE",
		"created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z",
	}})
	return b
}

// readListing reads the client's first frame and returns its id.
func readListing(conn *websocket.Conn) (string, error) {
	_, rd, err := conn.NextReader()
	if err != nil {
		return "", err
	}
	zr, err := gzip.NewReader(rd)
	if err != nil {
		return "", err
	}
	var f struct{ ID, Action string }
	if err := json.NewDecoder(zr).Decode(&f); err != nil {
		return "", err
	}
	if f.Action != "LIST_PENDING_MESSAGES" {
		return "", errors.New("first frame is " + f.Action)
	}
	return f.ID, nil
}

func testKeystore(t testing.TB) *mixin.Keystore {
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	ks, err := mixin.NewKeystore(uuid.NewString(), uuid.NewString(), key)
	require.NoError(t, err)
	return ks
}

// TestBlazeSurvivesHostileFrames runs the loop against a server that, on
// successive connections, sends one kind of broken frame each. Every broken
// frame must cost a connection (never the loop, never a panic); frames that
// are well-formed but unknown or carry an error are ignored without
// reconnecting; and after all that a valid message is handled, once.
func TestBlazeSurvivesHostileFrames(t *testing.T) {
	const maxFrame, maxInflated = 256 << 10, 64 << 10
	zeros := make([]byte, 1<<20)
	var bomb bytes.Buffer // 100 MiB of zeros, ~100 KiB compressed: under maxFrame, far over maxInflated
	zw, _ := gzip.NewWriterLevel(&bomb, gzip.BestCompression)
	for range 100 {
		_, _ = zw.Write(zeros)
	}
	require.NoError(t, zw.Close())
	require.Less(t, bomb.Len(), maxFrame)
	oversize := make([]byte, maxFrame+1024)
	_, _ = rand.Read(oversize)
	valid := pushJSON(uuid.NewString(), uuid.NewString(), "finally")
	corrupt := gz(t, valid)
	corrupt[len(corrupt)/2] ^= 0xff
	corrupt[len(corrupt)/2+1] ^= 0xff

	bin := func(b []byte) [2]any { return [2]any{websocket.BinaryMessage, b} }
	steps := []hostileStep{
		{"text frame", func(string) [][2]any { return [][2]any{{websocket.TextMessage, valid}} }, true},
		{"binary, not gzip", func(string) [][2]any { return [][2]any{bin(valid)} }, true},
		{"corrupted gzip", func(string) [][2]any { return [][2]any{bin(corrupt)} }, true},
		{"truncated gzip", func(string) [][2]any { return [][2]any{bin(gz(t, valid)[:30])} }, true},
		{"gzip bomb", func(string) [][2]any { return [][2]any{bin(bomb.Bytes())} }, true},
		{"frame over the size limit", func(string) [][2]any { return [][2]any{bin(oversize)} }, true},
		{"gzip of non-JSON", func(string) [][2]any { return [][2]any{bin(gz(t, []byte("<html>502</html>")))} }, true},
		{"error reply to the listing", func(id string) [][2]any {
			return [][2]any{bin(gz(t, []byte(`{"id":"`+id+`","action":"LIST_PENDING_MESSAGES","error":{"status":500,"code":7000,"description":"blaze down"}}`)))}
		}, true},
		{"unknown action, error frame, empty data, then a valid message", func(string) [][2]any {
			return [][2]any{
				bin(gz(t, []byte(`{"id":"`+uuid.NewString()+`","action":"SOMETHING_NEW","data":{"message_id":"`+uuid.NewString()+`"}}`))),
				bin(gz(t, []byte(`{"id":"`+uuid.NewString()+`","action":"CREATE_MESSAGE","error":{"status":202,"code":10002,"description":"bad"}}`))),
				bin(gz(t, []byte(`{"id":"`+uuid.NewString()+`","action":"CREATE_MESSAGE","data":{}}`))),
				bin(gz(t, []byte(`{"id":"`+uuid.NewString()+`","action":"CREATE_MESSAGE","data":null}`))),
				bin(gz(t, valid)),
			}
		}, false},
	}

	synctest.Test(t, func(t *testing.T) { hostileFrames(t, steps, maxFrame, maxInflated) })
}

type hostileStep struct {
	name   string
	frames func(listID string) [][2]any // message type, payload
	drops  bool                         // the client must hang up after it
}

// hostileFrames runs TestBlazeSurvivesHostileFrames' steps in a bubble, on
// fake time: "no late reconnect" is asserted over a fake minute.
func hostileFrames(t *testing.T, steps []hostileStep, maxFrame, maxInflated int64) {
	b := newBubble(t)
	defer b.close()
	var conns atomic.Int32
	var srvErr error
	var srvMu sync.Mutex
	upgrader := websocket.Upgrader{Subprotocols: []string{"Mixin-Blaze-1"}}
	b.setUpgrade(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := upgrader.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer conn.Close()
		n := int(conns.Add(1)) - 1
		listID, err := readListing(conn)
		if err != nil {
			return
		}
		if n >= len(steps) {
			drain(conn)
			return
		}
		st := steps[n]
		if !strings.HasPrefix(st.name, "error reply") {
			reply, _ := json.Marshal(map[string]string{"id": listID, "action": "LIST_PENDING_MESSAGES"})
			_ = conn.WriteMessage(websocket.BinaryMessage, gz(t, reply))
		}
		for _, fr := range st.frames(listID) {
			if err := conn.WriteMessage(fr[0].(int), fr[1].([]byte)); err != nil {
				if st.drops {
					return // the client may hang up while a bad frame is still being written
				}
				srvMu.Lock()
				srvErr = err
				srvMu.Unlock()
				return
			}
		}
		drain(conn) // pings and the hang-up
	}))

	var mu sync.Mutex
	var disconnects []error
	rec := newRecorder()
	stop := b.run(rec, mixin.WithAckMode(mixin.AckModeManual), mixin.WithFrameLimits(maxFrame, maxInflated),
		mixin.WithStateHook(func(e mixin.StateEvent) {
			if e.State == mixin.ConnStateDisconnected {
				mu.Lock()
				disconnects = append(disconnects, e.Err)
				mu.Unlock()
			}
		}))
	waitFake(t, "the valid message", time.Minute, func() bool { return rec.total.Load() == 1 })
	time.Sleep(time.Minute) // fake: a late reconnect would show here
	require.NoError(t, stop())
	srvMu.Lock()
	require.NoError(t, srvErr)
	srvMu.Unlock()

	assert.EqualValues(t, len(steps), conns.Load(), "one connection per broken step, none for the ignored frames")
	assert.Equal(t, "finally", rec.byConv[firstKey(rec)][0])
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, disconnects, len(steps), "one disconnect per broken step, plus the final shutdown")
	for i, st := range steps[:len(steps)-1] {
		err := disconnects[i]
		require.Error(t, err, st.name)
		var fe *mixin.FrameError
		var ae *mixin.APIError
		switch st.name {
		case "binary, not gzip", "corrupted gzip", "truncated gzip", "gzip bomb", "gzip of non-JSON":
			assert.ErrorAs(t, err, &fe, st.name)
		case "error reply to the listing":
			if assert.ErrorAs(t, err, &ae, st.name) {
				assert.Equal(t, 7000, ae.Code)
				assert.False(t, mixin.IsUnauthorized(err))
			}
		}
		if st.name == "gzip bomb" && fe != nil {
			assert.Contains(t, fe.Reason, "decompresses to more than")
		}
		t.Logf("%s -> %v", st.name, err)
	}
	assert.ErrorIs(t, disconnects[len(steps)-1], context.Canceled, "the last disconnect is the shutdown")
}

func firstKey(r *recorder) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	for k := range r.byConv {
		return k
	}
	return ""
}

// hijackWriter lets websocket.Upgrader take over the server end of a
// net.Pipe, so the whole exchange runs inside a synctest bubble on fake
// time without an HTTP server.
type hijackWriter struct {
	conn   net.Conn
	brw    *bufio.ReadWriter
	header http.Header
}

func (w *hijackWriter) Header() http.Header         { return w.header }
func (w *hijackWriter) Write(b []byte) (int, error) { return w.conn.Write(b) }
func (w *hijackWriter) WriteHeader(int)             {}
func (w *hijackWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return w.conn, w.brw, nil
}

// serveSilent upgrades one pipe connection, answers LIST_PENDING_MESSAGES,
// then keeps reading but never answers a ping or sends anything.
func serveSilent(conn net.Conn) {
	defer conn.Close()
	br := bufio.NewReader(conn)
	req, err := http.ReadRequest(br)
	if err != nil {
		return
	}
	w := &hijackWriter{conn: conn, brw: bufio.NewReadWriter(br, bufio.NewWriter(conn)), header: http.Header{}}
	up := websocket.Upgrader{Subprotocols: []string{"Mixin-Blaze-1"}}
	ws, err := up.Upgrade(w, req, nil)
	if err != nil {
		return
	}
	ws.SetPingHandler(func(string) error { return nil }) // dead: no pongs
	listID, err := readListing(ws)
	if err != nil {
		return
	}
	reply, _ := json.Marshal(map[string]string{"id": listID, "action": "LIST_PENDING_MESSAGES"})
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write(reply)
	_ = zw.Close()
	if ws.WriteMessage(websocket.BinaryMessage, buf.Bytes()) != nil {
		return
	}
	for {
		if _, _, err := ws.NextReader(); err != nil {
			return
		}
	}
}

// TestBlazeKeepaliveClosesSilentSocket: a server that answers the listing
// and then goes silent (no frames, no pongs) must make the loop drop the
// socket after the read timeout and dial again. It runs on fake time in a
// synctest bubble: the client dials net.Pipe through the HTTP client's
// Transport.DialContext, which the blaze dialer reuses.
func TestBlazeKeepaliveClosesSilentSocket(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const ping, readTimeout = 2 * time.Second, 5 * time.Second
		var dials atomic.Int32
		var serving sync.WaitGroup
		transport := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			dials.Add(1)
			client, server := net.Pipe()
			serving.Add(1)
			go func() { defer serving.Done(); serveSilent(server) }()
			return client, nil
		}}
		c, err := mixin.NewClient(testKeystore(t), mixin.WithHTTPClient(&http.Client{Transport: transport}),
			mixin.WithBaseURL("http://api.invalid"), mixin.WithBlazeURL("ws://blaze.invalid/"))
		require.NoError(t, err)

		type event struct {
			at    time.Time
			state mixin.ConnState
			err   error
		}
		var mu sync.Mutex
		var events []event
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			done <- c.RunBlaze(ctx, newRecorder(), mixin.WithAckMode(mixin.AckModeManual),
				mixin.WithKeepalive(ping, readTimeout), mixin.WithReconnect(mixin.Retry{Min: time.Second, Max: time.Second}),
				mixin.WithStateHook(func(e mixin.StateEvent) {
					mu.Lock()
					events = append(events, event{time.Now(), e.State, e.Err})
					mu.Unlock()
				}))
		}()
		start := time.Now()
		// Two read timeouts plus backoff: the second connection must be up
		// and then dropped too.
		time.Sleep(2*readTimeout + 2*time.Second)
		synctest.Wait()
		cancel()
		require.NoError(t, <-done)
		serving.Wait()

		mu.Lock()
		defer mu.Unlock()
		var connected, dropped []time.Duration
		for _, e := range events {
			switch {
			case e.state == mixin.ConnStateConnected:
				connected = append(connected, e.at.Sub(start))
			case e.state == mixin.ConnStateDisconnected && !errors.Is(e.err, context.Canceled):
				dropped = append(dropped, e.at.Sub(start))
				var ne net.Error
				assert.True(t, errors.As(e.err, &ne) && ne.Timeout(), "dropped for the read timeout, got %v", e.err)
			}
		}
		require.GreaterOrEqual(t, len(dropped), 2, "events: %v", events)
		require.GreaterOrEqual(t, len(connected), 2)
		// Fake time is exact: the socket dies readTimeout after the
		// listing reply (the last frame), and the next dial follows the
		// backoff (jittered in [0.5s, 1s]).
		assert.Equal(t, readTimeout, dropped[0]-connected[0])
		gap := connected[1] - dropped[0]
		assert.True(t, gap >= 500*time.Millisecond && gap <= time.Second, "reconnect after %v", gap)
		assert.GreaterOrEqual(t, int(dials.Load()), 2)
	})
}
