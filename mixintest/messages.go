package mixintest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"strings"
	"time"

	"github.com/gomixin/mixin"
	"github.com/google/uuid"
)

const (
	maxBatch           = 100
	sourceCreate       = "CREATE_MESSAGE"
	sourceListPending  = "LIST_PENDING_MESSAGES"
	sourceReceipt      = "ACKNOWLEDGE_MESSAGE_RECEIPT"
	categorySystemConv = "SYSTEM_CONVERSATION"
	statusSent         = "SENT"
	statusRead         = "READ"
	statusDelivered    = "DELIVERED"
)

// messageView is the wire shape of a message (protocol §4.2).
type messageView struct {
	Type             string    `json:"type"`
	RepresentativeID string    `json:"representative_id"`
	QuoteMessageID   string    `json:"quote_message_id"`
	ConversationID   string    `json:"conversation_id"`
	UserID           string    `json:"user_id"`
	SessionID        string    `json:"session_id"`
	MessageID        string    `json:"message_id"`
	Category         string    `json:"category"`
	Data             string    `json:"data"`
	DataBase64       string    `json:"data_base64"`
	Status           string    `json:"status"`
	Source           string    `json:"source"`
	Silent           bool      `json:"silent"`
	ExpireIn         int64     `json:"expire_in"`
	CreatedAt        time.Time `json:"created_at"`
	UpdatedAt        time.Time `json:"updated_at"`
}

func viewOf(m *Message, source string) messageView {
	return messageView{
		Type: "message", RepresentativeID: m.RepresentativeID, QuoteMessageID: m.QuoteMessageID,
		ConversationID: m.ConversationID, UserID: m.UserID, SessionID: m.SessionID, MessageID: m.MessageID,
		Category: string(m.Category), Data: base64.StdEncoding.EncodeToString(m.Data),
		DataBase64: base64.RawURLEncoding.EncodeToString(m.Data), Status: string(m.Status), Source: source,
		Silent: m.Silent, ExpireIn: m.ExpireIn, CreatedAt: m.CreatedAt, UpdatedAt: m.UpdatedAt,
	}
}

// receiptView is the data of an ACKNOWLEDGE_MESSAGE_RECEIPT push.
type receiptView struct {
	Type           string    `json:"type"`
	MessageID      string    `json:"message_id"`
	ConversationID string    `json:"conversation_id"`
	Status         string    `json:"status"`
	Source         string    `json:"source"`
	UpdatedAt      time.Time `json:"updated_at"`
}

// messageRequestJSON is one message of POST /messages or a blaze
// CREATE_MESSAGE's params.
type messageRequestJSON struct {
	ConversationID   string `json:"conversation_id"`
	RecipientID      string `json:"recipient_id"`
	MessageID        string `json:"message_id"`
	Category         string `json:"category"`
	Data             string `json:"data"`
	DataBase64       string `json:"data_base64"`
	RepresentativeID string `json:"representative_id"`
	QuoteMessageID   string `json:"quote_message_id"`
	Silent           bool   `json:"silent"`
}

// decodeLenient decodes base64 in the standard or URL alphabet, padded or
// not.
func decodeLenient(s string) ([]byte, error) {
	s = strings.TrimRight(strings.TrimSpace(s), "=")
	s = strings.NewReplacer("-", "+", "_", "/").Replace(s)
	return base64.RawStdEncoding.DecodeString(s)
}

// prepared is a validated message ready to be stored and delivered.
type prepared struct {
	msg        *Message
	recipients []string
	dup        *Message
}

