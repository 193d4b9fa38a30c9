package postgres_test

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/gomixin/mixin"
	"github.com/gomixin/mixin/internal/pgtest"
	"github.com/gomixin/mixin/mixintest"
	"github.com/gomixin/mixin/store/postgres"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestUnreachable: under a running blaze loop, the server stops answering
// for 30 seconds (a proxy between the store and the server stops
// forwarding, as a network partition does: sessions hang, new ones never
// finish connecting). The store timeout turns the hung calls into
// failures, retried with backoff; nothing is acknowledged meanwhile; the
// state hook says why; when the network comes back the loop goes on by
// itself, and each message's effect (in its transaction) commits once. It
// lives in this package so that its 30 seconds, mostly waiting, pass while
// the root package's tests run.
func TestUnreachable(t *testing.T) {
	if testing.Short() {
		t.Skip("waits 30s")
	}
	target, err := url.Parse(pgtest.Fresh(t))
	require.NoError(t, err)
	p := startProxy(t, target.Host)
	via := *target
	via.Host = p.addr
	db, err := postgres.Open(t.Context(), via.String())
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	_, err = db.Writer().ExecContext(t.Context(), `CREATE TABLE effects (msg TEXT NOT NULL)`)
	require.NoError(t, err)

	s := mixintest.NewServer(t)
	c, err := s.Client()
	require.NoError(t, err)
	var mu sync.Mutex
	var events []mixin.StateEvent
	h := mixin.HandlerFunc(func(ctx context.Context, m *mixin.Message) error {
		tx, err := mixin.Tx(ctx)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO effects (msg) VALUES ($1)`, m.MessageID)
		return err
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- c.RunBlaze(ctx, h, mixin.WithStore(db), mixin.WithStoreTimeout(time.Second), mixin.WithAckInterval(20*time.Millisecond),
			mixin.WithStateHook(func(e mixin.StateEvent) {
				if e.State == mixin.ConnStateStoreFailed || e.State == mixin.ConnStateStoreRecovered {
					mu.Lock()
					events = append(events, e)
					mu.Unlock()
				}
			}))
	}()
	defer func() { cancel(); require.NoError(t, <-done) }()
	alice := s.NewUser("Alice")
	var sentMu sync.Mutex
	var sent []string
	send := func(n int, gap time.Duration) {
		for i := range n {
			m, err := alice.SendText(t.Context(), s.Bot().UserID, fmt.Sprint("text ", i))
			require.NoError(t, err)
			sentMu.Lock()
			sent = append(sent, m.MessageID)
			sentMu.Unlock()
			time.Sleep(gap)
		}
	}
	pending := func() int { return s.Pending(s.Bot().UserID) }
	wait := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for !cond() {
			require.True(t, time.Now().Before(deadline), "no %s after 30s", what)
			time.Sleep(10 * time.Millisecond)
		}
	}
	nEvents := func() int { mu.Lock(); defer mu.Unlock(); return len(events) }

	send(20, 5*time.Millisecond)
	wait("the first messages acknowledged", func() bool { return pending() == 0 })
	p.pause()
	outage := time.Now()
	send(20, 5*time.Millisecond)
	wait("the state hook hearing the store fail", func() bool { return nEvents() >= 1 })
	var senders sync.WaitGroup
	senders.Add(1)
	go func() { defer senders.Done(); send(200, 100*time.Millisecond) }() // through the outage and after
	time.Sleep(30*time.Second - time.Since(outage))
	assert.GreaterOrEqual(t, pending(), 40, "nothing acknowledged while the server is unreachable")
	p.resume()
	wait("the state hook hearing the store recover", func() bool { return nEvents() >= 2 })
	senders.Wait()
	wait("every message acknowledged", func() bool { return pending() == 0 })

	mu.Lock()
	assert.Equal(t, mixin.ConnStateStoreFailed, events[0].State)
	var se *mixin.StoreError
	assert.ErrorAs(t, events[0].Err, &se)
	assert.Equal(t, mixin.ConnStateStoreRecovered, events[len(events)-1].State)
	mu.Unlock()
	got := map[string]int{}
	rows, err := db.SQL().QueryContext(t.Context(), `SELECT msg FROM effects`)
	require.NoError(t, err)
	defer rows.Close()
	for rows.Next() {
		var m string
		require.NoError(t, rows.Scan(&m))
		got[m]++
	}
	require.NoError(t, rows.Err())
	sentMu.Lock()
	defer sentMu.Unlock()
	for _, id := range sent {
		require.Equal(t, 1, got[id], "effects of %s", id)
	}
	assert.Len(t, got, len(sent))
}

// tcpProxy forwards connections to a server until paused: then it forwards
// nothing, on open connections or new ones, until resumed.
type tcpProxy struct {
	addr   string
	mu     sync.Mutex
	paused bool
	wake   chan struct{} // closed on resume
}

func startProxy(t *testing.T, target string) *tcpProxy {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &tcpProxy{addr: l.Addr().String(), wake: make(chan struct{})}
	var wg sync.WaitGroup
	t.Cleanup(func() { _ = l.Close(); p.resume(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() { defer wg.Done(); p.serve(c, target) }()
		}
	}()
	return p
}

func (p *tcpProxy) pause() {
	p.mu.Lock()
	p.paused, p.wake = true, make(chan struct{})
	p.mu.Unlock()
}

func (p *tcpProxy) resume() {
	p.mu.Lock()
	if p.paused {
		p.paused = false
		close(p.wake)
	}
	p.mu.Unlock()
}

// gate waits while the proxy is paused.
func (p *tcpProxy) gate() {
	p.mu.Lock()
	paused, wake := p.paused, p.wake
	p.mu.Unlock()
	if paused {
		<-wake
	}
}

func (p *tcpProxy) serve(c net.Conn, target string) {
	defer c.Close()
	p.gate()
	up, err := net.Dial("tcp", target)
	if err != nil {
		return
	}
	defer up.Close()
	done := make(chan struct{}, 2)
	pump := func(dst, src net.Conn) {
		defer func() { done <- struct{}{} }()
		buf := make([]byte, 32<<10)
		for {
			n, err := src.Read(buf)
			if n > 0 {
				p.gate()
				if _, werr := dst.Write(buf[:n]); werr != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	}
	go pump(up, c)
	go pump(c, up)
	<-done
	_ = c.Close()
	_ = up.Close()
	<-done
}
