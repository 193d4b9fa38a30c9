package mixintest

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"time"
)

// Request is one REST request as the server received and answered it.
type Request struct {
	Method   string      `json:"method"`
	Path     string      `json:"path"` // without the path prefix
	RawQuery string      `json:"raw_query"`
	Header   http.Header `json:"header"`
	Body     []byte      `json:"body"`
	UserID   string      `json:"user_id"` // who signed; "" if authentication failed
	Status   int         `json:"status"`  // HTTP status answered
	Code     int         `json:"code"`    // Mixin error code, 0 on success
	At       time.Time   `json:"at"`
}

// Error codes the emulator answers with, and their descriptions, as the
// docs' table lists them (developers.mixin.one api/error-codes.md); the
// texts of 400 and 401 are bot-api-go-client error.go's.
const (
	codeBadRequest   = 400
	codeUnauthorized = 401
	codeForbidden    = 403
	codeNotFound     = 404
	codeTooMany      = 429
	codeServer       = 500
	codeInvalidField = 10002
	codeGroupFull    = 20116
)

// maxRESTBody bounds what any REST request may carry.
const maxRESTBody = 16 << 20

// apiError is an error answer: HTTP status, Mixin code, description, extra.
type apiError struct {
	httpStatus int
	code       int
	desc       string
	extra      map[string]any
	retryAfter time.Duration
}

var (
	errBadRequest   = &apiError{httpStatus: 202, code: codeBadRequest, desc: "The request body can't be parsed as valid data."}
	errUnauthorized = &apiError{httpStatus: 202, code: codeUnauthorized, desc: "Unauthorized, maybe invalid token."}
	errForbidden    = &apiError{httpStatus: 202, code: codeForbidden, desc: "Forbidden."}
	errNotFound     = &apiError{httpStatus: 202, code: codeNotFound, desc: "The endpoint is not found."}
	errGroupFull    = &apiError{httpStatus: 202, code: codeGroupFull, desc: "The group chat is full."}
)

func invalidField(field, reason string) *apiError {
	return &apiError{httpStatus: 202, code: codeInvalidField, desc: "The request data has invalid field.",
		extra: map[string]any{"field": field, "reason": reason}}
}

type errorView struct {
	Status      int            `json:"status"`
	Code        int            `json:"code"`
	Description string         `json:"description"`
	Extra       map[string]any `json:"extra,omitempty"`
}

// call is the context of one authenticated REST request.
type call struct {
	s    *Server
	r    *http.Request
	user *User
	body []byte
	data any
	err  *apiError
	hit  bool
}

type callKey struct{}

// emptyAnswer is the result of calls documented to answer empty JSON:
// serveREST writes {} for it, without a "data" key.
type emptyAnswer struct{}

type handlerFunc func(c *call) (any, *apiError)

func (s *Server) handle(mux *http.ServeMux, pattern string, h handlerFunc) {
	mux.HandleFunc(pattern, func(_ http.ResponseWriter, r *http.Request) {
		c, _ := r.Context().Value(callKey{}).(*call)
		if c == nil {
			return
		}
		c.r = r
		c.hit = true
		c.data, c.err = h(c)
	})
}

func (s *Server) routes() *http.ServeMux {
	mux := http.NewServeMux()
	s.handle(mux, "GET /me", s.getMe)
	s.handle(mux, "GET /safe/me", s.getMe)
	s.handle(mux, "GET /users/{id}", s.getUser)
	s.handle(mux, "POST /users/fetch", s.fetchUsers)
	s.handle(mux, "GET /search/{q}", s.searchUser)
	s.handle(mux, "POST /sessions/fetch", s.fetchSessions)
	s.handle(mux, "POST /me", s.postMe)
	s.handle(mux, "POST /me/preferences", s.postPreferences)
	s.handle(mux, "POST /relationships", s.postRelationships)
	s.handle(mux, "GET /friends", s.getFriends)
	s.handle(mux, "GET /blocking_users", s.getBlockingUsers)
	s.handle(mux, "GET /codes/{id}", s.getCode)
	s.handle(mux, "GET /messages/status/{offset}", s.getMessageStatuses)

	s.handle(mux, "GET /circles", s.getCircles)
	s.handle(mux, "POST /circles", s.createCircle)
	s.handle(mux, "GET /circles/{id}", s.getCircle)
	s.handle(mux, "POST /circles/{id}", s.updateCircle)
	s.handle(mux, "POST /circles/{id}/delete", s.deleteCircle)
	s.handle(mux, "GET /circles/{id}/conversations", s.getCircleConversations)
	s.handle(mux, "POST /circles/{id}/conversations", s.postCircleConversations)
	s.handle(mux, "POST /conversations/{id}/circles", s.postConversationCircles)
	s.handle(mux, "POST /users/{id}/circles", s.postUserCircles)
	s.handle(mux, "GET /me/code", s.rotateMeCode)

	s.handle(mux, "POST /conversations", s.createConversation)
	s.handle(mux, "GET /conversations/{id}", s.readConversation)
	s.handle(mux, "POST /conversations/{id}", s.updateConversation)
	s.handle(mux, "POST /conversations/{id}/participants/{action}", s.manageParticipants)
	s.handle(mux, "POST /conversations/{id}/join", s.joinConversation)
	s.handle(mux, "POST /conversations/{id}/exit", s.exitConversation)
	s.handle(mux, "POST /conversations/{id}/rotate", s.rotateConversation)
	s.handle(mux, "POST /conversations/{id}/mute", s.muteConversation)
	s.handle(mux, "POST /conversations/{id}/disappear", s.disappearConversation)

	s.handle(mux, "POST /messages", s.postMessages)
	s.handle(mux, "POST /encrypted_messages", s.postEncryptedMessages)
	s.handle(mux, "POST /acknowledgements", s.postAcknowledgements)

	s.handle(mux, "POST /attachments", s.createAttachment)
	s.handle(mux, "GET /attachments/{id}", s.readAttachment)
	s.handle(mux, "GET /stickers/{id}", s.getSticker)
	s.handle(mux, "/", func(*call) (any, *apiError) { return nil, errNotFound })
	return mux
}

