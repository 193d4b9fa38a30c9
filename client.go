package mixin

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/go-resty/resty/v2"
)

// Default endpoints of the Mixin API.
const (
	DefaultBaseURL  = "https://api.mixin.one"
	DefaultBlazeURL = "wss://blaze.mixin.one/"
)

// Client talks to the Mixin bot API as one bot session. It is safe for
// concurrent use; make one per keystore and share it.
type Client struct {
	ks          *Keystore
	cfg         *config
	rest        *resty.Client
	basePath    string                      // path prefix of the base URL, "" for the real API
	clockOffset atomic.Int64                // nanoseconds to add to the local clock when signing
	blazeSend   atomic.Pointer[blazeSender] // the socket of a listed RunBlaze connection, for OverBlaze
	e2e         e2eState                    // encryption key and conversation cache, built on first use
	server      serverAddr                  // host and port of the base URL, for the tracer
}

// config is filled by Options; everything has a production-safe default.
type config struct {
	baseURL          string
	blazeURL         string
	httpClient       *http.Client
	logger           *slog.Logger
	userAgent        string
	timeout          time.Duration
	retry            Retry
	maxRetryAfter    time.Duration
	tokenLifetime    time.Duration
	maxResponseBytes int64
	maxMessageBody   int
	maxAttachment    int64
	sentHook         func(ctx context.Context, sent []*Message)
	tracer           Tracer // WithTracer; nil records nothing
	convCache        convCacheConfig
	now              func() time.Time
}

// Option configures a [Client]; options are validated by [NewClient].
type Option interface {
	applyClient(*config) error
}

// clientOption adapts a function to [Option].
type clientOption func(*config) error

func (f clientOption) applyClient(c *config) error { return f(c) }

// WithBaseURL sets the REST endpoint, e.g. a mixintest server's URL. A path
// prefix is kept (and covered by the request signature).
func WithBaseURL(u string) Option {
	return clientOption(func(c *config) error {
		p, err := url.Parse(u)
		if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			return &FieldError{Field: "base URL", Reason: "must be an absolute http(s) URL, got " + strconvQuote(u)}
		}
		if p.RawQuery != "" || p.Fragment != "" {
			return &FieldError{Field: "base URL", Reason: "must not carry a query or fragment"}
		}
		c.baseURL = strings.TrimRight(p.String(), "/")
		return nil
	})
}

// WithBlazeURL sets the websocket endpoint of the blaze loop.
func WithBlazeURL(u string) Option {
	return clientOption(func(c *config) error {
		p, err := url.Parse(u)
		if err != nil || (p.Scheme != "ws" && p.Scheme != "wss") || p.Host == "" {
			return &FieldError{Field: "blaze URL", Reason: "must be an absolute ws(s) URL, got " + strconvQuote(u)}
		}
		if p.Path == "" {
			p.Path = "/"
		}
		c.blazeURL = p.String()
		return nil
	})
}

// WithHTTPClient sets the HTTP client (transport, proxies, TLS) used for
// REST calls and attachment transfers. Its Timeout is left as is; the
// per-request timeout is [WithRequestTimeout].
func WithHTTPClient(hc *http.Client) Option {
	return clientOption(func(c *config) error {
		if hc == nil {
			return &FieldError{Field: "HTTP client", Reason: "is nil"}
		}
		c.httpClient = hc
		return nil
	})
}

// WithLogger makes the client log through l (requests at debug level,
// retries and reconnects at info/warn). Without it the client is silent.
// Tokens and keys are never logged.
func WithLogger(l *slog.Logger) Option {
	return clientOption(func(c *config) error {
		if l == nil {
			return &FieldError{Field: "logger", Reason: "is nil"}
		}
		c.logger = l
		return nil
	})
}

// WithUserAgent sets the User-Agent header.
func WithUserAgent(ua string) Option {
	return clientOption(func(c *config) error {
		if strings.ContainsAny(ua, "\r\n") {
			return &FieldError{Field: "user agent", Reason: "must not contain line breaks"}
		}
		c.userAgent = ua
		return nil
	})
}

