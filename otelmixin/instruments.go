package otelmixin

import (
	"errors"

	"go.opentelemetry.io/otel/metric"
)

// Metric names. Those with a name in the OpenTelemetry semantic conventions
// (HTTP client, messaging) use it; the others live under mixin.*.
const (
	MetricRequestDuration = "http.client.request.duration"
	MetricRequestRetries  = "mixin.client.request.retries"
	MetricRateLimited     = "mixin.client.rate_limited"
	MetricReceived        = "messaging.client.consumed.messages"
	MetricProcessDuration = "messaging.process.duration"
	MetricHandled         = "mixin.blaze.messages.handled"
	MetricFailed          = "mixin.blaze.messages.failed"
	MetricDeadLettered    = "mixin.blaze.messages.dead_lettered"
	MetricDecryptFailures = "mixin.blaze.decrypt.failures"
	MetricUndecodable     = "mixin.blaze.frames.undecodable"
	MetricLag             = "mixin.blaze.lag"
	MetricQueued          = "mixin.blaze.queue.messages"
	MetricDeepest         = "mixin.blaze.queue.deepest"
	MetricConversations   = "mixin.blaze.queue.conversations"
	MetricDeferred        = "mixin.blaze.conversations.deferred"
	MetricParked          = "mixin.blaze.messages.parked"
	MetricAcksPending     = "mixin.blaze.acks.pending"
	MetricAcks            = "mixin.blaze.acks"
	MetricAckDelay        = "mixin.blaze.ack.delay"
	MetricConnected       = "mixin.blaze.connected"
	MetricReconnects      = "mixin.blaze.reconnects"
	MetricCommitDuration  = "mixin.store.commit.duration"
	MetricCommitSize      = "mixin.store.commit.size"
	MetricRecordsHandled  = "mixin.store.records.handled"
	MetricLeasesHeld      = "mixin.store.leases.held"
	MetricLeaseMoves      = "mixin.store.lease.moves"
	unitSeconds           = "s"
	unitMessages          = "{message}"
	unitRecords           = "{record}"
	unitRequests          = "{request}"
	unitConversations     = "{conversation}"
	unitAcknowledgements  = "{acknowledgement}"
	unitFrames            = "{frame}"
	unitConnections       = "{connection}"
	unitLeases            = "{lease}"
	unitMoves             = "{move}"
)

// requestBuckets are the HTTP semantic conventions' bucket boundaries for
// request durations, in seconds.
func requestBuckets() []float64 {
	return []float64{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10}
}

// lagBuckets reach further, for lag and acknowledgement delays, which grow
// with backlogs and outages.
func lagBuckets() []float64 {
	return []float64{0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600}
}

// sizeBuckets are for commit group sizes (at most 1000 records).
func sizeBuckets() []float64 { return []float64{1, 2, 5, 10, 20, 50, 100, 200, 500, 1000} }

// instruments are a Tracer's meters.
type instruments struct {
	reqDuration   metric.Float64Histogram
	retries       metric.Int64Counter
	rateLimited   metric.Int64Counter
	received      metric.Int64Counter
	process       metric.Float64Histogram
	handled       metric.Int64Counter
	failed        metric.Int64Counter
	deadLettered  metric.Int64Counter
	decrypt       metric.Int64Counter
	undecodable   metric.Int64Counter
	lag           metric.Float64Histogram
	acks          metric.Int64Counter
	ackDelay      metric.Float64Histogram
	reconnects    metric.Int64Counter
	commitTime    metric.Float64Histogram
	commitSize    metric.Int64Histogram
	records       metric.Int64Counter
	queued        metric.Int64ObservableGauge
	deepest       metric.Int64ObservableGauge
	conversations metric.Int64ObservableGauge
	deferred      metric.Int64ObservableGauge
	parked        metric.Int64ObservableGauge
	acksPending   metric.Int64ObservableGauge
	connected     metric.Int64ObservableGauge
	leasesHeld    metric.Int64ObservableGauge
	leaseMoves    metric.Int64ObservableCounter
}

