package mixintest

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gomixin/mixin"
	"github.com/google/uuid"
	"github.com/gorilla/websocket"
)

type wsFrame struct {
	ID     string          `json:"id"`
	Action string          `json:"action"`
	Data   json.RawMessage `json:"data"`
	Error  *errorView      `json:"error"`
}

func dialAs(t *testing.T, s *Server, u *User, mutate func(*tokenSpec), protocol string) (*websocket.Conn, *http.Response, error) {
	t.Helper()
	spec := defaultSpec(u, "GET", s.cfg.prefix+"/", nil, s.now())
	if mutate != nil {
		mutate(&spec)
	}
	h := http.Header{"Authorization": {"Bearer " + spec.sign()}}
	d := websocket.Dialer{Subprotocols: []string{protocol}, HandshakeTimeout: 3 * time.Second}
	conn, res, err := d.Dial(s.BlazeURL(), h)
	if conn != nil {
		t.Cleanup(func() { conn.Close() })
	}
	return conn, res, err
}

func dial(t *testing.T, s *Server, u *User) *websocket.Conn {
	t.Helper()
	conn, res, err := dialAs(t, s, u, nil, "Mixin-Blaze-1")
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	if res.Header.Get("Sec-WebSocket-Protocol") != "Mixin-Blaze-1" {
		t.Fatalf("subprotocol %q", res.Header.Get("Sec-WebSocket-Protocol"))
	}
	return conn
}

func send(t *testing.T, conn *websocket.Conn, id, action string, params any) {
	t.Helper()
	f := map[string]any{"id": id, "action": action}
	if params != nil {
		f["params"] = params
	}
	js, _ := json.Marshal(f)
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(js)
	zw.Close()
	if err := conn.WriteMessage(websocket.BinaryMessage, buf.Bytes()); err != nil {
		t.Fatal(err)
	}
}

func recv(conn *websocket.Conn, timeout time.Duration) (wsFrame, error) {
	var f wsFrame
	conn.SetReadDeadline(time.Now().Add(timeout))
	mt, b, err := conn.ReadMessage()
	if err != nil {
		return f, err
	}
	if mt != websocket.BinaryMessage {
		return f, io.ErrUnexpectedEOF
	}
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return f, err
	}
	js, err := io.ReadAll(zr)
	if err != nil {
		return f, err
	}
	err = json.Unmarshal(js, &f)
	return f, err
}

func mustRecv(t *testing.T, conn *websocket.Conn) wsFrame {
	t.Helper()
	f, err := recv(conn, 3*time.Second)
	if err != nil {
		t.Fatalf("recv: %v", err)
	}
	return f
}

func (f wsFrame) msg(t *testing.T) msgJSON {
	t.Helper()
	var m msgJSON
	if err := json.Unmarshal(f.Data, &m); err != nil {
		t.Fatalf("data %s: %v", f.Data, err)
	}
	return m
}

func TestBlazePendingFlow(t *testing.T) {
	s := NewServer(t)
	bot, alice := s.Bot(), s.NewUser("Alice")
	var sent []string
	for _, txt := range []string{"one", "two", "three"} {
		m, err := alice.SendText(ctxT(t), bot.UserID, txt)
		if err != nil {
			t.Fatal(err)
		}
		sent = append(sent, m.MessageID)
	}
	conn := dial(t, s, bot)
	// Nothing is pushed before LIST_PENDING_MESSAGES.
	if f, err := recv(conn, 200*time.Millisecond); err == nil {
		t.Fatalf("pushed before LIST_PENDING: %+v", f)
	}
	conn.Close()
	conn = dial(t, s, bot)
	listID := uuid.NewString()
	send(t, conn, listID, "LIST_PENDING_MESSAGES", nil)
	reply := mustRecv(t, conn)
	if reply.ID != listID || reply.Action != "LIST_PENDING_MESSAGES" || reply.Data != nil || reply.Error != nil {
		t.Fatalf("reply %+v", reply)
	}
	for i, want := range sent {
		f := mustRecv(t, conn)
		m := f.msg(t)
		if f.Action != "CREATE_MESSAGE" || f.ID == listID || f.Error != nil || m.MessageID != want ||
			m.Source != "LIST_PENDING_MESSAGES" || m.Status != "SENT" || m.UserID != alice.UserID || m.SessionID != alice.SessionID {
			t.Fatalf("push %d: %s", i, f.Data)
		}
	}
	// Live messages follow with source CREATE_MESSAGE.
	live, _ := alice.SendText(ctxT(t), bot.UserID, "four")
	f := mustRecv(t, conn)
	if m := f.msg(t); m.MessageID != live.MessageID || m.Source != "CREATE_MESSAGE" || m.Data != "Zm91cg==" {
		t.Fatalf("live %s", f.Data)
	}
	// Ack two over blaze: replies carry the id and no data.
	for _, id := range []string{sent[0], live.MessageID} {
		ackID := uuid.NewString()
		send(t, conn, ackID, "ACKNOWLEDGE_MESSAGE_RECEIPT", map[string]string{"message_id": id, "status": "READ"})
		r := mustRecv(t, conn)
		if r.ID != ackID || r.Action != "ACKNOWLEDGE_MESSAGE_RECEIPT" || r.Data != nil || r.Error != nil {
			t.Fatalf("ack reply %+v", r)
		}
	}
	if s.Pending(bot.UserID) != 2 {
		t.Fatalf("pending %d", s.Pending(bot.UserID))
	}
	// Reconnect: the unacked ones come again, in order.
	conn.Close()
	conn = dial(t, s, bot)
	send(t, conn, uuid.NewString(), "LIST_PENDING_MESSAGES", nil)
	mustRecv(t, conn)
	for _, want := range sent[1:] {
		if m := mustRecv(t, conn).msg(t); m.MessageID != want || m.Source != "LIST_PENDING_MESSAGES" {
			t.Fatalf("re-push %+v want %s", m, want)
		}
	}
	if f, err := recv(conn, 150*time.Millisecond); err == nil {
		t.Fatalf("extra frame %+v", f)
	}
}

