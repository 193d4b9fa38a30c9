package mixintest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"

	"github.com/gomixin/mixin"
)

// ProblemKind says how a message the app check flags fares in the
// official apps.
type ProblemKind string

const (
	// ProblemKindBroken: an official app shows the message broken (as an
	// invalid, unknown or failed message, with a part missing or wrong), or
	// drops it without showing it. The test given to [NewServer] fails.
	ProblemKindBroken ProblemKind = "broken"
	// ProblemKindWarning: no app is known to refuse the message, but it is
	// most likely a mistake (an empty text, a button group without
	// buttons, a duration that reads as under a second, a file whose bytes
	// are not the type it claims), a shape no official client sends, or
	// one the stored official sources leave open (a category only some
	// apps list, a URL only iOS before 17 refuses). Logged to the test
	// (t.Logf), not failed.
	ProblemKindWarning ProblemKind = "warning"
	// ProblemKindLimit: outside the limits the docs state (1 to 6 buttons,
	// labels and card titles up to 36 characters, card descriptions up to
	// 1024), which the apps do not enforce when they receive a message.
	// Logged to the test, not failed.
	ProblemKindLimit ProblemKind = "limit"
)

// Problem is one finding of the app check about a message the emulator
// accepted: Kind says whether the official apps show it broken
// ([ProblemKindBroken]), or whether it is only likely a mistake
// ([ProblemKindWarning]) or outside the docs' limits ([ProblemKindLimit]). The real
// API accepts every such message; the check is about what people will see.
// See the package documentation for the rules and their sources.
type Problem struct {
	Kind           ProblemKind    `json:"kind"`
	MessageID      string         `json:"message_id"`
	ConversationID string         `json:"conversation_id"`
	UserID         string         `json:"user_id"` // the sender
	Category       mixin.Category `json:"category"`
	// Field is the payload field at fault, e.g. "width" or
	// "transcript[2].created_at"; "data" stands for the whole payload and
	// "category" or "recipient_id" for the message itself.
	Field  string `json:"field"`
	Reason string `json:"reason"` // what is wrong with it
	// App says what each official app (Android, iOS, Desktop) does with
	// such a message.
	App    string `json:"app"`
	Source string `json:"source"` // the files the rule comes from
}

// String describes the problem on one line.
func (p Problem) String() string {
	return fmt.Sprintf("[%s] %s message %s from %s: %s %s: %s (%s)", p.Kind, p.Category, p.MessageID, p.UserID, p.Field, p.Reason, p.App, p.Source)
}

// WithoutAppCheck turns off the app check: messages the official apps would
// show broken are neither reported to the test nor listed by
// [Server.Problems].
func WithoutAppCheck() Option { return serverOption(func(c *config) { c.noAppCheck = true }) }

// WithProblemHook calls fn for every problem the app check finds, of every
// kind, in addition to reporting it to the test given to [NewServer];
// cmd/mixintest prints them this way. fn runs while the server holds its
// lock: it must return quickly and must not call the Server.
func WithProblemHook(fn func(Problem)) Option {
	return serverOption(func(c *config) { c.problemHook = fn })
}

// Problems returns what the app check found in the messages accepted so
// far, of every kind, in order.
func (s *Server) Problems() []Problem {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Problem{}, s.problems...)
}

// ResetProblems forgets the problems found so far.
func (s *Server) ResetProblems() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.problems = nil
}

// appCheckLocked checks a message the server just accepted, with data its
// decoded payload (the plaintext for an ENCRYPTED_* message), records what
// it finds and reports it to the test. s.mu is held.
func (s *Server) appCheckLocked(m *Message, data []byte) {
	if s.cfg.noAppCheck {
		return
	}
	for _, p := range checkMessageIn(s.checkEnvLocked(), m.Category, m.MessageID, data) {
		s.reportLocked(m, p)
	}
}

// reportLocked records one problem of message m and reports it: a broken
// message fails the owning test, the other kinds are logged to it.
func (s *Server) reportLocked(m *Message, p Problem) {
	if s.cfg.noAppCheck {
		return
	}
	p.MessageID, p.ConversationID, p.UserID, p.Category = m.MessageID, m.ConversationID, m.UserID, m.Category
	s.problems = append(s.problems, p)
	if s.t != nil {
		if p.Kind == ProblemKindBroken {
			s.t.Errorf("mixintest: the official apps would show this message broken: %s\n"+
				"  (the real API accepts it; turn the check off with mixintest.WithoutAppCheck)", p)
		} else {
			s.t.Logf("mixintest: app check %s: %s", p.Kind, p)
		}
	}
	if s.cfg.problemHook != nil {
		s.cfg.problemHook(p)
	}
}

// checkEnvLocked is what the rules may ask the server: the users, stickers
// and uploaded attachments it knows. s.mu is held.
func (s *Server) checkEnvLocked() *checkEnv {
	return &checkEnv{
		userKnown:    func(id string) bool { return s.users[normID(id)] != nil },
		stickerKnown: func(id string) bool { return s.stickersLocked()[normID(id)] != nil },
		attachment: func(id string) ([]byte, bool) {
			a := s.attachments[normID(id)]
			if a == nil || !a.uploaded || a.data == nil {
				return nil, false
			}
			return a.data, true
		},
	}
}

// adminProblems serves GET /_mixintest/problems.
func (s *Server) adminProblems(w http.ResponseWriter, r *http.Request) {
	s.writeJSON(w, r, http.StatusOK, s.Problems())
}

// adminResetProblems serves DELETE /_mixintest/problems, answering as
// DELETE /_mixintest/requests does.
func (s *Server) adminResetProblems(w http.ResponseWriter, r *http.Request) {
	s.ResetProblems()
	s.writeJSON(w, r, http.StatusOK, map[string]bool{"ok": true})
}

// checkEnv answers the rules that need the server's state; a nil checkEnv
// (or a nil function in it) skips those rules.
type checkEnv struct {
	userKnown    func(id string) bool
	stickerKnown func(id string) bool
	attachment   func(id string) ([]byte, bool) // the uploaded bytes, when kept
}

// checkMessage applies the rules of the official apps to one message,
// without the rules that need the server's state.
func checkMessage(c mixin.Category, messageID string, data []byte) []Problem {
	return checkMessageIn(nil, c, messageID, data)
}

// checkMessageIn applies the rules of the official apps to one message.
func checkMessageIn(env *checkEnv, c mixin.Category, messageID string, data []byte) []Problem {
	ck := &checker{messageID: messageID, env: env}
	if rule, ok := appRules[c.Plain()]; ok {
		rule(ck, data)
	} else {
		checkCategory(ck, c)
	}
	return ck.found
}

// checker collects the problems of one payload.
type checker struct {
	messageID string
	env       *checkEnv
	found     []Problem
}

// add records a problem of the given kind.
func (ck *checker) add(kind ProblemKind, field, reason, app, source string) {
	ck.found = append(ck.found, Problem{Kind: kind, Field: field, Reason: reason, App: app, Source: source})
}

// report adds a broken-message problem.
func (ck *checker) report(field, reason, app, source string) {
	ck.add(ProblemKindBroken, field, reason, app, source)
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

// intLike reads key as iOS safeDecodeInt and Android's Gson read an Int:
// a JSON number, or a string holding a whole number ("100"). whole is
// false for a number with a fraction, which iOS truncates and Gson
// refuses.
func (o jsonObject) intLike(key string) (v float64, whole, ok bool) {
	if f, ok := o.num(key); ok {
		return f, f == float64(int64(f)), true
	}
	if s, ok := o.str(key); ok {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return float64(n), true, true
		}
	}
	return 0, false, false
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
