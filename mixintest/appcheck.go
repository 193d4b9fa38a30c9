package mixintest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/gomixin/mixin"
)

// Problem is one reason why a message the emulator accepted would look
// broken in the official Mixin apps: shown as an invalid or unknown message,
// empty, or not shown at all. The real API accepts such messages; the check
// is about what people will see. See the package documentation for the
// rules and their sources.
type Problem struct {
	MessageID      string         `json:"message_id"`
	ConversationID string         `json:"conversation_id"`
	UserID         string         `json:"user_id"` // the sender
	Category       mixin.Category `json:"category"`
	// Field is the payload field at fault, e.g. "width" or
	// "transcript[2].created_at"; "data" stands for the whole payload.
	Field  string `json:"field"`
	Reason string `json:"reason"` // what is wrong with it
	App    string `json:"app"`    // what the apps do with such a message
	Source string `json:"source"` // where the rule comes from
}

// String describes the problem on one line.
func (p Problem) String() string {
	return fmt.Sprintf("%s message %s from %s: %s %s: %s (%s)", p.Category, p.MessageID, p.UserID, p.Field, p.Reason, p.App, p.Source)
}

// WithoutAppCheck turns off the app check: messages the official apps would
// show broken are neither reported to the test nor listed by
// [Server.Problems].
func WithoutAppCheck() Option { return serverOption(func(c *config) { c.noAppCheck = true }) }

// WithProblemHook calls fn for every problem the app check finds, in
// addition to reporting it to the test given to [NewServer]; cmd/mixintest
// logs them this way. fn runs while the server holds its lock: it must
// return quickly and must not call the Server.
func WithProblemHook(fn func(Problem)) Option {
	return serverOption(func(c *config) { c.problemHook = fn })
}

// Problems returns what the app check found in the messages accepted so
// far, in order.
func (s *Server) Problems() []Problem {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Problem(nil), s.problems...)
}

// ResetProblems forgets the problems found so far.
func (s *Server) ResetProblems() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.problems = nil
}

// appCheckLocked checks a message the server just accepted, with data its
// decoded payload (the plaintext for an ENCRYPTED_* message), records what
// the apps would show broken and reports it to the test. s.mu is held.
func (s *Server) appCheckLocked(m *Message, data []byte) {
	if s.cfg.noAppCheck {
		return
	}
	found := checkMessage(m.Category, m.MessageID, data)
	for i := range found {
		p := &found[i]
		p.MessageID, p.ConversationID, p.UserID, p.Category = m.MessageID, m.ConversationID, m.UserID, m.Category
		s.problems = append(s.problems, *p)
		if s.t != nil {
			s.t.Errorf("mixintest: the official apps would show this message broken: %s\n"+
				"  (the real API accepts it; turn the check off with mixintest.WithoutAppCheck)", p)
		}
		if s.cfg.problemHook != nil {
			s.cfg.problemHook(*p)
		}
	}
}

// adminProblems serves GET /_mixintest/problems.
func (s *Server) adminProblems(w http.ResponseWriter, r *http.Request) {
	s.writeJSON(w, r, http.StatusOK, s.Problems())
}

// adminResetProblems serves DELETE /_mixintest/problems.
func (s *Server) adminResetProblems(w http.ResponseWriter, r *http.Request) {
	s.ResetProblems()
	s.writeJSON(w, r, http.StatusOK, struct{}{})
}

// checkMessage applies the rules of the official apps to one message.
func checkMessage(c mixin.Category, messageID string, data []byte) []Problem {
	ck := &checker{messageID: messageID}
	if rule, ok := appRules[c.Plain()]; ok {
		rule(ck, data)
	} else if !legalCategory(c) {
		ck.report("category", "is not a category the apps know", "both apps store it as an unknown message",
			srcAndroidDecrypt+" isIllegalMessageCategory; "+srcIOSReceive+" MessageCategory.isLegal")
	}
	return ck.found
}

// legalCategory reports whether the apps know c (android-app
// vo/MessageCategory.kt; ios-app MessageCategory.swift): the message kinds
// in PLAIN_, SIGNAL_ and ENCRYPTED_ form, the app, recall and pin
// categories, and the system, call and PLAIN_JSON ones bots never send.
func legalCategory(c mixin.Category) bool {
	s := string(c)
	for _, p := range []string{"SYSTEM_", "WEBRTC_", "KRAKEN_"} {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	if s == "PLAIN_JSON" || s == "SIGNAL_KEY" {
		return true
	}
	if rest, ok := strings.CutPrefix(s, "SIGNAL_"); ok {
		s = "PLAIN_" + rest
	}
	_, ok := appRules[mixin.Category(s).Plain()]
	return ok
}

// checker collects the problems of one payload.
type checker struct {
	messageID string
	found     []Problem
}

func (ck *checker) report(field, reason, app, source string) {
	ck.found = append(ck.found, Problem{Field: field, Reason: reason, App: app, Source: source})
}

// object decodes data as a JSON object, reporting it if it is not one.
func (ck *checker) object(data []byte, app, source string) (jsonObject, bool) {
	var o map[string]json.RawMessage
	if err := json.Unmarshal(data, &o); err != nil || o == nil {
		ck.report("data", "is not a JSON object", app, source)
		return nil, false
	}
	return jsonObject(o), true
}

// jsonObject is a decoded JSON object with typed accessors that tell a
// missing key, null and a value of the wrong type apart, as Swift's
// JSONDecoder does.
type jsonObject map[string]json.RawMessage

// str returns the string at key and whether it is one.
func (o jsonObject) str(key string) (string, bool) {
	raw, ok := o[key]
	if !ok || !bytes.HasPrefix(bytes.TrimSpace(raw), []byte(`"`)) {
		return "", false
	}
	var s string
	return s, json.Unmarshal(raw, &s) == nil
}

// num returns the number at key and whether it is one.
func (o jsonObject) num(key string) (float64, bool) {
	raw, ok := o[key]
	if !ok {
		return 0, false
	}
	var f float64
	t := bytes.TrimSpace(raw)
	if len(t) == 0 || (t[0] != '-' && (t[0] < '0' || t[0] > '9')) {
		return 0, false
	}
	return f, json.Unmarshal(t, &f) == nil
}

// integer returns the number at key when it is a whole number.
func (o jsonObject) integer(key string) (int64, bool) {
	f, ok := o.num(key)
	if !ok || f != float64(int64(f)) {
		return 0, false
	}
	return int64(f), true
}

// boolean reports whether key holds true or false.
func (o jsonObject) boolean(key string) bool {
	t := string(bytes.TrimSpace(o[key]))
	return t == "true" || t == "false"
}

// array returns the elements of the array at key.
func (o jsonObject) array(key string) ([]json.RawMessage, bool) {
	raw, ok := o[key]
	if !ok {
		return nil, false
	}
	var a []json.RawMessage
	if json.Unmarshal(raw, &a) != nil || a == nil {
		return nil, false
	}
	return a, true
}

// present reports whether key is there and not null.
func (o jsonObject) present(key string) bool {
	raw, ok := o[key]
	return ok && string(bytes.TrimSpace(raw)) != "null"
}
