package mixintest

import (
	"log/slog"
	"strings"
	"time"
)

// Option configures a Server. Options are applied in order by NewServer and
// NewUnstartedServer. Build them with the With… functions.
type Option interface {
	applyServer(*config)
}

// serverOption adapts a function to [Option].
type serverOption func(*config)

func (f serverOption) applyServer(c *config) { f(c) }

type config struct {
	prefix         string
	clock          func() time.Time
	botID          string
	botName        string
	maxMessageBody int
	pingInterval   time.Duration
	discardUploads bool
	faults         Faults
	logger         *slog.Logger
	maxTokenAge    time.Duration
	// emptySendAnswer: a single POST /messages answers {} like a batch.
	emptySendAnswer bool

	fanout Fanout

	tlsHosts       []string
	maxImageBytes  int
	statusPageSize int

	botCapabilities    []string         // WithBotCapabilities (encrypted.go)
	staleChecksumError bool             // WithStaleChecksumError (encrypted.go)
	receiptsUntilAcked bool             // WithReceiptsUntilAcked (blaze.go)
	receiptKeying      ReceiptKeying    // WithReceiptKeying (messages.go ackLocked)
	clockHeaders       ClockHeader      // WithClockHeaders (clock.go)
	blazeAuthFailure   BlazeAuthFailure // WithBlazeAuthFailure (clock.go)
	maxClockSkew       time.Duration    // WithMaxClockSkew (clock.go); 0: iat at most 5 min ahead

	noAppCheck  bool          // WithoutAppCheck (appcheck.go)
	problemHook func(Problem) // WithProblemHook (appcheck.go)
}

func defaultConfig() config {
	return config{
		clock:          time.Now,
		botName:        "Mixintest Bot",
		maxMessageBody: 128 << 10,
		pingInterval:   10 * time.Second,
		maxTokenAge:    90*24*time.Hour + time.Hour,
		maxImageBytes:  512 << 10,
		statusPageSize: 500,
		clockHeaders:   ClockHeaderServerTime | ClockHeaderDate,
		// The ERROR frame all three official apps act on (clock.go).
		blazeAuthFailure: BlazeAuthFailureErrorFrame,
	}
}

// WithPathPrefix mounts every endpoint (REST, blaze, uploads, admin) under
// the path prefix p, e.g. "/api". URL and BlazeURL include it. Tokens must
// sign the request URI as received, prefix included.
func WithPathPrefix(p string) Option {
	return serverOption(func(c *config) {
		p = strings.TrimRight(p, "/")
		if p != "" && !strings.HasPrefix(p, "/") {
			p = "/" + p
		}
		c.prefix = p
	})
}

// WithClock sets the server clock used for token expiry checks, the Date
// header and every timestamp the server produces.
func WithClock(now func() time.Time) Option {
	return serverOption(func(c *config) {
		if now != nil {
			c.clock = now
		}
	})
}

// WithBotID fixes the user id (app_id) of the registered bot instead of a
// random UUID.
func WithBotID(id string) Option {
	return serverOption(func(c *config) { c.botID = strings.ToLower(id) })
}

// WithBotName sets the bot's full name and app name.
func WithBotName(name string) Option { return serverOption(func(c *config) { c.botName = name }) }

// WithMaxMessageBody sets the largest raw body POST /messages accepts
// (default 128 KiB); a larger body is answered with error 10002.
func WithMaxMessageBody(n int) Option {
	return serverOption(func(c *config) {
		if n > 0 {
			c.maxMessageBody = n
		}
	})
}

// WithPingInterval sets how often the server pings every blaze connection
// (default 10s).
func WithPingInterval(d time.Duration) Option {
	return serverOption(func(c *config) {
		if d > 0 {
			c.pingInterval = d
		}
	})
}

// WithDiscardUploads makes the server keep only the size and SHA-256 of
// uploaded attachments, not their bytes.
func WithDiscardUploads() Option { return serverOption(func(c *config) { c.discardUploads = true }) }

// WithFaults sets the initial fault configuration; see Server.SetFaults.
func WithFaults(f Faults) Option { return serverOption(func(c *config) { c.faults = f }) }

