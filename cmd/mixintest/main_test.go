package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

type keystore struct {
	AppID             string `json:"app_id"`
	SessionID         string `json:"session_id"`
	ServerPublicKey   string `json:"server_public_key"`
	SessionPrivateKey string `json:"session_private_key"`
}

// token is a minimal EdDSA JWT signer for the test.
func token(t *testing.T, ks keystore, method, uri string, body []byte) string {
	t.Helper()
	seed, err := hex.DecodeString(ks.SessionPrivateKey)
	if err != nil || len(seed) != 32 {
		t.Fatalf("bad seed %q", ks.SessionPrivateKey)
	}
	enc := base64.RawURLEncoding.EncodeToString
	sum := sha256.Sum256(append([]byte(method+uri), body...))
	now := time.Now().Unix()
	claims, _ := json.Marshal(map[string]any{"uid": ks.AppID, "sid": ks.SessionID, "iat": now, "exp": now + 60,
		"jti": "6f2d8c1e-3b7a-4e0f-9a51-2c4d6e8f0a1b", "sig": hex.EncodeToString(sum[:]), "scp": "FULL"})
	msg := enc([]byte(`{"alg":"EdDSA","typ":"JWT"}`)) + "." + enc(claims)
	return msg + "." + enc(ed25519.Sign(ed25519.NewKeyFromSeed(seed), []byte(msg)))
}

// started is a run() serving in the background.
type started struct {
	api, blaze, ksPath string
	ks                 keystore
	stop               func() error // cancels run and returns its error
}

func startRun(t *testing.T, extra ...string) started {
	t.Helper()
	return startRunScheme(t, "http", extra...)
}

// startRunScheme starts run with extra flags; scheme is "https" for -tls,
// which prints a fourth line naming the certificate.
func startRunScheme(t *testing.T, scheme string, extra ...string) started {
	t.Helper()
	ksPath := filepath.Join(t.TempDir(), "bot.json")
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	args := append([]string{"-addr", "127.0.0.1:0", "-keystore", ksPath}, extra...)
	go func() {
		done <- run(ctx, args, pw)
		pw.Close()
	}()
	stopped := false
	stop := func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(5 * time.Second):
			t.Fatal("run did not return after cancel")
			return nil
		}
	}
	t.Cleanup(func() { _ = stop() })
	sc := bufio.NewScanner(pr)
	want := 3
	if scheme == "https" {
		want = 4
	}
	var lines []string
	for len(lines) < want && sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if len(lines) != want {
		t.Fatalf("lines %q", lines)
	}
	go io.Copy(io.Discard, pr)
	m := regexp.MustCompile(`^mixintest: api (` + scheme + `://127\.0\.0\.1:\d+)$`).FindStringSubmatch(lines[0])
	if m == nil {
		t.Fatalf("line 1 %q", lines[0])
	}
	api := m[1]
	blaze := map[string]string{"http": "ws", "https": "wss"}[scheme] + "://" + strings.TrimPrefix(api, scheme+"://") + "/"
	if scheme == "https" && !strings.HasPrefix(lines[3], "mixintest: cert ") {
		t.Fatalf("line 4 %q", lines[3])
	}
	if lines[1] != "mixintest: blaze "+blaze {
		t.Fatalf("line 2 %q", lines[1])
	}
	st, err := os.Stat(ksPath)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("keystore file: %v %v", st, err)
	}
	raw, _ := os.ReadFile(ksPath)
	var ks keystore
	if err := json.Unmarshal(raw, &ks); err != nil || ks.AppID == "" || len(ks.ServerPublicKey) != 64 || len(ks.SessionPrivateKey) != 64 {
		t.Fatalf("keystore %s: %v", raw, err)
	}
	if lines[2] != "mixintest: bot "+ks.AppID {
		t.Fatalf("line 3 %q", lines[2])
	}
	return started{api: api, blaze: blaze, ksPath: ksPath, ks: ks, stop: stop}
}

