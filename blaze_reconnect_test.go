package mixin_test

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gomixin/mixin"
	"github.com/gomixin/mixin/mixintest"
	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The tests in this file pin the loop's reconnects, backoff and keepalive
// against scripted blaze servers (scripted is also used by the inbound-frame
// tests), on fake time.

// scripted serves the n-th blaze upgrade with fn: first with a nil conn,
// to refuse the upgrade with an HTTP status (0 accepts it), then, after
// reading the client's LIST_PENDING_MESSAGES, with the connection (fn
// answers the listing, or not).
func scripted(t *testing.T, fn func(n int, conn *websocket.Conn, listID string) (refuse int)) http.Handler {
	return scriptedAt(t, 0, fn)
}

// scriptedAt is scripted with a server clock skew ahead of the local one,
// announced in the upgrade's Date and X-Server-Time headers; fn sees the
// request of its upgrade.
func scriptedAt(t *testing.T, skew time.Duration, fn func(n int, conn *websocket.Conn, listID string) (refuse int)) http.Handler {
	return scriptedReq(t, skew, func(n int, _ *http.Request, conn *websocket.Conn, listID string) int { return fn(n, conn, listID) })
}

func scriptedReq(t *testing.T, skew time.Duration, fn func(n int, r *http.Request, conn *websocket.Conn, listID string) (refuse int)) http.Handler {
	up := websocket.Upgrader{Subprotocols: []string{"Mixin-Blaze-1"}}
	var dials atomic.Int32
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := int(dials.Add(1))
		if code := fn(n, r, nil, ""); code != 0 {
			w.WriteHeader(code)
			return
		}
		now := time.Now().Add(skew)
		conn, err := up.Upgrade(w, r, http.Header{"Date": {now.UTC().Format(http.TimeFormat)},
			"X-Server-Time": {fmt.Sprint(now.UnixNano())}})
		if err != nil {
			return
		}
		defer conn.Close()
		listID, err := readListing(conn)
		if err != nil {
			return
		}
		fn(n, r, conn, listID)
	})
}

// tokenIat returns the iat claim of the request's bearer token.
func tokenIat(r *http.Request) string {
	parts := strings.Split(strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "), ".")
	if len(parts) != 3 {
		return ""
	}
	js, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var claims struct {
		Iat int64 `json:"iat"`
	}
	_ = json.Unmarshal(js, &claims)
	return fmt.Sprint(claims.Iat)
}

func writeFrame(conn *websocket.Conn, v any) error {
	js, _ := json.Marshal(v)
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write(js)
	_ = zw.Close()
	return conn.WriteMessage(websocket.BinaryMessage, buf.Bytes())
}

func answerListing(conn *websocket.Conn, listID string) error {
	return writeFrame(conn, map[string]string{"id": listID, "action": "LIST_PENDING_MESSAGES"})
}

// drain reads (and so answers pings) until the connection ends.
func drain(conn *websocket.Conn) {
	for {
		if _, _, err := conn.NextReader(); err != nil {
			return
		}
	}
}

// A server that answers the listing and drops the socket at once gets
// growing waits between dials, not a reset after each listing.
func TestBlazeFlappingServerGetsGrowingBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBubble(t)
		defer b.close()
		b.setUpgrade(scripted(t, func(_ int, conn *websocket.Conn, listID string) int {
			if conn != nil {
				_ = answerListing(conn, listID)
			}
			return 0
		}))
		var st states
		stop := b.run(newRecorder(), st.hook(), mixin.WithReconnect(mixin.Retry{Min: 100 * time.Millisecond, Max: 10 * time.Second}))
		time.Sleep(4 * time.Second)
		require.NoError(t, stop())
		dials := st.count(mixin.ConnStateConnecting)
		assert.LessOrEqual(t, dials, 8, "a flapping server must see the waits grow")
		d := st.disconnects()
		require.GreaterOrEqual(t, len(d), 4)
		for i, e := range d {
			ceil := min(100*time.Millisecond<<i, 10*time.Second)
			assert.GreaterOrEqual(t, e.Delay, ceil/2, "wait %d", i)
			assert.LessOrEqual(t, e.Delay, ceil, "wait %d", i)
		}
	})
}

