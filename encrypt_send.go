package mixin

import (
	"context"
	"crypto/rand"
	"strconv"
	"strings"
	"time"
)

// WithEncryption sends the message end-to-end encrypted: as the ENCRYPTED_*
// counterpart of its PLAIN_* category, posted to POST /encrypted_messages as
// one entry per recipient (every member but the bot for a conversation, the
// one user for [ToUser] and [ToMember]), each with its recipient_id and the
// payload encrypted for that recipient's device sessions, under one message
// id, as the official Go client sends them. Session lists come from the
// client's conversation cache (see [Client.LookupConversation]); when the
// API answers that a recipient's sessions changed, the client refreshes them
// and encrypts again once for that recipient, with the same message id.
//
// Only PLAIN_* payloads have an encrypted form: any other category is refused
// with a [*FieldError]. A recipient session without a usable public key fails
// the send with a [*SessionKeyError]; the client never falls back to plain
// text. A legacy RSA keystore cannot encrypt ([ErrEncryptionUnsupported]).
// Encrypted messages are sent one at a time ([Client.SendMessages] refuses
// them) and always over REST.
//
// Given to [Client.UploadFile], it uploads the file encrypted as the apps do
// (AES-256-CBC with an HMAC-SHA256, under a fresh key) and the attachment's
// payload helpers carry the key and digest: send that payload with
// WithEncryption too, or the key travels in clear. [Client.DownloadMedia]
// decrypts such attachments.
func WithEncryption() EncryptionOption { return encryptionOption{} }

// checkEncryption validates a request marked with [WithEncryption]; index is
// the message's place in a batch, or -1.
func (c *Client) checkEncryption(m *MessageRequest, prefix string, index int) error {
	if !m.encrypt {
		return nil
	}
	if index >= 0 {
		return &FieldError{Field: prefix + "category", Reason: "encrypted messages are sent one at a time with Send or SendMessage, not in a batch"}
	}
	if !strings.HasPrefix(string(m.Category), plainPrefix) {
		return &FieldError{Field: prefix + "category", Reason: string(m.Category) + " has no encrypted form (only PLAIN_* categories do)"}
	}
	if _, err := c.e2eKey(); err != nil {
		return err
	}
	return nil
}

// encryptedMessageBody is one message of POST /encrypted_messages: the
// fields of POST /messages, with the ENCRYPTED_* category and the envelope
// as data, plus the checksum and the recipient sessions (bot-api-go-client
// message.go encryptedMessageRequest; fox-one messages.go MessageRequest
// with checksum and recipient_sessions).
type encryptedMessageBody struct {
	MessageRequest
	Checksum          string             `json:"checksum"`
	RecipientSessions []recipientSession `json:"recipient_sessions"`
}

type recipientSession struct {
	SessionID string `json:"session_id"`
}

// EncryptedState is the state of an encrypted message for one recipient in
// the answer of POST /encrypted_messages.
type EncryptedState string

// Encrypted message states: delivered to the recipient's sessions, or
// refused because the sender's session list was stale.
const (
	EncryptedStateSuccess EncryptedState = "SUCCESS"
	EncryptedStateFailed  EncryptedState = "FAILED"
)

// EncryptedMessageResult is the API's answer for one recipient of an
// encrypted message: SUCCESS, or FAILED with the recipient's current sessions.
type EncryptedMessageResult struct {
	Type        string         `json:"type"`
	MessageID   string         `json:"message_id"`
	RecipientID string         `json:"recipient_id"`
	State       EncryptedState `json:"state"`
	Sessions    []Session      `json:"sessions"`
}

// EncryptedSendError reports an encrypted message the API refused for some
// recipients even after the client refreshed their sessions and encrypted it
// again. Recipients not listed received it; sending again with the same
// message id is safe.
type EncryptedSendError struct {
	MessageID string
	Failed    []EncryptedMessageResult
}

// Error lists the recipients that did not get the message.
func (e *EncryptedSendError) Error() string {
	ids := make([]string, len(e.Failed))
	for i, f := range e.Failed {
		ids[i] = f.RecipientID
	}
	return "mixin: encrypted message " + e.MessageID + " refused for recipients " + strings.Join(ids, ", ") + " after refreshing their sessions"
}

