package interop_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gomixin/mixin"
)

// callLine is one line a node script prints.
type callLine struct {
	Call     string          `json:"call"`
	OK       bool            `json:"ok"`
	Error    string          `json:"error"`
	Result   json.RawMessage `json:"result"`
	Payload  json.RawMessage `json:"payload"`  // what a send call handed the SDK
	Sent     []message       `json:"sent"`     // messages a batch/raw call sent
	Recalled bool            `json:"recalled"` // the message was recalled later
	Expect   []string        `json:"expect"`   // appcheck.mjs: the findings, as kind:field
}

// scriptRun is what one node script printed.
type scriptRun struct {
	all []callLine
	by  map[string]callLine // the last line of each call
}

// runNode runs one script and calls onLine for each line as it arrives. It
// fails the test on a failed call, a non-zero exit or no successful summary.
func runNode(ctx context.Context, t *testing.T, node, script string, env []string, onLine func(callLine)) scriptRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, script)
	cmd.Dir = "node"
	cmd.Env = append(os.Environ(), env...)
	cmd.WaitDelay = 2 * time.Second
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("node %s: %v", script, err)
	}
	run := scriptRun{by: map[string]callLine{}}
	var all []string
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	for sc.Scan() {
		text := sc.Text()
		all = append(all, text)
		var l callLine
		if err := json.Unmarshal([]byte(text), &l); err != nil || l.Call == "" {
			t.Logf("node %s: %s", script, text)
			continue
		}
		if !l.OK && l.Call != "summary" {
			t.Errorf("node %s: %s failed: %s", script, l.Call, l.Error)
		}
		run.all = append(run.all, l)
		run.by[l.Call] = l
		if onLine != nil {
			onLine(l)
		}
	}
	err = cmd.Wait()
	if err != nil || t.Failed() {
		t.Logf("node %s output:\n%s\nstderr:\n%s", script, strings.Join(all, "\n"), stderr.String())
	}
	if err != nil {
		t.Fatalf("node %s: %v", script, err)
	}
	if s, ok := run.by["summary"]; !ok || !s.OK {
		t.Fatalf("node %s: no successful summary line", script)
	}
	return run
}

// requireCalls fails unless every named call printed a line.
func requireCalls(t *testing.T, run scriptRun, calls ...string) {
	t.Helper()
	for _, c := range calls {
		if _, ok := run.by[c]; !ok {
			t.Errorf("no line for call %q", c)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
}

// messages returns the messages blaze.mjs printed.
func (r scriptRun) messages(t *testing.T) []message {
	t.Helper()
	var ms []message
	for _, l := range r.all {
		if l.Call == "blaze.message" {
			var m message
			decode(t, l.Result, &m)
			ms = append(ms, m)
		}
	}
	return ms
}

// hasReceipt reports whether blaze.mjs printed a receipt of messageID with
// status.
func (r scriptRun) hasReceipt(t *testing.T, messageID, status string) bool {
	t.Helper()
	for _, l := range r.all {
		var m struct {
			MessageID string `json:"message_id"`
			Status    string `json:"status"`
		}
		if l.Call == "blaze.receipt" {
			decode(t, l.Result, &m)
			if m.MessageID == messageID && m.Status == status {
				return true
			}
		}
	}
	return false
}

// message is the part of a message request or view the test compares.
type message struct {
	MessageID      string `json:"message_id"`
	ConversationID string `json:"conversation_id"`
	RecipientID    string `json:"recipient_id"`
	UserID         string `json:"user_id"`
	Category       string `json:"category"`
	DataBase64     string `json:"data_base64"`
}

// bytes decodes data_base64, which the protocol defines as RawURL base64.
func (m message) bytes(t *testing.T) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(m.DataBase64)
	if err != nil {
		t.Errorf("message %s: data_base64 %q is not unpadded URL-safe base64: %v", m.MessageID, m.DataBase64, err)
	}
	return b
}

// payloadBytes is what the SDK should have sent for a payload: a string as
// is, anything else as JSON.stringify would write it.
func payloadBytes(t *testing.T, raw json.RawMessage) []byte {
	t.Helper()
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return []byte(s)
	}
	return raw
}

type conversation struct {
	ConversationID string        `json:"conversation_id"`
	Category       string        `json:"category"`
	CreatorID      string        `json:"creator_id"`
	Name           string        `json:"name"`
	Announcement   string        `json:"announcement"`
	CodeID         string        `json:"code_id"`
	Participants   []participant `json:"participants"`
}

type participant struct {
	UserID string `json:"user_id"`
	Role   string `json:"role"`
}

// normal sorts participants and drops the creator, which want does not set.
func (c conversation) normal() conversation {
	c.CreatorID = ""
	c.Participants = slices.Clone(c.Participants)
	slices.SortFunc(c.Participants, func(a, b participant) int { return strings.Compare(a.UserID, b.UserID) })
	return c
}

func decode(t *testing.T, raw json.RawMessage, out any) {
	t.Helper()
	if err := json.Unmarshal(raw, out); err != nil {
		t.Fatalf("decoding %s: %v", raw, err)
	}
}

// lineWriter keeps a process's output and hands out complete lines.
type lineWriter struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	part  []byte
	lines chan string
}

func newLineWriter() *lineWriter { return &lineWriter{lines: make(chan string, 64)} }

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	w.part = append(w.part, p...)
	for {
		i := bytes.IndexByte(w.part, '\n')
		if i < 0 {
			break
		}
		select {
		case w.lines <- string(w.part[:i]):
		default: // nobody is waiting for lines any more
		}
		w.part = w.part[i+1:]
	}
	return len(p), nil
}

func (w *lineWriter) all() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// samePayload compares a payload the Go SDK decoded with the JSON (or text)
// the Node SDK was handed.
func samePayload(p any, sent json.RawMessage) error {
	switch v := p.(type) {
	case mixin.TextPayload:
		var s string
		if err := json.Unmarshal(sent, &s); err != nil || string(v) != s {
			return fmt.Errorf("text %q, Node sent %s", v, sent)
		}
		return nil
	case mixin.PostPayload:
		var s string
		if err := json.Unmarshal(sent, &s); err != nil || string(v) != s {
			return fmt.Errorf("post %q, Node sent %s", v, sent)
		}
		return nil
	}
	// Decode what Node sent into the same Go type and compare.
	want := reflect.New(reflect.TypeOf(p)).Interface()
	if err := json.Unmarshal(sent, want); err != nil {
		return fmt.Errorf("node payload %s does not decode into %T: %v", sent, p, err)
	}
	if got := reflect.ValueOf(want).Elem().Interface(); !reflect.DeepEqual(got, p) {
		return fmt.Errorf("Go decoded %+v, Node sent %s", p, sent)
	}
	return nil
}
