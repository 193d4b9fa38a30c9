package mixintest

import (
	"os"
	"strings"
	"testing"
)

// TestAdminAPIDocumented: every admin route is named in cmd/mixintest's
// reference (its doc and -h text) and in the README, where users of other
// languages look.
func TestAdminAPIDocumented(t *testing.T) {
	usage, err := os.ReadFile("../cmd/mixintest/usage.txt")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	s := NewUnstartedServer()
	defer s.Close()
	for _, e := range s.adminEndpoints() {
		method, path, _ := strings.Cut(e.pattern, " ")
		padded := method + strings.Repeat(" ", max(1, 7-len(method))) + path
		if !strings.Contains(string(usage), "  "+padded+"\n") {
			t.Errorf("cmd/mixintest/usage.txt does not document %q", e.pattern)
		}
		if !strings.Contains(string(readme), path) {
			t.Errorf("README.md does not mention %s", path)
		}
	}
}