// postEncrypted encrypts m for each recipient and posts one entry per
// recipient, as the official Go client's PostEncryptedMessages does: every
// entry carries the message id, its recipient_id, and the payload encrypted
// for that recipient's sessions with their checksum (bot-api-go-client
// message.go buildEncryptedMessageRequests). The official Go client refuses
// an encrypted message without a recipient, and the apps send ENCRYPTED_*
// in a group only to one recipient (android-app SendMessageHelper.kt). A
// recipient answered FAILED is refreshed and sent once more, with the same
// message id; a 20140 for the whole request refetches the conversation.
func (c *Client) postEncrypted(ctx context.Context, m MessageRequest) (*Message, error) {
	k, err := c.e2eKey()
	if err != nil {
		return nil, err
	}
	plain, err := DecodeBase64Data(m.DataBase64)
	if err != nil {
		return nil, &FieldError{Field: "data_base64", Reason: "is not base64"}
	}
	convs := c.e2e.convs
	var only map[string]bool // the recipients still to serve; nil for all
	for attempt := 0; ; attempt++ {
		info, err := c.LookupConversation(ctx, m.ConversationID)
		if err != nil {
			return nil, err
		}
		bodies, err := c.encryptBodies(k, info, m, plain, only)
		if err != nil {
			return nil, err
		}
		results, err := c.postEncryptedBodies(ctx, bodies)
		if apiCode(err) == CodeConversationChecksumFailed && attempt == 0 {
			convs.invalidate(m.ConversationID) // the whole set is stale
			continue
		}
		if err != nil {
			return nil, err
		}
		failed, err := failedResults(m.MessageID, results)
		if err != nil {
			return nil, err
		}
		if len(failed) == 0 {
			return c.encryptedView(ctx, m), nil
		}
		if attempt > 0 {
			return nil, &EncryptedSendError{MessageID: m.MessageID, Failed: failed}
		}
		c.refreshSessions(m.ConversationID, failed)
		only = make(map[string]bool, len(failed))
		for _, f := range failed {
			only[strings.ToLower(f.RecipientID)] = true
		}
	}
}

// postEncryptedBodies posts the entries in as few requests as the API's
// limits allow (100 entries and the request size each) and gathers the
// answers.
func (c *Client) postEncryptedBodies(ctx context.Context, bodies []encryptedMessageBody) ([]EncryptedMessageResult, error) {
	var all []EncryptedMessageResult
	for start := 0; start < len(bodies); {
		end, size := start, 2
		for end < len(bodies) && end-start < MaxMessagesPerRequest {
			n := len(bodies[end].DataBase64) + 1024
			if end > start && size+n > c.cfg.maxMessageBody {
				break
			}
			size += n
			end++
		}
		var results []EncryptedMessageResult
		if err := c.do(ctx, request{method: "POST", path: "/encrypted_messages", body: bodies[start:end], out: &results, retry: retrySafe}); err != nil {
			return nil, err
		}
		all = append(all, results...)
		start = end
	}
	return all, nil
}

// encryptBodies builds one entry of m per recipient (those in only, when
// set), each encrypted for that recipient's sessions.
func (c *Client) encryptBodies(k *e2eKey, info *ConversationInfo, m MessageRequest, plain []byte, only map[string]bool) ([]encryptedMessageBody, error) {
	recipients, peers := recipientPeers(info, m.RecipientID, c.ks.AppID, k)
	if len(recipients) == 0 {
		who := "the conversation has no session besides the bot's"
		if m.RecipientID != "" {
			who = "recipient " + m.RecipientID + " has no session in the conversation"
		}
		return nil, &FieldError{Field: "recipient_id", Reason: who}
	}
	var bodies []encryptedMessageBody
	for _, rid := range recipients {
		if only != nil && !only[strings.ToLower(rid)] {
			continue
		}
		body, err := c.encryptBody(k, m, rid, peers[rid], plain)
		if err != nil {
			return nil, err
		}
		bodies = append(bodies, body)
	}
	return bodies, nil
}

