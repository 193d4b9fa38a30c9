package mixintest

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/gomixin/mixin"
)

// adminEndpoint is one route of the admin API. The table is the one list
// of routes: the mux is built from it and a test checks that
// cmd/mixintest's doc, its -h text and the README name every pattern.
type adminEndpoint struct {
	pattern string
	handler http.HandlerFunc
}

// adminEndpoints is the admin API (no auth, plain JSON without the data
// envelope) through which clients in other languages drive simulated users.
// cmd/mixintest/usage.txt documents each route.
func (s *Server) adminEndpoints() []adminEndpoint {
	return []adminEndpoint{
		{"POST /_mixintest/users", s.adminCreateUser},
		{"GET /_mixintest/users", s.adminListUsers},
		{"GET /_mixintest/users/{id}/inbox", s.adminInbox},
		{"POST /_mixintest/users/{id}/messages", s.adminSend},
		{"POST /_mixintest/users/{id}/acknowledgements", s.adminAck},
		{"POST /_mixintest/users/{id}/relationships", s.adminRelationship},
		{"POST /_mixintest/users/{id}/groups", s.adminCreateGroup},
		{"POST /_mixintest/users/{id}/conversations/{cid}/participants/{action}", s.adminManage},
		{"POST /_mixintest/users/{id}/conversations/{cid}/exit", s.adminExit},
		{"POST /_mixintest/users/{id}/join/{code}", s.adminJoin},
		{"GET /_mixintest/conversations/{id}", s.adminConversation},
		{"GET /_mixintest/requests", s.adminRequests},
		{"DELETE /_mixintest/requests", s.adminResetRequests},
		{"GET /_mixintest/problems", s.adminProblems},
		{"DELETE /_mixintest/problems", s.adminResetProblems},
		{"GET /_mixintest/stickers", s.adminStickers},
		{"POST /_mixintest/stickers", s.adminAddSticker},
		{"POST /_mixintest/faults", s.adminFaults},
		{"POST /_mixintest/fail_next", s.adminFailNext},
		{"GET /_mixintest/images/{key}", s.serveImage},
	}
}

func (s *Server) adminRoutes() *http.ServeMux {
	mux := http.NewServeMux()
	for _, e := range s.adminEndpoints() {
		mux.HandleFunc(e.pattern, e.handler)
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.writeRaw(w, r, http.StatusNotFound, errNotFound)
	})
	return mux
}

func (s *Server) serveAdmin(w http.ResponseWriter, r *http.Request, path string) {
	r2 := r.Clone(r.Context())
	r2.URL.Path = path
	r2.URL.RawPath = ""
	s.adminMux.ServeHTTP(w, r2)
}

func (s *Server) adminError(w http.ResponseWriter, r *http.Request, status int, e *apiError) {
	s.writeRaw(w, r, status, e)
}

func (s *Server) adminUser(w http.ResponseWriter, r *http.Request) *User {
	u, ok := s.User(r.PathValue("id"))
	if !ok {
		s.adminError(w, r, http.StatusNotFound, &apiError{code: codeNotFound, desc: "user not found"})
		return nil
	}
	return u
}

func readAdminBody(r *http.Request, v any) error {
	b, err := io.ReadAll(io.LimitReader(r.Body, maxRESTBody))
	if err != nil {
		return err
	}
	if len(b) == 0 {
		return errors.New("empty body")
	}
	return json.Unmarshal(b, v)
}

type adminUserView struct {
	User     userView     `json:"user"`
	Keystore keystoreJSON `json:"keystore"`
}

func (s *Server) adminCreateUser(w http.ResponseWriter, r *http.Request) {
	var req struct {
		FullName string `json:"full_name"`
		UserID   string `json:"user_id"`
	}
	if err := readAdminBody(r, &req); err != nil {
		s.adminError(w, r, http.StatusBadRequest, errBadRequest)
		return
	}
	if req.UserID != "" && !validUUID(normID(req.UserID)) {
		s.adminError(w, r, http.StatusBadRequest, invalidField("user_id", "must be a UUID"))
		return
	}
	var u *User
	if req.UserID == "" {
		u = s.NewUser(req.FullName)
	} else {
		u = s.NewUserWithID(req.UserID, req.FullName)
	}
	s.mu.Lock()
	v := adminUserView{User: s.userViewLocked(u, nil), Keystore: u.keystore()}
	s.mu.Unlock()
	s.writeJSON(w, r, http.StatusOK, v)
}

