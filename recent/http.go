package recent

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/gomixin/mixin"
)

// The handler follows WuKongIM's recent-conversation server API (seed 001:
// the "最近会话" page of the WuKongIM server's HTTP API), with channel_id the
// conversation id and channel_type 1 for a contact conversation, 2 for a
// group one. Errors have the shape WuKongIM's HTTP layer gives them,
// {"msg": "...", "status": 400}, with the same HTTP status; successful edits
// answer {"status": 200}. What WuKongIM has no field for (deletions, the
// list's version) is an addition in its style: see http_sync.go.

// HandlerOption configures [Tracker.Handler].
type HandlerOption interface {
	applyHandler(*handlerConfig) error
}

type handlerOption func(*handlerConfig) error

func (f handlerOption) applyHandler(c *handlerConfig) error { return f(c) }

type handlerConfig struct {
	token     string
	authorize func(*http.Request) error
	maxBody   int64
}

// MinTokenLength is the shortest token [WithBearerToken] accepts.
const MinTokenLength = 16

// WithBearerToken lets in requests carrying "Authorization: Bearer token".
// The token must be at least [MinTokenLength] characters, without spaces or
// control characters (a *mixin.FieldError otherwise); a random one of 32
// bytes or more, such as hex of crypto/rand output, is the safe choice. It
// is compared in constant time.
func WithBearerToken(token string) HandlerOption {
	return handlerOption(func(c *handlerConfig) error {
		if len(token) < MinTokenLength {
			return &mixin.FieldError{Field: "bearer token", Reason: fmt.Sprintf("must be at least %d characters", MinTokenLength)}
		}
		if strings.IndexFunc(token, func(r rune) bool { return r <= ' ' || r == 0x7f }) >= 0 {
			return &mixin.FieldError{Field: "bearer token", Reason: "must not contain spaces or control characters"}
		}
		c.token = token
		return nil
	})
}

// WithAuthorizer lets in the requests for which fn returns nil; its error's
// text is not shown to the client.
func WithAuthorizer(fn func(r *http.Request) error) HandlerOption {
	return handlerOption(func(c *handlerConfig) error {
		if fn == nil {
			return &mixin.FieldError{Field: "authorizer", Reason: "is nil"}
		}
		c.authorize = fn
		return nil
	})
}

// maxRequestBody bounds a request's JSON.
const maxRequestBody = 1 << 20

