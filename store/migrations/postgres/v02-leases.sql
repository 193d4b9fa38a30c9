-- v2: leases of replicas sharing the store: key (a conversation) is handled
-- by owner until expires_at (unix milliseconds).
CREATE TABLE mixin_leases (
	key        TEXT PRIMARY KEY,
	owner      TEXT NOT NULL,
	expires_at BIGINT NOT NULL
);
CREATE INDEX mixin_leases_expires ON mixin_leases (expires_at);