// After refused dials grew the backoff, a connection that proved itself
// (up for the read timeout, pongs received) resets it: the wait after it
// drops starts again from Min.
func TestBlazeBackoffResetsAfterAProvenConnection(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBubble(t)
		defer b.close()
		b.setUpgrade(scripted(t, func(n int, conn *websocket.Conn, listID string) int {
			switch {
			case n <= 5:
				return http.StatusServiceUnavailable
			case conn == nil:
				return 0
			}
			_ = answerListing(conn, listID)
			go func() { time.Sleep(20 * time.Second); conn.Close() }()
			drain(conn) // answers the client's pings
			return 0
		}))
		var st states
		const minWait = 100 * time.Millisecond
		stop := b.run(newRecorder(), st.hook(), mixin.WithKeepalive(2*time.Second, 5*time.Second),
			mixin.WithReconnect(mixin.Retry{Min: minWait, Max: time.Minute}))
		waitFake(t, "the drop after the proven connection", 2*time.Minute, func() bool { return len(st.disconnects()) >= 6 })
		require.NoError(t, stop())
		d := st.disconnects()
		assert.Greater(t, d[4].Delay, 4*minWait, "refused dials grow the wait")
		assert.LessOrEqual(t, d[5].Delay, minWait, "a proven connection resets the wait")
	})
}

// The waits between reconnects are jittered: the same attempt does not
// always wait the same.
func TestBlazeReconnectWaitsAreJittered(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBubble(t)
		defer b.close()
		b.S.SetFaults(mixintest.Faults{RefuseUpgrade: true})
		seen := map[time.Duration]bool{}
		for range 8 {
			var st states
			stop := b.run(newRecorder(), st.hook(), mixin.WithReconnect(mixin.Retry{Min: time.Second, Max: time.Second}))
			waitFake(t, "a refused dial", time.Minute, func() bool { return len(st.disconnects()) >= 1 })
			require.NoError(t, stop())
			seen[st.disconnects()[0].Delay] = true
		}
		assert.Greater(t, len(seen), 1, "eight runs all waited exactly the same: no jitter")
	})
}

// Acknowledgements are flushed when the socket drops, not left for the
// interval: the server then lists only what is really unhandled.
func TestBlazeDisconnectFlushesAcknowledgements(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBubble(t, mixintest.WithFaults(mixintest.Faults{DropAfterFrames: 6}))
		defer b.close()
		bot := b.S.Bot().UserID
		alice := b.S.NewUser("Alice")
		sendTexts(t, alice, bot, 5, "%d")
		rec := newRecorder()
		stop := b.run(rec, mixin.WithAckInterval(time.Hour))
		waitFake(t, "handled", time.Minute, func() bool { return rec.total.Load() == 5 })
		synctest.Wait() // the five acknowledgements are queued, for an hour
		require.Equal(t, 5, b.S.Pending(bot))
		sendTexts(t, alice, bot, 1, "last %d") // the sixth push drops the socket
		waitFake(t, "acknowledgements after the drop", 30*time.Second, func() bool { return b.S.Pending(bot) <= 1 })
		require.NoError(t, stop())
	})
}

// A server that never pings and never writes, but answers pings: the
// client's own pings keep the connection.
func TestBlazeClientPingsKeepAQuietConnection(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBubble(t, mixintest.WithPingInterval(time.Hour))
		defer b.close()
		var st states
		stop := b.run(newRecorder(), st.hook(), mixin.WithKeepalive(2*time.Second, 5*time.Second))
		time.Sleep(time.Minute)
		require.NoError(t, stop())
		assert.Empty(t, st.disconnects(), "a quiet but live connection was dropped")
		assert.Equal(t, 1, st.count(mixin.ConnStateConnected))
	})
}
