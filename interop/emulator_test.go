package interop_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gomixin/mixin"
)

// emulator is a running cmd/mixintest process.
type emulator struct {
	api, blaze, botID string
	keystore          string // path of the bot's keystore file
	dir               string
	http              *http.Client
}

type simUser struct {
	id       string
	keystore string // path of the user's keystore file
}

// buildEmulator builds cmd/mixintest into a temporary directory.
func buildEmulator(ctx context.Context, t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "mixintest")
	args := []string{"build", "-o", bin}
	if raceEnabled {
		args = append(args, "-race")
	}
	build := exec.CommandContext(ctx, "go", append(args, "github.com/gomixin/mixin/cmd/mixintest")...)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/mixintest: %v\n%s", err, out)
	}
	return bin
}

// startEmulator runs the emulator on a free port until the test ends.
func startEmulator(ctx context.Context, t *testing.T, bin string, args ...string) *emulator {
	t.Helper()
	dir := t.TempDir()
	e := &emulator{keystore: filepath.Join(dir, "bot.json"), dir: dir, http: &http.Client{Timeout: 5 * time.Second}}
	stdout := newLineWriter()
	var stderr lockedBuffer
	// Not tied to ctx: the cleanup below must still reach it to log what it
	// recorded; the cleanup kills it.
	cmd := exec.Command(bin, append([]string{"-addr", "127.0.0.1:0", "-keystore", e.keystore}, args...)...)
	cmd.Stdout, cmd.Stderr = stdout, &stderr
	cmd.WaitDelay = 2 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatalf("start mixintest: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		if t.Failed() && e.api != "" {
			e.logRejected(t)
		}
		_ = cmd.Process.Kill()
		<-exited
		if strings.Contains(stderr.String(), "WARNING: DATA RACE") {
			t.Errorf("the emulator had a data race")
		}
		if t.Failed() {
			t.Logf("mixintest stdout:\n%s\nmixintest stderr:\n%s", stdout.all(), stderr.String())
		}
	})

	timeout := time.After(15 * time.Second)
	for e.api == "" || e.blaze == "" || e.botID == "" {
		select {
		case line := <-stdout.lines:
			if v, ok := strings.CutPrefix(line, "mixintest: api "); ok {
				e.api = strings.TrimSpace(v)
			} else if v, ok := strings.CutPrefix(line, "mixintest: blaze "); ok {
				e.blaze = strings.TrimSpace(v)
			} else if v, ok := strings.CutPrefix(line, "mixintest: bot "); ok {
				e.botID = strings.TrimSpace(v)
			}
		case err := <-exited:
			exited <- err
			t.Fatalf("mixintest exited before it was ready: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.all(), stderr.String())
		case <-timeout:
			t.Fatalf("mixintest printed no api/blaze/bot lines within 15s\nstdout:\n%s\nstderr:\n%s", stdout.all(), stderr.String())
		}
	}
	data, err := os.ReadFile(e.keystore)
	if err != nil {
		t.Fatalf("bot keystore: %v", err)
	}
	var ks struct {
		AppID string `json:"app_id"`
	}
	if err := json.Unmarshal(data, &ks); err != nil || ks.AppID != e.botID {
		t.Fatalf("bot keystore %s: app_id %q (err %v), bot line says %s", e.keystore, ks.AppID, err, e.botID)
	}
	return e
}

func (e *emulator) createUser(ctx context.Context, t *testing.T, name string) simUser {
	t.Helper()
	var out struct {
		User struct {
			UserID string `json:"user_id"`
		} `json:"user"`
		Keystore json.RawMessage `json:"keystore"`
	}
	e.do(ctx, t, "POST", "/_mixintest/users", map[string]string{"full_name": name}, &out)
	var ks struct {
		AppID string `json:"app_id"`
	}
	if err := json.Unmarshal(out.Keystore, &ks); err != nil || ks.AppID != out.User.UserID || ks.AppID == "" {
		t.Fatalf("POST /_mixintest/users: keystore app_id %q does not match user %q (%v)", ks.AppID, out.User.UserID, err)
	}
	path := filepath.Join(e.dir, name+".json")
	if err := os.WriteFile(path, out.Keystore, 0o600); err != nil {
		t.Fatal(err)
	}
	return simUser{id: out.User.UserID, keystore: path}
}