// prepareLocked validates one message from sender; s.mu must be held.
func (s *Server) prepareLocked(sender *User, r messageRequestJSON) (prepared, *apiError) {
	if !validUUID(r.ConversationID) {
		return prepared{}, invalidField("conversation_id", "must be a lowercase UUID")
	}
	if !validUUID(r.MessageID) {
		return prepared{}, invalidField("message_id", "must be a lowercase UUID")
	}
	if r.Category == "" || strings.HasPrefix(r.Category, "SYSTEM_") {
		return prepared{}, invalidField("category", "missing or not allowed")
	}
	raw, field := r.DataBase64, "data_base64"
	if raw == "" {
		raw, field = r.Data, "data"
	}
	data, err := decodeLenient(raw)
	if err != nil {
		return prepared{}, invalidField(field, "not base64")
	}
	if dup, ok := s.sent[sender.UserID+"/"+r.MessageID]; ok {
		return prepared{dup: dup}, nil
	}
	conv, ok := s.convs[r.ConversationID]
	if !ok || conv.participant(sender.UserID) == nil {
		return prepared{}, errForbidden
	}
	var recipients []string
	if r.RecipientID != "" {
		rid := normID(r.RecipientID)
		if rid == sender.UserID && conv.category == categoryGroup {
			return prepared{}, invalidField("recipient_id", "cannot be the sender")
		}
		if conv.participant(rid) == nil {
			return prepared{}, errForbidden
		}
		if rid != sender.UserID {
			recipients = []string{rid}
		}
	} else {
		for _, p := range conv.participants {
			if p.UserID != sender.UserID {
				recipients = append(recipients, p.UserID)
			}
		}
	}
	if err := s.contactRefusalLocked(conv, sender, recipients); err != nil { // blocks (social.go)
		return prepared{}, err
	}
	now := s.now()
	m := &Message{
		ConversationID: conv.id, UserID: sender.UserID, SessionID: sender.SessionID, RecipientID: normID(r.RecipientID),
		MessageID: r.MessageID, Category: mixin.Category(r.Category), QuoteMessageID: r.QuoteMessageID,
		RepresentativeID: r.RepresentativeID, Status: statusSent, Source: sourceCreate, Data: data, Silent: r.Silent,
		ExpireIn: conv.expireIn, CreatedAt: now, UpdatedAt: now,
	}
	return prepared{msg: m, recipients: recipients}, nil
}

// commitLocked stores a prepared message and delivers it.
func (s *Server) commitLocked(p prepared) *Message {
	if p.dup != nil {
		return p.dup
	}
	s.sent[p.msg.UserID+"/"+p.msg.MessageID] = p.msg
	if p.msg.Category.Encrypted() { // checked once decrypted (encrypted.go)
		s.deliverEncryptedLocked(p.msg, p.recipients, true)
		return p.msg
	}
	s.appCheckLocked(p.msg, p.msg.Data)
	s.deliverLocked(p.msg, p.recipients)
	return p.msg
}

// sendLocked validates and sends a batch atomically: nothing is sent if any
// message is invalid.
func (s *Server) sendLocked(sender *User, reqs []messageRequestJSON) ([]*Message, *apiError) {
	ps := make([]prepared, 0, len(reqs))
	seen := make(map[string]bool, len(reqs))
	for _, r := range reqs {
		p, err := s.prepareLocked(sender, r)
		if err != nil {
			return nil, err
		}
		if p.msg != nil {
			if seen[p.msg.MessageID] {
				continue // repeated within the batch
			}
			seen[p.msg.MessageID] = true
		}
		ps = append(ps, p)
	}
	out := make([]*Message, 0, len(ps))
	for _, p := range ps {
		out = append(out, s.commitLocked(p))
	}
	return out, nil
}

// deliverLocked puts a copy of m in each recipient's inbox and blaze queue.
func (s *Server) deliverLocked(m *Message, recipients []string) {
	for _, rid := range recipients {
		mb := s.mailboxes[rid]
		if mb == nil {
			continue
		}
		cp := *m
		mb.inbox = append(mb.inbox, cp)
		mb.received[cp.MessageID] = &cp
		close(mb.notify)
		mb.notify = make(chan struct{})
		s.enqueueLocked(rid, &pendingEntry{messageID: cp.MessageID, msg: &cp})
	}
}

