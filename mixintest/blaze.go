package mixintest

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/gorilla/websocket"
)

const (
	maxQueued      = 1 << 18
	maxFrameBytes  = 1 << 20
	maxInflated    = 8 << 20
	writeTimeout   = 10 * time.Second
	actionList     = "LIST_PENDING_MESSAGES"
	actionAck      = "ACKNOWLEDGE_MESSAGE_RECEIPT"
	actionAcks     = "ACKNOWLEDGE_MESSAGE_RECEIPTS"
	actionCreate   = "CREATE_MESSAGE"
	actionCreateMs = "CREATE_PLAIN_MESSAGES"
	actionError    = "ERROR"
)

// frame is the blaze envelope, both directions.
type frame struct {
	ID     string          `json:"id"`
	Action string          `json:"action"`
	Params json.RawMessage `json:"params,omitempty"`
	Data   any             `json:"data,omitempty"`
	Error  *errorView      `json:"error,omitempty"`
}

// statusUpdate is the data of the reply to a CREATE_MESSAGE.
type statusUpdate struct {
	Type           string `json:"type"`
	MessageID      string `json:"message_id"`
	ConversationID string `json:"conversation_id"`
	UserID         string `json:"user_id"`
	Category       string `json:"category"`
	Status         string `json:"status"`
}

// outFrame is a queued reply (f) or push of a pending entry. Pushes are
// rendered when written, and skipped if acknowledged since being queued.
type outFrame struct {
	f      frame
	entry  *pendingEntry
	source string
}

// blazeConn is one websocket connection of one user.
type blazeConn struct {
	s         *Server
	user      *User
	mb        *mailbox // the user's; the pointer never changes
	ws        *websocket.Conn
	qmu       sync.Mutex
	queue     []outFrame    // guarded by qmu; drained by writeLoop
	backlog   int           // guarded by qmu: size of the last LIST_PENDING_MESSAGES snapshot
	wake      chan struct{} // capacity 1: the queue has frames
	done      chan struct{}
	closeOnce sync.Once
	listed    bool   // guarded by s.mu: LIST_PENDING_MESSAGES was received
	seq       uint64 // order of connection, for FanoutOne; set under s.mu
}

// blazeUpgrader accepts both subprotocol names the clients use.
func blazeUpgrader() websocket.Upgrader {
	return websocket.Upgrader{
		Subprotocols:    []string{"Mixin-Blaze-1", "MixinBot-Blaze-1"},
		CheckOrigin:     func(*http.Request) bool { return true },
		ReadBufferSize:  4096,
		WriteBufferSize: 4096,
	}
}

// refuseWithErrorFrame upgrades a connection whose token failed only to
// send it an ERROR frame with code 401 (see BlazeAuthFailureErrorFrame).
func (s *Server) refuseWithErrorFrame(w http.ResponseWriter, r *http.Request) {
	ws, release := s.upgradeBlaze(w, r)
	if ws == nil {
		return
	}
	defer release()
	s.sendAuthErrorFrame(ws)
}

// upgradeBlaze upgrades r to a websocket with the clock headers on the 101.
// The connection counts in s.wg (Close waits for it) until release is
// called. ws is nil, and the answer written, when the server is closed or
// the upgrade failed.
func (s *Server) upgradeBlaze(w http.ResponseWriter, r *http.Request) (ws *websocket.Conn, release func()) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		http.Error(w, "server closed", http.StatusServiceUnavailable)
		return nil, nil
	}
	s.wg.Add(1)
	s.mu.Unlock()
	up := blazeUpgrader()
	upHeader := http.Header{}
	s.setClockHeaders(upHeader)
	ws, err := up.Upgrade(w, r, upHeader)
	if err != nil {
		s.wg.Done()
		return nil, nil
	}
	return ws, s.wg.Done
}

// authErrorLinger is how long a connection refused with an ERROR frame
// stays open for the client to read it.
const authErrorLinger = 5 * time.Second

