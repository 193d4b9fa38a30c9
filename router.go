package mixin

import (
	"context"
	"fmt"
	"log/slog"
	"reflect"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
)

// Middleware wraps a handler, e.g. to log, recover or authorise.
type Middleware func(Handler) Handler

// Router is a [Handler] that picks a handler by text command (a PLAIN_TEXT
// message starting with "/start"), then by category, then a default.
// Configure it before [Client.RunBlaze] starts; it is read-only afterwards.
// The zero value is an empty router, ready to use.
//
// Like net/http's ServeMux, a Router refuses programming errors when they
// are made, with a panic, rather than once per message: a nil handler or
// middleware (nil itself, or a nil func or pointer), a command that could
// never match, a command or category registered twice, a registration
// after the router handled its first message. A middleware that returns a
// nil handler is found when the chain is built: [Client.RunBlaze] returns
// a [*FieldError] before it connects.
type Router struct {
	commands   map[string]Handler
	categories map[Category]Handler
	fallback   Handler
	middleware []Middleware
	once       sync.Once
	built      atomic.Bool
	handler    Handler // built on first use
	buildErr   error
}

// NewRouter returns an empty router; unmatched messages are ignored (and
// acknowledged) unless [Router.Default] is set.
func NewRouter() *Router {
	return &Router{commands: map[string]Handler{}, categories: map[Category]Handler{}}
}

// Command routes PLAIN_TEXT messages whose first word is cmd (e.g.
// "/start"; matched case-insensitively). It panics if h is nil, if cmd does
// not start with "/" followed by at least one character, or holds a space,
// or was registered before.
func (r *Router) Command(cmd string, h Handler) *Router {
	r.mustConfigure("Command", h)
	if len(cmd) < 2 || cmd[0] != '/' || strings.ContainsFunc(cmd, unicode.IsSpace) {
		panic(fmt.Sprintf("mixin: Router.Command: %q is not a command: a slash and a word, like /start", cmd))
	}
	key := strings.ToLower(cmd)
	if r.commands == nil {
		r.commands = map[string]Handler{}
	}
	if _, dup := r.commands[key]; dup {
		panic(fmt.Sprintf("mixin: Router.Command: %q is registered twice", cmd))
	}
	r.commands[key] = h
	return r
}

// Category routes messages of a category (ENCRYPTED_* match their PLAIN_*
// counterpart). It panics if h is nil, c is empty, or c was registered
// before.
func (r *Router) Category(c Category, h Handler) *Router {
	r.mustConfigure("Category", h)
	if c == "" {
		panic("mixin: Router.Category: empty category")
	}
	if r.categories == nil {
		r.categories = map[Category]Handler{}
	}
	if _, dup := r.categories[c]; dup {
		panic(fmt.Sprintf("mixin: Router.Category: %s is registered twice", c))
	}
	r.categories[c] = h
	return r
}

// Default handles what nothing else matched — including SYSTEM_CONVERSATION
// messages, unless [WithSystemConversationHook] or a Category route takes
// them, so a default that answers every message should check the category.
// It panics if h is nil.
func (r *Router) Default(h Handler) *Router {
	r.mustConfigure("Default", h)
	r.fallback = h
	return r
}

// Use adds middleware; the first added is the outermost. It panics if one
// of mw is nil.
func (r *Router) Use(mw ...Middleware) *Router {
	for i, m := range mw {
		if m == nil {
			panic(fmt.Sprintf("mixin: Router.Use: middleware %d of %d is nil", i+1, len(mw)))
		}
	}
	r.mustConfigure("Use", nil)
	r.middleware = append(r.middleware, mw...)
	return r
}

// mustConfigure panics on a registration the router could only fail on
// later, once per message: a nil handler (h, unless the call takes none),
// or any registration once the router is in use.
func (r *Router) mustConfigure(method string, h Handler) {
	if r.built.Load() {
		panic("mixin: Router." + method + " after the router handled a message: configure it before RunBlaze")
	}
	if method != "Use" && isNilHandler(h) {
		panic("mixin: Router." + method + ": nil handler")
	}
}

// isNilHandler reports whether h is nil or holds a nil func, pointer, map,
// channel, slice or interface: a handler that can only panic.
func isNilHandler(h Handler) bool { return isNil(h) }

// isNil reports whether x is nil or an interface holding a nil func,
// pointer, map, channel, slice or interface.
func isNil(x any) bool {
	if x == nil {
		return true
	}
	v := reflect.ValueOf(x)
	switch v.Kind() {
	case reflect.Func, reflect.Pointer, reflect.Map, reflect.Chan, reflect.Slice, reflect.Interface:
		return v.IsNil()
	}
	return false
}