// enqueueLocked appends an entry to the user's pending queue and pushes it
// live to every connection that already listed its pending messages.
func (s *Server) enqueueLocked(userID string, e *pendingEntry) {
	mb := s.mailboxes[userID]
	mb.pending = append(mb.pending, e)
	mb.byID[e.messageID] = append(mb.byID[e.messageID], e)
	mb.live++
	s.pushLocked(mb, e)
}

// pushFrame builds the blaze push for a pending entry.
func pushFrame(e *pendingEntry, source string) frame {
	if e.receipt != nil {
		// A receipt has the keys of a full message view, empty where they
		// do not apply: iOS decodes every push's data as BlazeMessageData,
		// whose keys are all required strings (ios-app
		// MixinServices/.../BlazeMessageData.swift), and Android notes
		// that conversation_id is "" in these (android-app
		// websocket/ChatWebSocket.kt handleReceiveMessage).
		return frame{ID: uuid.NewString(), Action: sourceReceipt, Data: messageView{
			Type: "message", MessageID: e.receipt.MessageID, Status: e.receipt.Status,
			Source: sourceReceipt, CreatedAt: e.receipt.UpdatedAt, UpdatedAt: e.receipt.UpdatedAt}}
	}
	return frame{ID: uuid.NewString(), Action: sourceCreate, Data: viewOf(e.msg, source)}
}

// systemLocked sends a SYSTEM_CONVERSATION message from actor to every
// participant but the actor (a participant being removed still gets it).
func (s *Server) systemLocked(c *conversation, actor *User, action, participantID, role string, expireIn *int64) {
	payload := map[string]any{"action": action, "participant_id": participantID, "user_id": actor.UserID}
	if role != "" || action == "ROLE" {
		payload["role"] = role
	}
	if expireIn != nil {
		payload["expire_in"] = *expireIn
	}
	data, _ := json.Marshal(payload)
	now := s.now()
	m := &Message{ConversationID: c.id, UserID: actor.UserID, SessionID: actor.SessionID, MessageID: uuid.NewString(),
		Category: categorySystemConv, Status: statusSent, Source: sourceCreate, Data: data, ExpireIn: c.expireIn, CreatedAt: now, UpdatedAt: now}
	var recipients []string
	for _, p := range c.participants {
		if p.UserID != actor.UserID {
			recipients = append(recipients, p.UserID)
		}
	}
	s.deliverLocked(m, recipients)
}