func TestBlazeCreateMessageAndReceipts(t *testing.T) {
	s := NewServer(t)
	bot, alice := s.Bot(), s.NewUser("Alice")
	conv := createContact(t, s, bot, alice)
	conn := dial(t, s, bot)
	send(t, conn, uuid.NewString(), "LIST_PENDING_MESSAGES", nil)
	mustRecv(t, conn)

	reqID, mid := uuid.NewString(), uuid.NewString()
	send(t, conn, reqID, "CREATE_MESSAGE", map[string]any{"conversation_id": conv, "recipient_id": alice.UserID,
		"message_id": mid, "category": "PLAIN_TEXT", "data_base64": "aGk", "status": "SENT"})
	r := mustRecv(t, conn)
	var data map[string]string
	_ = json.Unmarshal(r.Data, &data)
	if r.ID != reqID || r.Error != nil || data["message_id"] != mid || data["status"] != "SENT" ||
		data["user_id"] != bot.UserID || data["category"] != "" {
		t.Fatalf("create reply %+v %s: want a status update (own user id, empty category)", r, r.Data)
	}
	in, err := alice.WaitInbox(ctxT(t), 1)
	if err != nil || string(in[0].Data) != "hi" {
		t.Fatalf("inbox %v %v", in, err)
	}
	// Errors come back in the reply only.
	badID := uuid.NewString()
	send(t, conn, badID, "CREATE_MESSAGE", map[string]any{"conversation_id": uuid.NewString(),
		"message_id": uuid.NewString(), "category": "PLAIN_TEXT", "data_base64": "aGk"})
	if r := mustRecv(t, conn); r.ID != badID || r.Error == nil || r.Error.Code != 403 || r.Data != nil {
		t.Fatalf("error reply %+v", r)
	}
	unk := uuid.NewString()
	send(t, conn, unk, "DANCE", nil)
	if r := mustRecv(t, conn); r.ID != unk || r.Error == nil || r.Error.Code != 10002 {
		t.Fatalf("unknown action reply %+v", r)
	}
	// Alice reads it: the bot gets a receipt push, delivered once.
	if err := alice.Ack(ctxT(t), mid, "READ"); err != nil {
		t.Fatal(err)
	}
	f := mustRecv(t, conn)
	var rc map[string]any
	_ = json.Unmarshal(f.Data, &rc)
	if f.Action != "ACKNOWLEDGE_MESSAGE_RECEIPT" || f.Error != nil || rc["message_id"] != mid || rc["status"] != "READ" ||
		rc["source"] != "ACKNOWLEDGE_MESSAGE_RECEIPT" || rc["conversation_id"] != "" || rc["updated_at"] == nil {
		t.Fatalf("receipt %+v %s", f, f.Data)
	}
	// Every key iOS's BlazeMessageData requires is there.
	for _, k := range []string{"conversation_id", "user_id", "message_id", "category", "data", "status", "created_at",
		"updated_at", "source", "quote_message_id", "representative_id", "session_id"} {
		if _, ok := rc[k]; !ok {
			t.Errorf("receipt push without %q: %s", k, f.Data)
		}
	}
	eventuallyT(t, "receipt retired once pushed", func() bool { return s.Pending(bot.UserID) == 0 })
}

