package mixin

import (
	"context"
	"time"
)

// Tracer observes a client's REST calls, in the style of pgx's QueryTracer:
// a start callback that may return a derived context, and an end callback
// that gets that context back. Install one with [WithTracer]; without one
// the client records nothing and allocates nothing for it. Package
// otelmixin implements it (and [BlazeTracer]) with OpenTelemetry.
//
// Callbacks run on the caller's goroutine, before the call returns: they
// must be quick and must not block. The data they get carries no secret: no
// token, no key, no request body, and a route template instead of the raw
// path (see [RequestStart]).
type Tracer interface {
	// TraceRequestStart is called before each attempt of a REST call
	// (signing included). The context it returns is the attempt's: the
	// HTTP request carries it and TraceRequestEnd gets it.
	TraceRequestStart(ctx context.Context, d RequestStart) context.Context
	// TraceRequestEnd is called when the attempt has its answer or failed.
	TraceRequestEnd(ctx context.Context, d RequestEnd)
}

// BlazeTracer observes [Client.RunBlaze]. A [Tracer] given to [WithTracer]
// that also implements BlazeTracer gets the loop's events: each message's
// way from the socket through its handler to its acknowledgement, the
// store's commits, and the connection's changes; and it can read the loop's
// gauges at any time through [BlazeStart].Stats.
//
// The message callbacks run on the loop's goroutines, in its hot path: they
// must be quick and must not block. The data they get carries ids and
// categories, never message content, keys or tokens.
type BlazeTracer interface {
	// TraceBlazeStart is called once when RunBlaze starts; the context it
	// returns is given to TraceConn and TraceBlazeEnd of this run.
	TraceBlazeStart(ctx context.Context, d BlazeStart) context.Context
	// TraceBlazeEnd is called once when RunBlaze returns, with its error.
	TraceBlazeEnd(ctx context.Context, err error)
	// TraceConn is called on every change of the connection state, in order,
	// from the loop's connecting goroutine.
	TraceConn(ctx context.Context, e ConnEvent)
	// TraceReceive is called for every message or receipt read from the
	// socket, before admission: redeliveries and repeats are reported again.
	TraceReceive(ctx context.Context, m Inbound)
	// TraceMessageStart is called when the loop starts on a message (before
	// decrypting it and before its first handler attempt). The context it
	// returns is the parent of every handler attempt's context, so the
	// handler's own calls nest under it; it is given back to TraceAttempt,
	// TraceMessageEnd, and, in [BatchStart].Messages, to the batches that
	// commit and acknowledge the message.
	TraceMessageStart(ctx context.Context, m Inbound) context.Context
	// TraceAttempt is called after each handler attempt (or the hook that
	// takes the message instead: receipt, recall, system conversation).
	TraceAttempt(ctx context.Context, a Attempt)
	// TraceMessageEnd is called once the loop is done with a message it
	// started on: handled, given up (dead-lettered), or left for a
	// redelivery.
	TraceMessageEnd(ctx context.Context, e MessageEnd)
	// TraceBatchStart is called before the loop commits handled records to
	// its store or sends acknowledgements; the context it returns is the
	// batch's (the store call and the REST request carry it).
	TraceBatchStart(ctx context.Context, b BatchStart) context.Context
	// TraceBatchEnd is called when the batch committed, was sent, or failed.
	TraceBatchEnd(ctx context.Context, b BatchEnd)
}

// WithTracer makes the client report its REST calls to t, and
// [Client.RunBlaze] its loop if t is also a [BlazeTracer]. Without it
// nothing is recorded and nothing is allocated for it.
func WithTracer(t Tracer) Option {
	return clientOption(func(c *config) error {
		if t == nil {
			return &FieldError{Field: "tracer", Reason: "is nil"}
		}
		c.tracer = t
		return nil
	})
}

// RequestStart describes one attempt of a REST call.
type RequestStart struct {
	// Method is the HTTP method, e.g. "POST".
	Method string
	// Route is the path's template relative to the API root, e.g.
	// "/conversations/{conversation_id}": ids, searched numbers and query
	// strings are never in it, so it is safe as a metric attribute.
	Route string
	// ServerAddress and ServerPort are the API host and port of the base
	// URL (443 or 80 when the URL names none).
	ServerAddress string
	ServerPort    int
	// Attempt counts the attempts of this call, from 1; more than 1 is a
	// retry.
	Attempt int
}

