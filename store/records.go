package store

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/gomixin/mixin"
)

// keysArg turns a list of keys into the one argument the queries take: a
// JSON array for SQLite's json_each, a text[] for PostgreSQL.
//
// For PostgreSQL the list is sorted and without repeats: concurrent
// statements (replicas) then take their row locks in one order, and cannot
// deadlock on each other.
func (db *DB) keysArg(keys []string) (any, error) {
	if db.d == DialectPostgreSQL {
		return slices.Compact(slices.Sorted(slices.Values(keys))), nil
	}
	b, err := json.Marshal(keys)
	if err != nil {
		return nil, err
	}
	return string(b), nil
}

func ms(t time.Time) int64 { return t.UnixMilli() }

// Handled reports, for each of keys, whether it is recorded as handled.
func (db *DB) Handled(ctx context.Context, keys []string) ([]bool, error) {
	out := make([]bool, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	arg, err := db.keysArg(keys)
	if err != nil {
		return nil, err
	}
	found, err := db.column(ctx, db.st.handled, arg)
	if err != nil {
		return nil, fmt.Errorf("store: handled: %w", err)
	}
	if db.v2.Load() {
		old, err := db.column(ctx, db.st.handledV2, arg)
		if err != nil {
			return nil, fmt.Errorf("store: handled: %w", err)
		}
		maps.Copy(found, old)
	}
	for i, k := range keys {
		_, out[i] = found[k]
	}
	return out, nil
}

// column runs a query returning one text column and collects it.
func (db *DB) column(ctx context.Context, st *sql.Stmt, args ...any) (map[string]struct{}, error) {
	rows, err := st.QueryContext(ctx, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	found := make(map[string]struct{}, 8)
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, err
		}
		found[k] = struct{}{}
	}
	return found, rows.Err()
}

// MarkHandled records recs as handled, in one transaction, and reports
// for each whether it is recorded now: always for a record without a lease
// (a key recorded before keeps its first record); for one with a lease,
// only if its owner still holds it under its token (see
// [github.com/gomixin/mixin.Store]).
func (db *DB) MarkHandled(ctx context.Context, recs []mixin.Record) ([]bool, error) {
	out := make([]bool, len(recs))
	if len(recs) == 0 {
		return out, nil
	}
	leased := 0
	for _, r := range recs {
		if r.Lease.Owner != "" {
			leased++
		}
	}
	if leased == 0 {
		if err := db.markPlain(ctx, db.st.mark, db.st.markOne, recs); err != nil {
			return nil, fmt.Errorf("store: mark handled: %w", err)
		}
		for i := range out {
			out[i] = true
		}
		return out, nil
	}
	ok, err := db.markWithLeases(ctx, recs, leased == len(recs))
	if err != nil {
		return nil, fmt.Errorf("store: mark handled: %w", err)
	}
	for i, r := range recs {
		_, out[i] = ok[r.Key]
		if r.Lease.Owner == "" {
			out[i] = true
		}
	}
	return out, nil
}

// markPlain inserts the records' keys, unchecked, with mark (or markOne for
// one record, the usual group when the loop is not busy).
func (db *DB) markPlain(ctx context.Context, mark, markOne *sql.Stmt, recs []mixin.Record) error {
	if len(recs) == 1 {
		_, err := markOne.ExecContext(ctx, recs[0].Key)
		return err
	}
	keys := make([]string, len(recs))
	for i, r := range recs {
		keys[i] = r.Key
	}
	arg, err := db.keysArg(keys)
	if err != nil {
		return err
	}
	_, err = mark.ExecContext(ctx, arg)
	return err
}

// markWithLeases records the plain records and the leased ones whose lease
// holds, and returns the keys of the leased ones recorded. allLeased lets
// PostgreSQL do it in one autocommitted statement.
func (db *DB) markWithLeases(ctx context.Context, recs []mixin.Record, allLeased bool) (map[string]struct{}, error) {
	if db.d == DialectPostgreSQL && allLeased {
		return db.markLeasedPG(ctx, db.st.markLeased, recs)
	}
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer func() { _ = tx.Rollback() }()
	var plain, leased []mixin.Record
	for _, r := range recs {
		if r.Lease.Owner == "" {
			plain = append(plain, r)
		} else {
			leased = append(leased, r)
		}
	}
	if len(plain) > 0 {
		if err := db.markPlain(ctx, tx.StmtContext(ctx, db.st.mark), tx.StmtContext(ctx, db.st.markOne), plain); err != nil {
			return nil, err
		}
	}
	var ok map[string]struct{}
	if db.d == DialectPostgreSQL {
		ok, err = db.markLeasedPG(ctx, tx.StmtContext(ctx, db.st.markLeased), leased)
	} else {
		ok, err = db.markLeasedSQLite(ctx, tx, leased)
	}
	if err != nil {
		return nil, err
	}
	return ok, tx.Commit()
}

