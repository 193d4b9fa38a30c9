-- v1: messages the blaze loop handled, so that none is handed to a handler
-- twice. id is the loop's key of the message (its message id, or a receipt's
-- id and status); handled_at is unix milliseconds, for expiry.
CREATE TABLE mixin_handled (
	id         TEXT PRIMARY KEY,
	handled_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX mixin_handled_at ON mixin_handled (handled_at);
