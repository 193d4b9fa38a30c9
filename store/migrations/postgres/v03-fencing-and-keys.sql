-- v3, fencing tokens: a lease's token changes whenever its key is taken
-- anew (never on renewal); a replica records a message only while it still
-- holds the lease of its conversation under the token it handled it with,
-- so one that stalled past its lease cannot commit after another took the
-- conversation over. Leases written before (token 0) match no holder and
-- are taken over as they end.
ALTER TABLE mixin_leases ADD COLUMN token BIGINT NOT NULL DEFAULT 0;
-- v3, records keyed by time: a key begins with the time its message was
-- created (12 hex digits of Unix milliseconds, then '-'), so records of live
-- traffic are appended at the right edge of one B-tree and expire by key
-- range, without a second index on a timestamp; bytewise (COLLATE "C"), so
-- keys sort by that time whatever the database's collation. Records
-- written before (keyed by the message id alone) stay in mixin_handled_v2,
-- still looked up, until they expire.
ALTER TABLE mixin_handled RENAME TO mixin_handled_v2;
ALTER INDEX mixin_handled_pkey RENAME TO mixin_handled_v2_pkey;
CREATE TABLE mixin_handled (
	id TEXT COLLATE "C" PRIMARY KEY
);
