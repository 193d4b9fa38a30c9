package mixin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/gorilla/websocket"
)

// blazeConn is one websocket connection of a run.
type blazeConn struct {
	ws          *websocket.Conn
	header      http.Header // of the upgrade response: the server's clock
	sender      *blazeSender
	readTimeout time.Duration
	listID      string
	listed      atomic.Bool
	listedAt    time.Time    // set by the reader when listed
	moved       atomic.Int64 // frames and pongs received after the listing

	closeOnce sync.Once
	done      chan struct{}
	reason    error // why close was called; read after done
}

func newBlazeConn(ws *websocket.Conn, header http.Header, cfg blazeConfig) *blazeConn {
	return &blazeConn{ws: ws, header: header, sender: newBlazeSender(ws, cfg.replyTimeout),
		readTimeout: cfg.readTimeout, listID: uuid.NewString(), done: make(chan struct{})}
}

// close ends the connection once, recording why.
func (cn *blazeConn) close(reason error) {
	cn.closeOnce.Do(func() {
		cn.reason = reason
		close(cn.done)
		cn.sender.close()
		_ = cn.ws.Close()
	})
}

// extend restarts the keepalive clock: the socket may stay silent for the
// read timeout from now.
func (cn *blazeConn) extend() { _ = cn.ws.SetReadDeadline(time.Now().Add(cn.readTimeout)) }

// proven reports a connection that stayed up for the read timeout after the
// listing and received something meanwhile: only that resets the backoff.
func (cn *blazeConn) proven(upFor time.Duration) bool {
	return cn.listed.Load() && cn.moved.Load() > 0 && time.Since(cn.listedAt) >= upFor
}

var errNoListing = errors.New("mixin: blaze: no answer to " + actionListPending)

// serve runs one connection as RunBlaze's contract says: keep it alive, ask
// for the pending messages, offer the socket for sends once they are
// listed, and route every frame until the connection fails, ctx ends or a
// re-listing is due.
func (r *blazeRun) serve(ctx context.Context, cn *blazeConn) error {
	defer cn.close(nil)
	stopClose := context.AfterFunc(ctx, func() { cn.close(ctx.Err()) })
	defer stopClose()
	r.disp.newConnection()
	select {
	case <-r.relist: // meant for an earlier connection
	default:
	}
	stopKeepalive := r.keepalive(cn)
	defer stopKeepalive()
	frame, err := encodeFrame(outFrame{ID: cn.listID, Action: actionListPending})
	if err != nil {
		return err
	}
	if err := cn.sender.write(frame); err != nil {
		return fmt.Errorf("mixin: blaze: send %s: %w", actionListPending, err)
	}
	defer r.c.blazeSend.CompareAndSwap(cn.sender, nil) // published once listed
	return r.readFrames(ctx, cn)
}

// keepalive answers the server's pings, sends ours every ping interval
// (their pongs extend the read deadline), ends a connection whose listing
// gets no answer within the reply timeout, and ends it for a re-listing
// when one is due. The read deadline itself is kept by the reader.
func (r *blazeRun) keepalive(cn *blazeConn) (stop func()) {
	ws := cn.ws
	ws.SetReadLimit(r.cfg.maxFrameBytes)
	cn.extend()
	ws.SetPongHandler(func(string) error {
		cn.extend()
		if cn.listed.Load() {
			cn.moved.Add(1)
		}
		return nil
	})
	ws.SetPingHandler(func(data string) error {
		cn.extend()
		err := ws.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(writeTimeout))
		if errors.Is(err, websocket.ErrCloseSent) || isTimeout(err) {
			return nil
		}
		return err
	})
	quit := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		quiet := (r.cfg.readTimeout - r.cfg.pingInterval) / 2
		ping := time.NewTicker(r.cfg.pingInterval)
		defer ping.Stop()
		listing := time.NewTimer(r.cfg.replyTimeout)
		defer listing.Stop()
		for {
			select {
			case <-quit:
				return
			case <-cn.done:
				return
			case <-listing.C:
				if !cn.listed.Load() {
					cn.close(errNoListing)
				}
			case <-r.relist:
				cn.close(errRelist)
			case <-ping.C:
				if cn.sender.behind(quiet) {
					// The reader waits for room: the pong would wait behind
					// the frames it has not read, and a server that gives up
					// writing it would drop a sound connection. The read
					// deadline starts again when reading resumes, and quiet
					// leaves the next ping time to come back before it.
					continue
				}
				if err := ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(writeTimeout)); err != nil {
					cn.close(fmt.Errorf("mixin: blaze: ping: %w", err))
				}
			}
		}
	}()
	return func() { close(quit); wg.Wait() }
}

// readFrames reads and routes frames until the connection ends.
func (r *blazeRun) readFrames(ctx context.Context, cn *blazeConn) error {
	dec := frameDecoder{maxDecompressed: r.cfg.maxDecompressed}
	var it *item // the next frame decodes into it; kept while unused
	for {
		mt, rd, err := cn.ws.NextReader()
		if err != nil {
			return cn.readError(ctx, err)
		}
		cn.extend()
		if mt != websocket.BinaryMessage {
			return errNotBinary
		}
		if it == nil {
			it = new(item)
		}
		f := &it.frame
		f.Data = &it.msg
		if err := dec.decode(rd, f); err != nil {
			bad := new(MessageDecodeError)
			if !errors.As(err, &bad) {
				return err
			}
			it.bad = bad
		}
		if cn.listed.Load() {
			cn.moved.Add(1)
		}
		kept, err := r.route(ctx, cn, f, it)
		if err != nil {
			return err
		}
		if kept {
			it = nil
		} else {
			*it = item{}
		}
	}
}

