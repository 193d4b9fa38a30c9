// Package otelmixin records a mixin.Client's REST calls and its blaze loop
// with OpenTelemetry: metrics named after the semantic conventions for HTTP
// clients and messaging where they fit (mixin.* otherwise), and a span per
// REST attempt, per message handled, per store commit and per batch of
// acknowledgements. It is the root package's [mixin.Tracer] hook
// implemented with go.opentelemetry.io/otel, the way pgx leaves its tracer
// to separate modules and go-redis keeps redisotel out of its core: a bot
// that does not import this package compiles no OpenTelemetry.
//
//	tracer, err := otelmixin.New(
//		otelmixin.WithMeterProvider(meterProvider),   // default: otel.GetMeterProvider()
//		otelmixin.WithTracerProvider(tracerProvider), // default: otel.GetTracerProvider()
//	)
//	client, err := mixin.NewClient(keystore, mixin.WithTracer(tracer))
//
// RunBlaze on that client is measured too. Nothing is injected into the
// requests to the API: no trace header, no baggage.
//
// # Metrics
//
// REST, one measurement per attempt (a retried call makes several):
//
//   - http.client.request.duration (histogram, s): http.request.method,
//     url.template (the route, e.g. /conversations/{conversation_id}: never
//     the raw path, so no id or searched phone number), server.address,
//     server.port, http.response.status_code when an answer came, and
//     error.type when the attempt failed: the Mixin error code ("429",
//     "10002", "20116"…, or the HTTP status of an error page), or "timeout",
//     "canceled", "transport", "malformed_response". Its count by
//     error.type is the errors by API code.
//   - mixin.client.request.retries (counter): attempts after the first;
//     http.request.method, url.template.
//   - mixin.client.rate_limited (counter): attempts answered 429;
//     http.request.method, url.template.
//
// The blaze loop; mixin.message.category is the category as pushed (one of
// the categories the SDK knows, "" for receipts, _OTHER for anything else)
// and mixin.message.kind is message, receipt or own:
//
//   - messaging.client.consumed.messages (counter): messages and receipts
//     read from the socket, redeliveries included; messaging.system=mixin,
//     messaging.operation.name=receive, category, kind.
//   - messaging.process.duration (histogram, s): handler attempts;
//     messaging.system, messaging.operation.name=process, category, kind,
//     error.type for a failed attempt ("permanent", "panic", "goexit",
//     "timeout", an API code, _OTHER).
//   - mixin.blaze.messages.handled (counter): messages whose handler
//     returned nil; category, kind.
//   - mixin.blaze.messages.failed (counter): handler attempts that failed;
//     category, kind, error.type.
//   - mixin.blaze.messages.dead_lettered (counter): messages given up on
//     (handed to the dead-letter hook and acknowledged); category, kind,
//     mixin.dead_letter.reason = handler, decode or decrypt.
//   - mixin.blaze.decrypt.failures (counter): ENCRYPTED_* messages that
//     could not be decrypted; category, mixin.decrypt.reason.
//   - mixin.blaze.frames.undecodable (counter): mixin.frame.error = frame
//     (a frame that is not gzip JSON; the connection is replaced) or
//     message_data (a sound frame whose message does not decode).
//   - mixin.blaze.lag (histogram, s): from the server's created_at to the
//     handler returning nil; category, kind. It includes any difference
//     between the server's clock and this machine's.
//   - mixin.blaze.queue.messages, mixin.blaze.queue.deepest,
//     mixin.blaze.queue.conversations (gauges): messages queued or running,
//     the most waiting in one conversation, conversations with work.
//   - mixin.blaze.conversations.deferred (gauge): conversations whose
//     messages are left to the server on this connection because their
//     queue stayed full (mixin.WithConversationQueue).
//   - mixin.blaze.messages.parked (gauge): messages the store put aside.
//   - mixin.blaze.acks.pending (gauge): acknowledgements queued or in
//     flight.
//   - mixin.blaze.acks (counter): acknowledgements the server took
//     (mixin.ack.result=acked) or refused for good (refused).
//   - mixin.blaze.ack.delay (histogram, s): from a message being done with
//     (handled or dead-lettered) to its acknowledgement being confirmed.
//   - mixin.blaze.connected (gauge): loops whose socket is connected.
//   - mixin.blaze.reconnects (counter): dials after a disconnection, by
//     mixin.blaze.disconnect.cause (see [mixin.DisconnectCause]:
//     connection_lost, server_closed, keepalive_timeout, bad_frame,
//     no_listing, relist, dial_failed, upgrade_refused, server_error,
//     unauthorized).
//
// The store (mixin.WithStore):
//
//   - mixin.store.commit.duration (histogram, s) and
//     mixin.store.commit.size (histogram, records):
//     mixin.store.commit.kind = group (the loop's group commit) or tx (a
//     handler's own transaction, mixin.Tx), error.type on failure.
//   - mixin.store.records.handled (counter): records committed; kind.
//   - mixin.store.leases.held (gauge) and mixin.store.lease.moves
//     (counter): with mixin.WithReplica, the conversations this replica
//     holds, and its lease changes by mixin.lease.move = acquired, lost (to
//     another replica, found when renewing) or released (idle); both carry
//     mixin.replica.id.
//
// The gauges of several loops in one process are summed (the deepest queue
// is the deepest of them), by replica id.
//
// # Spans
//
//   - "{METHOD} {url.template}" (client): one per REST attempt, a child of
//     the caller's context (a handler's calls nest under its message);
//     http.request.method, url.template, server.address, server.port,
//     http.request.resend_count on a retry, http.response.status_code,
//     mixin.request_id (the X-Request-Id, for Mixin support), error.type
//     and mixin.api.error_code on failure.
//   - "process" (consumer): one per message, a root: messaging.system,
//     messaging.operation.type=process, messaging.message.id,
//     messaging.message.conversation_id, category, kind; an event per
//     failed handler attempt; at its end mixin.message.outcome (handled,
//     dead_lettered, released), mixin.message.attempts, and error.type and
//     mixin.dead_letter.reason when given up. Handler attempts run under it.
//   - "commit" (internal): a group commit, a root linked to the process
//     span of every message it records; or a handler's transaction
//     (mixin.store.commit.kind=tx), a child of its message's span.
//   - "settle" (client): a batch of acknowledgements, a root linked to the
//     messages it acknowledges; messaging.operation.type=settle,
//     messaging.batch.message_count. Its POST /acknowledgements is its
//     child.
//
// So a message is followed from the frame (its process span) to its
// record (the commit linking to it) and its acknowledgement (the settle
// span linking to it). No span or metric carries message content, keys,
// tokens or raw paths; metrics carry no id at all.
package otelmixin