func (s *Server) adminListUsers(w http.ResponseWriter, r *http.Request) {
	users := s.Users()
	s.mu.Lock()
	out := make([]adminUserView, 0, len(users))
	for _, u := range users {
		out = append(out, adminUserView{User: s.userViewLocked(u, nil), Keystore: u.keystore()})
	}
	s.mu.Unlock()
	s.writeJSON(w, r, http.StatusOK, out)
}

func (s *Server) adminInbox(w http.ResponseWriter, r *http.Request) {
	u := s.adminUser(w, r)
	if u == nil {
		return
	}
	out := []inboxView{}
	for _, m := range u.Inbox() {
		v := inboxView{messageView: viewOf(&m, sourceCreate)}
		if m.Category.Encrypted() && m.Plaintext != nil {
			v.PlainCategory = string(m.Category.Plain())
			v.PlainDataBase64 = base64.RawURLEncoding.EncodeToString(m.Plaintext)
		}
		out = append(out, v)
	}
	s.writeJSON(w, r, http.StatusOK, out)
}

// inboxView is a message of the admin inbox: the view blaze pushes, plus,
// for an ENCRYPTED_* message, what the user's sessions decrypt it to.
type inboxView struct {
	messageView
	PlainCategory   string `json:"plain_category,omitempty"`
	PlainDataBase64 string `json:"plain_data_base64,omitempty"`
}

func (s *Server) adminSend(w http.ResponseWriter, r *http.Request) {
	u := s.adminUser(w, r)
	if u == nil {
		return
	}
	var req messageRequestJSON
	if err := readAdminBody(r, &req); err != nil {
		s.adminError(w, r, http.StatusBadRequest, errBadRequest)
		return
	}
	raw := req.DataBase64
	if raw == "" {
		raw = req.Data
	}
	data, err := decodeLenient(raw)
	if err != nil {
		s.adminError(w, r, http.StatusBadRequest, invalidField("data_base64", "not base64"))
		return
	}
	if req.ConversationID == "" && req.RecipientID != "" {
		if err := u.ensureContact(req.RecipientID); err != nil {
			s.adminFail(w, r, err)
			return
		}
		req.ConversationID = u.ContactConversationID(normID(req.RecipientID))
	}
	m, err := u.Send(r.Context(), MessageRequest{ConversationID: req.ConversationID, RecipientID: req.RecipientID,
		MessageID: req.MessageID, Category: mixin.Category(strings.ToUpper(req.Category)), QuoteMessageID: req.QuoteMessageID,
		RepresentativeID: req.RepresentativeID, Data: data, Silent: req.Silent})
	if err != nil {
		var se *simError
		if errors.As(err, &se) {
			s.adminError(w, r, adminStatus(se.e), se.e)
			return
		}
		s.adminError(w, r, http.StatusInternalServerError, &apiError{code: codeServer, desc: err.Error()})
		return
	}
	s.writeJSON(w, r, http.StatusOK, viewOf(&m, sourceCreate))
}

func adminStatus(e *apiError) int {
	switch e.code {
	case codeForbidden:
		return http.StatusForbidden
	case codeNotFound:
		return http.StatusNotFound
	default:
		return http.StatusBadRequest
	}
}

func (s *Server) adminAck(w http.ResponseWriter, r *http.Request) {
	u := s.adminUser(w, r)
	if u == nil {
		return
	}
	var acks []ackRequest
	if err := readAdminBody(r, &acks); err != nil {
		s.adminError(w, r, http.StatusBadRequest, errBadRequest)
		return
	}
	for _, a := range acks {
		if err := u.Ack(context.Background(), a.MessageID, mixin.AckStatus(a.Status)); err != nil {
			s.adminFail(w, r, err)
			return
		}
	}
	s.writeJSON(w, r, http.StatusOK, acks)
}

