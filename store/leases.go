package store

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/gomixin/mixin"
)

// newToken draws a lease token: random, so that a token is never given
// twice, even to a key whose row was deleted (released, expired) and made
// again; a replica that still holds an old token cannot match the new.
func newToken() int64 { return rand.Int64N(math.MaxInt64) + 1 }

// Lease takes or renews leases (see [github.com/gomixin/mixin.Store]): a
// lease with Token 0 is taken if its key is free, ended or its owner's
// already, with a new token; one with a Token is renewed only if its owner
// still holds it under that token. It returns each lease's token now, 0
// where refused.
func (db *DB) Lease(ctx context.Context, leases []mixin.Lease, ttl time.Duration) ([]int64, error) {
	out := make([]int64, len(leases))
	if len(leases) == 0 {
		return out, nil
	}
	// want is the token each request holds its key under if granted: the
	// one it renews, or a new one it takes the key with. Tokens are
	// unique, so the token a key has after the statements says which
	// request, if any, got it.
	want := make([]int64, len(leases))
	var take, renew []mixin.Lease
	fresh := map[mixin.Lease]int64{} // a key asked for twice by one owner gets one token
	for i, l := range leases {
		if l.Owner == "" {
			return nil, errors.New("store: lease: owner is empty")
		}
		want[i] = l.Token
		if l.Token == 0 {
			if t, ok := fresh[l]; ok {
				want[i] = t
				continue
			}
			want[i] = newToken()
			fresh[l] = want[i]
			take = append(take, mixin.Lease{Key: l.Key, Owner: l.Owner, Token: want[i]})
		} else {
			renew = append(renew, l)
		}
	}
	now := db.now()
	until := ms(now.Add(ttl))
	got := map[string]int64{}
	if len(take) > 0 {
		if err := db.leaseRows(ctx, got, db.st.take, take, until, ms(now)); err != nil {
			return nil, fmt.Errorf("store: lease: %w", err)
		}
	}
	if len(renew) > 0 {
		if err := db.leaseRows(ctx, got, db.st.renew, renew, until); err != nil {
			return nil, fmt.Errorf("store: lease: %w", err)
		}
	}
	for i, l := range leases {
		if got[l.Key] == want[i] {
			out[i] = want[i]
		}
	}
	return out, nil
}

// leaseRows runs a take or renew statement over ls (one row per key) and
// adds the (key, token) rows it returns to got.
func (db *DB) leaseRows(ctx context.Context, got map[string]int64, st *sql.Stmt, ls []mixin.Lease, args ...any) error {
	ls = slices.Clone(ls)
	slices.SortStableFunc(ls, func(a, b mixin.Lease) int { return cmp.Compare(a.Key, b.Key) })
	ls = slices.CompactFunc(ls, func(a, b mixin.Lease) bool { return a.Key == b.Key }) // one row per key and statement
	arg, err := db.leaseArgs(ls)
	if err != nil {
		return err
	}
	rows, err := st.QueryContext(ctx, append(args, arg...)...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var k string
		var t int64
		if err := rows.Scan(&k, &t); err != nil {
			return err
		}
		got[k] = t
	}
	return rows.Err()
}

// leaseArgs turns leases into the statements' arguments: one JSON array of
// [key, owner, token] rows for SQLite, three arrays for PostgreSQL.
func (db *DB) leaseArgs(ls []mixin.Lease) ([]any, error) {
	if db.d == DialectPostgreSQL {
		keys, owners, tokens := make([]string, len(ls)), make([]string, len(ls)), make([]int64, len(ls))
		for i, l := range ls {
			keys[i], owners[i], tokens[i] = l.Key, l.Owner, l.Token
		}
		return []any{keys, owners, tokens}, nil
	}
	rows := make([][]any, len(ls))
	for i, l := range ls {
		rows[i] = []any{l.Key, l.Owner, l.Token}
	}
	b, err := json.Marshal(rows)
	if err != nil {
		return nil, err
	}
	return []any{string(b)}, nil
}

// Release gives up each of leases that its owner still holds under its
// token; others' are left alone.
func (db *DB) Release(ctx context.Context, leases []mixin.Lease) error {
	if len(leases) == 0 {
		return nil
	}
	ls := slices.Clone(leases)
	slices.SortFunc(ls, func(a, b mixin.Lease) int { return cmp.Compare(a.Key, b.Key) })
	arg, err := db.leaseArgs(ls)
	if err != nil {
		return err
	}
	if _, err := db.st.release.ExecContext(ctx, arg...); err != nil {
		return fmt.Errorf("store: release: %w", err)
	}
	return nil
}

// expireBatch bounds one delete, so that expiry never holds the write lock
// for long.
const expireBatch = 1000

// Expire deletes the records of messages created before horizon ago (by
// the time their keys begin with; keys of another form are kept) and the
// leases that ended before now, in batches.
func (db *DB) Expire(ctx context.Context, horizon time.Duration) error {
	now := db.now()
	cutoff := now.Add(-horizon)
	if err := db.expireBatches(ctx, db.st.expire, keyBound(cutoff)); err != nil {
		return fmt.Errorf("store: expire: %w", err)
	}
	if db.v2.Load() {
		if err := db.expireBatches(ctx, db.st.expireV2, ms(cutoff)); err != nil {
			return fmt.Errorf("store: expire: %w", err)
		}
		var left bool
		if err := db.write.QueryRowContext(ctx, db.queries().anyV2).Scan(&left); err != nil {
			return fmt.Errorf("store: expire: %w", err)
		}
		db.v2.Store(left)
	}
	if _, err := db.st.expireLeases.ExecContext(ctx, ms(now)); err != nil {
		return fmt.Errorf("store: expire leases: %w", err)
	}
	return nil
}

// expireBatches runs a delete of at most expireBatch rows until one
// deletes fewer.
func (db *DB) expireBatches(ctx context.Context, st *sql.Stmt, bound any) error {
	for {
		res, err := st.ExecContext(ctx, bound, expireBatch)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if n < expireBatch {
			return nil
		}
	}
}

// keyBound is the least key of a message created at t or later: keys begin
// with 12 lowercase hex digits of Unix milliseconds, so every key of an
// earlier message sorts before it.
func keyBound(t time.Time) string {
	return fmt.Sprintf("%012x", max(t.UnixMilli(), 0))
}