// sendAuthErrorFrame sends an ERROR frame with code 401 and closes ws once
// the client has closed it, or after authErrorLinger. The apps write their
// first request (LIST_PENDING_MESSAGES) as soon as the socket opens and
// then read the ERROR frame (android-app websocket/ChatWebSocket.kt onOpen,
// onMessage); closing at once would fail that write and hide the 401.
func (s *Server) sendAuthErrorFrame(ws *websocket.Conn) {
	b, _ := s.encodeFrame(frame{ID: uuid.NewString(), Action: actionError,
		Error: &errorView{Status: 202, Code: codeUnauthorized, Description: errUnauthorized.desc}})
	_ = ws.SetWriteDeadline(time.Now().Add(writeTimeout))
	_ = ws.WriteMessage(websocket.BinaryMessage, b)
	finished := make(chan struct{})
	defer close(finished)
	go func() { // Close does not wait out the linger
		select {
		case <-s.done:
			_ = ws.NetConn().Close()
		case <-finished:
		}
	}()
	_ = ws.SetReadDeadline(time.Now().Add(authErrorLinger))
	for {
		if _, _, err := ws.ReadMessage(); err != nil {
			break
		}
	}
	_ = ws.Close()
}

func (s *Server) serveBlaze(w http.ResponseWriter, r *http.Request) {
	f := s.currentFaults()
	if f.RefuseUpgrade {
		s.writeRaw(w, r, http.StatusServiceUnavailable, &apiError{code: 7000, desc: "Blaze server error."})
		return
	}
	if f.UnauthorizedBlaze {
		s.writeRaw(w, r, http.StatusUnauthorized, errUnauthorized)
		return
	}
	user, err := s.authenticate(r, nil)
	if err != nil {
		s.debug("blaze: rejected token", "err", err)
		if s.cfg.blazeAuthFailure == BlazeAuthFailureErrorFrame {
			s.refuseWithErrorFrame(w, r)
			return
		}
		s.writeRaw(w, r, http.StatusUnauthorized, errUnauthorized)
		return
	}
	ws, release := s.upgradeBlaze(w, r)
	if ws == nil {
		return
	}
	defer release()
	c := &blazeConn{s: s, user: user, ws: ws, wake: make(chan struct{}, 1), done: make(chan struct{})}
	if f.BlazeErrorFrame {
		s.sendAuthErrorFrame(ws)
		return
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		_ = ws.Close()
		return
	}
	s.connSeq++
	c.seq = s.connSeq
	c.mb = s.mailboxes[user.UserID]
	c.mb.conns[c] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()

	go func() {
		defer s.wg.Done()
		c.writeLoop()
	}()
	c.readLoop()
	c.close()
	s.mu.Lock()
	delete(s.mailboxes[user.UserID].conns, c)
	s.handOverLocked(s.mailboxes[user.UserID], c)
	s.mu.Unlock()
}

// close tears the connection down abruptly, without a close frame.
func (c *blazeConn) close() {
	c.closeOnce.Do(func() {
		close(c.done)
		_ = c.ws.NetConn().Close()
	})
}