func (s *Server) adminRequests(w http.ResponseWriter, r *http.Request) {
	s.writeJSON(w, r, http.StatusOK, s.Requests())
}

func (s *Server) adminConversation(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	c, ok := s.convs[normID(r.PathValue("id"))]
	var v conversationView
	if ok {
		v = s.conversationViewLocked(c, nil)
	}
	s.mu.Unlock()
	if !ok {
		s.writeRaw(w, r, http.StatusNotFound, errNotFound)
		return
	}
	s.writeJSON(w, r, http.StatusOK, v)
}

func (s *Server) adminResetRequests(w http.ResponseWriter, r *http.Request) {
	s.ResetRequests()
	s.writeJSON(w, r, http.StatusOK, map[string]bool{"ok": true})
}

func ms(n int64) time.Duration { return time.Duration(n) * time.Millisecond }

func (s *Server) adminFaults(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Seed              int64    `json:"seed"`
		ErrorRate         float64  `json:"error_rate"`
		ErrorPaths        []string `json:"error_paths"`
		RateLimitRate     float64  `json:"rate_limit_rate"`
		RateLimitHTTP     bool     `json:"rate_limit_http"`
		RetryAfterMS      int64    `json:"retry_after_ms"`
		LatencyMS         int64    `json:"latency_ms"`
		LatencyJitterMS   int64    `json:"latency_jitter_ms"`
		DropAfterFrames   int      `json:"drop_after_frames"`
		FrameDelayMS      int64    `json:"frame_delay_ms"`
		FrameJitterMS     int64    `json:"frame_jitter_ms"`
		RefuseUpgrade     bool     `json:"refuse_upgrade"`
		UnauthorizedBlaze bool     `json:"unauthorized_blaze"`
		BlazeErrorFrame   bool     `json:"blaze_error_frame"`
	}
	if err := readAdminBody(r, &req); err != nil {
		s.adminError(w, r, http.StatusBadRequest, errBadRequest)
		return
	}
	s.SetFaults(Faults{Seed: req.Seed, ErrorRate: req.ErrorRate, ErrorPaths: req.ErrorPaths,
		RateLimitRate: req.RateLimitRate, RateLimitHTTP: req.RateLimitHTTP, RetryAfter: ms(req.RetryAfterMS), Latency: ms(req.LatencyMS),
		LatencyJitter: ms(req.LatencyJitterMS), DropAfterFrames: req.DropAfterFrames, FrameDelay: ms(req.FrameDelayMS),
		FrameJitter: ms(req.FrameJitterMS), RefuseUpgrade: req.RefuseUpgrade, UnauthorizedBlaze: req.UnauthorizedBlaze,
		BlazeErrorFrame: req.BlazeErrorFrame})
	s.writeJSON(w, r, http.StatusOK, map[string]bool{"ok": true})
}

func (s *Server) adminFailNext(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Method       string `json:"method"`
		Path         string `json:"path"`
		N            int    `json:"n"`
		Status       int    `json:"status"`
		Code         int    `json:"code"`
		RetryAfterMS int64  `json:"retry_after_ms"`
	}
	if err := readAdminBody(r, &req); err != nil {
		s.adminError(w, r, http.StatusBadRequest, errBadRequest)
		return
	}
	err := s.FailNext(Failure{Method: req.Method, Path: req.Path, Times: req.N, Status: req.Status, Code: req.Code, RetryAfter: ms(req.RetryAfterMS)})
	var fe *mixin.FieldError
	if errors.As(err, &fe) {
		s.adminError(w, r, http.StatusBadRequest, invalidField(adminFailNextField(fe.Field), fe.Reason))
		return
	}
	s.writeJSON(w, r, http.StatusOK, map[string]bool{"ok": true})
}

// adminFailNextField is the JSON name of a Failure field.
func adminFailNextField(field string) string {
	switch field {
	case "Failure.Times":
		return "n"
	case "Failure.RetryAfter":
		return "retry_after_ms"
	}
	return strings.ToLower(strings.TrimPrefix(field, "Failure."))
}