func (s *Server) postMessages(c *call) (any, *apiError) {
	if len(c.body) > s.cfg.maxMessageBody {
		return nil, invalidField("body", "request too large")
	}
	trimmed := bytes.TrimSpace(c.body)
	if len(trimmed) > 0 && trimmed[0] == '[' {
		var reqs []messageRequestJSON
		if err := json.Unmarshal(trimmed, &reqs); err != nil {
			return nil, errBadRequest
		}
		if len(reqs) > maxBatch {
			return nil, invalidField("messages", "at most 100 messages per request")
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if _, err := s.sendLocked(c.user, reqs); err != nil {
			return nil, err
		}
		// "It returns empty JSON on success" (developers.mixin.one
		// api/messages/send.md).
		return emptyAnswer{}, nil
	}
	var req messageRequestJSON
	if err := json.Unmarshal(trimmed, &req); err != nil {
		return nil, errBadRequest
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out, err := s.sendLocked(c.user, []messageRequestJSON{req})
	if err != nil {
		return nil, err
	}
	if s.cfg.emptySendAnswer {
		return emptyAnswer{}, nil
	}
	return viewOf(out[0], sourceCreate), nil
}

// ackRequest is one acknowledgement.
type ackRequest struct {
	MessageID string `json:"message_id"`
	Status    string `json:"status"`
}

func validateAck(a ackRequest) *apiError {
	if !validUUID(a.MessageID) {
		return invalidField("message_id", "must be a lowercase UUID")
	}
	if a.Status != statusRead && a.Status != statusDelivered {
		return invalidField("status", "must be READ or DELIVERED")
	}
	return nil
}

// ackLocked retires what an acknowledgement of (message id, status)
// covers in the user's queue: the message itself, and its receipts as
// WithReceiptKeying says (by default only the one with that status, so a
// READ receipt cannot vanish behind the DELIVERED one). For a message
// someone else sent, it queues a receipt for that sender.
func (s *Server) ackLocked(u *User, a ackRequest) {
	mb := s.mailboxes[u.UserID]
	entries := mb.byID[a.MessageID]
	kept := entries[:0]
	for _, e := range entries {
		if e.receipt != nil && e.receipt.Status != a.Status && s.cfg.receiptKeying == ReceiptKeyingByStatus {
			kept = append(kept, e)
			continue
		}
		s.retireLocked(mb, e)
	}
	clear(entries[len(kept):])
	if len(kept) == 0 {
		delete(mb.byID, a.MessageID)
	} else {
		mb.byID[a.MessageID] = kept
	}
	m, ok := mb.received[a.MessageID]
	if !ok || m.UserID == u.UserID || m.Category == categorySystemConv {
		return
	}
	if _, ok := s.mailboxes[m.UserID]; !ok {
		return
	}
	now := s.now()
	s.enqueueLocked(m.UserID, &pendingEntry{messageID: a.MessageID,
		receipt: &receiptRec{MessageID: a.MessageID, Status: a.Status, UpdatedAt: now}})
	s.recordStatusLocked(m, a.Status, now) // for GET /messages/status (social.go)
}

// retireLocked takes one entry out of the live queue and compacts the
// queue once it is mostly retired entries. The caller removes it from
// byID.
func (s *Server) retireLocked(mb *mailbox, e *pendingEntry) {
	if e.acked.Swap(true) {
		return
	}
	mb.live--
	if len(mb.pending) > 64 && len(mb.pending) > 2*mb.live {
		kept := make([]*pendingEntry, 0, mb.live)
		for _, e := range mb.pending {
			if !e.acked.Load() {
				kept = append(kept, e)
			}
		}
		mb.pending = kept
	}
}

// pushedLocked is called after a receipt was written to a listed
// connection. The official Go, fox-one, Android and iOS clients never
// acknowledge receipts (android-app websocket/ChatWebSocket.kt
// handleReceiveMessage queues no acknowledgement for them), and no source
// says the server keeps pushing them: by default a receipt is delivered
// once. WithReceiptsUntilAcked keeps receipts queued until acknowledged,
// as the Node and Kotlin clients (which acknowledge them) assume.
func (s *Server) pushedLocked(u *User, e *pendingEntry) {
	if e.receipt == nil || s.cfg.receiptsUntilAcked {
		return
	}
	mb := s.mailboxes[u.UserID]
	s.retireLocked(mb, e)
	entries := mb.byID[e.messageID]
	for i, x := range entries {
		if x == e {
			entries = append(entries[:i], entries[i+1:]...)
			break
		}
	}
	if len(entries) == 0 {
		delete(mb.byID, e.messageID)
	} else {
		mb.byID[e.messageID] = entries
	}
}

func (s *Server) postAcknowledgements(c *call) (any, *apiError) {
	var acks []ackRequest
	if err := json.Unmarshal(c.body, &acks); err != nil {
		return nil, errBadRequest
	}
	if len(acks) > maxBatch {
		return nil, invalidField("acknowledgements", "at most 100 per request")
	}
	for _, a := range acks {
		if err := validateAck(a); err != nil {
			return nil, err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range acks {
		s.ackLocked(c.user, a)
	}
	// The older docs show { } as the answer (developers.mixin.one, the
	// Chinese page on batch acknowledgements); the Node SDK types it
	// Promise<void> (bot-api-nodejs-client src/client/message.ts).
	return emptyAnswer{}, nil
}
