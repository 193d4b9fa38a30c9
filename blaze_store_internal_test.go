package mixin

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// countStore records the calls the loop's store goroutines make.
type countStore struct {
	mu       sync.Mutex
	expires  []time.Duration
	leases   [][]string
	released [][]string
	token    int64
}

func (c *countStore) Handled(_ context.Context, keys []string) ([]bool, error) {
	return make([]bool, len(keys)), nil
}

func (c *countStore) MarkHandled(_ context.Context, recs []Record) ([]bool, error) {
	out := make([]bool, len(recs))
	for i := range out {
		out[i] = true
	}
	return out, nil
}

func (c *countStore) BeginTx(context.Context) (*sql.Tx, error) {
	return nil, errors.New("no transactions here")
}
func (c *countStore) MarkHandledTx(context.Context, *sql.Tx, Record) (Mark, error) {
	return MarkRecorded, nil
}
func (c *countStore) Unavailable(error) bool { return false }

func (c *countStore) Lease(_ context.Context, ls []Lease, _ time.Duration) ([]int64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	keys := make([]string, len(ls))
	out := make([]int64, len(ls))
	for i, l := range ls {
		keys[i] = l.Key
		out[i] = l.Token
		if out[i] == 0 {
			c.token++
			out[i] = c.token
		}
	}
	c.leases = append(c.leases, keys)
	return out, nil
}

func (c *countStore) Release(_ context.Context, ls []Lease) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	keys := make([]string, len(ls))
	for i, l := range ls {
		keys[i] = l.Key
	}
	c.released = append(c.released, keys)
	return nil
}

func (c *countStore) Expire(_ context.Context, horizon time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.expires = append(c.expires, horizon)
	return nil
}

type storeCalls struct {
	expires          []time.Duration
	leases, released [][]string
}

func (c *countStore) snapshot() storeCalls {
	c.mu.Lock()
	defer c.mu.Unlock()
	return storeCalls{expires: append([]time.Duration(nil), c.expires...), leases: append([][]string(nil), c.leases...), released: append([][]string(nil), c.released...)}
}

// TestStoreExpiresOnSchedule: a minute after the start, then every hour,
// with the configured horizon.
func TestStoreExpiresOnSchedule(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := &countStore{}
		s := newStoreRun(storeConfig{store: st, horizon: 48 * time.Hour}, slog.New(slog.DiscardHandler), 4, func(StateEvent) {})
		ctx, cancel := context.WithCancel(t.Context())
		s.start(ctx)
		time.Sleep(59 * time.Second)
		synctest.Wait()
		if n := len(st.snapshot().expires); n != 0 {
			t.Fatalf("expired too early: %d", n)
		}
		time.Sleep(2*time.Second + 2*time.Hour)
		synctest.Wait()
		if e := st.snapshot().expires; len(e) != 3 || e[0] != 48*time.Hour {
			t.Fatalf("expires %v, want 3 of 48h", e)
		}
		cancel()
		s.shutdown(context.Background())
	})
	d := newStoreRun(storeConfig{store: &countStore{}}, slog.New(slog.DiscardHandler), 1, func(StateEvent) {})
	if d.cfg.horizon != DefaultHandledHorizon {
		t.Fatalf("default horizon %v", d.cfg.horizon)
	}
}

// TestLeasesRenewAndRelease: a lease in use is renewed every third of its
// time; one idle for that long is released; all go at shutdown.
func TestLeasesRenewAndRelease(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := &countStore{}
		s := newStoreRun(storeConfig{store: st, replica: "r1", lease: 3 * time.Second}, slog.New(slog.DiscardHandler), 4, func(StateEvent) {})
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		s.start(ctx)
		tokens := map[string]int64{}
		for _, k := range []string{"busy", "idle"} {
			tok, err := s.leases.acquire(ctx, k)
			if tok == 0 || err != nil {
				t.Fatalf("acquire %s: %v %v", k, tok, err)
			}
			tokens[k] = tok
		}
		s.leases.done("idle", tokens["idle"])
		if tok, _ := s.leases.acquire(ctx, "busy"); tok != tokens["busy"] {
			t.Fatal("a held lease with time left needs no call")
		}
		if l := st.snapshot().leases; len(l) != 2 {
			t.Fatalf("lease calls %v", l)
		}
		time.Sleep(1100 * time.Millisecond) // first tick: idle not yet for a third of the lease
		synctest.Wait()
		time.Sleep(time.Second) // second tick: idle released, busy renewed
		synctest.Wait()
		snap := st.snapshot()
		released, leases := snap.released, snap.leases
		if len(released) != 1 || released[0][0] != "idle" {
			t.Fatalf("released %v", released)
		}
		if last := leases[len(leases)-1]; len(last) != 1 || last[0] != "busy" {
			t.Fatalf("renewed %v", leases)
		}
		s.shutdown(context.Background())
		if r := st.snapshot().released; len(r[len(r)-1]) != 1 || r[len(r)-1][0] != "busy" {
			t.Fatalf("not released at shutdown: %v", r)
		}
	})
}