// RequestEnd describes how an attempt ended.
type RequestEnd struct {
	RequestStart
	// Status is the HTTP status, 0 when no answer came.
	Status int
	// Code is the Mixin error code (or the HTTP status of an error answer
	// without a Mixin body); 0 on success and when no answer came.
	Code int
	// RequestID is the X-Request-Id the attempt sent; empty when it failed
	// before an answer came.
	RequestID string
	// RetryAfter is the wait the server asked for, if any.
	RetryAfter time.Duration
	// Err is the attempt's error, nil on success.
	Err error
}

// BlazeStart describes a run of [Client.RunBlaze].
type BlazeStart struct {
	// AppID is the bot's user id.
	AppID string
	// ReplicaID is the replica id given to [WithReplica], empty without.
	ReplicaID string
	// Workers is the size of the handler pool.
	Workers int
	// Stats reads the loop's gauges; it is safe to call from any goroutine
	// at any time, also after the run ended (it then reports what was left).
	Stats func() BlazeStats
}

// BlazeStats is a snapshot of a running loop.
type BlazeStats struct {
	// State is the connection's state.
	State ConnState
	// Queued counts the messages admitted and not settled: waiting for
	// their handler or in it.
	Queued int
	// DeepestQueue is the number of messages waiting in the conversation
	// with the most waiting.
	DeepestQueue int
	// Conversations counts the conversations with messages waiting or
	// running.
	Conversations int
	// Deferred counts the conversations whose further messages are left to
	// the server on this connection (see [WithConversationQueue]).
	Deferred int
	// Parked counts the messages put aside by the store (another replica
	// holds their conversation, or a lookup failed).
	Parked int
	// AcksPending counts the acknowledgements queued or in flight.
	AcksPending int
	// LeasesHeld counts the conversations this replica holds a lease on
	// ([WithReplica]); the counters below are cumulative for the run.
	LeasesHeld     int
	LeasesAcquired int64 // leases taken that this replica did not hold
	LeasesLost     int64 // leases found taken by another replica when renewing
	LeasesReleased int64 // idle leases given up
}

// InboundKind says what an inbound item is.
type InboundKind uint8

// Kinds of inbound items.
const (
	// InboundKindMessage is a message from another user, for the handler or
	// one of the category hooks.
	InboundKindMessage InboundKind = iota
	// InboundKindReceipt is a DELIVERED or READ receipt of a message the bot sent.
	InboundKindReceipt
	// InboundKindOwn is a message the bot sent from another of its sessions:
	// acknowledged, not handled.
	InboundKindOwn
)

// String returns "message", "receipt" or "own".
func (k InboundKind) String() string {
	switch k {
	case InboundKindReceipt:
		return "receipt"
	case InboundKindOwn:
		return "own"
	}
	return "message"
}

// Inbound identifies an inbound message or receipt to a [BlazeTracer],
// without its content.
type Inbound struct {
	MessageID      string
	ConversationID string
	// Category is the category as pushed (ENCRYPTED_* before decryption).
	Category Category
	Kind     InboundKind
	// Listed says the message came in a listing of pending messages
	// (a redelivery), not pushed as it was sent.
	Listed bool
	// CreatedAt is the server's time of the message; zero for receipts.
	CreatedAt time.Time
	// DecodeErr is the [*MessageDecodeError] of a message whose data did
	// not decode (it goes to the dead-letter hook); nil otherwise.
	DecodeErr error
}

// Attempt describes one handler attempt.
type Attempt struct {
	// N counts the attempts of this message, from 1.
	N int
	// Duration is the time the handler took.
	Duration time.Duration
	// Err is what the handler returned: nil, its error, a [*PanicError],
	// or [ErrHandlerExited].
	Err error
}

// MessageOutcome is what became of a message the loop started on.
type MessageOutcome uint8