// userSends makes a simulated user send the bot a message through the admin
// API (the contact conversation is created if needed).
func (e *emulator) userSends(ctx context.Context, t *testing.T, userID, category string, data []byte) message {
	t.Helper()
	return e.userSendsID(ctx, t, userID, "", category, data)
}

func (e *emulator) userSendsID(ctx context.Context, t *testing.T, userID, messageID, category string, data []byte) message {
	t.Helper()
	body := map[string]string{"recipient_id": e.botID, "category": category, "data_base64": base64.RawURLEncoding.EncodeToString(data)}
	if messageID != "" {
		body["message_id"] = messageID
	}
	var m message
	e.do(ctx, t, "POST", "/_mixintest/users/"+userID+"/messages", body, &m)
	if m.MessageID == "" || (messageID != "" && m.MessageID != messageID) {
		t.Fatalf("POST /_mixintest/users/%s/messages returned message_id %q, want %q", userID, m.MessageID, messageID)
	}
	return m
}

func (e *emulator) get(ctx context.Context, t *testing.T, path string, out any) {
	t.Helper()
	e.do(ctx, t, "GET", path, nil, out)
}

// do calls the admin API, which answers plain JSON (no data envelope).
func (e *emulator) do(ctx context.Context, t *testing.T, method, path string, in, out any) {
	t.Helper()
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, e.api+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := e.http.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		t.Fatalf("%s %s: reading the response: %v", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		t.Fatalf("%s %s: HTTP %d: %s", method, path, resp.StatusCode, data)
	}
	if err := json.Unmarshal(data, out); err != nil {
		t.Fatalf("%s %s: decoding %s: %v", method, path, data, err)
	}
}

// logRejected logs the REST requests the emulator answered with an error,
// to explain a failure.
func (e *emulator) logRejected(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	var reqs []struct {
		Method   string `json:"method"`
		Path     string `json:"path"`
		RawQuery string `json:"raw_query"`
		Body     []byte `json:"body"`
		UserID   string `json:"user_id"`
		Status   int    `json:"status"`
		Code     int    `json:"code"`
	}
	req, err := http.NewRequestWithContext(ctx, "GET", e.api+"/_mixintest/requests", nil)
	if err != nil {
		return
	}
	resp, err := e.http.Do(req)
	if err != nil {
		t.Logf("GET /_mixintest/requests: %v", err)
		return
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&reqs); err != nil {
		t.Logf("GET /_mixintest/requests: %v", err)
		return
	}
	rejected := 0
	for _, r := range reqs {
		if r.Code == 0 && r.Status == http.StatusOK {
			continue
		}
		rejected++
		t.Logf("emulator answered %s %s?%s (signed by %q) with HTTP %d, code %d; body %.300s",
			r.Method, r.Path, r.RawQuery, r.UserID, r.Status, r.Code, r.Body)
	}
	t.Logf("emulator recorded %d REST requests, %d answered with an error", len(reqs), rejected)
}

func (e *emulator) goKeystore(t *testing.T) *mixin.Keystore {
	t.Helper()
	data, err := os.ReadFile(e.keystore)
	if err != nil {
		t.Fatal(err)
	}
	ks, err := mixin.ParseKeystore(data)
	if err != nil {
		t.Fatalf("mixin.ParseKeystore(bot keystore): %v", err)
	}
	return ks
}

func (e *emulator) goClient(t *testing.T) *mixin.Client {
	t.Helper()
	data, err := os.ReadFile(e.keystore)
	if err != nil {
		t.Fatal(err)
	}
	ks, err := mixin.ParseKeystore(data)
	if err != nil {
		t.Fatalf("mixin.ParseKeystore(bot keystore): %v", err)
	}
	c, err := mixin.NewClient(ks, mixin.WithBaseURL(e.api))
	if err != nil {
		t.Fatalf("mixin.NewClient: %v", err)
	}
	return c
}