func (db *DB) markLeasedPG(ctx context.Context, st *sql.Stmt, recs []mixin.Record) (map[string]struct{}, error) {
	recs = slices.Clone(recs)
	slices.SortFunc(recs, func(a, b mixin.Record) int { return cmp.Compare(a.Key, b.Key) })
	recs = slices.CompactFunc(recs, func(a, b mixin.Record) bool { return a.Key == b.Key })
	ids, keys, owners, tokens := make([]string, len(recs)), make([]string, len(recs)), make([]string, len(recs)), make([]int64, len(recs))
	for i, r := range recs {
		ids[i], keys[i], owners[i], tokens[i] = r.Key, r.Lease.Key, r.Lease.Owner, r.Lease.Token
	}
	return db.column(ctx, st, ids, keys, owners, tokens)
}

// markLeasedSQLite runs in tx, which holds the write lock: the leases
// checked cannot change before the insert commits.
func (db *DB) markLeasedSQLite(ctx context.Context, tx *sql.Tx, recs []mixin.Record) (map[string]struct{}, error) {
	rows := make([][]any, len(recs))
	for i, r := range recs {
		rows[i] = []any{r.Key, r.Lease.Key, r.Lease.Owner, r.Lease.Token}
	}
	b, err := json.Marshal(rows)
	if err != nil {
		return nil, err
	}
	ok, err := db.column(ctx, tx.StmtContext(ctx, db.st.markLeased), string(b))
	if err != nil || len(ok) == 0 {
		return ok, err
	}
	keep := make([]mixin.Record, 0, len(ok))
	for k := range ok {
		keep = append(keep, mixin.Record{Key: k})
	}
	return ok, db.markPlain(ctx, tx.StmtContext(ctx, db.st.mark), tx.StmtContext(ctx, db.st.markOne), keep)
}

// BeginTx starts a transaction on the writer, for a handler's own writes
// and [DB.MarkHandledTx]; ctx bounds its life. On SQLite it holds the
// database's write lock until it ends: keep it short.
func (db *DB) BeginTx(ctx context.Context) (*sql.Tx, error) {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("store: begin: %w", err)
	}
	return tx, nil
}

// MarkHandledTx records rec as handled in tx and says what became of it:
// [mixin.MarkDuplicate] if it was recorded already (by a transaction that
// committed first, e.g. on another replica), [mixin.MarkFenced] if it has
// a lease its owner no longer holds under its token. On either, roll tx
// back. On PostgreSQL it waits for a concurrent transaction recording the
// same key to end, and locks the lease's row until tx ends, so that no
// replica takes the conversation over between this check and the commit.
func (db *DB) MarkHandledTx(ctx context.Context, tx *sql.Tx, rec mixin.Record) (mixin.Mark, error) {
	mark, err := db.markTx(ctx, tx, rec)
	if err != nil {
		return 0, fmt.Errorf("store: mark handled: %w", err)
	}
	return mark, nil
}

func (db *DB) markTx(ctx context.Context, tx *sql.Tx, rec mixin.Record) (mixin.Mark, error) {
	if rec.Lease.Owner == "" {
		res, err := tx.StmtContext(ctx, db.st.markOne).ExecContext(ctx, rec.Key)
		if err != nil {
			return 0, err
		}
		return affected(res)
	}
	if db.d == DialectPostgreSQL {
		var held, inserted int
		err := tx.StmtContext(ctx, db.st.fenceTx).QueryRowContext(ctx, rec.Key, rec.Lease.Key, rec.Lease.Owner, rec.Lease.Token,
			db.fenceHold).Scan(&held, &inserted)
		switch {
		case err != nil:
			return 0, err
		case held == 0:
			return mixin.MarkFenced, nil
		case inserted == 0:
			return mixin.MarkDuplicate, nil
		}
		return mixin.MarkRecorded, nil
	}
	var held int
	if err := tx.StmtContext(ctx, db.st.fence).QueryRowContext(ctx, rec.Lease.Key, rec.Lease.Owner, rec.Lease.Token).Scan(&held); err != nil {
		return 0, err
	}
	if held == 0 {
		return mixin.MarkFenced, nil
	}
	res, err := tx.StmtContext(ctx, db.st.markOne).ExecContext(ctx, rec.Key)
	if err != nil {
		return 0, err
	}
	return affected(res)
}

func affected(res sql.Result) (mixin.Mark, error) {
	n, err := res.RowsAffected()
	if err != nil {
		return 0, err
	}
	if n == 1 {
		return mixin.MarkRecorded, nil
	}
	return mixin.MarkDuplicate, nil
}
