package recent

// Batches returns how many transactions t committed.
func (t *Tracker) Batches() int64 { return t.batches.Load() }

// Queued returns how many changes wait for the next batch.
func (t *Tracker) Queued() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.queue)
}