// Outcomes of a message.
const (
	// MessageOutcomeHandled: the handler returned nil; the message is recorded
	// and acknowledged.
	MessageOutcomeHandled MessageOutcome = iota
	// MessageOutcomeDeadLettered: the loop gave up on the message (its handler
	// failed for good, its data does not decode, or it cannot be
	// decrypted); the dead-letter hook saw it and it is acknowledged.
	MessageOutcomeDeadLettered
	// MessageOutcomeReleased: the loop stopped before the message was handled
	// (shutdown); it is not acknowledged and comes again.
	MessageOutcomeReleased
)

// String returns "handled", "dead_lettered" or "released".
func (o MessageOutcome) String() string {
	switch o {
	case MessageOutcomeDeadLettered:
		return "dead_lettered"
	case MessageOutcomeReleased:
		return "released"
	}
	return "handled"
}

// MessageEnd describes what became of a message.
type MessageEnd struct {
	Outcome MessageOutcome
	// Attempts is the number of handler attempts made.
	Attempts int
	// Err is why the message was dead-lettered: the handler's last error, a
	// [*MessageDecodeError] or a [*DecryptError]; nil otherwise.
	Err error
}

// BatchOp says what a batch does.
type BatchOp uint8

// Batch operations.
const (
	// BatchOpCommit commits handled records to the store, in one group.
	BatchOpCommit BatchOp = iota
	// BatchOpCommitTx commits a handler's own transaction ([Tx]) with its
	// message's record.
	BatchOpCommitTx
	// BatchOpAck sends acknowledgements, over REST or the socket.
	BatchOpAck
)

// String returns "commit", "commit_tx" or "ack".
func (o BatchOp) String() string {
	switch o {
	case BatchOpCommitTx:
		return "commit_tx"
	case BatchOpAck:
		return "ack"
	}
	return "commit"
}

// BatchStart describes a batch about to be committed or sent.
type BatchStart struct {
	Op BatchOp
	// Size is the number of records or acknowledgements.
	Size int
	// Messages holds, for each entry of the batch in order, the context
	// TraceMessageStart returned for its message; nil for an entry whose
	// message the loop did not start on in this run (e.g. a repeat
	// acknowledged again).
	Messages []context.Context
}

// BatchEnd describes how a batch ended.
type BatchEnd struct {
	Op   BatchOp
	Size int
	// Err is the batch's error, nil on success.
	Err error
	// Requeued says the batch failed for a reason that may pass and its
	// entries wait for another try. A failed batch that is not requeued was
	// refused: acknowledgements the server refuses are split in halves,
	// each reported as a batch of its own, until the refused ones are
	// isolated and given up.
	Requeued bool
}

// DisconnectCause says why a blaze connection ended, for [ConnEvent].
type DisconnectCause string

// Causes of a disconnection.
const (
	DisconnectCauseShutdown       DisconnectCause = "shutdown"          // ctx ended
	DisconnectCauseUnauthorized   DisconnectCause = "unauthorized"      // 401: at the upgrade or in an ERROR frame
	DisconnectCauseDialFailed     DisconnectCause = "dial_failed"       // no connection (network, TLS, handshake)
	DisconnectCauseUpgradeRefused DisconnectCause = "upgrade_refused"   // the server answered the upgrade with an HTTP error
	DisconnectCauseNoListing      DisconnectCause = "no_listing"        // the listing of pending messages got no answer
	DisconnectCauseServerError    DisconnectCause = "server_error"      // an ERROR frame answered the listing
	DisconnectCauseServerClosed   DisconnectCause = "server_closed"     // the server sent a close frame
	DisconnectCauseKeepalive      DisconnectCause = "keepalive_timeout" // the socket stayed silent past the read timeout
	DisconnectCauseBadFrame       DisconnectCause = "bad_frame"         // a frame did not decode (see [FrameError])
	DisconnectCauseRelist         DisconnectCause = "relist"            // reconnected on purpose to fetch deferred messages
	DisconnectCauseConnLost       DisconnectCause = "connection_lost"   // the connection broke (reset, EOF, failed write)
)

// ConnEvent is a change of the connection state, with the cause of a
// disconnection.
type ConnEvent struct {
	StateEvent
	// Cause says why, for ConnStateDisconnected; empty otherwise.
	Cause DisconnectCause
}
