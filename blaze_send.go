package mixin

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/gorilla/websocket"
)

// blazeSender writes request frames on a live blaze connection and waits
// for the replies the read loop hands back.
type blazeSender struct {
	conn    *websocket.Conn
	timeout time.Duration

	wmu sync.Mutex // one writer at a time

	mu      sync.Mutex
	waiting map[string]chan *inFrame
	closed  bool
}

// errBlazeDown says the request never left: the caller may use REST.
var errBlazeDown = errors.New("mixin: blaze: not connected")

func newBlazeSender(conn *websocket.Conn, timeout time.Duration) *blazeSender {
	return &blazeSender{conn: conn, timeout: timeout, waiting: map[string]chan *inFrame{}}
}

// write sends one frame.
func (s *blazeSender) write(frame []byte) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	_ = s.conn.SetWriteDeadline(time.Now().Add(writeTimeout))
	return s.conn.WriteMessage(websocket.BinaryMessage, frame)
}

// request sends action with params and waits for the reply.
func (s *blazeSender) request(ctx context.Context, action string, params any) (*inFrame, error) {
	id := uuid.NewString()
	frame, err := encodeFrame(outFrame{ID: id, Action: action, Params: params})
	if err != nil {
		return nil, err
	}
	ch := make(chan *inFrame, 1)
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, errBlazeDown
	}
	s.waiting[id] = ch
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.waiting, id)
		s.mu.Unlock()
	}()
	if err := s.write(frame); err != nil {
		return nil, fmt.Errorf("%w: %v", errBlazeDown, err)
	}
	t := time.NewTimer(s.timeout)
	defer t.Stop()
	select {
	case f, ok := <-ch:
		if !ok {
			return nil, fmt.Errorf("mixin: blaze: connection closed before the reply to %s", action)
		}
		if f.Error != nil {
			return nil, &APIError{Status: f.Error.Status, Code: f.Error.Code, Description: f.Error.Description, Extra: f.Error.Extra, RequestID: id}
		}
		return f, nil
	case <-t.C:
		return nil, fmt.Errorf("mixin: blaze: no reply to %s within %s", action, s.timeout)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// deliver hands a reply to its waiter; false if nobody waits for f.ID.
func (s *blazeSender) deliver(f *inFrame) bool {
	s.mu.Lock()
	ch, ok := s.waiting[f.ID]
	if ok {
		delete(s.waiting, f.ID)
	}
	s.mu.Unlock()
	if ok {
		ch <- f
	}
	return ok
}

// close fails every waiter.
func (s *blazeSender) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	for id, ch := range s.waiting {
		close(ch)
		delete(s.waiting, id)
	}
}

// sendOverBlaze sends m as CREATE_MESSAGE on the running loop's
// connection. A message that may have reached the server comes back as an
// error other than errBlazeDown; the caller retries it over REST with the
// same id, which the server deduplicates.
func (c *Client) sendOverBlaze(ctx context.Context, m MessageRequest) (*Message, error) {
	s := c.blazeSend.Load()
	if s == nil {
		return nil, errBlazeDown
	}
	if _, err := s.request(ctx, actionCreate, m); err != nil {
		return nil, err
	}
	return &Message{Type: "message", ConversationID: m.ConversationID, UserID: c.ks.AppID, SessionID: c.ks.SessionID,
		MessageID: m.MessageID, Category: m.Category, DataBase64: m.DataBase64, QuoteMessageID: m.QuoteMessageID,
		RepresentativeID: m.RepresentativeID, Silent: m.Silent, Status: "SENT", CreatedAt: time.Now().UTC()}, nil
}