// build wraps the routes in the middleware, once; a middleware that
// returns a nil handler is an error, returned by every later call.
func (r *Router) build() error {
	r.once.Do(func() {
		r.built.Store(true)
		var h Handler = HandlerFunc(r.route)
		for i := len(r.middleware) - 1; i >= 0; i-- {
			if h = r.middleware[i](h); isNilHandler(h) {
				r.buildErr = &FieldError{Field: "middleware", Reason: fmt.Sprintf("number %d given to Router.Use returned a nil handler", i+1)}
				return
			}
		}
		r.handler = h
	})
	return r.buildErr
}

// prepare builds the router before [Client.RunBlaze] connects, so that a
// broken middleware chain is an error of RunBlaze, not of every message.
func (r *Router) prepare() error { return r.build() }

// HandleMessage dispatches msg. A router whose middleware returned a nil
// handler fails every message with a permanent [*FieldError] (RunBlaze
// refuses to start with it).
func (r *Router) HandleMessage(ctx context.Context, msg *Message) error {
	if err := r.build(); err != nil {
		return Permanent(err)
	}
	return r.handler.HandleMessage(ctx, msg)
}

func (r *Router) route(ctx context.Context, msg *Message) error {
	if len(r.commands) > 0 && msg.Category.Plain() == CategoryPlainText {
		if word := CommandOf(msg.Text()); word != "" {
			if h, ok := r.commands[word]; ok {
				return h.HandleMessage(ctx, msg)
			}
		}
	}
	if h, ok := r.categories[msg.Category]; ok {
		return h.HandleMessage(ctx, msg)
	}
	if h, ok := r.categories[msg.Category.Plain()]; ok {
		return h.HandleMessage(ctx, msg)
	}
	if r.fallback != nil {
		return r.fallback.HandleMessage(ctx, msg)
	}
	return nil
}

// CommandOf returns the lower-cased first word of text if it is a command
// ("/help me" → "/help"), or "".
func CommandOf(text string) string {
	text = strings.TrimSpace(text)
	if !strings.HasPrefix(text, "/") {
		return ""
	}
	if i := strings.IndexAny(text, " \t\n"); i >= 0 {
		text = text[:i]
	}
	return strings.ToLower(text)
}

// mustWrap panics when a middleware is given a nil handler to wrap: when it
// is wrapped, not when a message comes.
func mustWrap(middleware string, next Handler) {
	if isNilHandler(next) {
		panic("mixin: " + middleware + ": nil handler to wrap")
	}
}

// Recover turns a handler panic into a [*PanicError]. [Client.RunBlaze]
// already does this; use it when calling handlers elsewhere. Wrapping a nil
// handler panics.
func Recover() Middleware {
	return func(next Handler) Handler {
		mustWrap("Recover", next)
		return HandlerFunc(func(ctx context.Context, msg *Message) (err error) {
			defer func() {
				if p := recover(); p != nil {
					err = panicError(p, debug.Stack())
				}
			}()
			return next.HandleMessage(ctx, msg)
		})
	}
}

// loggerKey carries the client's logger in the handlers' ctx.
type loggerKey struct{}

func withLogger(ctx context.Context, l *slog.Logger) context.Context {
	return context.WithValue(ctx, loggerKey{}, l)
}

// loggerFrom returns the logger [Client.RunBlaze] put in ctx, or nil.
func loggerFrom(ctx context.Context) *slog.Logger {
	l, _ := ctx.Value(loggerKey{}).(*slog.Logger)
	return l
}

// Logging logs every message handled, with its outcome and duration,
// through the logger of the client running the loop ([WithLogger]); where
// the client has none, or the handler runs outside [Client.RunBlaze], it
// logs nothing. Wrapping a nil handler panics.
func Logging() Middleware {
	return func(next Handler) Handler {
		mustWrap("Logging", next)
		return HandlerFunc(func(ctx context.Context, msg *Message) error {
			l := loggerFrom(ctx)
			if l == nil {
				return next.HandleMessage(ctx, msg)
			}
			start := time.Now()
			err := next.HandleMessage(ctx, msg)
			level := slog.LevelInfo
			attrs := []slog.Attr{
				slog.String("message_id", msg.MessageID), slog.String("conversation_id", msg.ConversationID),
				slog.String("user_id", msg.UserID), slog.String("category", string(msg.Category)),
				slog.Duration("elapsed", time.Since(start)),
			}
			if err != nil {
				level = slog.LevelWarn
				attrs = append(attrs, slog.String("error", err.Error()))
			}
			l.LogAttrs(ctx, level, "mixin: message handled", attrs...)
			return err
		})
	}
}
