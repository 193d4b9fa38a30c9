package mixin

import (
	"context"
	"time"
)

// Handler handles one inbound message. Returning nil lets the loop
// acknowledge the message; an error makes it retry per the loop's policy,
// unless the error is permanent (see [Permanent]): then the message goes
// straight to the dead-letter hook. Handlers of one conversation run one at
// a time, in order.
//
// The handler gets every message the loop receives, not only what users
// write, except what a hook takes:
//   - SYSTEM_CONVERSATION messages reach the handler unless
//     [WithSystemConversationHook] is given: a member joined, left, was
//     added or removed, a role changed, the bot itself was added to a
//     group. Their Text is "" and their payload a
//     [SystemConversationPayload], which cannot be sent back. A handler
//     that answers every message must check msg.Category, or let the hook
//     take them (a hook that only returns nil drops them).
//   - MESSAGE_RECALL messages reach it unless [WithRecallHook] is given.
//   - Receipts of the bot's messages never do: they go to
//     [WithReceiptHook], or nowhere.
//   - The bot's own messages and the status updates of its sends never do.
//
// Any other category, known or not (see [Message.Payload]), reaches it.
type Handler interface {
	HandleMessage(ctx context.Context, msg *Message) error
}

// HandlerFunc adapts a function to [Handler].
type HandlerFunc func(ctx context.Context, msg *Message) error

// HandleMessage calls f.
func (f HandlerFunc) HandleMessage(ctx context.Context, msg *Message) error { return f(ctx, msg) }

// AckMode says what the loop acknowledges after a handler succeeds.
type AckMode int

// Acknowledgement modes of [Client.RunBlaze]: READ (blue ticks, the default),
// DELIVERED (grey ticks) or none (the bot calls [Client.SendAcknowledgements]
// itself; unacknowledged messages are pushed again on every reconnect).
const (
	AckModeRead AckMode = iota
	AckModeDelivered
	AckModeManual
)

// ConnState is the state of the blaze connection, or of the loop's store
// ([WithStore]).
type ConnState int

// States reported to [WithStateHook].
const (
	ConnStateConnecting ConnState = iota + 1
	ConnStateConnected
	ConnStateDisconnected
	// ConnStateStoreFailed: the store failed (Err is a [*StoreError] saying
	// what and why). Messages that need it wait, unacknowledged, and are
	// retried with backoff; the connection stays up. Reported once, when
	// the store starts failing.
	ConnStateStoreFailed
	// ConnStateStoreRecovered: the store wrote again after ConnStateStoreFailed;
	// the loop carried on by itself.
	ConnStateStoreRecovered
)

// String names the state.
func (s ConnState) String() string {
	switch s {
	case ConnStateConnecting:
		return "connecting"
	case ConnStateConnected:
		return "connected"
	case ConnStateDisconnected:
		return "disconnected"
	case ConnStateStoreFailed:
		return "store failed"
	case ConnStateStoreRecovered:
		return "store recovered"
	}
	return "unknown"
}

// StateEvent reports a change of the connection state, or of the store's.
// For ConnStateDisconnected, Err is why and Delay is the wait before the next
// dial; for ConnStateStoreFailed, Err is why and Attempt counts the failures.
type StateEvent struct {
	State   ConnState
	Attempt int
	Err     error
	Delay   time.Duration
}

// Receipt tells that a message the bot sent was DELIVERED or READ.
type Receipt struct {
	MessageID string
	Status    AckStatus
	UpdatedAt time.Time
}

// BlazeOption configures [Client.RunBlaze]; options are validated before
// the loop dials.
type BlazeOption interface {
	applyBlaze(*blazeConfig) error
}

// blazeOption adapts a function to [BlazeOption].
type blazeOption func(*blazeConfig) error

func (f blazeOption) applyBlaze(c *blazeConfig) error { return f(c) }

