package recent

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/gomixin/mixin"
)

// The handler speaks the recent-conversation API of seed 001 (WuKongIM's
// "最近会话" server API), with channel_id the conversation id and
// channel_type 1 for a contact conversation, 2 for a group one (0 while the
// kind is not known: a conversation only the bot wrote in). Errors have the
// shape WuKongIM's HTTP layer gives them, {"msg": "...", "status": 400},
// with the same HTTP status; successful edits answer {"status": 200}.

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

// WithBearerToken lets in requests carrying "Authorization: Bearer token".
func WithBearerToken(token string) HandlerOption {
	return handlerOption(func(c *handlerConfig) error {
		if len(token) < 16 {
			return &mixin.FieldError{Field: "bearer token", Reason: "must be at least 16 characters"}
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

// Handler returns the HTTP API of seed 001 on the tracker: POST
// /conversation/sync, /conversations/setUnread and /conversations/delete.
// It lets no one in unless [WithBearerToken] or [WithAuthorizer] says who
// may (with both, either suffices). Mount it at the root of a server or
// under a prefix with http.StripPrefix.
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

// apiError is the seed server's error body.
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

// decode reads body into v, saying what is wrong in the client's terms.
func decode(body []byte, v any) error {
	if len(strings.TrimSpace(string(body))) == 0 {
		return errors.New("request body is empty: send a JSON object")
	}
	err := json.Unmarshal(body, v)
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &te) && te.Field != "":
		return fmt.Errorf("%s must be %s, got %s", te.Field, jsonKind(te.Type.Kind().String()), te.Value)
	case errors.As(err, &te):
		return fmt.Errorf("request body must be a JSON object, got %s", te.Value)
	case errors.As(err, &se):
		return fmt.Errorf("request body is not valid JSON (at byte %d)", se.Offset)
	}
	return errors.New("request body is not valid JSON")
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

type syncRequest struct {
	UID         *string `json:"uid"`
	Version     *int64  `json:"version"`
	LastMsgSeqs *string `json:"last_msg_seqs"`
	MsgCount    *int    `json:"msg_count"`
}

type syncConversation struct {
	ChannelID       string        `json:"channel_id"`
	ChannelType     int           `json:"channel_type"`
	Unread          int           `json:"unread"`
	Timestamp       int64         `json:"timestamp"`
	LastMsgSeq      uint64        `json:"last_msg_seq"`
	LastClientMsgNo string        `json:"last_client_msg_no"`
	Version         uint64        `json:"version"`
	Recents         []syncMessage `json:"recents"`
}

type syncHeader struct {
	NoPersist int `json:"no_persist"`
	RedDot    int `json:"red_dot"`
	SyncOnce  int `json:"sync_once"`
}

type syncMessage struct {
	Header      syncHeader `json:"header"`
	Setting     int        `json:"setting"`
	MessageID   uint64     `json:"message_id"`
	ClientMsgNo string     `json:"client_msg_no"`
	MessageSeq  uint64     `json:"message_seq"`
	FromUID     string     `json:"from_uid"`
	ChannelID   string     `json:"channel_id"`
	ChannelType int        `json:"channel_type"`
	Timestamp   int64      `json:"timestamp"`
	Payload     string     `json:"payload"`
}

// channelKey is a channel of last_msg_seqs.
type channelKey struct {
	id   string
	kind Kind
}

// parseSeqs reads "channelID:channelType:last_msg_seq|…".
func parseSeqs(s string) (map[channelKey]uint64, error) {
	out := map[channelKey]uint64{}
	if strings.TrimSpace(s) == "" {
		return out, nil
	}
	for i, part := range strings.Split(s, "|") {
		fields := strings.Split(part, ":")
		if len(fields) != 3 || fields[0] == "" {
			return nil, fmt.Errorf("last_msg_seqs entry %d (%q) is not channelID:channelType:last_msg_seq", i+1, part)
		}
		kind, err := strconv.Atoi(fields[1])
		if err != nil || (kind != int(KindContact) && kind != int(KindGroup)) {
			return nil, fmt.Errorf("last_msg_seqs entry %d: channel type %q is not 1 (contact) or 2 (group)", i+1, fields[1])
		}
		seq, err := strconv.ParseUint(fields[2], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("last_msg_seqs entry %d: last_msg_seq %q is not a non-negative integer", i+1, fields[2])
		}
		out[channelKey{fields[0], Kind(kind)}] = seq
	}
	return out, nil
}

func (h *apiHandler) sync(w http.ResponseWriter, r *http.Request, body []byte) {
	var req syncRequest
	if err := decode(body, &req); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if req.UID == nil || *req.UID == "" {
		writeError(w, http.StatusBadRequest, "uid is required")
		return
	}
	var version int64
	if req.Version != nil {
		version = *req.Version
	}
	if version < 0 {
		writeError(w, http.StatusBadRequest, "version must not be negative")
		return
	}
	count := h.t.cfg.messages
	if req.MsgCount != nil {
		if *req.MsgCount < 0 {
			writeError(w, http.StatusBadRequest, "msg_count must not be negative")
			return
		}
		count = min(*req.MsgCount, count)
	}
	var seqs map[channelKey]uint64
	if req.LastMsgSeqs != nil {
		var err error
		if seqs, err = parseSeqs(*req.LastMsgSeqs); err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
	}
	s, err := h.t.Since(r.Context(), uint64(version))
	if err != nil {
		h.unavailable(r.Context(), w, err)
		return
	}
	out := make([]syncConversation, 0, len(s.Changes))
	for _, c := range s.Changes {
		if c.Deleted {
			continue // the seed's sync lists conversations; deletions are the clients' own
		}
		out = append(out, syncView(c, count, seqs))
	}
	writeJSON(w, http.StatusOK, out)
}

// syncView renders c with its last count messages after the client's
// last_msg_seq for it, if it sent one.
func syncView(c Conversation, count int, seqs map[channelKey]uint64) syncConversation {
	v := syncConversation{
		ChannelID: c.ConversationID, ChannelType: int(c.Kind), Unread: c.Unread, Timestamp: c.UpdatedAt.Unix(),
		LastMsgSeq: c.LastMessageSeq, LastClientMsgNo: c.LastMessageID, Version: c.Version, Recents: []syncMessage{},
	}
	if t := c.lastActivity(); !t.IsZero() {
		v.Timestamp = t.Unix()
	}
	after, known := seqs[channelKey{c.ConversationID, c.Kind}]
	msgs := c.Messages
	if known {
		i := 0
		for i < len(msgs) && msgs[i].Seq <= after {
			i++
		}
		msgs = msgs[i:]
	}
	if len(msgs) > count {
		msgs = msgs[len(msgs)-count:]
	}
	for _, m := range msgs {
		v.Recents = append(v.Recents, syncMessage{
			Header: syncHeader{RedDot: boolInt(m.Unread)}, MessageID: m.Num, ClientMsgNo: m.MessageID,
			MessageSeq: m.Seq, FromUID: m.UserID, ChannelID: c.ConversationID, ChannelType: int(c.Kind),
			Timestamp: m.CreatedAt.Unix(), Payload: base64.StdEncoding.EncodeToString(m.Data),
		})
	}
	return v
}

type channelRequest struct {
	UID         *string `json:"uid"`
	ChannelID   *string `json:"channel_id"`
	ChannelType *int    `json:"channel_type"`
	Unread      *int    `json:"unread"`
}

// channel validates the fields every edit needs and finds the channel;
// false when it has answered the request.
func (h *apiHandler) channel(w http.ResponseWriter, r *http.Request, body []byte) (channelRequest, bool) {
	var req channelRequest
	if err := decode(body, &req); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return req, false
	}
	switch {
	case req.UID == nil || *req.UID == "":
		writeError(w, http.StatusBadRequest, "uid is required")
		return req, false
	case req.ChannelID == nil || *req.ChannelID == "":
		writeError(w, http.StatusBadRequest, "channel_id is required")
		return req, false
	case req.ChannelType == nil:
		writeError(w, http.StatusBadRequest, "channel_type is required")
		return req, false
	case *req.ChannelType != int(KindContact) && *req.ChannelType != int(KindGroup):
		writeError(w, http.StatusBadRequest, fmt.Sprintf("channel_type %d is not 1 (contact) or 2 (group)", *req.ChannelType))
		return req, false
	}
	c, ok, err := h.t.Get(r.Context(), *req.ChannelID)
	if err != nil {
		h.unavailable(r.Context(), w, err)
		return req, false
	}
	if ok && c.Kind != KindUnknown && int(c.Kind) != *req.ChannelType {
		writeError(w, http.StatusBadRequest, unknownChannel(req))
		return req, false
	}
	return req, true
}

func unknownChannel(req channelRequest) string {
	return fmt.Sprintf("unknown channel: no recent conversation %s of channel type %d", *req.ChannelID, *req.ChannelType)
}

func (h *apiHandler) setUnread(w http.ResponseWriter, r *http.Request, body []byte) {
	req, ok := h.channel(w, r, body)
	if !ok {
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
	h.answer(w, r, req, h.t.SetUnread(r.Context(), *req.ChannelID, *req.Unread))
}

func (h *apiHandler) delete(w http.ResponseWriter, r *http.Request, body []byte) {
	req, ok := h.channel(w, r, body)
	if !ok {
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