func TestRun(t *testing.T) {
	st := startRun(t, "-users", "2")
	api, ks := st.api, st.ks

	// The bot keystore works against the REST API.
	req, _ := http.NewRequest("GET", api+"/me", nil)
	req.Header.Set("Authorization", "Bearer "+token(t, ks, "GET", "/me", nil))
	var me struct {
		Data struct {
			UserID string `json:"user_id"`
		} `json:"data"`
	}
	doJSON(t, req, 200, &me)
	if me.Data.UserID != ks.AppID {
		t.Fatalf("/me %+v", me)
	}

	// The admin API creates a user, who messages the bot.
	var created struct {
		User struct {
			UserID   string `json:"user_id"`
			FullName string `json:"full_name"`
		} `json:"user"`
		Keystore keystore `json:"keystore"`
	}
	req, _ = http.NewRequest("POST", api+"/_mixintest/users", strings.NewReader(`{"full_name":"Alice"}`))
	doJSON(t, req, 200, &created)
	if created.User.FullName != "Alice" || created.Keystore.AppID != created.User.UserID || created.Keystore.SessionPrivateKey == "" {
		t.Fatalf("created %+v", created)
	}
	var all []json.RawMessage
	req, _ = http.NewRequest("GET", api+"/_mixintest/users", nil)
	doJSON(t, req, 200, &all)
	if len(all) != 4 { // bot + 2 from -users + Alice
		t.Fatalf("users: %d", len(all))
	}
	var sent struct {
		MessageID      string `json:"message_id"`
		ConversationID string `json:"conversation_id"`
		DataBase64     string `json:"data_base64"`
	}
	body := `{"recipient_id":"` + ks.AppID + `","category":"PLAIN_TEXT","data_base64":"aGk"}`
	req, _ = http.NewRequest("POST", api+"/_mixintest/users/"+created.User.UserID+"/messages", strings.NewReader(body))
	doJSON(t, req, 200, &sent)
	if sent.MessageID == "" || sent.DataBase64 != "aGk" {
		t.Fatalf("sent %+v", sent)
	}
	var conv struct {
		ConversationID string `json:"conversation_id"`
		Category       string `json:"category"`
	}
	req, _ = http.NewRequest("GET", api+"/_mixintest/conversations/"+sent.ConversationID, nil)
	doJSON(t, req, 200, &conv)
	if conv.Category != "CONTACT" {
		t.Fatalf("conv %+v", conv)
	}
	// The bot replies over REST; Alice's inbox shows it.
	reply := []byte(`{"conversation_id":"` + sent.ConversationID + `","message_id":"0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9","category":"PLAIN_TEXT","data_base64":"eW8"}`)
	req, _ = http.NewRequest("POST", api+"/messages", bytes.NewReader(reply))
	req.Header.Set("Authorization", "Bearer "+token(t, ks, "POST", "/messages", reply))
	doJSON(t, req, 200, nil)
	var inbox []struct {
		DataBase64 string `json:"data_base64"`
		UserID     string `json:"user_id"`
	}
	req, _ = http.NewRequest("GET", api+"/_mixintest/users/"+created.User.UserID+"/inbox", nil)
	doJSON(t, req, 200, &inbox)
	if len(inbox) != 1 || inbox[0].DataBase64 != "eW8" || inbox[0].UserID != ks.AppID {
		t.Fatalf("inbox %+v", inbox)
	}
	req, _ = http.NewRequest("POST", api+"/_mixintest/users/"+created.User.UserID+"/acknowledgements",
		strings.NewReader(`[{"message_id":"0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9","status":"READ"}]`))
	doJSON(t, req, 200, nil)
	var recs []struct {
		Method, Path string
		UserID       string `json:"user_id"`
	}
	req, _ = http.NewRequest("GET", api+"/_mixintest/requests", nil)
	doJSON(t, req, 200, &recs)
	if len(recs) != 2 || recs[1].Path != "/messages" || recs[1].UserID != ks.AppID {
		t.Fatalf("requests %+v", recs)
	}
	req, _ = http.NewRequest("GET", api+"/_mixintest/users/00000000-0000-4000-8000-000000000000/inbox", nil)
	doJSON(t, req, 404, nil)

	if err := st.stop(); err != nil {
		t.Fatalf("run: %v", err)
	}
}

func TestRunBadFlags(t *testing.T) {
	for _, args := range [][]string{{"-nope"}, {"-users", "-1"}, {"extra"}, {"-addr", "256.0.0.1:99999"}, {"-cert", "x.pem"}, {"-tls-host", "a"}} {
		if err := run(context.Background(), args, io.Discard); err == nil {
			t.Errorf("run(%q) succeeded", args)
		}
	}
}

func doJSON(t *testing.T, req *http.Request, want int, v any) {
	t.Helper()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != want {
		t.Fatalf("%s %s: HTTP %d %s", req.Method, req.URL, res.StatusCode, b)
	}
	if v != nil {
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
	}
}
