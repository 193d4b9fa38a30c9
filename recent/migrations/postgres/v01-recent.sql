-- v1: the recent-conversation list. recent_state holds the global version
-- (one row) and the highest version of a pruned tombstone; versions below it
-- can only sync in full.
CREATE TABLE recent_state (
	id             INTEGER PRIMARY KEY CHECK (id = 1),
	version        BIGINT NOT NULL,
	pruned_version BIGINT NOT NULL
);
INSERT INTO recent_state (id, version, pruned_version) VALUES (1, 0, 0);

-- kind: 0 not known yet, 1 contact, 2 group. Times are unix milliseconds.
CREATE TABLE recent_conversations (
	conversation_id TEXT PRIMARY KEY,
	kind            BIGINT NOT NULL,
	unread          BIGINT NOT NULL,
	last_seq        BIGINT NOT NULL,
	last_message_id TEXT NOT NULL,
	version         BIGINT NOT NULL,
	updated_at      BIGINT NOT NULL,
	deleted         BIGINT NOT NULL
);
CREATE INDEX recent_conversations_version ON recent_conversations (version);

-- The last messages of each conversation. num is a number unique across
-- conversations (the version of the change that recorded the message).
CREATE TABLE recent_messages (
	conversation_id TEXT NOT NULL,
	seq             BIGINT NOT NULL,
	num             BIGINT NOT NULL,
	message_id      TEXT NOT NULL,
	user_id         TEXT NOT NULL,
	category        TEXT NOT NULL,
	data            BYTEA,
	unread          BIGINT NOT NULL,
	created_at      BIGINT NOT NULL,
	PRIMARY KEY (conversation_id, seq)
);
CREATE UNIQUE INDEX recent_messages_id ON recent_messages (conversation_id, message_id);
