package store

import (
	"io/fs"
)

// queries are the loop's statements in one dialect. Lists are one argument
// each: on SQLite a JSON array read with json_each (rows of several values
// are arrays), on PostgreSQL an array per column, so each statement is
// prepared once whatever the batch size.
type queries struct {
	handled      string // (keys) -> key of each recorded
	handledV2    string // (keys) -> key of each recorded before schema v3
	mark         string // (keys): records without a lease
	markOne      string // (key)
	markLeased   string // SQLite: (rows [key, lease key, owner, token]) -> key of each whose lease holds; PostgreSQL: (keys, lease keys, owners, tokens) records those, -> their keys
	fence        string // SQLite only: (lease key, owner, token) -> count of matching leases
	fenceTx      string // PostgreSQL only: (key, lease key, owner, token, hold ms) -> (lease held, inserted)
	take         string // (until, now, rows or columns of [key, owner, new token]) -> (key, token) of each taken
	renew        string // (until, rows or columns of [key, owner, token]) -> (key, token) of each renewed
	release      string // (rows or columns of [key, owner, token])
	expire       string // (key bound, limit): keys sorting before the bound
	expireV2     string // (before ms, limit)
	expireLeases string // (now)
	anyV2        string // () -> whether records from before schema v3 are left
}

var sqliteQueries = queries{
	handled:   `SELECT id FROM mixin_handled WHERE id IN (SELECT value FROM json_each(?))`,
	handledV2: `SELECT id FROM mixin_handled_v2 WHERE id IN (SELECT value FROM json_each(?))`,
	mark:      `INSERT INTO mixin_handled (id) SELECT value FROM json_each(?) WHERE true ON CONFLICT (id) DO NOTHING`,
	markOne:   `INSERT INTO mixin_handled (id) VALUES (?) ON CONFLICT (id) DO NOTHING`,
	// Run in the writer's transaction, which holds the write lock: no
	// lease can change between this check and the insert that follows.
	markLeased: `SELECT r.value ->> 0 FROM json_each(?1) AS r
		WHERE EXISTS (SELECT 1 FROM mixin_leases AS l
			WHERE l.key = r.value ->> 1 AND l.owner = r.value ->> 2 AND l.token = r.value ->> 3)`,
	fence: `SELECT count(*) FROM mixin_leases WHERE key = ? AND owner = ? AND token = ?`,
	take: `INSERT INTO mixin_leases (key, owner, token, expires_at)
		SELECT value ->> 0, value ->> 1, value ->> 2, ?1 FROM json_each(?3) WHERE true
		ON CONFLICT (key) DO UPDATE SET owner = excluded.owner, token = excluded.token, expires_at = excluded.expires_at
		WHERE mixin_leases.owner = excluded.owner OR mixin_leases.expires_at <= ?2
		RETURNING key, token`,
	renew: `UPDATE mixin_leases SET expires_at = ?1
		FROM (SELECT value ->> 0 AS k, value ->> 1 AS o, value ->> 2 AS t FROM json_each(?2)) AS r
		WHERE mixin_leases.key = r.k AND mixin_leases.owner = r.o AND mixin_leases.token = r.t
		RETURNING mixin_leases.key, mixin_leases.token`,
	release: `DELETE FROM mixin_leases WHERE (key, owner, token) IN
		(SELECT value ->> 0, value ->> 1, value ->> 2 FROM json_each(?1))`,
	expire:       `DELETE FROM mixin_handled WHERE id IN (SELECT id FROM mixin_handled WHERE id < ?1 ORDER BY id LIMIT ?2)`,
	expireV2:     `DELETE FROM mixin_handled_v2 WHERE id IN (SELECT id FROM mixin_handled_v2 WHERE handled_at < ?1 LIMIT ?2)`,
	expireLeases: `DELETE FROM mixin_leases WHERE expires_at <= ?`,
	anyV2:        `SELECT EXISTS (SELECT 1 FROM mixin_handled_v2)`,
}

var postgresQueries = queries{
	handled:   `SELECT id FROM mixin_handled WHERE id = ANY($1::text[])`,
	handledV2: `SELECT id FROM mixin_handled_v2 WHERE id = ANY($1::text[])`,
	mark: `INSERT INTO mixin_handled (id) SELECT k FROM unnest($1::text[]) WITH ORDINALITY AS u(k, i) ORDER BY i
		ON CONFLICT (id) DO NOTHING`,
	markOne: `INSERT INTO mixin_handled (id) VALUES ($1) ON CONFLICT (id) DO NOTHING`,
	// The leases' rows are locked FOR SHARE until the statement's
	// transaction ends, so a replica taking a conversation over (an
	// UPDATE of its row) waits for this record or finds it; in key order,
	// as every statement here locks lease rows, so two cannot deadlock.
	markLeased: `WITH r AS (SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[]) AS u(id, k, o, t)),
		l AS (SELECT key, owner, token FROM mixin_leases WHERE key = ANY($2::text[]) ORDER BY key FOR SHARE),
		ok AS (SELECT r.id FROM r JOIN l ON l.key = r.k AND l.owner = r.o AND l.token = r.t),
		ins AS (INSERT INTO mixin_handled (id) SELECT id FROM ok ORDER BY id ON CONFLICT (id) DO NOTHING)
		SELECT id FROM ok`,
	// One round trip in the handler's transaction: bound the idle time
	// before COMMIT, lock the lease's row and check it, record.
	fenceTx: `WITH g AS (SELECT set_config('idle_in_transaction_session_timeout', $5, true)),
		l AS (SELECT 1 AS one FROM mixin_leases, g WHERE key = $2 AND owner = $3 AND token = $4 FOR SHARE OF mixin_leases),
		ins AS (INSERT INTO mixin_handled (id) SELECT $1 FROM l ON CONFLICT (id) DO NOTHING RETURNING 1)
		SELECT (SELECT count(*) FROM l), (SELECT count(*) FROM ins)`,
	take: `INSERT INTO mixin_leases AS l (key, owner, token, expires_at)
		SELECT k, o, n, $1 FROM unnest($3::text[], $4::text[], $5::bigint[]) AS u(k, o, n) ORDER BY k
		ON CONFLICT (key) DO UPDATE SET owner = excluded.owner, token = excluded.token, expires_at = excluded.expires_at
		WHERE l.owner = excluded.owner OR l.expires_at <= $2
		RETURNING key, token`,
	renew: `UPDATE mixin_leases AS l SET expires_at = $1
		FROM (SELECT * FROM unnest($2::text[], $3::text[], $4::bigint[]) AS u(k, o, t) ORDER BY k) AS r
		WHERE l.key = r.k AND l.owner = r.o AND l.token = r.t
		RETURNING l.key, l.token`,
	release: `DELETE FROM mixin_leases AS l USING unnest($1::text[], $2::text[], $3::bigint[]) AS u(k, o, t)
		WHERE l.key = u.k AND l.owner = u.o AND l.token = u.t`,
	expire:       `DELETE FROM mixin_handled WHERE id IN (SELECT id FROM mixin_handled WHERE id < $1 ORDER BY id LIMIT $2)`,
	expireV2:     `DELETE FROM mixin_handled_v2 WHERE id IN (SELECT id FROM mixin_handled_v2 WHERE handled_at < $1 LIMIT $2)`,
	expireLeases: `DELETE FROM mixin_leases WHERE expires_at <= $1`,
	anyV2:        `SELECT EXISTS (SELECT 1 FROM mixin_handled_v2)`,
}

func fsSub(fsys fs.FS, dir string) (fs.FS, error) { return fs.Sub(fsys, dir) }
