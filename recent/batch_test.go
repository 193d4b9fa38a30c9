package recent_test

import (
	"sync"
	"testing"
	"time"

	"github.com/gomixin/mixin"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestOneWritePerBatch: the messages of one batch send are one store
// write, and records made while a write is under way are committed
// together in the next one.
func TestOneWritePerBatch(t *testing.T) {
	db := sqliteOpener(t, nil)(t)
	r := newTracker(t, db)
	f := newMsgs()
	ctx := t.Context()

	sent := make([]*mixin.Message, 30)
	for i := range sent {
		sent[i] = f.text("c", recentBot, "batch")
	}
	before := r.Batches()
	r.SentHook()(ctx, sent)
	assert.Equal(t, before+1, r.Batches(), "30 sent messages, one write")
	assert.Equal(t, uint64(30), version(t, r))

	// Hold the writer (SQLite's one write connection) so records pile up.
	hold, err := db.Writer().BeginTx(ctx, nil)
	require.NoError(t, err)
	before = r.Batches()
	const n = 20
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- r.Record(ctx, f.text("c"+string(rune('a'+i%5)), "alice", "x"))
		}()
	}
	deadline := time.Now().Add(20 * time.Second)
	for r.Queued() < n-1 {
		require.True(t, time.Now().Before(deadline), "records queue up behind the running batch")
		time.Sleep(time.Millisecond)
	}
	require.NoError(t, hold.Rollback())
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	assert.Equal(t, before+2, r.Batches(), "the first record's write, then one for the other 19")
	assert.Equal(t, uint64(30+n), version(t, r))
}