// send queues a frame without blocking. The queue holds the whole pending
// backlog plus at most maxQueued more frames: a client too slow to drain them
// loses the connection (its pending entries stay queued server-side).
func (c *blazeConn) send(o outFrame) {
	c.qmu.Lock()
	if len(c.queue) >= maxQueued+c.backlog {
		c.qmu.Unlock()
		c.s.debug("blaze: outgoing queue full, dropping connection", "user", c.user.UserID)
		c.close()
		return
	}
	c.queue = append(c.queue, o)
	c.qmu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// next pops the oldest queued frame.
func (c *blazeConn) next() (outFrame, bool) {
	c.qmu.Lock()
	defer c.qmu.Unlock()
	if len(c.queue) == 0 {
		return outFrame{}, false
	}
	o := c.queue[0]
	c.queue[0] = outFrame{}
	c.queue = c.queue[1:]
	if len(c.queue) == 0 {
		c.queue = nil
	}
	return o, true
}

// queueBacklog queues the unacked pending entries after a
// LIST_PENDING_MESSAGES, however many there are.
func (c *blazeConn) queueBacklog(pending []*pendingEntry) {
	c.qmu.Lock()
	n := 0
	for _, e := range pending {
		if !e.acked.Load() {
			c.queue = append(c.queue, outFrame{entry: e, source: sourceListPending})
			n++
		}
	}
	c.backlog = n
	c.qmu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

func (c *blazeConn) reply(id, action string, data any, e *apiError) {
	f := frame{ID: id, Action: action, Data: data}
	if e != nil {
		f.Data = nil
		f.Error = &errorView{Status: 202, Code: e.code, Description: e.desc, Extra: e.extra}
	}
	c.send(outFrame{f: f})
}

// writeLoop is the connection's only writer: queued frames, pings, and the
// faults that apply to pushes.
func (c *blazeConn) writeLoop() {
	ticker := time.NewTicker(c.s.cfg.pingInterval)
	defer ticker.Stop()
	pushed := 0
	ping := func() bool {
		if err := c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(writeTimeout)); err != nil {
			c.close()
			return false
		}
		return true
	}
	for {
		select {
		case <-c.done:
			return
		case <-c.s.done:
			_ = c.ws.WriteControl(websocket.CloseMessage,
				websocket.FormatCloseMessage(websocket.CloseGoingAway, "server closed"), time.Now().Add(time.Second))
			c.close()
			return
		case <-ticker.C:
			if !ping() {
				return
			}
		case <-c.wake:
			for {
				o, ok := c.next()
				if !ok {
					break
				}
				select {
				case <-c.done:
					return
				case <-ticker.C:
					if !ping() {
						return
					}
				default:
				}
				if !c.write(o, &pushed) {
					return
				}
			}
		}
	}
}

// write sends one frame, applying FrameDelay and DropAfterFrames to pushes.
// It reports whether the connection is still usable.
func (c *blazeConn) write(o outFrame, pushed *int) bool {
	push := o.entry != nil
	if push {
		if o.entry.acked.Load() {
			return true
		}
		o.f = pushFrame(o.entry, o.source)
	}
	faults := c.s.currentFaults()
	if push {
		if d := c.s.jitter(faults.FrameDelay, faults.FrameJitter); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-t.C:
			case <-c.done:
				t.Stop()
				return false
			}
		}
	}
	b, err := c.s.encodeFrame(o.f)
	if err != nil {
		return true
	}
	_ = c.ws.SetWriteDeadline(time.Now().Add(writeTimeout))
	if err := c.ws.WriteMessage(websocket.BinaryMessage, b); err != nil {
		c.close()
		return false
	}
	if push {
		c.mb.pushes.Add(1)
		if o.entry.receipt != nil {
			c.s.mu.Lock()
			c.s.pushedLocked(c.user, o.entry)
			c.s.mu.Unlock()
		}
		*pushed++
		if faults.DropAfterFrames > 0 && *pushed%faults.DropAfterFrames == 0 {
			c.s.debug("blaze: dropping connection (fault)", "user", c.user.UserID, "frames", *pushed)
			c.close()
			return false
		}
	}
	return true
}

func (c *blazeConn) readLoop() {
	c.ws.SetReadLimit(maxFrameBytes)
	for {
		mt, data, err := c.ws.ReadMessage()
		if err != nil {
			return
		}
		if mt != websocket.BinaryMessage {
			return
		}
		f, err := decodeFrame(data)
		if err != nil {
			c.s.debug("blaze: bad frame, closing", "user", c.user.UserID, "err", err)
			return
		}
		c.handle(f)
	}
}

func (c *blazeConn) handle(f frame) {
	s := c.s
	switch f.Action {
	case actionList:
		s.mu.Lock()
		c.reply(f.ID, f.Action, nil, nil)
		c.listed = true
		c.queueBacklog(s.backlogLocked(s.mailboxes[c.user.UserID], c))
		s.mu.Unlock()
	case actionAck, actionAcks:
		c.handleAcks(f)
	case actionCreate, actionCreateMs:
		c.handleCreate(f)
	default:
		c.reply(f.ID, f.Action, nil, invalidField("action", "unknown action "+f.Action))
	}
}