// Handler returns the list as an HTTP API, for a support dashboard. It
// follows the convention of WuKongIM's recent-conversation server API (the
// open-source IM server's "最近会话" endpoints), so a client written for a
// WuKongIM server works with it unchanged, and adds what that API lacks
// (deletions and the list's version) in its style.
//
// Authentication is required: [WithBearerToken], [WithAuthorizer] or both
// (then either suffices). Without either, Handler returns a
// *mixin.FieldError rather than an API no one can use or everyone can.
// Mount the handler at the root of a server, or under a prefix with
// http.StripPrefix.
//
// Every endpoint takes POST with a JSON object of at most 1 MiB. A field
// not listed for the endpoint is refused, so a misspelt "version" is an
// error, not a full sync. uid, in every body, is optional: the list is the
// bot's, so when present it must be the bot's user id as given to
// [WithSelf] (a tracker without WithSelf does not check it).
//
// POST /conversation/sync: what changed since the client's version.
//
//	{"uid": "…", "version": 7, "last_msg_seqs": "<channel_id>:1:41|<channel_id>:2:9", "msg_count": 20}
//
// version is the X-Recent-Version of the client's last sync, 0 or absent
// for the whole list. last_msg_seqs (optional) gives, per conversation
// ("channel_id:channel_type:last_msg_seq", joined by |), the last message
// the client has: only later ones are sent. msg_count caps the messages per
// conversation (default and most: [WithMessages]). The answer is a JSON
// array of the conversations changed after version, oldest change first:
//
//	[{"channel_id": "<conversation id>", "channel_type": 1, "unread": 2,
//	  "timestamp": 1767225604, "last_msg_seq": 42, "last_client_msg_no": "<message id>",
//	  "version": 8, "recents": [{"header": {"no_persist": 0, "red_dot": 1, "sync_once": 0},
//	    "setting": 0, "message_id": 118, "client_msg_no": "<message id>", "message_seq": 42,
//	    "from_uid": "<user id>", "channel_id": "<conversation id>", "channel_type": 1,
//	    "timestamp": 1767225604, "payload": "<base64 of the message's data>"}]},
//	 {"channel_id": "<conversation id>", "channel_type": 2, "unread": 0, "timestamp": 1767225700,
//	  "last_msg_seq": 9, "last_client_msg_no": "", "version": 9, "recents": [], "is_deleted": 1}]
//
// channel_type is 1 for a contact conversation, 2 for a group, 0 while
// unknown (only the bot has written in it). Timestamps are unix seconds;
// unread counts messages from others not yet read ([Tracker.SetUnread]);
// red_dot is 1 for a message that counted as unread; message_id is a
// number unique in the list and client_msg_no the Mixin message id;
// recents run oldest first. An entry with "is_deleted": 1 is a tombstone:
// the conversation was deleted after version, and the client drops it
// (listed conversations carry no is_deleted field).
//
// Two headers complete the answer. X-Recent-Version is the list's version:
// send it as version next time (it can be higher than every entry's).
// X-Recent-Sync is "full" when the client must replace its list with the
// answer (it sent version 0, a version the list never reached, or one older
// than a pruned tombstone, see [WithTombstoneHorizon]) and "incremental"
// when it merges the answer into what it has.
//
// POST /conversations/setUnread sets a conversation's unread count:
//
//	{"uid": "…", "channel_id": "<conversation id>", "channel_type": 1, "unread": 0}
//
// POST /conversations/delete deletes a conversation from the list (a
// tombstone for incremental sync; deleting twice is fine):
//
//	{"uid": "…", "channel_id": "<conversation id>", "channel_type": 1}
//
// Both answer {"status": 200}. channel_id and channel_type are required,
// and channel_type must be the conversation's (1 or 2).
//
// Errors are {"msg": "<what is wrong, naming the field>", "status": N} with
// HTTP status N: 400 for bad input or an unknown or deleted channel, 401
// without valid credentials, 404 for another path, 405 for a method other
// than POST, 413 for a body over 1 MiB, 503 when the store fails (the
// detail goes to the tracker's logger, not the client).
func (t *Tracker) Handler(opts ...HandlerOption) (http.Handler, error) {
	cfg := handlerConfig{maxBody: maxRequestBody}
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o.applyHandler(&cfg); err != nil {
			return nil, err
		}
	}
	if cfg.token == "" && cfg.authorize == nil {
		return nil, &mixin.FieldError{Field: "authentication", Reason: "the API needs WithBearerToken or WithAuthorizer"}
	}
	h := &apiHandler{t: t, cfg: cfg}
	mux := http.NewServeMux()
	mux.HandleFunc("/conversation/sync", h.guard(h.sync))
	mux.HandleFunc("/conversations/setUnread", h.guard(h.setUnread))
	mux.HandleFunc("/conversations/delete", h.guard(h.delete))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such endpoint: "+r.URL.Path)
	})
	return mux, nil
}

type apiHandler struct {
	t   *Tracker
	cfg handlerConfig
}

// apiError is the error body of WuKongIM's HTTP layer.
type apiError struct {
	Msg    string `json:"msg"`
	Status int    `json:"status"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, apiError{Msg: msg, Status: status})
}

func (h *apiHandler) allowed(r *http.Request) bool {
	if h.cfg.token != "" {
		auth := r.Header.Get("Authorization")
		scheme, tok, ok := strings.Cut(auth, " ")
		if ok && strings.EqualFold(scheme, "Bearer") && subtle.ConstantTimeCompare([]byte(strings.TrimSpace(tok)), []byte(h.cfg.token)) == 1 {
			return true
		}
	}
	return h.cfg.authorize != nil && h.cfg.authorize(r) == nil
}

// guard checks the method and the credentials, and decodes nothing.
func (h *apiHandler) guard(next func(http.ResponseWriter, *http.Request, []byte)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			writeError(w, http.StatusMethodNotAllowed, "use POST")
			return
		}
		if !h.allowed(r) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="recent"`)
			writeError(w, http.StatusUnauthorized, "unauthorized")
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.cfg.maxBody))
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body over %d bytes", h.cfg.maxBody))
				return
			}
			writeError(w, http.StatusBadRequest, "request body unreadable")
			return
		}
		next(w, r, body)
	}
}