type blazeConfig struct {
	state           storeConfig
	workers         int
	queueSize       int
	laneSize        int
	laneWait        time.Duration
	ackMode         AckMode
	ackInterval     time.Duration
	ackReceipts     bool
	socketAcks      bool
	handlerRetry    Retry
	deadLetter      func(ctx context.Context, msg *Message, err error)
	dedupeWindow    int
	reconnect       Retry
	pingInterval    time.Duration
	readTimeout     time.Duration
	replyTimeout    time.Duration
	shutdownTimeout time.Duration
	maxFrameBytes   int64
	maxDecompressed int64
	onState         func(StateEvent)
	onReceipt       func(ctx context.Context, r Receipt) error
	onRecall        func(ctx context.Context, msg *Message, recall RecallPayload) error
	onSystem        func(ctx context.Context, msg *Message, p SystemConversationPayload) error
}

func defaultBlazeConfig() blazeConfig {
	return blazeConfig{
		workers:         8,
		queueSize:       1024,
		laneSize:        256,
		laneWait:        time.Second,
		ackMode:         AckModeRead,
		ackInterval:     200 * time.Millisecond,
		handlerRetry:    Retry{Attempts: 3, Min: 500 * time.Millisecond, Max: 30 * time.Second},
		dedupeWindow:    10000,
		reconnect:       Retry{Min: 500 * time.Millisecond, Max: 30 * time.Second},
		pingInterval:    10 * time.Second,
		readTimeout:     25 * time.Second,
		replyTimeout:    5 * time.Second,
		shutdownTimeout: 10 * time.Second,
		maxFrameBytes:   1 << 20,
		maxDecompressed: 8 << 20,
	}
}

// ackLimit is how many acknowledgements may be queued or in flight before
// the loop stops admitting messages until some are confirmed.
func (c *blazeConfig) ackLimit() int { return max(c.queueSize, 2*MaxMessagesPerRequest) }

func positive(field string, d time.Duration) error {
	if d <= 0 {
		return &FieldError{Field: field, Reason: "must be positive"}
	}
	return nil
}

// WithHandlerWorkers sets how many conversations are handled in parallel (default
// 8). Messages of one conversation are always handled in order; 1 makes the
// whole loop serial.
func WithHandlerWorkers(n int) BlazeOption {
	return blazeOption(func(c *blazeConfig) error {
		if n < 1 {
			return &FieldError{Field: "workers", Reason: "must be at least 1"}
		}
		c.workers = n
		return nil
	})
}

// WithHandlerQueueSize bounds how many received messages wait for a handler, all
// conversations together (default 1024); a message in a handler (one per
// worker at most) does not count, so conversations whose handlers are
// stuck cannot take the room that idle workers need. When it is full the
// loop stops reading the socket until handlers take messages; keepalive
// and sends are not held up by that (see [OverBlaze]). A conversation
// that holds room while its handler is stalled (a message has run longer
// than its wait budget, see [WithConversationQueue], and than twice its
// slowest message so far) is shed, and its waiting messages give their
// room back. The same bound applies to acknowledgements not yet confirmed
// by the server: the loop slows its intake rather than drop one.
func WithHandlerQueueSize(n int) BlazeOption {
	return blazeOption(func(c *blazeConfig) error {
		if n < 1 {
			return &FieldError{Field: "queue size", Reason: "must be at least 1"}
		}
		c.queueSize = n
		return nil
	})
}

// WithConversationQueue bounds how many messages of one conversation wait
// for its handler (default 256, and at most the queue size, see
// [WithHandlerQueueSize]), so that one conversation's backlog cannot hold up the
// others. When a conversation is full the loop waits for it, but for at
// most maxWait in all per connection (default 1s); after that the
// conversation is shed: its further messages are left unacknowledged for
// the server to push again (and while the whole queue is full, its newest
// waiting messages give their room back the same way), and the loop
// reconnects to fetch them once the conversation has caught up. Order
// within the conversation is kept.
//
// Each new listing pushes every unacknowledged message again. So that a
// deep backlog is pushed about twice, not once per queueful, a
// conversation is not shed again for being slow on the connection that
// fetches what it left, until it has taken as many messages: only if its
// handler stalls (a message runs longer than maxWait and than twice its
// slowest so far). Other conversations' new messages may wait behind that
// backlog on that connection.
func WithConversationQueue(size int, maxWait time.Duration) BlazeOption {
	return blazeOption(func(c *blazeConfig) error {
		if size < 1 {
			return &FieldError{Field: "conversation queue size", Reason: "must be at least 1"}
		}
		if maxWait < 0 {
			return &FieldError{Field: "conversation queue wait", Reason: "must not be negative"}
		}
		c.laneSize, c.laneWait = size, maxWait
		return nil
	})
}

