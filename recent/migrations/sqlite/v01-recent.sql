-- v1: the recent-conversation list. recent_state holds the global version
-- (one row) and the highest version of a pruned tombstone; versions below it
-- can only sync in full.
CREATE TABLE recent_state (
	id             INTEGER PRIMARY KEY CHECK (id = 1),
	version        INTEGER NOT NULL,
	pruned_version INTEGER NOT NULL
);
INSERT INTO recent_state (id, version, pruned_version) VALUES (1, 0, 0);

-- kind: 0 not known yet, 1 contact, 2 group. Times are unix milliseconds.
CREATE TABLE recent_conversations (
	conversation_id TEXT PRIMARY KEY,
	kind            INTEGER NOT NULL,
	unread          INTEGER NOT NULL,
	last_seq        INTEGER NOT NULL,
	last_message_id TEXT NOT NULL,
	version         INTEGER NOT NULL,
	updated_at      INTEGER NOT NULL,
	deleted         INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX recent_conversations_version ON recent_conversations (version);

-- The last messages of each conversation. num is a number unique across
-- conversations (the version of the change that recorded the message).
CREATE TABLE recent_messages (
	conversation_id TEXT NOT NULL,
	seq             INTEGER NOT NULL,
	num             INTEGER NOT NULL,
	message_id      TEXT NOT NULL,
	user_id         TEXT NOT NULL,
	category        TEXT NOT NULL,
	data            BLOB,
	unread          INTEGER NOT NULL,
	created_at      INTEGER NOT NULL,
	PRIMARY KEY (conversation_id, seq)
) WITHOUT ROWID;
CREATE UNIQUE INDEX recent_messages_id ON recent_messages (conversation_id, message_id);
