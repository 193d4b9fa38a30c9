package mixintest

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
)

// The admin API (no auth, plain JSON without the data envelope) lets
// clients in other languages drive simulated users:
//
//	POST /_mixintest/users                       {"full_name","user_id?"} -> {"user","keystore"}
//	GET  /_mixintest/users                       -> [{"user","keystore"}], the bot first
//	GET  /_mixintest/users/{id}/inbox            -> [message view]
//	POST /_mixintest/users/{id}/messages         {conversation_id?, recipient_id?, category, data_base64, message_id?} -> message view
//	POST /_mixintest/users/{id}/acknowledgements [{message_id, status}] -> same
//	GET  /_mixintest/requests                    -> [request]
//	GET  /_mixintest/conversations/{id}          -> conversation view
func (s *Server) adminRoutes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /_mixintest/users", s.adminCreateUser)
	mux.HandleFunc("GET /_mixintest/users", s.adminListUsers)
	mux.HandleFunc("GET /_mixintest/users/{id}/inbox", s.adminInbox)
	mux.HandleFunc("POST /_mixintest/users/{id}/messages", s.adminSend)
	mux.HandleFunc("POST /_mixintest/users/{id}/acknowledgements", s.adminAck)
	mux.HandleFunc("GET /_mixintest/requests", s.adminRequests)
	mux.HandleFunc("GET /_mixintest/conversations/{id}", s.adminConversation)
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
	out := []messageView{}
	for _, m := range u.Inbox() {
		out = append(out, viewOf(&m, sourceCreate))
	}
	s.writeJSON(w, r, http.StatusOK, out)
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
			s.adminError(w, r, http.StatusBadRequest, err.(simError).e)
			return
		}
		req.ConversationID = u.ContactConversationID(normID(req.RecipientID))
	}
	m, err := u.Send(r.Context(), MessageRequest{ConversationID: req.ConversationID, RecipientID: req.RecipientID,
		MessageID: req.MessageID, Category: strings.ToUpper(req.Category), QuoteMessageID: req.QuoteMessageID,
		RepresentativeID: req.RepresentativeID, Data: data, Silent: req.Silent})
	if err != nil {
		var se simError
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
		if err := u.Ack(context.Background(), a.MessageID, a.Status); err != nil {
			s.adminError(w, r, http.StatusBadRequest, err.(simError).e)
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
