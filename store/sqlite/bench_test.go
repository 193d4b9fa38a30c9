package sqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/gomixin/mixin"
	"github.com/gomixin/mixin/store/sqlite"
)

// BenchmarkHandledOne is one admission check of a message not handled.
func BenchmarkHandledOne(b *testing.B) {
	db, err := sqlite.Open(b.Context(), filepath.Join(b.TempDir(), "b.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	ids := make([]string, 1000)
	for i := range ids {
		ids[i] = mixin.NewUUID()
	}
	_, _ = db.MarkHandled(b.Context(), records(ids))
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := db.Handled(b.Context(), []string{mixin.NewUUID()}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMarkHandled100 records a group of 100 ids; per op is per group.
func BenchmarkMarkHandled100(b *testing.B) {
	db, err := sqlite.Open(b.Context(), filepath.Join(b.TempDir(), "b.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	b.ReportAllocs()
	for b.Loop() {
		ids := make([]string, 100)
		for i := range ids {
			ids[i] = mixin.NewUUID()
		}
		if _, err := db.MarkHandled(b.Context(), records(ids)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMarkHandled1 is a group of one: the commit latency a lone
// message waits for.
func BenchmarkMarkHandled1(b *testing.B) {
	db, err := sqlite.Open(b.Context(), filepath.Join(b.TempDir(), "b.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := db.MarkHandled(b.Context(), []mixin.Record{{Key: mixin.NewUUID()}}); err != nil {
			b.Fatal(err)
		}
	}
}

func records(keys []string) []mixin.Record {
	out := make([]mixin.Record, len(keys))
	for i, k := range keys {
		out[i] = mixin.Record{Key: k}
	}
	return out
}