// readError says why reading stopped: the reason the connection was closed
// on purpose, a missing listing, or the read error.
func (cn *blazeConn) readError(ctx context.Context, err error) error {
	select {
	case <-cn.done:
		if cn.reason != nil {
			return cn.reason
		}
	default:
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if !cn.listed.Load() {
		return fmt.Errorf("%w: %w", errNoListing, err)
	}
	return fmt.Errorf("mixin: blaze: read: %w", err)
}

// route acts on one frame: a reply goes to its waiter, an error frame is
// reported or ends the connection, the listing's reply marks the
// connection listed, and pushes are admitted. kept says it now belongs to
// the loop.
func (r *blazeRun) route(ctx context.Context, cn *blazeConn, f *inFrame, it *item) (kept bool, err error) {
	if f.ID != cn.listID && cn.sender.deliver(f) {
		return false, nil
	}
	if f.Error != nil {
		switch {
		case f.Error.Code == CodeUnauthorized:
			return false, &APIError{Status: http.StatusUnauthorized, Code: CodeUnauthorized, Description: "blaze: " + f.Error.Description}
		case f.ID == cn.listID:
			return false, &APIError{Status: f.Error.Status, Code: f.Error.Code, Description: "blaze: " + actionListPending + ": " + f.Error.Description}
		}
		r.log.LogAttrs(ctx, slog.LevelWarn, "mixin: blaze: error frame", slog.String("action", f.Action), slog.Int("code", f.Error.Code), slog.String("description", f.Error.Description))
		return false, nil
	}
	if f.ID == cn.listID {
		if f.Action == actionListPending && !cn.listed.Load() {
			cn.listedAt = time.Now()
			cn.listed.Store(true)
			r.c.blazeSend.Store(cn.sender)
		}
		return false, nil
	}
	switch classify(f, r.c.ks.AppID) {
	case frameIgnored, frameStatus:
		return false, nil
	case frameReceipt:
		it.receipt = true
		it.msg.Source = sourceReceipt
	case frameOwn:
		it.own = true
	}
	m := &it.msg
	it.key = itemKey(m.MessageID, it.receipt, string(m.Status))
	it.lane = m.ConversationID
	if it.receipt || it.lane == "" {
		it.lane = m.MessageID
	}
	if r.tr != nil {
		r.tr.TraceReceive(r.trRun, inbound(it))
	}
	return r.admit(ctx, cn, it)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// admit is the one place that decides what becomes of an inbound item:
// queued for its handler, dropped as a repeat (acknowledged again if it was
// handled and acknowledged before), or left to the server for a later
// listing when its conversation is shed. It waits while there is no room
// (see blaze_admit.go): for acknowledgements to be confirmed; for a full
// conversation, within its budget; for a full queue, while the
// conversations that hold it make progress. kept says the item is now the
// loop's.
func (r *blazeRun) admit(ctx context.Context, cn *blazeConn, it *item) (kept bool, err error) {
	ack := r.needsAck(it)
	for {
		v, l := r.disp.offer(it, r.acks.full(), ack)
		switch v {
		case admitted:
			return true, nil
		case repeat, deferred:
			return false, nil
		case handled:
			r.acks.add(it.msg.MessageID, r.ackStatus(it), it.key) // its acknowledgement may have been lost
			return false, nil
		case ackFull:
			if _, err := r.waitRoom(ctx, cn, -1); err != nil {
				return false, err
			}
		case queueFull:
			if _, err := r.waitRoom(ctx, cn, r.disp.stallIn()); err != nil {
				return false, err
			}
		case laneFull:
			waited := time.Duration(0)
			if left := r.disp.waitLeft(l); left != 0 {
				if waited, err = r.waitRoom(ctx, cn, left); err != nil {
					return false, err
				}
			}
			r.disp.charge(l, waited)
		}
	}
}

// waitRoom holds the reader until a message or acknowledgement leaves the
// loop, or limit passes (limit < 0: no limit). Meanwhile the connection is
// paused: requests on it fail over to REST at once, as their replies would
// wait behind inbound messages, and the keepalive clock restarts when
// reading resumes, so a busy loop is not taken for a dead socket.
func (r *blazeRun) waitRoom(ctx context.Context, cn *blazeConn, limit time.Duration) (time.Duration, error) {
	start := time.Now()
	cn.sender.pause()
	defer func() {
		cn.sender.resume()
		cn.extend()
	}()
	var timeout <-chan time.Time
	if limit >= 0 {
		t := time.NewTimer(limit)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case <-r.room:
	case <-timeout:
	case <-cn.done:
		return time.Since(start), cn.readError(ctx, net.ErrClosed)
	}
	return time.Since(start), nil
}
