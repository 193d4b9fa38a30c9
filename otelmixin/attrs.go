package otelmixin

import (
	"context"
	"errors"
	"net"
	"strconv"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"

	"github.com/gomixin/mixin"
)

// Attribute keys of this package's own (mixin.*) attributes. The others
// come from the semantic conventions (package semconv).
const (
	KeyCategory         = attribute.Key("mixin.message.category")
	KeyKind             = attribute.Key("mixin.message.kind")
	KeyOutcome          = attribute.Key("mixin.message.outcome")
	KeyAttempts         = attribute.Key("mixin.message.attempts")
	KeyAttempt          = attribute.Key("mixin.handler.attempt")
	KeyDeadLetterReason = attribute.Key("mixin.dead_letter.reason")
	KeyDecryptReason    = attribute.Key("mixin.decrypt.reason")
	KeyFrameError       = attribute.Key("mixin.frame.error")
	KeyAckResult        = attribute.Key("mixin.ack.result")
	KeyDisconnectCause  = attribute.Key("mixin.blaze.disconnect.cause")
	KeyCommitKind       = attribute.Key("mixin.store.commit.kind")
	KeyCommitSize       = attribute.Key("mixin.store.commit.size")
	KeyReplica          = attribute.Key("mixin.replica.id")
	KeyLeaseMove        = attribute.Key("mixin.lease.move")
	KeyRequestID        = attribute.Key("mixin.request_id")
	KeyAPICode          = attribute.Key("mixin.api.error_code")
)

// messagingSystem is the messaging.system value: not one the conventions
// list, so the system's own name.
const messagingSystem = "mixin"

// otherValue stands for a value outside a known, bounded set, as the
// semantic conventions' error.type does.
const otherValue = "_OTHER"

// errorType classifies err for error.type: the Mixin error code of an API
// error (or the HTTP status of an error answer without a Mixin body), else
// a low-cardinality class. It never returns the error's text.
func errorType(err error) string {
	var apiErr *mixin.APIError
	var respErr *mixin.ResponseError
	var panicErr *mixin.PanicError
	var ne net.Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &apiErr):
		return strconv.Itoa(apiErr.Code)
	case errors.As(err, &panicErr):
		return "panic"
	case errors.Is(err, mixin.ErrHandlerExited):
		return "goexit"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.As(err, &respErr):
		return "malformed_response"
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.As(err, &ne):
		return "transport"
	case mixin.IsPermanent(err):
		return "permanent"
	}
	return otherValue
}

// catKey identifies a category's attributes.
type catKey struct {
	category mixin.Category
	kind     mixin.InboundKind
}

// catAttrs are the measurement options of one category and kind, built
// once so that recording a message allocates nothing.
type catAttrs struct {
	category attribute.KeyValue
	kind     attribute.KeyValue
	receive  []metric.AddOption    // messaging.client.consumed.messages
	count    []metric.AddOption    // handled
	process  []metric.RecordOption // a successful attempt's duration
	lagOpt   []metric.RecordOption // lag
}

// catOf returns the options of m's category and kind. Categories outside
// the known set are recorded as _OTHER, so a server cannot grow the
// number of series.
func (t *Tracer) catOf(category mixin.Category, kind mixin.InboundKind) *catAttrs {
	if category != "" && !category.Valid() {
		category = otherValue
	}
	k := catKey{category, kind}
	if a := (*t.cats.Load())[k]; a != nil {
		return a
	}
	t.catsMu.Lock()
	defer t.catsMu.Unlock()
	old := *t.cats.Load()
	if a := old[k]; a != nil {
		return a
	}
	a := newCatAttrs(k)
	next := make(map[catKey]*catAttrs, len(old)+1)
	for kk, v := range old {
		next[kk] = v
	}
	next[k] = a
	t.cats.Store(&next)
	return a
}

func newCatAttrs(k catKey) *catAttrs {
	a := &catAttrs{category: KeyCategory.String(string(k.category)), kind: KeyKind.String(k.kind.String())}
	sys := semconv.MessagingSystemKey.String(messagingSystem)
	receive := attribute.NewSet(sys, semconv.MessagingOperationName("receive"), a.category, a.kind)
	process := attribute.NewSet(sys, semconv.MessagingOperationName("process"), a.category, a.kind)
	a.receive = []metric.AddOption{metric.WithAttributeSet(receive)}
	both := metric.WithAttributeSet(attribute.NewSet(a.category, a.kind))
	a.count = []metric.AddOption{both}
	a.lagOpt = []metric.RecordOption{both}
	a.process = []metric.RecordOption{metric.WithAttributeSet(process)}
	return a
}