func (in *instruments) init(m metric.Meter) error {
	var errs []error
	hist := func(name, unit, desc string, buckets []float64) metric.Float64Histogram {
		h, err := m.Float64Histogram(name, metric.WithUnit(unit), metric.WithDescription(desc),
			metric.WithExplicitBucketBoundaries(buckets...))
		errs = append(errs, err)
		return h
	}
	count := func(name, unit, desc string) metric.Int64Counter {
		c, err := m.Int64Counter(name, metric.WithUnit(unit), metric.WithDescription(desc))
		errs = append(errs, err)
		return c
	}
	gauge := func(name, unit, desc string) metric.Int64ObservableGauge {
		g, err := m.Int64ObservableGauge(name, metric.WithUnit(unit), metric.WithDescription(desc))
		errs = append(errs, err)
		return g
	}
	in.reqDuration = hist(MetricRequestDuration, unitSeconds, "Duration of HTTP client requests.", requestBuckets())
	in.retries = count(MetricRequestRetries, unitRequests, "REST attempts that repeat a call (the second and later attempts).")
	in.rateLimited = count(MetricRateLimited, unitRequests, "REST attempts the API refused with 429 Too Many Requests.")
	in.received = count(MetricReceived, unitMessages, "Messages and receipts read from the blaze socket, redeliveries included.")
	in.process = hist(MetricProcessDuration, unitSeconds, "Duration of handler attempts.", requestBuckets())
	in.handled = count(MetricHandled, unitMessages, "Messages whose handler returned nil.")
	in.failed = count(MetricFailed, unitMessages, "Handler attempts that failed (an error, a panic or runtime.Goexit).")
	in.deadLettered = count(MetricDeadLettered, unitMessages, "Messages given up on: handed to the dead-letter hook and acknowledged.")
	in.decrypt = count(MetricDecryptFailures, unitMessages, "ENCRYPTED_* messages that could not be decrypted.")
	in.undecodable = count(MetricUndecodable, unitFrames, "Blaze frames, or message data inside one, that did not decode.")
	in.lag = hist(MetricLag, unitSeconds, "Time from a message's created_at on the server to its handler returning nil.", lagBuckets())
	in.acks = count(MetricAcks, unitAcknowledgements, "Acknowledgements the server took, or refused for good.")
	in.ackDelay = hist(MetricAckDelay, unitSeconds, "Time from a message being handled to its acknowledgement being confirmed.", lagBuckets())
	in.reconnects = count(MetricReconnects, unitConnections, "Blaze reconnections, by the cause of the disconnection before them.")
	in.commitTime = hist(MetricCommitDuration, unitSeconds, "Duration of store commits of handled records.", requestBuckets())
	cs, err := m.Int64Histogram(MetricCommitSize, metric.WithUnit(unitRecords),
		metric.WithDescription("Handled records per store commit."), metric.WithExplicitBucketBoundaries(sizeBuckets()...))
	in.commitSize, errs = cs, append(errs, err)
	in.records = count(MetricRecordsHandled, unitRecords, "Handled records committed to the store.")
	in.queued = gauge(MetricQueued, unitMessages, "Messages admitted and not settled: waiting for their handler or in it.")
	in.deepest = gauge(MetricDeepest, unitMessages, "Messages waiting in the conversation with the most waiting.")
	in.conversations = gauge(MetricConversations, unitConversations, "Conversations with messages waiting or running.")
	in.deferred = gauge(MetricDeferred, unitConversations, "Conversations whose messages are left to the server on this connection.")
	in.parked = gauge(MetricParked, unitMessages, "Messages put aside by the store, to be handled later.")
	in.acksPending = gauge(MetricAcksPending, unitAcknowledgements, "Acknowledgements queued or in flight.")
	in.connected = gauge(MetricConnected, unitConnections, "Blaze loops whose socket is connected (1) or not (0).")
	in.leasesHeld = gauge(MetricLeasesHeld, unitLeases, "Conversations this replica holds a lease on.")
	lm, err := m.Int64ObservableCounter(MetricLeaseMoves, metric.WithUnit(unitMoves),
		metric.WithDescription("Lease changes of this replica: acquired, lost to another replica, released when idle."))
	in.leaseMoves, errs = lm, append(errs, err)
	return errors.Join(errs...)
}

func (in *instruments) observables() []metric.Observable {
	return []metric.Observable{in.queued, in.deepest, in.conversations, in.deferred, in.parked,
		in.acksPending, in.connected, in.leasesHeld, in.leaseMoves}
}
