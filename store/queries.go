package store

import (
	"io/fs"
)

// queries are the loop's statements in one dialect. Lists of ids are one
// argument: a JSON array read with json_each on SQLite, a text[] on
// PostgreSQL, so each statement is prepared once whatever the batch size.
type queries struct {
	handled      string // (ids) -> id of each recorded
	mark         string // (now, ids)
	markOne      string // (id, now)
	lease        string // (owner, until, keys, now) -> key of each held
	release      string // (owner, keys)
	expire       string // (before, limit)
	expireLeases string // (now)
}

var sqliteQueries = queries{
	handled: `SELECT id FROM mixin_handled WHERE id IN (SELECT value FROM json_each(?))`,
	mark: `INSERT INTO mixin_handled (id, handled_at) SELECT value, ?1 FROM json_each(?2) WHERE true
		ON CONFLICT (id) DO NOTHING`,
	markOne: `INSERT INTO mixin_handled (id, handled_at) VALUES (?, ?) ON CONFLICT (id) DO NOTHING`,
	lease: `INSERT INTO mixin_leases (key, owner, expires_at) SELECT value, ?1, ?2 FROM json_each(?3) WHERE true
		ON CONFLICT (key) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
		WHERE mixin_leases.owner = excluded.owner OR mixin_leases.expires_at <= ?4
		RETURNING key`,
	release:      `DELETE FROM mixin_leases WHERE owner = ?1 AND key IN (SELECT value FROM json_each(?2))`,
	expire:       `DELETE FROM mixin_handled WHERE id IN (SELECT id FROM mixin_handled WHERE handled_at < ?1 LIMIT ?2)`,
	expireLeases: `DELETE FROM mixin_leases WHERE expires_at <= ?`,
}

var postgresQueries = queries{
	handled: `SELECT id FROM mixin_handled WHERE id = ANY($1::text[])`,
	mark: `INSERT INTO mixin_handled (id, handled_at) SELECT k, $1 FROM unnest($2::text[]) WITH ORDINALITY AS u(k, i) ORDER BY i
		ON CONFLICT (id) DO NOTHING`,
	markOne: `INSERT INTO mixin_handled (id, handled_at) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING`,
	lease: `INSERT INTO mixin_leases AS l (key, owner, expires_at) SELECT k, $1::text, $2::bigint FROM unnest($3::text[]) WITH ORDINALITY AS u(k, i) ORDER BY i
		ON CONFLICT (key) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
		WHERE l.owner = excluded.owner OR l.expires_at <= $4
		RETURNING key`,
	release:      `DELETE FROM mixin_leases WHERE owner = $1 AND key = ANY($2::text[])`,
	expire:       `DELETE FROM mixin_handled WHERE id IN (SELECT id FROM mixin_handled WHERE handled_at < $1 LIMIT $2)`,
	expireLeases: `DELETE FROM mixin_leases WHERE expires_at <= $1`,
}

func fsSub(fsys fs.FS, dir string) (fs.FS, error) { return fs.Sub(fsys, dir) }
