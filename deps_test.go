package mixin_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestRootImportsNoDriver keeps the database drivers and OpenTelemetry out
// of bots that import only the root package: the stores and the
// instrumentation (otelmixin) live in their own packages.
func TestRootImportsNoDriver(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps .: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 10 {
		t.Fatalf("go list -deps printed too little: %q", out)
	}
	for _, d := range deps {
		for _, banned := range []string{"modernc.org/sqlite", "github.com/jackc/pgx", "github.com/gomixin/mixin/store",
			"github.com/gomixin/mixin/recent", "go.opentelemetry.io", "github.com/gomixin/mixin/otelmixin",
			"github.com/prometheus"} {
			if d == banned || strings.HasPrefix(d, banned+"/") {
				t.Errorf("the root package depends on %s", d)
			}
		}
	}
}