// WithAckMode chooses what is acknowledged after a handler succeeds.
func WithAckMode(m AckMode) BlazeOption {
	return blazeOption(func(c *blazeConfig) error {
		if m < AckModeRead || m > AckModeManual {
			return &FieldError{Field: "ack mode", Reason: "unknown"}
		}
		c.ackMode = m
		return nil
	})
}

// WithAckInterval sets how long acknowledgements may wait to be batched
// (default 200ms); a full batch of 100 goes at once.
func WithAckInterval(d time.Duration) BlazeOption {
	return blazeOption(func(c *blazeConfig) error {
		c.ackInterval = d
		return positive("ack interval", d)
	})
}

// WithHandlerRetry sets how a failing handler is retried for one message
// (default 3 attempts, waits from 500ms up to 30s). Attempts must be at
// least 1. A permanent error (see [Permanent] and [IsPermanent]) is not
// retried. After the last failure the dead-letter hook runs and the
// message is acknowledged.
func WithHandlerRetry(r Retry) BlazeOption {
	return blazeOption(func(c *blazeConfig) error {
		if err := r.check("handler retry", false); err != nil {
			return err
		}
		c.handlerRetry = r
		return nil
	})
}

// WithDeadLetter sets the hook that receives a message whose handler failed
// every attempt or with a permanent error, with the last error, before the
// message is acknowledged. It also receives messages whose data does not
// decode, with a [*MessageDecodeError], and ENCRYPTED_* messages the client
// cannot decrypt, with a [*DecryptError] (still encrypted); those are
// acknowledged too. A panic in it is recovered and logged.
func WithDeadLetter(fn func(ctx context.Context, msg *Message, err error)) BlazeOption {
	return blazeOption(func(c *blazeConfig) error { c.deadLetter = fn; return nil })
}

// WithDedupeWindow sets how many handled and acknowledged message ids are
// remembered so a redelivery is not handled twice (default 10000). Ids
// that are queued, running or whose acknowledgement the server has not
// confirmed yet are always remembered, however long an outage lasts; 0
// remembers only those.
func WithDedupeWindow(n int) BlazeOption {
	return blazeOption(func(c *blazeConfig) error {
		if n < 0 {
			return &FieldError{Field: "dedupe window", Reason: "must not be negative"}
		}
		c.dedupeWindow = n
		return nil
	})
}

// WithReconnect sets the waits between reconnects (default from 500ms up
// to 30s, jittered). The waits grow until a connection proves itself: it
// stayed up for the keepalive read timeout and received frames or pongs
// after the listing; only then do they start again from Min. Attempts 0
// (the default) reconnects until ctx ends; n > 0 makes RunBlaze return the
// last error after n connections in a row failed. Min must be positive.
func WithReconnect(r Retry) BlazeOption {
	return blazeOption(func(c *blazeConfig) error {
		if err := r.check("reconnect", true); err != nil {
			return err
		}
		if r.Min <= 0 {
			return &FieldError{Field: "reconnect Min", Reason: "must be positive"}
		}
		c.reconnect = r
		return nil
	})
}

// WithKeepalive sets the ping interval (default 10s) and how long a silent
// socket is trusted before it is closed (default 25s). Silence counts only
// while the loop reads: a loop that stopped reading because its handlers
// are busy does not take the wait for a dead connection. Nor does it ping
// while it is behind (waiting for room, or within half the gap between
// the two durations since it was): the pong would queue behind the frames
// it has not read.
func WithKeepalive(pingInterval, readTimeout time.Duration) BlazeOption {
	return blazeOption(func(c *blazeConfig) error {
		if pingInterval <= 0 || readTimeout <= pingInterval {
			return &FieldError{Field: "keepalive", Reason: "needs 0 < ping interval < read timeout"}
		}
		c.pingInterval, c.readTimeout = pingInterval, readTimeout
		return nil
	})
}