// WithLogger makes the server log its decisions (rejected tokens, dropped
// connections) at debug level. The default is silent.
func WithLogger(l *slog.Logger) Option { return serverOption(func(c *config) { c.logger = l }) }

// WithMaxTokenAge rejects tokens whose lifetime (exp - iat) exceeds d. The
// default accepts up to 90 days plus one hour, the lifetime the official Go
// client uses.
func WithMaxTokenAge(d time.Duration) Option {
	return serverOption(func(c *config) {
		if d > 0 {
			c.maxTokenAge = d
		}
	})
}

// WithEmptySendAnswer makes a single-message POST /messages answer {} like
// a batch does. No source documents the live answer to a single message;
// by default the server answers the message view, which is what the Node
// SDK types it as (bot-api-nodejs-client src/client/message.ts,
// sendMessage: Promise<MessageView>). Clients should accept both.
func WithEmptySendAnswer() Option { return serverOption(func(c *config) { c.emptySendAnswer = true }) }

// WithMaxImageSize sets the largest avatar (POST /me avatar_base64) and
// group icon (icon_base64) the server accepts, in decoded bytes; a larger
// one is answered with error 10002. No source states the real limit; the
// default is 512 KiB, the bound the SDK applies.
func WithMaxImageSize(n int) Option {
	return serverOption(func(c *config) {
		if n > 0 {
			c.maxImageBytes = n
		}
	})
}

// WithStatusPageSize sets how many status changes one GET
// /messages/status/:offset answers at most. No source states the real page
// size; the default is 500.
func WithStatusPageSize(n int) Option {
	return serverOption(func(c *config) {
		if n > 0 {
			c.statusPageSize = n
		}
	})
}

// WithReceiptsUntilAcked keeps receipts (ACKNOWLEDGE_MESSAGE_RECEIPT pushes)
// in a user's blaze queue until the user acknowledges them, pushing them
// again on every listing. No source says the real server does: the
// official Go, fox-one, Android and iOS clients never acknowledge
// receipts, so by default the emulator delivers each receipt once.
func WithReceiptsUntilAcked() Option {
	return serverOption(func(c *config) { c.receiptsUntilAcked = true })
}

// ReceiptKeying says which receipts an acknowledgement retires from a
// user's blaze queue. A receipt (an ACKNOWLEDGE_MESSAGE_RECEIPT push) is
// the event (message, DELIVERED) or (message, READ) of a message the user
// sent, and an acknowledgement names a message id and a status. No source
// says how the real server matches the two: the official Go, fox-one,
// Android and iOS clients never acknowledge receipts (they read statuses
// with GET /messages/status; android-app api/service/MessageService.kt,
// ios-app MessageAPI.swift), and the Node and Kotlin clients acknowledge
// every push, receipts included, as READ (bot-api-nodejs-client
// src/client/ws.ts, bot-api-kotlin-client blaze/BlazeClient.kt
// sendAckMsg). The keying matters for receipts still queued: those not
// pushed yet and, with [WithReceiptsUntilAcked], those not acknowledged.
type ReceiptKeying int

const (
	// ReceiptKeyingByStatus, the default, retires only the receipt with the
	// acknowledgement's message id and status: the two fields of the
	// acknowledgement name one event. A client that acknowledges a
	// DELIVERED receipt as READ leaves it queued, and retires the READ
	// receipt of that message, if one is queued, in its stead.
	ReceiptKeyingByStatus ReceiptKeying = iota
	// ReceiptKeyingByMessage retires every receipt of the acknowledged
	// message, whatever their status: acknowledging one receipt of a
	// message also retires the others still queued, pushed or not.
	ReceiptKeyingByMessage
)

// WithReceiptKeying sets which receipts an acknowledgement retires
// (default [ReceiptKeyingByStatus]; no source says which the real server
// does, see [ReceiptKeying]).
func WithReceiptKeying(k ReceiptKeying) Option {
	return serverOption(func(c *config) { c.receiptKeying = k })
}
