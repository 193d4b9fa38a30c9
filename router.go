package mixin

import (
	"context"
	"log/slog"
	"runtime/debug"
	"strings"
	"sync"
	"time"
)

// Middleware wraps a handler, e.g. to log, recover or authorise.
type Middleware func(Handler) Handler

// Router is a [Handler] that picks a handler by text command (a PLAIN_TEXT
// message starting with "/start"), then by category, then a default.
// Configure it before [Client.RunBlaze] starts; it is read-only afterwards.
// The zero value is an empty router, ready to use.
type Router struct {
	commands   map[string]Handler
	categories map[Category]Handler
	fallback   Handler
	middleware []Middleware
	once       sync.Once
	handler    Handler // built on first use
}

// NewRouter returns an empty router; unmatched messages are ignored (and
// acknowledged) unless [Router.Default] is set.
func NewRouter() *Router {
	return &Router{commands: map[string]Handler{}, categories: map[Category]Handler{}}
}

// Command routes PLAIN_TEXT messages whose first word is cmd (e.g.
// "/start"; matched case-insensitively).
func (r *Router) Command(cmd string, h Handler) *Router {
	if r.commands == nil {
		r.commands = map[string]Handler{}
	}
	r.commands[strings.ToLower(cmd)] = h
	return r
}

// Category routes messages of a category (ENCRYPTED_* match their PLAIN_*
// counterpart).
func (r *Router) Category(c Category, h Handler) *Router {
	if r.categories == nil {
		r.categories = map[Category]Handler{}
	}
	r.categories[c] = h
	return r
}

// Default handles what nothing else matched — including SYSTEM_CONVERSATION
// messages, unless [WithSystemConversationHook] or a Category route takes
// them, so a default that answers every message should check the category.
func (r *Router) Default(h Handler) *Router {
	r.fallback = h
	return r
}

// Use adds middleware; the first added is the outermost.
func (r *Router) Use(mw ...Middleware) *Router {
	r.middleware = append(r.middleware, mw...)
	return r
}

// HandleMessage dispatches msg.
func (r *Router) HandleMessage(ctx context.Context, msg *Message) error {
	r.once.Do(func() {
		var h Handler = HandlerFunc(r.route)
		for i := len(r.middleware) - 1; i >= 0; i-- {
			h = r.middleware[i](h)
		}
		r.handler = h
	})
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

// Recover turns a handler panic into a [*PanicError]. [Client.RunBlaze]
// already does this; use it when calling handlers elsewhere.
func Recover() Middleware {
	return func(next Handler) Handler {
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
// logs nothing.
func Logging() Middleware {
	return func(next Handler) Handler {
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