// TestBlazeReceiptsUntilAcked: with the option, a pushed receipt stays
// queued until the bot acknowledges it, and an acknowledgement of one
// status leaves the other.
func TestBlazeReceiptsUntilAcked(t *testing.T) {
	s := NewServer(t, WithReceiptsUntilAcked())
	bot, alice := s.Bot(), s.NewUser("Alice")
	conv := createContact(t, s, bot, alice)
	conn := dial(t, s, bot)
	send(t, conn, uuid.NewString(), "LIST_PENDING_MESSAGES", nil)
	mustRecv(t, conn)
	mid := uuid.NewString()
	send(t, conn, uuid.NewString(), "CREATE_MESSAGE", map[string]any{"conversation_id": conv, "recipient_id": alice.UserID,
		"message_id": mid, "category": "PLAIN_TEXT", "data_base64": "aGk"})
	mustRecv(t, conn)
	for _, st := range []mixin.AckStatus{mixin.AckStatusDelivered, mixin.AckStatusRead} {
		if err := alice.Ack(ctxT(t), mid, st); err != nil {
			t.Fatal(err)
		}
		if f := mustRecv(t, conn); f.Action != "ACKNOWLEDGE_MESSAGE_RECEIPT" {
			t.Fatalf("want a receipt, got %+v", f)
		}
	}
	if n := s.Pending(bot.UserID); n != 2 {
		t.Fatalf("pending %d, want both receipts", n)
	}
	send(t, conn, uuid.NewString(), "ACKNOWLEDGE_MESSAGE_RECEIPTS", map[string]any{"messages": []map[string]string{{"message_id": mid, "status": "READ"}}})
	if r := mustRecv(t, conn); r.Error != nil || r.Data != nil {
		t.Fatalf("ack reply %+v", r)
	}
	if n := s.Pending(bot.UserID); n != 1 {
		t.Fatalf("pending %d after acknowledging READ: the DELIVERED receipt must stay", n)
	}
	send(t, conn, uuid.NewString(), "ACKNOWLEDGE_MESSAGE_RECEIPT", map[string]string{"message_id": mid, "status": "DELIVERED"})
	mustRecv(t, conn)
	if n := s.Pending(bot.UserID); n != 0 {
		t.Fatalf("pending %d after acknowledging both", n)
	}
}

