package store

// The names below were settled for 1.0 (see CHANGELOG.md, "Names settled
// for 1.0"). The old names stay as aliases until 1.0 so that code written
// before then still builds; nothing in this module uses them.

// SQLite is the old name of [DialectSQLite].
//
// Deprecated: use DialectSQLite. Kept until 1.0 so code written before the
// names settled still builds.
const SQLite = DialectSQLite

// PostgreSQL is the old name of [DialectPostgreSQL].
//
// Deprecated: use DialectPostgreSQL. Kept until 1.0 so code written before the
// names settled still builds.
const PostgreSQL = DialectPostgreSQL