// WithRequestTimeout bounds each REST attempt (default 10s). ctx still bounds the
// whole call including retries.
func WithRequestTimeout(d time.Duration) Option {
	return clientOption(func(c *config) error {
		if d <= 0 {
			return &FieldError{Field: "timeout", Reason: "must be positive"}
		}
		c.timeout = d
		return nil
	})
}

// WithRequestRetry sets how REST calls that are safe to repeat (reads, and writes
// that carry a client-chosen id such as message_id) are retried after a
// network error, a 5xx or a 429; see [Retry] and [DefaultRetry]. Attempts
// must be at least 1 (1 disables retries).
func WithRequestRetry(r Retry) Option {
	return clientOption(func(c *config) error {
		if err := r.check("retry", false); err != nil {
			return err
		}
		c.retry = r
		return nil
	})
}

// WithMaxRequestRetryAfter sets the longest server Retry-After the client waits
// out before retrying (default 30s); a longer one ends the call with the
// [*APIError] (see [RetryAfter]).
func WithMaxRequestRetryAfter(d time.Duration) Option {
	return clientOption(func(c *config) error {
		if d < 0 {
			return &FieldError{Field: "max retry after", Reason: "must not be negative"}
		}
		c.maxRetryAfter = d
		return nil
	})
}

// WithTokenLifetime sets how long each signed request token is valid
// (default 5 minutes; at least 10 s, at most 24 h). A fresh token is signed
// for every request, so short is safe.
func WithTokenLifetime(d time.Duration) Option {
	return clientOption(func(c *config) error {
		if d < 10*time.Second || d > 24*time.Hour {
			return &FieldError{Field: "token lifetime", Reason: "must be between 10s and 24h"}
		}
		c.tokenLifetime = d
		return nil
	})
}

// WithMaxResponseBytes limits how much of one REST response is read
// (default 4 MiB); a larger one fails with a [*ResponseError].
func WithMaxResponseBytes(n int64) Option {
	return clientOption(func(c *config) error {
		if n < 1024 {
			return &FieldError{Field: "max response bytes", Reason: "must be at least 1024"}
		}
		c.maxResponseBytes = n
		return nil
	})
}

// WithMaxMessageBody sets the largest POST /messages body [Client.SendMessages]
// builds (default 128 KiB, the documented API limit); batches are split to
// stay under it.
func WithMaxMessageBody(n int) Option {
	return clientOption(func(c *config) error {
		if n < 1024 {
			return &FieldError{Field: "max message body", Reason: "must be at least 1024 bytes"}
		}
		c.maxMessageBody = n
		return nil
	})
}

// WithMaxAttachmentSize bounds uploads and downloads (default and maximum
// [MaxAttachmentSize], 2 GiB).
func WithMaxAttachmentSize(n int64) Option {
	return clientOption(func(c *config) error {
		if n < 1 || n > MaxAttachmentSize {
			return &FieldError{Field: "max attachment size", Reason: "must be between 1 byte and 2 GiB"}
		}
		c.maxAttachment = n
		return nil
	})
}

// WithSentHook makes the client call fn with the messages it sent, once the
// API accepted them: one call per send, or per request of a batch send
// ([Client.SendMessages]). ctx is the send's. fn runs before the send
// returns, so it should be quick; it cannot fail the send. The
// recent-conversation tracker of package recent plugs in here
// (recent.Tracker.SentHook).
func WithSentHook(fn func(ctx context.Context, sent []*Message)) Option {
	return clientOption(func(c *config) error {
		if fn == nil {
			return &FieldError{Field: "sent hook", Reason: "is nil"}
		}
		c.sentHook = fn
		return nil
	})
}

// WithClock replaces time.Now for token timestamps (tests).
func WithClock(now func() time.Time) Option {
	return clientOption(func(c *config) error {
		if now == nil {
			return &FieldError{Field: "clock", Reason: "is nil"}
		}
		c.now = now
		return nil
	})
}