func eventuallyT(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestBlazeUpgradeFailures(t *testing.T) {
	s := NewServer(t, WithBlazeAuthFailure(BlazeAuthFailureHTTP401))
	_, res, err := dialAs(t, s, s.Bot(), func(ts *tokenSpec) { ts.claims["sig"] = sigOf("GET", "/me", nil) }, "Mixin-Blaze-1")
	if err == nil || res == nil || res.StatusCode != 401 {
		t.Fatalf("bad token: %v %v", err, res)
	}
	s.SetFaults(Faults{UnauthorizedBlaze: true})
	if _, res, err = dialAs(t, s, s.Bot(), nil, "Mixin-Blaze-1"); err == nil || res.StatusCode != 401 {
		t.Fatalf("UnauthorizedBlaze: %v", err)
	}
	s.SetFaults(Faults{RefuseUpgrade: true})
	if _, res, err = dialAs(t, s, s.Bot(), nil, "Mixin-Blaze-1"); err == nil || res.StatusCode != 503 {
		t.Fatalf("RefuseUpgrade: %v", err)
	}
	s.SetFaults(Faults{BlazeErrorFrame: true})
	conn, _, err := dialAs(t, s, s.Bot(), nil, "Mixin-Blaze-1")
	if err != nil {
		t.Fatal(err)
	}
	if f := mustRecv(t, conn); f.Action != "ERROR" || f.Error == nil || f.Error.Code != 401 {
		t.Fatalf("error frame %+v", f)
	}
	if _, err := recv(conn, time.Second); err == nil {
		t.Fatal("connection stayed open after ERROR")
	}
	s.SetFaults(Faults{})
	// Kotlin's subprotocol name is echoed too.
	_, res, err = dialAs(t, s, s.Bot(), nil, "MixinBot-Blaze-1")
	if err != nil || res.Header.Get("Sec-WebSocket-Protocol") != "MixinBot-Blaze-1" {
		t.Fatalf("MixinBot-Blaze-1: %v %v", err, res.Header)
	}
}

func TestBlazeBadFramesClose(t *testing.T) {
	s := NewServer(t)
	for name, write := range map[string]func(*websocket.Conn) error{
		"text": func(c *websocket.Conn) error {
			return c.WriteMessage(websocket.TextMessage, []byte(`{"id":"1","action":"LIST_PENDING_MESSAGES"}`))
		},
		"not gzip": func(c *websocket.Conn) error { return c.WriteMessage(websocket.BinaryMessage, []byte(`{"id":"1"}`)) },
		"bad json": func(c *websocket.Conn) error {
			var buf bytes.Buffer
			zw := gzip.NewWriter(&buf)
			zw.Write([]byte("{nope"))
			zw.Close()
			return c.WriteMessage(websocket.BinaryMessage, buf.Bytes())
		},
	} {
		t.Run(name, func(t *testing.T) {
			conn := dial(t, s, s.Bot())
			if err := write(conn); err != nil {
				t.Fatal(err)
			}
			if f, err := recv(conn, 2*time.Second); err == nil {
				t.Fatalf("connection survived: %+v", f)
			} else if strings.Contains(err.Error(), "timeout") {
				t.Fatalf("not closed: %v", err)
			}
		})
	}
}

func TestBlazePingPong(t *testing.T) {
	s := NewServer(t, WithPingInterval(50*time.Millisecond))
	conn := dial(t, s, s.Bot())
	pinged := make(chan struct{}, 1)
	conn.SetPingHandler(func(string) error {
		select {
		case pinged <- struct{}{}:
		default:
		}
		return nil
	})
	ponged := make(chan string, 1)
	conn.SetPongHandler(func(data string) error {
		select {
		case ponged <- data:
		default:
		}
		return nil
	})
	if err := conn.WriteControl(websocket.PingMessage, []byte("hey"), time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			if _, _, err := conn.ReadMessage(); err != nil {
				return
			}
		}
	}()
	select {
	case <-pinged:
	case <-time.After(2 * time.Second):
		t.Fatal("no ping from server")
	}
	select {
	case d := <-ponged:
		if d != "hey" {
			t.Fatalf("pong %q", d)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("no pong")
	}
}

func TestBlazeDropAfterFrames(t *testing.T) {
	s := NewServer(t, WithFaults(Faults{DropAfterFrames: 2, FrameDelay: 5 * time.Millisecond, FrameJitter: 5 * time.Millisecond}))
	bot, alice := s.Bot(), s.NewUser("Alice")
	for i := 0; i < 5; i++ {
		if _, err := alice.SendText(ctxT(t), bot.UserID, "m"); err != nil {
			t.Fatal(err)
		}
	}
	for round := 0; round < 2; round++ {
		conn := dial(t, s, bot)
		send(t, conn, uuid.NewString(), "LIST_PENDING_MESSAGES", nil)
		if r := mustRecv(t, conn); r.Action != "LIST_PENDING_MESSAGES" {
			t.Fatalf("reply %+v", r)
		}
		var got int
		for {
			f, err := recv(conn, 2*time.Second)
			if err != nil {
				if strings.Contains(err.Error(), "timeout") {
					t.Fatal("not dropped")
				}
				if websocket.IsCloseError(err, websocket.CloseNormalClosure, websocket.CloseGoingAway) {
					t.Fatalf("dropped with a close frame: %v", err)
				}
				break
			}
			f.msg(t)
			got++
		}
		if got != 2 {
			t.Fatalf("round %d: %d frames before drop", round, got)
		}
	}
	if s.Pending(bot.UserID) != 5 {
		t.Fatalf("pending %d", s.Pending(bot.UserID))
	}
}

func TestBlazeUserConnectionsAreSeparate(t *testing.T) {
	s := NewServer(t)
	bot, alice := s.Bot(), s.NewUser("Alice")
	conv := createContact(t, s, bot, alice)
	botConn, aliceConn := dial(t, s, bot), dial(t, s, alice)
	for _, c := range []*websocket.Conn{botConn, aliceConn} {
		send(t, c, uuid.NewString(), "LIST_PENDING_MESSAGES", nil)
		mustRecv(t, c)
	}
	m := textMsg(conv, "to alice")
	newREST(t, s, bot).do("POST", "/messages", m).ok(t, nil)
	if got := mustRecv(t, aliceConn).msg(t); got.MessageID != m["message_id"] {
		t.Fatalf("alice got %+v", got)
	}
	if f, err := recv(botConn, 150*time.Millisecond); err == nil {
		t.Fatalf("bot got its own message %s", f.Data)
	}
}

func TestCloseLeavesNoGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	s := NewUnstartedServer(WithPingInterval(20 * time.Millisecond))
	s.Start()
	bot, alice := s.Bot(), s.NewUser("Alice")
	var conns []*websocket.Conn
	for i := 0; i < 3; i++ {
		conn := dial(t, s, bot)
		send(t, conn, uuid.NewString(), "LIST_PENDING_MESSAGES", nil)
		mustRecv(t, conn)
		conns = append(conns, conn)
	}
	alice.SendText(ctxT(t), bot.UserID, "x")
	for _, c := range conns {
		mustRecv(t, c)
	}
	s.Close()
	s.Close() // idempotent
	for _, c := range conns {
		if _, err := recv(c, 2*time.Second); err == nil || strings.Contains(err.Error(), "timeout") {
			t.Fatalf("socket open after Close: %v", err)
		}
		c.Close()
	}
	http.DefaultClient.CloseIdleConnections()
	deadline := time.Now().Add(3 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<16)
		t.Fatalf("goroutines: before %d after %d\n%s", before, n, buf[:runtime.Stack(buf, true)])
	}
}