// serveREST authenticates, injects faults, routes, records and answers.
// serveREST answers one REST call the way the docs' guide describes
// (developers.mixin.one api/guide.md): {"data": …} with HTTP 200 on
// success, {"error": {status, code, description, extra}} with HTTP 202 for
// business errors (500-class codes as HTTP 500), X-Request-Id echoed (fox-one
// request.go checks it), and the documented empty answers as {}.
func (s *Server) serveREST(w http.ResponseWriter, r *http.Request, path string) {
	rec := Request{Method: r.Method, Path: path, RawQuery: r.URL.RawQuery, Header: r.Header.Clone(), At: s.now()}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRESTBody+1))
	rec.Body = body
	var (
		data any
		aerr *apiError
	)
	switch {
	case err != nil:
		aerr = errBadRequest
	case len(body) > maxRESTBody:
		aerr = invalidField("body", "request too large")
	default:
		user, err := s.authenticate(r, body)
		if err != nil {
			s.debug("rejected token", "path", path, "err", err)
			aerr = errUnauthorized
			break
		}
		rec.UserID = user.UserID
		if aerr = s.injectFault(r.Method, path); aerr != nil {
			break
		}
		c := &call{s: s, user: user, body: body}
		r2 := r.Clone(context.WithValue(r.Context(), callKey{}, c))
		r2.URL.Path = path
		r2.URL.RawPath = ""
		s.mux.ServeHTTP(discardWriter{}, r2)
		switch {
		case !c.hit:
			aerr = errNotFound
		case c.err != nil:
			aerr = c.err
		default:
			data = c.data
		}
	}
	s.sleepLatency(r.Context())
	status := http.StatusOK
	if aerr != nil {
		status = aerr.httpStatus
		rec.Code = aerr.code
	}
	rec.Status = status
	s.mu.Lock()
	s.requests = append(s.requests, rec)
	s.mu.Unlock()
	if aerr != nil {
		s.writeRaw(w, r, status, aerr)
		return
	}
	if _, ok := data.(emptyAnswer); ok {
		s.writeJSON(w, r, status, struct{}{})
		return
	}
	s.writeJSON(w, r, status, map[string]any{"data": data})
}

func (s *Server) writeRaw(w http.ResponseWriter, r *http.Request, status int, e *apiError) {
	if e.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(ceilSeconds(e.retryAfter)))
	}
	if status == 0 {
		status = e.httpStatus
	}
	s.writeJSON(w, r, status, map[string]any{"error": errorView{Status: status, Code: e.code, Description: e.desc, Extra: e.extra}})
}

func (s *Server) writeJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"error":{"status":500,"code":500,"description":"Internal Server Error."}}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	if id := r.Header.Get("X-Request-Id"); id != "" {
		h.Set("X-Request-Id", id)
	}
	s.setClockHeaders(h)
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// Requests returns a copy of every REST request recorded, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request{}, s.requests...)
}

// ResetRequests forgets the recorded requests.
func (s *Server) ResetRequests() {
	s.mu.Lock()
	s.requests = nil
	s.mu.Unlock()
}

// decode unmarshals the call's body into v, answering 400 when unparsable.
// An empty body decodes as nothing.
func (c *call) decode(v any) *apiError {
	if len(c.body) == 0 {
		return nil
	}
	if err := json.Unmarshal(c.body, v); err != nil {
		return errBadRequest
	}
	return nil
}

type discardWriter struct{}

func (discardWriter) Header() http.Header         { return http.Header{} }
func (discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (discardWriter) WriteHeader(int)             {}