// handleAcks takes ACKNOWLEDGE_MESSAGE_RECEIPT (params {message_id,
// status}) and ACKNOWLEDGE_MESSAGE_RECEIPTS, whose params.messages carries
// up to 100 [{message_id, status}] as the Android app sends it
// (android-app websocket/BlazeMessage.kt createAckListParamBlazeMessage,
// job/BlazeMessageService.kt ackJobBlock).
func (c *blazeConn) handleAcks(f frame) {
	var acks []ackRequest
	if f.Action == actionAck {
		var a ackRequest
		if err := json.Unmarshal(f.Params, &a); err != nil {
			c.reply(f.ID, f.Action, nil, errBadRequest)
			return
		}
		acks = []ackRequest{a}
	} else {
		var p struct {
			Messages []ackRequest `json:"messages"`
		}
		if err := json.Unmarshal(f.Params, &p); err != nil {
			c.reply(f.ID, f.Action, nil, errBadRequest)
			return
		}
		if len(p.Messages) > maxBatch {
			c.reply(f.ID, f.Action, nil, invalidField("messages", "at most 100 per request"))
			return
		}
		acks = p.Messages
	}
	for _, a := range acks {
		if err := validateAck(a); err != nil {
			c.reply(f.ID, f.Action, nil, err)
			return
		}
	}
	s := c.s
	s.mu.Lock()
	for _, a := range acks {
		s.ackLocked(c.user, a)
	}
	c.reply(f.ID, f.Action, nil, nil)
	s.mu.Unlock()
}

// handleCreate takes CREATE_MESSAGE and CREATE_PLAIN_MESSAGES.
func (c *blazeConn) handleCreate(f frame) {
	var reqs []messageRequestJSON
	if f.Action == actionCreate {
		var r messageRequestJSON
		if err := json.Unmarshal(f.Params, &r); err != nil {
			c.reply(f.ID, f.Action, nil, errBadRequest)
			return
		}
		reqs = []messageRequestJSON{r}
	} else {
		var p struct {
			Messages []messageRequestJSON `json:"messages"`
		}
		if err := json.Unmarshal(f.Params, &p); err != nil || len(p.Messages) > maxBatch {
			c.reply(f.ID, f.Action, nil, invalidField("messages", "unparsable or more than 100"))
			return
		}
		reqs = p.Messages
	}
	s := c.s
	s.mu.Lock()
	defer s.mu.Unlock()
	msgs, err := s.sendLocked(c.user, reqs)
	switch {
	case err != nil:
		c.reply(f.ID, f.Action, nil, err)
	case f.Action == actionCreate:
		// The reply carries the message's status with the sender's own user
		// id and an empty category, which the apps read as the status
		// update of their send, not as a message (android-app
		// websocket/ChatWebSocket.kt handleReceiveMessage: "Ack of the
		// create message").
		c.reply(f.ID, f.Action, statusUpdate{Type: "message", MessageID: msgs[0].MessageID,
			ConversationID: msgs[0].ConversationID, UserID: c.user.UserID, Category: "", Status: statusSent}, nil)
	default:
		c.reply(f.ID, f.Action, nil, nil)
	}
}

// encodeFrame gzips the JSON of f, reusing the server's gzip writers.
func (s *Server) encodeFrame(f frame) ([]byte, error) {
	js, err := json.Marshal(f)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	zw, _ := s.gzPool.Get().(*gzip.Writer)
	if zw == nil {
		zw, _ = gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	} else {
		zw.Reset(&buf)
	}
	defer s.gzPool.Put(zw)
	if _, err := zw.Write(js); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func decodeFrame(b []byte) (frame, error) {
	var f frame
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return f, err
	}
	js, err := io.ReadAll(io.LimitReader(zr, maxInflated+1))
	if err != nil {
		return f, err
	}
	if len(js) > maxInflated {
		return f, errors.New("frame too large")
	}
	if err := json.Unmarshal(js, &f); err != nil {
		return f, err
	}
	if f.ID == "" || f.Action == "" {
		return f, errors.New("frame without id or action")
	}
	return f, nil
}