// encryptBody builds the entry of m for one recipient and its sessions.
func (c *Client) encryptBody(k *e2eKey, m MessageRequest, recipientID string, peers []*sessionPeer, plain []byte) (encryptedMessageBody, error) {
	env, err := sealEnvelope(k, peers, plain, rand.Reader)
	if err != nil {
		return encryptedMessageBody{}, err
	}
	body := encryptedMessageBody{MessageRequest: m, RecipientSessions: make([]recipientSession, len(peers))}
	body.RecipientID = recipientID
	body.Category = Category(encryptedPrefix + string(m.Category)[len(plainPrefix):])
	body.DataBase64 = EncodeBase64Data(env)
	ids := make([]string, len(peers))
	for i, p := range peers {
		ids[i] = p.sessionID
		body.RecipientSessions[i] = recipientSession{SessionID: p.sessionID}
	}
	body.Checksum = sessionsChecksum(ids)
	if n := len(body.DataBase64) + 512; n > c.cfg.maxMessageBody {
		return encryptedMessageBody{}, &FieldError{Field: "data_base64", Reason: "encrypted message encodes to about " + strconv.Itoa(n) + " bytes, over the " + strconv.Itoa(c.cfg.maxMessageBody) + "-byte request limit"}
	}
	return body, nil
}

// recipientPeers groups the sessions a message is encrypted for by user, in
// the conversation's order: the named recipient's, or every other
// participant's; never the client's own user (the official Go client
// encrypts only for the recipient).
func recipientPeers(info *ConversationInfo, recipientID, selfID string, k *e2eKey) ([]string, map[string][]*sessionPeer) {
	var users []string
	peers := make(map[string][]*sessionPeer)
	for _, s := range info.sessions {
		switch {
		case recipientID != "" && !strings.EqualFold(s.userID, recipientID):
		case s.id == k.sessionID || strings.EqualFold(s.userID, selfID):
		default:
			if _, ok := peers[s.userID]; !ok {
				users = append(users, s.userID)
			}
			peers[s.userID] = append(peers[s.userID], s)
		}
	}
	return users, peers
}

// failedResults checks the per-recipient answers for messageID and returns
// the failed ones.
func failedResults(messageID string, results []EncryptedMessageResult) ([]EncryptedMessageResult, error) {
	var failed []EncryptedMessageResult
	seen := false
	for _, r := range results {
		if r.MessageID != "" && r.MessageID != messageID {
			continue
		}
		seen = true
		switch r.State {
		case EncryptedStateSuccess:
		case EncryptedStateFailed:
			failed = append(failed, r)
		default:
			return nil, &ResponseError{Status: 200, Reason: "encrypted message state " + strconvQuote(string(r.State))}
		}
	}
	if !seen && len(results) > 0 {
		return nil, &ResponseError{Status: 200, Reason: "no result for encrypted message " + messageID}
	}
	return failed, nil
}

// refreshSessions applies the fresh sessions of failed recipients to the
// cached conversation, or drops it when the answer carries none.
func (c *Client) refreshSessions(conversationID string, failed []EncryptedMessageResult) {
	convs := c.e2e.convs
	for _, f := range failed {
		if f.RecipientID == "" || len(f.Sessions) == 0 {
			convs.invalidate(conversationID)
			return
		}
		fresh := make([]*sessionPeer, len(f.Sessions))
		for i, s := range f.Sessions {
			fresh[i] = newSessionPeer(f.RecipientID, s.SessionID, s.PublicKey)
		}
		if !convs.updateSessions(conversationID, f.RecipientID, fresh) {
			convs.invalidate(conversationID)
			return
		}
	}
}

// encryptedView is the accepted message as the caller sent it: the plain
// category and data, marked Encrypted.
func (c *Client) encryptedView(ctx context.Context, m MessageRequest) *Message {
	view := c.sentView(&m, time.Now().UTC())
	view.Encrypted = true
	c.recordSent(ctx, view)
	return view
}