// WithShutdownTimeout bounds how long running handlers may finish after ctx
// ends (default 10s); then their ctx is cancelled and the loop stops
// waiting for them. The final acknowledgement flush gets at most as long
// again, so RunBlaze returns within twice d whatever handlers and hooks
// do. What was not acknowledged is delivered again on the next run.
func WithShutdownTimeout(d time.Duration) BlazeOption {
	return blazeOption(func(c *blazeConfig) error {
		c.shutdownTimeout = d
		return positive("shutdown timeout", d)
	})
}

// WithFrameLimits bounds one websocket frame (default 1 MiB) and its
// decompressed JSON (default 8 MiB). A larger frame closes the connection
// with an error; the loop reconnects.
func WithFrameLimits(maxFrame, maxDecompressed int64) BlazeOption {
	return blazeOption(func(c *blazeConfig) error {
		if maxFrame < 1024 || maxDecompressed < 1024 {
			return &FieldError{Field: "frame limits", Reason: "must be at least 1024 bytes"}
		}
		c.maxFrameBytes, c.maxDecompressed = maxFrame, maxDecompressed
		return nil
	})
}

// WithStateHook receives connection and store state changes, in order,
// from one goroutine of its own: a slow hook delays later events, not the
// loop. A panic in it is recovered and logged.
func WithStateHook(fn func(StateEvent)) BlazeOption {
	return blazeOption(func(c *blazeConfig) error { c.onState = fn; return nil })
}

// WithReceiptHook receives DELIVERED/READ receipts of messages the bot
// sent. Without it receipts are dropped. Receipts are not acknowledged
// unless [WithReceiptAcks] says so.
func WithReceiptHook(fn func(ctx context.Context, r Receipt) error) BlazeOption {
	return blazeOption(func(c *blazeConfig) error { c.onReceipt = fn; return nil })
}

// WithRecallHook receives MESSAGE_RECALL messages instead of the handler.
func WithRecallHook(fn func(ctx context.Context, msg *Message, recall RecallPayload) error) BlazeOption {
	return blazeOption(func(c *blazeConfig) error { c.onRecall = fn; return nil })
}

// WithSystemConversationHook receives SYSTEM_CONVERSATION messages (joins,
// exits, adds, removes, role changes) instead of the handler; without it
// they reach the handler (see [Handler]). Its error is treated as a
// handler's: retried, then the dead-letter hook.
func WithSystemConversationHook(fn func(ctx context.Context, msg *Message, p SystemConversationPayload) error) BlazeOption {
	return blazeOption(func(c *blazeConfig) error { c.onSystem = fn; return nil })
}

// WithReceiptAcks makes the loop acknowledge receipts as well as
// messages, as the Node and Kotlin clients do, each with its own status: a
// DELIVERED receipt as DELIVERED, a READ one as READ (those clients send
// READ for both, which leaves a DELIVERED receipt unacknowledged where the
// server keeps receipts by message and status). By default receipts are not
// acknowledged, like the official Go, fox-one, Android and iOS clients.
func WithReceiptAcks() BlazeOption {
	// android-app websocket/ChatWebSocket.kt handleReceiveMessage queues no
	// acknowledgement for an ACKNOWLEDGE_MESSAGE_RECEIPT push.
	return blazeOption(func(c *blazeConfig) error { c.ackReceipts = true; return nil })
}

// WithSocketAcks sends acknowledgements over the loop's websocket as
// ACKNOWLEDGE_MESSAGE_RECEIPTS frames of up to 100, as the Android app does,
// instead of POST /acknowledgements. While the socket is down or busy with
// inbound messages they go over REST.
func WithSocketAcks() BlazeOption {
	// android-app job/BlazeMessageService.kt ackJobBlock.
	return blazeOption(func(c *blazeConfig) error { c.socketAcks = true; return nil })
}

// WithSocketReplyTimeout sets how long a request on the websocket waits for the
// server's reply (default 5s, as the Android app waits): the listing of
// pending messages, a send with [OverBlaze], a batch of [WithSocketAcks].
// A send or acknowledgement without a reply in time goes over REST with
// the same id; a listing without one costs the connection.
func WithSocketReplyTimeout(d time.Duration) BlazeOption {
	return blazeOption(func(c *blazeConfig) error {
		c.replyTimeout = d
		return positive("reply timeout", d)
	})
}
