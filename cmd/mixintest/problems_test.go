package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// A message the official apps would show broken is logged and served on
// GET /_mixintest/problems.
func TestRunLogsProblems(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"-addr", "127.0.0.1:0"}, pw); pw.Close() }()
	sc := bufio.NewScanner(pr)
	var lines []string
	for len(lines) < 3 && sc.Scan() {
		lines = append(lines, sc.Text())
	}
	m := regexp.MustCompile(`^mixintest: api (http://\S+)$`).FindStringSubmatch(lines[0])
	if m == nil {
		t.Fatalf("lines %q", lines)
	}
	api, bot := m[1], strings.TrimPrefix(lines[2], "mixintest: bot ")
	logged := make(chan string, 16)
	go func() {
		for sc.Scan() {
			logged <- sc.Text()
		}
		close(logged)
	}()

	var none []map[string]any
	req, _ := http.NewRequest("GET", api+"/_mixintest/problems", nil)
	doJSON(t, req, 200, &none)
	if none == nil {
		t.Fatal("GET /_mixintest/problems answered null with no problems, want []")
	}
	var created struct {
		User struct {
			UserID string `json:"user_id"`
		} `json:"user"`
	}
	req, _ = http.NewRequest("POST", api+"/_mixintest/users", strings.NewReader(`{"full_name":"Alice"}`))
	doJSON(t, req, 200, &created)
	// A sticker by album and name: the apps read only sticker_id.
	body := `{"recipient_id":"` + bot + `","category":"PLAIN_STICKER","data_base64":"eyJuYW1lIjoid2F2ZSJ9"}`
	req, _ = http.NewRequest("POST", api+"/_mixintest/users/"+created.User.UserID+"/messages", strings.NewReader(body))
	doJSON(t, req, 200, nil)

	if line := <-logged; !strings.HasPrefix(line, "mixintest: problem: [broken] PLAIN_STICKER message ") || !strings.Contains(line, "sticker_id") {
		t.Fatalf("log line %q", line)
	}
	var probs []map[string]any
	req, _ = http.NewRequest("GET", api+"/_mixintest/problems", nil)
	doJSON(t, req, 200, &probs)
	if len(probs) != 1 || probs[0]["field"] != "sticker_id" || probs[0]["kind"] != "broken" || probs[0]["user_id"] != created.User.UserID {
		b, _ := json.Marshal(probs)
		t.Fatalf("problems %s", b)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// With -encrypted the bot's app declares ENCRYPTED, simulated users send it
// ENCRYPTED_* messages, and the admin inbox shows what they decrypt to.
func TestRunEncrypted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-encrypted"}, pw); pw.Close() }()
	sc := bufio.NewScanner(pr)
	var lines []string
	for len(lines) < 3 && sc.Scan() {
		lines = append(lines, sc.Text())
	}
	go func() {
		for sc.Scan() {
		}
	}()
	m := regexp.MustCompile(`^mixintest: api (http://\S+)$`).FindStringSubmatch(lines[0])
	if m == nil {
		t.Fatalf("lines %q", lines)
	}
	api, bot := m[1], strings.TrimPrefix(lines[2], "mixintest: bot ")
	var users []struct {
		User struct {
			UserID string `json:"user_id"`
			App    *struct {
				Capabilities []string `json:"capabilities"`
			} `json:"app"`
		} `json:"user"`
	}
	req, _ := http.NewRequest("GET", api+"/_mixintest/users", nil)
	doJSON(t, req, 200, &users)
	if len(users) == 0 || users[0].User.App == nil || !slices.Contains(users[0].User.App.Capabilities, "ENCRYPTED") {
		t.Fatalf("bot capabilities: %+v", users)
	}
	var created struct {
		User struct {
			UserID string `json:"user_id"`
		} `json:"user"`
	}
	req, _ = http.NewRequest("POST", api+"/_mixintest/users", strings.NewReader(`{"full_name":"Alice"}`))
	doJSON(t, req, 200, &created)
	body := `{"recipient_id":"` + bot + `","category":"PLAIN_TEXT","data":"aGk="}`
	req, _ = http.NewRequest("POST", api+"/_mixintest/users/"+created.User.UserID+"/messages", strings.NewReader(body))
	doJSON(t, req, 200, nil)
	var inbox []map[string]any
	req, _ = http.NewRequest("GET", api+"/_mixintest/users/"+bot+"/inbox", nil)
	doJSON(t, req, 200, &inbox)
	if len(inbox) != 1 || inbox[0]["category"] != "ENCRYPTED_TEXT" || inbox[0]["plain_category"] != "PLAIN_TEXT" || inbox[0]["plain_data_base64"] != "aGk" {
		b, _ := json.Marshal(inbox)
		t.Fatalf("bot inbox %s", b)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