// NewClient returns a client for the bot session in ks.
func NewClient(ks *Keystore, opts ...Option) (*Client, error) {
	if err := ks.valid(); err != nil {
		return nil, err
	}
	cfg := &config{
		baseURL:          DefaultBaseURL,
		blazeURL:         DefaultBlazeURL,
		userAgent:        "gomixin/mixin",
		timeout:          10 * time.Second,
		retry:            DefaultRetry(),
		maxRetryAfter:    30 * time.Second,
		tokenLifetime:    5 * time.Minute,
		maxResponseBytes: 4 << 20,
		maxMessageBody:   128 << 10,
		maxAttachment:    MaxAttachmentSize,
		now:              time.Now,
	}
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o.applyClient(cfg); err != nil {
			return nil, err
		}
	}
	if cfg.logger == nil {
		cfg.logger = slog.New(slog.DiscardHandler)
	}
	if cfg.httpClient == nil {
		cfg.httpClient = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	}
	base, _ := url.Parse(cfg.baseURL)
	rc := resty.NewWithClient(cfg.httpClient).
		SetLogger(restyLogger{}).
		SetDisableWarn(true).
		SetRetryCount(0).
		SetHeader("User-Agent", cfg.userAgent)
	own := *ks // later changes to the caller's keystore do not reach the client
	return &Client{ks: &own, cfg: cfg, rest: rc, basePath: strings.TrimRight(base.EscapedPath(), "/"),
		server: serverOf(base)}, nil
}

// Keystore returns a copy of the keystore the client signs with: changing
// it does not change the client. The private key stays as hidden as in any
// keystore ([Keystore.ExportJSON] is the only way out).
func (c *Client) Keystore() *Keystore {
	k := *c.ks
	return &k
}

// AppID returns the bot's user id.
func (c *Client) AppID() string { return c.ks.AppID }

// String identifies the client without secrets.
func (c *Client) String() string {
	return "mixin.Client{AppID:" + c.ks.AppID + " BaseURL:" + c.cfg.baseURL + "}"
}

// Format prints [Client.String] for every verb, so %+v and %#v cannot reach
// the keystore.
func (c *Client) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, c.String()) }

// ClockOffset returns the correction applied to the local clock when
// signing, learnt after a 401 from the server's X-Server-Time header (or
// Date when that is missing).
func (c *Client) ClockOffset() time.Duration { return time.Duration(c.clockOffset.Load()) }

func (c *Client) now() time.Time { return c.cfg.now().Add(time.Duration(c.clockOffset.Load())) }

// Token signs a request token for method, uri (path and query exactly as
// sent) and body, valid for the configured lifetime. Use it to authenticate
// requests the client does not make itself. requestID becomes the jti claim
// and should be the request's X-Request-Id (a UUID); any string is encoded
// as one JSON string, so it cannot add claims. method must be an HTTP
// method name and uri must start with "/"; a [*FieldError] says otherwise.
func (c *Client) Token(method, uri string, body []byte, requestID string) (string, error) {
	method = strings.ToUpper(method)
	if method == "" || strings.IndexFunc(method, func(r rune) bool { return r < 'A' || r > 'Z' }) >= 0 {
		return "", &FieldError{Field: "method", Reason: "must be an HTTP method name, got " + strconvQuote(method)}
	}
	if !strings.HasPrefix(uri, "/") {
		return "", &FieldError{Field: "uri", Reason: "must be the path (and query) as sent, starting with /"}
	}
	if requestID == "" || len(requestID) > 256 {
		return "", &FieldError{Field: "request id", Reason: "must be 1 to 256 bytes (the request's X-Request-Id)"}
	}
	a, err := c.ks.authorization(method, uri, body, requestID, c.now(), c.cfg.tokenLifetime)
	return strings.TrimPrefix(a, "Bearer "), err
}

func strconvQuote(s string) string {
	if len(s) > 80 {
		s = s[:80] + "…"
	}
	return fmt.Sprintf("%q", s)
}

// restyLogger keeps resty silent: the client logs through slog only.
type restyLogger struct{}

func (restyLogger) Errorf(string, ...any) {}
func (restyLogger) Warnf(string, ...any)  {}
func (restyLogger) Debugf(string, ...any) {}

// CloseIdleConnections closes idle keep-alive connections of the client's
// HTTP transport.
func (c *Client) CloseIdleConnections() { c.cfg.httpClient.CloseIdleConnections() }
