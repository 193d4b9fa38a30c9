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
// for the replies the reader hands back. While the reader is held back by
// a full loop it cannot read replies, so requests then fail at once with
// errBlazeBusy instead of waiting behind inbound messages; callers fall
// back to REST.
type blazeSender struct {
	conn    *websocket.Conn
	timeout time.Duration

	wmu sync.Mutex // one writer at a time

	mu      sync.Mutex
	waiting map[string]chan *inFrame
	busy    chan struct{} // closed when the reader pauses; replaced when it resumes
	paused  bool
	resumed time.Time // when the reader last resumed
	closed  bool
}

var (
	// errBlazeDown says the request never left: the caller may use REST.
	errBlazeDown = errors.New("mixin: blaze: not connected")
	// errBlazeBusy says the reader is held back, so a reply would wait
	// behind inbound messages; the request may have reached the server.
	errBlazeBusy = errors.New("mixin: blaze: connection busy with inbound messages")
)

func newBlazeSender(conn *websocket.Conn, timeout time.Duration) *blazeSender {
	return &blazeSender{conn: conn, timeout: timeout, waiting: map[string]chan *inFrame{}, busy: make(chan struct{})}
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
	switch {
	case s.closed:
		s.mu.Unlock()
		return nil, errBlazeDown
	case s.paused:
		s.mu.Unlock()
		return nil, errBlazeBusy
	}
	s.waiting[id] = ch
	busy := s.busy
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
	case <-busy:
		return nil, errBlazeBusy
	case <-t.C:
		return nil, fmt.Errorf("mixin: blaze: no reply to %s within %s", action, s.timeout)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// deliver hands a copy of a reply to its waiter (the reader reuses f);
// false if nobody waits for f.ID.
func (s *blazeSender) deliver(f *inFrame) bool {
	s.mu.Lock()
	ch, ok := s.waiting[f.ID]
	if ok {
		delete(s.waiting, f.ID)
	}
	s.mu.Unlock()
	if ok {
		ch <- &inFrame{ID: f.ID, Action: f.Action, Error: f.Error}
	}
	return ok
}

// pause fails every waiter with errBlazeBusy and makes new requests fail
// fast until resume.
func (s *blazeSender) pause() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.paused {
		s.paused = true
		close(s.busy)
	}
}

// behind reports whether the reader is paused, or was within window: it
// waits for room, so frames wait for it on the socket.
func (s *blazeSender) behind(window time.Duration) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.paused || time.Since(s.resumed) < window
}

func (s *blazeSender) resume() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.paused {
		s.paused = false
		s.resumed = time.Now()
		s.busy = make(chan struct{})
	}
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
// connection. An error other than a refusal from the server means the
// message may or may not have reached it; the caller sends it over REST
// with the same id, which the server deduplicates.
func (c *Client) sendOverBlaze(ctx context.Context, m MessageRequest) (*Message, error) {
	s := c.blazeSend.Load()
	if s == nil {
		return nil, errBlazeDown
	}
	if _, err := s.request(ctx, actionCreate, m); err != nil {
		return nil, err
	}
	return c.sentView(&m, time.Now().UTC()), nil
}

// sendAcksOverBlaze sends acknowledgements as one ACKNOWLEDGE_MESSAGE_RECEIPTS
// frame (android-app websocket/BlazeMessage.kt createAckListParamBlazeMessage,
// sent by job/BlazeMessageService.kt ackJobBlock in batches of 100).
func (c *Client) sendAcksOverBlaze(ctx context.Context, acks []AcknowledgementRequest) error {
	s := c.blazeSend.Load()
	if s == nil {
		return errBlazeDown
	}
	_, err := s.request(ctx, actionAckReceipts, ackListParams{Messages: acks})
	return err
}

type ackListParams struct {
	Messages []AcknowledgementRequest `json:"messages"`
}

// blazeRefused reports a reply from the server that refuses the request
// itself, so sending it again over REST cannot help.
func blazeRefused(err error) bool {
	var e *APIError
	return errors.As(err, &e) && !e.Temporary()
}
