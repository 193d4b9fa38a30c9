// Package pgtest gives tests a PostgreSQL database of their own: a fresh
// schema on the server named by MIXIN_TEST_POSTGRES. Without that variable
// the tests skip, unless MIXIN_REQUIRE_POSTGRES=1 (as in CI) makes that a
// failure.
package pgtest

import (
	"context"
	"database/sql"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver
)

// EnvURL names the variable holding the server's URL.
const EnvURL = "MIXIN_TEST_POSTGRES"

// EnvRequire names the variable that makes a missing server a failure.
const EnvRequire = "MIXIN_REQUIRE_POSTGRES"

// URL returns the server's URL, or skips (or fails) the test.
func URL(t testing.TB) string {
	t.Helper()
	u := os.Getenv(EnvURL)
	if u == "" {
		if os.Getenv(EnvRequire) == "1" {
			t.Fatalf("%s=1 but %s is not set", EnvRequire, EnvURL)
		}
		t.Skipf("needs PostgreSQL: set %s=postgres://user@127.0.0.1:5432/db?sslmode=disable (.ci/run starts one)", EnvURL)
	}
	return u
}

// Fresh creates a new, empty schema on the server and returns a URL whose
// connections use it; the schema is dropped when the test ends.
func Fresh(t testing.TB) string {
	t.Helper()
	base := URL(t)
	schema := "t_" + strings.ReplaceAll(uuid.NewString(), "-", "")[:20]
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		_ = admin.Close()
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_, _ = admin.ExecContext(ctx, "DROP SCHEMA "+schema+" CASCADE")
		_ = admin.Close()
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("%s does not parse as a URL", EnvURL)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