// decode reads body, one JSON object, into v, saying what is wrong in the
// client's terms. A member whose name is not one of fields (the JSON names
// of v's fields, matched without regard to case as encoding/json matches
// them) is refused.
func decode(body []byte, v any, fields ...string) error {
	if len(strings.TrimSpace(string(body))) == 0 {
		return errors.New("request body is empty: send a JSON object")
	}
	err := json.Unmarshal(body, v)
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case err == nil:
	case errors.As(err, &te) && te.Field != "":
		return fmt.Errorf("%s must be %s, got %s", te.Field, jsonKind(te.Type.Kind().String()), te.Value)
	case errors.As(err, &te):
		return fmt.Errorf("request body must be a JSON object, got %s", te.Value)
	case errors.As(err, &se):
		return fmt.Errorf("request body is not valid JSON (at byte %d)", se.Offset)
	default:
		return errors.New("request body is not valid JSON")
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(body, &members); err != nil {
		return errors.New("request body must be a JSON object")
	}
	var unknown []string
	for name := range members {
		if !slices.ContainsFunc(fields, func(f string) bool { return strings.EqualFold(f, name) }) {
			unknown = append(unknown, strconv.Quote(name))
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		return fmt.Errorf("unknown field %s: the fields are %s", strings.Join(unknown, ", "), strings.Join(fields, ", "))
	}
	return nil
}

func jsonKind(goKind string) string {
	switch {
	case goKind == "string":
		return "a string"
	case strings.HasPrefix(goKind, "int"), strings.HasPrefix(goKind, "uint"):
		return "an integer"
	}
	return "a " + goKind
}

// checkUID checks the optional uid of a request: the list is the bot's, so
// a uid, when the tracker knows the bot's id, must be it.
func (h *apiHandler) checkUID(uid *string) error {
	self := h.t.cfg.self
	if uid == nil || self == "" || strings.EqualFold(*uid, self) {
		return nil
	}
	return errors.New("uid must be the bot's user id, whose list this is, or be left out")
}

// channelRequest is the body of /conversations/delete, and the part of
// /conversations/setUnread that names the channel.
type channelRequest struct {
	UID         *string `json:"uid"`
	ChannelID   *string `json:"channel_id"`
	ChannelType *int    `json:"channel_type"`
}

type setUnreadRequest struct {
	channelRequest
	Unread *int `json:"unread"`
}

// channel validates the fields every edit needs and finds the channel;
// false when it has answered the request.
func (h *apiHandler) channel(w http.ResponseWriter, r *http.Request, req channelRequest) bool {
	msg := ""
	switch err := h.checkUID(req.UID); {
	case err != nil:
		msg = err.Error()
	case req.ChannelID == nil || *req.ChannelID == "":
		msg = "channel_id is required"
	case req.ChannelType == nil:
		msg = "channel_type is required"
	case *req.ChannelType != int(KindContact) && *req.ChannelType != int(KindGroup):
		msg = fmt.Sprintf("channel_type %d is not 1 (contact) or 2 (group)", *req.ChannelType)
	}
	if msg != "" {
		writeError(w, http.StatusBadRequest, msg)
		return false
	}
	c, ok, err := h.t.Get(r.Context(), *req.ChannelID)
	if err != nil {
		h.unavailable(r.Context(), w, err)
		return false
	}
	if ok && c.Kind != KindUnknown && int(c.Kind) != *req.ChannelType {
		writeError(w, http.StatusBadRequest, unknownChannel(req))
		return false
	}
	return true
}

func unknownChannel(req channelRequest) string {
	return fmt.Sprintf("unknown channel: no recent conversation %s of channel type %d", *req.ChannelID, *req.ChannelType)
}

func (h *apiHandler) setUnread(w http.ResponseWriter, r *http.Request, body []byte) {
	var req setUnreadRequest
	if err := decode(body, &req, "uid", "channel_id", "channel_type", "unread"); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if !h.channel(w, r, req.channelRequest) {
		return
	}
	if req.Unread == nil {
		writeError(w, http.StatusBadRequest, "unread is required")
		return
	}
	if *req.Unread < 0 {
		writeError(w, http.StatusBadRequest, "unread must not be negative")
		return
	}
	h.answer(w, r, req.channelRequest, h.t.SetUnread(r.Context(), *req.ChannelID, *req.Unread))
}

func (h *apiHandler) delete(w http.ResponseWriter, r *http.Request, body []byte) {
	var req channelRequest
	if err := decode(body, &req, "uid", "channel_id", "channel_type"); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if !h.channel(w, r, req) {
		return
	}
	h.answer(w, r, req, h.t.Delete(r.Context(), *req.ChannelID))
}

func (h *apiHandler) answer(w http.ResponseWriter, r *http.Request, req channelRequest, err error) {
	var fe *mixin.FieldError
	switch {
	case err == nil:
		writeJSON(w, http.StatusOK, struct {
			Status int `json:"status"`
		}{http.StatusOK})
	case errors.As(err, &fe) && fe.Field == "conversation_id":
		writeError(w, http.StatusBadRequest, unknownChannel(req))
	case errors.As(err, &fe):
		writeError(w, http.StatusBadRequest, fe.Error())
	default:
		h.unavailable(r.Context(), w, err)
	}
}

// unavailable answers a store failure: 503, never a 500, and no detail.
func (h *apiHandler) unavailable(ctx context.Context, w http.ResponseWriter, err error) {
	if ctx.Err() != nil {
		writeError(w, http.StatusServiceUnavailable, "request cancelled")
		return
	}
	h.t.warn(ctx, "recent: HTTP API: store failed", slog.String("error", err.Error()))
	writeError(w, http.StatusServiceUnavailable, "the recent-conversation store is unavailable; try again")
}
