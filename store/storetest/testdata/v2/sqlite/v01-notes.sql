CREATE TABLE storetest_notes (id TEXT PRIMARY KEY, body TEXT NOT NULL);