func TestBlazeLargeBacklogAndConcurrentSenders(t *testing.T) {
	s := NewServer(t, WithPathPrefix("/api"))
	bot := s.Bot()
	alice := s.NewUser("Alice")
	const backlog = 400
	for i := 0; i < backlog; i++ {
		if _, err := alice.SendText(ctxT(t), bot.UserID, "b"); err != nil {
			t.Fatal(err)
		}
	}
	conn := dial(t, s, bot) // signed over /api/
	send(t, conn, uuid.NewString(), "LIST_PENDING_MESSAGES", nil)
	mustRecv(t, conn)
	// While the backlog streams, five users send concurrently.
	const senders, each = 5, 20
	done := make(chan error, senders)
	for i := 0; i < senders; i++ {
		u := s.NewUser("sender")
		go func() {
			for j := 0; j < each; j++ {
				if _, err := u.SendText(context.Background(), bot.UserID, strconv.Itoa(j)); err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
	}
	for i := 0; i < senders; i++ {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	lastBySender := map[string]int{}
	for i := 0; i < backlog+senders*each; i++ {
		m := mustRecv(t, conn).msg(t)
		if i < backlog && (m.UserID != alice.UserID || m.Source != "LIST_PENDING_MESSAGES") {
			t.Fatalf("frame %d out of order: %+v", i, m)
		}
		if m.UserID != alice.UserID {
			raw, _ := base64.StdEncoding.DecodeString(m.Data)
			n, _ := strconv.Atoi(string(raw))
			if last, ok := lastBySender[m.UserID]; ok && n != last+1 {
				t.Fatalf("sender %s: %d after %d", m.UserID, n, last)
			}
			lastBySender[m.UserID] = n
		}
	}
	if len(lastBySender) != senders {
		t.Fatalf("senders seen %d", len(lastBySender))
	}
}

func TestBlazeSlowClientIsDropped(t *testing.T) {
	s := NewServer(t)
	bot, alice := s.Bot(), s.NewUser("Alice")
	for i := 0; i < 3; i++ {
		alice.SendText(ctxT(t), bot.UserID, "x")
	}
	conn := dial(t, s, bot)
	send(t, conn, uuid.NewString(), "LIST_PENDING_MESSAGES", nil)
	mustRecv(t, conn)
	var c *blazeConn
	s.mu.Lock()
	for bc := range s.mailboxes[bot.UserID].conns {
		c = bc
	}
	s.mu.Unlock()
	c.qmu.Lock()
	if c.backlog != 3 {
		t.Errorf("backlog %d", c.backlog)
	}
	// Pretend the client stopped reading: the queue is full.
	// Twice the limit: the writer may drain some before the next push, but
	// the socket buffers fill long before it drains maxQueued frames.
	filler := make([]outFrame, 2*maxQueued+c.backlog)
	for i := range filler {
		filler[i] = outFrame{f: frame{ID: "filler", Action: "NOOP"}}
	}
	c.queue = append(c.queue[:0], filler...)
	c.qmu.Unlock()
	alice.SendText(ctxT(t), bot.UserID, "one too many") // never blocks the sender
	select {
	case <-c.done:
	case <-time.After(3 * time.Second):
		t.Fatal("slow connection not dropped")
	}
	if s.Pending(bot.UserID) != 4 {
		t.Fatalf("pending %d", s.Pending(bot.UserID))
	}
}
