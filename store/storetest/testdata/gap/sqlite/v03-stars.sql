ALTER TABLE storetest_notes ADD COLUMN stars INTEGER NOT NULL DEFAULT 5;
CREATE INDEX storetest_notes_stars ON storetest_notes (stars);
