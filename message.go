package mixin

import (
	"context"
	"encoding/json"
	"strconv"
	"time"
)

// MaxMessagesPerRequest is the API's limit of messages in one POST /messages
// and of acknowledgements in one POST /acknowledgements.
const MaxMessagesPerRequest = 100

// MessageRequest is one message as POST /messages takes it. Build it by
// hand for full control, or let the Send helpers build it.
type MessageRequest struct {
	ConversationID string `json:"conversation_id"`
	// RecipientID, in a group, limits delivery to that one member; in a
	// contact conversation it names the other user.
	RecipientID string `json:"recipient_id,omitempty"`
	// MessageID is chosen by the client; retries reuse it so the message is
	// never created twice. Empty ones are filled in by the client.
	MessageID string   `json:"message_id"`
	Category  Category `json:"category"`
	// DataBase64 is the payload, base64 URL-safe without padding (see
	// [EncodeBase64Data]).
	DataBase64       string `json:"data_base64"`
	RepresentativeID string `json:"representative_id,omitempty"`
	QuoteMessageID   string `json:"quote_message_id,omitempty"`
	Silent           bool   `json:"silent,omitempty"`

	encrypt   bool // set by WithEncryption
	overBlaze bool // set by OverBlaze
}

// Message is a message as the API shows it: the view pushed by blaze and
// returned by [Client.SendMessage].
type Message struct {
	Type             string   `json:"type"`
	RepresentativeID string   `json:"representative_id"`
	QuoteMessageID   string   `json:"quote_message_id"`
	ConversationID   string   `json:"conversation_id"`
	UserID           string   `json:"user_id"`
	SessionID        string   `json:"session_id"`
	MessageID        string   `json:"message_id"`
	Category         Category `json:"category"`
	// Data and DataBase64 both hold the payload as base64 text, not bytes:
	// the message view carries it as "data" (standard, padded) and
	// "data_base64" (URL-safe, unpadded), either or both, depending on the
	// server and the client that sent it. Read the bytes with
	// [Message.Bytes] (it takes either, in any alphabet), the typed
	// payload with [Message.Payload], a text with [Message.Text].
	Data       string        `json:"data"`
	DataBase64 string        `json:"data_base64"`
	Status     MessageStatus `json:"status"`
	Source     string        `json:"source"`
	Silent     bool          `json:"silent"`
	ExpireIn   int64         `json:"expire_in"`
	CreatedAt  time.Time     `json:"created_at"`
	UpdatedAt  time.Time     `json:"updated_at"`

	// Encrypted reports that the message travelled end-to-end encrypted
	// (ENCRYPTED_*): the blaze loop decrypted it, or it was sent with
	// [WithEncryption]. Category and data then hold the plain form.
	Encrypted bool `json:"-"`
}

// Bytes returns the decoded payload bytes, from data_base64 or data in any
// base64 alphabet.
func (m *Message) Bytes() ([]byte, error) {
	s := m.DataBase64
	if s == "" {
		s = m.Data
	}
	return DecodeBase64Data(s)
}

// MessageStatus is the delivery state of a message as the API reports it.
type MessageStatus string

// Message statuses: SENT when the server has it, DELIVERED and READ as the
// recipients acknowledge it.
const (
	MessageStatusSent      MessageStatus = "SENT"
	MessageStatusDelivered MessageStatus = "DELIVERED"
	MessageStatusRead      MessageStatus = "READ"
)

// Payload decodes the message's data into its typed payload, a value (see
// [DecodePayload]): switch on it with case mixin.ImagePayload: and so on.
// An inbound payload of a sendable category can be passed to
// [Client.Send] or [Client.Reply] as it is.
func (m *Message) Payload() (Payload, error) {
	b, err := m.Bytes()
	if err != nil {
		return nil, &FieldError{Field: "data", Reason: "is not base64"}
	}
	return DecodePayload(m.Category, b)
}

// Text returns the text of a PLAIN_TEXT or PLAIN_POST message, or "".
func (m *Message) Text() string {
	if m.Category.Plain() != CategoryPlainText && m.Category.Plain() != CategoryPlainPost {
		return ""
	}
	b, err := m.Bytes()
	if err != nil {
		return ""
	}
	return string(b)
}

// Target says where a message goes: a user (their contact conversation
// with the bot), a whole conversation, or one member of a group.
type Target struct {
	ConversationID string
	RecipientID    string
}

// ToUser addresses a user through the bot's contact conversation with them
// (create it first with [Client.CreateContactConversation]).
func ToUser(userID string) Target { return Target{RecipientID: userID} }

// ToConversation addresses every member of a conversation.
func ToConversation(conversationID string) Target { return Target{ConversationID: conversationID} }

// ToMember addresses one member of a group; the others do not see it.
func ToMember(conversationID, userID string) Target {
	return Target{ConversationID: conversationID, RecipientID: userID}
}

// SendOption adjusts one send.
type SendOption interface {
	applySend(*sendConfig)
}

// sendOption adapts a function to [SendOption].
type sendOption func(*sendConfig)

func (f sendOption) applySend(c *sendConfig) { f(c) }

// sendConfig is what the options of one send set.
type sendConfig struct {
	messageID      string
	quote          string
	representative string
	silent         bool
	encrypt        bool // WithEncryption (encrypt_send.go)
	overBlaze      bool // OverBlaze (blaze_send.go)
}

func newSendConfig(opts []SendOption) sendConfig {
	var c sendConfig
	for _, o := range opts {
		if o != nil {
			o.applySend(&c)
		}
	}
	return c
}

// apply copies the per-message fields onto m.
func (c *sendConfig) apply(m *MessageRequest) {
	if c.messageID != "" {
		m.MessageID = c.messageID
	}
	if c.quote != "" {
		m.QuoteMessageID = c.quote
	}
	if c.representative != "" {
		m.RepresentativeID = c.representative
	}
	if c.silent {
		m.Silent = true
	}
	if c.overBlaze {
		m.overBlaze = true
	}
	if c.encrypt {
		m.encrypt = true
	}
}

// WithMessageID sets the message id (a UUID); reuse it when retrying so the
// message is created once.
func WithMessageID(id string) SendOption { return sendOption(func(c *sendConfig) { c.messageID = id }) }

// WithQuote makes the message a reply quoting messageID.
func WithQuote(messageID string) SendOption {
	return sendOption(func(c *sendConfig) { c.quote = messageID })
}

// WithSilent sends without a notification.
func WithSilent() SendOption { return sendOption(func(c *sendConfig) { c.silent = true }) }

// OverBlaze sends the message as a CREATE_MESSAGE frame on the socket of
// this client's running [Client.RunBlaze] loop, waiting for the server's
// reply (see [WithSocketReplyTimeout]). When no loop is connected, or the socket
// is busy with inbound messages, or no reply comes in time, it goes over
// REST with the same message id, which the server deduplicates; a refusal
// from the server is returned as is. Without it every send uses REST.
func OverBlaze() SendOption { return sendOption(func(c *sendConfig) { c.overBlaze = true }) }

// WithRepresentative sends on behalf of userID.
func WithRepresentative(userID string) SendOption {
	return sendOption(func(c *sendConfig) { c.representative = userID })
}

// NewMessageRequest validates and encodes a payload into a request for to.
// A [TranscriptPayload]'s items without a transcript id get the message's id (see
// [TranscriptPayload.For]); the message id is chosen here when no [WithMessageID]
// is given.
func (c *Client) NewMessageRequest(to Target, p Payload, opts ...SendOption) (MessageRequest, error) {
	return c.newMessageRequest(to, p, newSendConfig(opts))
}

func (c *Client) newMessageRequest(to Target, p Payload, cfg sendConfig) (MessageRequest, error) {
	p, err := derefPayload(p)
	if err != nil {
		return MessageRequest{}, err
	}
	if t, ok := p.(TranscriptPayload); ok {
		if cfg.messageID == "" {
			cfg.messageID = NewUUID()
		}
		if err := t.Validate(); err != nil {
			return MessageRequest{}, err
		}
		if p, err = t.For(cfg.messageID); err != nil {
			return MessageRequest{}, err
		}
	}
	data, err := EncodePayload(p)
	if err != nil {
		return MessageRequest{}, err
	}
	m := MessageRequest{ConversationID: to.ConversationID, RecipientID: to.RecipientID, Category: p.Category(), DataBase64: EncodeBase64Data(data)}
	if m.ConversationID == "" && m.RecipientID != "" {
		rid, err := parseUUID("recipient_id", m.RecipientID)
		if err != nil {
			return MessageRequest{}, err
		}
		m.RecipientID = rid
		m.ConversationID = UniqueConversationID(c.ks.AppID, rid)
	}
	cfg.apply(&m)
	if err := c.checkMessage(&m, -1); err != nil {
		return MessageRequest{}, err
	}
	return m, nil
}

// checkMessage validates a request, fills a missing message id, and checks
// it fits in a request on its own.
func (c *Client) checkMessage(m *MessageRequest, index int) error {
	_, err := c.encodeMessage(m, index)
	return err
}

// encodeMessage is checkMessage returning the message's JSON, so a batch
// encodes each message once.
func (c *Client) encodeMessage(m *MessageRequest, index int) ([]byte, error) {
	prefix := ""
	if index >= 0 {
		prefix = "messages[" + strconv.Itoa(index) + "]."
	}
	var err error
	if m.ConversationID, err = parseUUID(prefix+"conversation_id", m.ConversationID); err != nil {
		return nil, err
	}
	if m.MessageID == "" {
		m.MessageID = NewUUID()
	} else if m.MessageID, err = parseUUID(prefix+"message_id", m.MessageID); err != nil {
		return nil, err
	}
	for _, f := range []struct {
		name string
		v    *string
	}{{"recipient_id", &m.RecipientID}, {"representative_id", &m.RepresentativeID}, {"quote_message_id", &m.QuoteMessageID}} {
		if *f.v != "" {
			if *f.v, err = parseUUID(prefix+f.name, *f.v); err != nil {
				return nil, err
			}
		}
	}
	if !m.Category.Valid() {
		return nil, &FieldError{Field: prefix + "category", Reason: "unknown category " + strconvQuote(string(m.Category))}
	}
	if !m.Category.Sendable() {
		return nil, &FieldError{Field: prefix + "category", Reason: string(m.Category) + " cannot be sent by a bot"}
	}
	if m.DataBase64 == "" {
		return nil, &FieldError{Field: prefix + "data_base64", Reason: "is empty"}
	}
	if err := c.checkEncryption(m, prefix, index); err != nil {
		return nil, err
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	if n := len(b); n+2 > c.cfg.maxMessageBody {
		return nil, &FieldError{Field: prefix + "data_base64", Reason: "message encodes to " + strconv.Itoa(n) + " bytes, over the " + strconv.Itoa(c.cfg.maxMessageBody) + "-byte request limit"}
	}
	return b, nil
}

// Send validates p, sends it to to and returns the message as the API
// stored it. A failed attempt is retried with the same message id.
func (c *Client) Send(ctx context.Context, to Target, p Payload, opts ...SendOption) (*Message, error) {
	m, err := c.NewMessageRequest(to, p, opts...)
	if err != nil {
		return nil, err
	}
	return c.postMessage(ctx, m)
}

// SendMessage sends one raw request. A missing MessageID is generated; a
// failed attempt is retried with the same id. Options override the
// request's fields (e.g. [WithSilent]) or say how it travels ([OverBlaze]).
func (c *Client) SendMessage(ctx context.Context, m MessageRequest, opts ...SendOption) (*Message, error) {
	cfg := newSendConfig(opts)
	cfg.apply(&m)
	if err := c.checkMessage(&m, -1); err != nil {
		return nil, err
	}
	return c.postMessage(ctx, m)
}

func (c *Client) postMessage(ctx context.Context, m MessageRequest) (*Message, error) {
	if m.encrypt {
		return c.postEncrypted(ctx, m)
	}
	if m.overBlaze {
		view, err := c.sendOverBlaze(ctx, m)
		if err == nil {
			c.recordSent(ctx, view)
			return view, nil
		}
		if ctx.Err() != nil || blazeRefused(err) {
			return nil, err
		}
		// Not connected, busy, or no answer: REST with the same message id.
	}
	var view Message
	// The live answer to a single message is not documented (a batch
	// answers {}): the view is optional.
	if err := c.do(ctx, request{method: "POST", path: "/messages", body: m, out: &view, optional: true, retry: retrySafe}); err != nil {
		return nil, err
	}
	if view.MessageID == "" {
		// Some deployments answer a send with an empty object.
		view = *c.sentView(&m, time.Now().UTC())
	}
	if view.ConversationID == "" {
		view.ConversationID = m.ConversationID
	}
	c.recordSent(ctx, &view)
	return &view, nil
}

// sentView is the message the API accepted for m, when the answer does not
// show it (the answer was empty, or it went over blaze or encrypted).
func (c *Client) sentView(m *MessageRequest, now time.Time) *Message {
	return &Message{Type: "message", ConversationID: m.ConversationID, UserID: c.ks.AppID, SessionID: c.ks.SessionID,
		MessageID: m.MessageID, Category: m.Category, DataBase64: m.DataBase64, QuoteMessageID: m.QuoteMessageID,
		RepresentativeID: m.RepresentativeID, Silent: m.Silent, Status: MessageStatusSent, CreatedAt: now}
}

// recordSent hands accepted messages to the [WithSentHook] hook.
func (c *Client) recordSent(ctx context.Context, views ...*Message) {
	if c.cfg.sentHook != nil {
		c.cfg.sentHook(ctx, views)
	}
}

// BatchError reports a batch that failed part way: the first Sent messages
// (in order) were accepted. Calling again with the same slice is safe: the
// message ids are kept, and the API drops the repeats.
type BatchError struct {
	Sent int
	Err  error
}

// Error describes the failure and how many messages got through.
func (e *BatchError) Error() string {
	return "mixin: batch failed after " + strconv.Itoa(e.Sent) + " messages: " + e.Err.Error()
}

// Unwrap returns the underlying error.
func (e *BatchError) Unwrap() error { return e.Err }

// SendMessages sends any number of messages, split into requests of at
// most [MaxMessagesPerRequest] messages and the byte limit set by
// [WithMaxMessageBody]. Messages without a MessageID get one in place, so the
// caller can see the ids and re-send the same slice safely. Every message is
// validated before the first request. Messages of one batch to one user are
// not guaranteed to arrive in order: send one at a time when order matters.
// An empty batch makes no request and returns nil.
func (c *Client) SendMessages(ctx context.Context, msgs []MessageRequest) error {
	encoded := make([][]byte, len(msgs))
	for i := range msgs {
		b, err := c.encodeMessage(&msgs[i], i)
		if err != nil {
			return err
		}
		encoded[i] = b
	}
	sent := 0
	body := make([]byte, 0, min(c.cfg.maxMessageBody, 64<<10))
	for sent < len(msgs) {
		body = append(body[:0], '[')
		n := 0
		for sent+n < len(msgs) && n < MaxMessagesPerRequest {
			e := encoded[sent+n]
			if n > 0 && len(body)+1+len(e)+1 > c.cfg.maxMessageBody {
				break
			}
			if n > 0 {
				body = append(body, ',')
			}
			body = append(body, e...)
			n++
		}
		body = append(body, ']')
		if err := c.do(ctx, request{method: "POST", path: "/messages", body: json.RawMessage(body), retry: retrySafe}); err != nil {
			return &BatchError{Sent: sent, Err: err}
		}
		if c.cfg.sentHook != nil {
			now := time.Now().UTC()
			views := make([]*Message, 0, n)
			for i := range msgs[sent : sent+n] {
				views = append(views, c.sentView(&msgs[sent+i], now))
			}
			c.recordSent(ctx, views...)
		}
		sent += n
	}
	return nil
}

// SendText sends a PLAIN_TEXT message.
func (c *Client) SendText(ctx context.Context, to Target, text string, opts ...SendOption) (*Message, error) {
	return c.Send(ctx, to, TextPayload(text), opts...)
}

// SendPost sends a PLAIN_POST (Markdown) message.
func (c *Client) SendPost(ctx context.Context, to Target, markdown string, opts ...SendOption) (*Message, error) {
	return c.Send(ctx, to, PostPayload(markdown), opts...)
}

// SendImage sends a PLAIN_IMAGE message for an uploaded attachment.
func (c *Client) SendImage(ctx context.Context, to Target, p ImagePayload, opts ...SendOption) (*Message, error) {
	return c.Send(ctx, to, p, opts...)
}

// SendData sends a PLAIN_DATA (file) message for an uploaded attachment.
func (c *Client) SendData(ctx context.Context, to Target, p DataPayload, opts ...SendOption) (*Message, error) {
	return c.Send(ctx, to, p, opts...)
}

// SendSticker sends a PLAIN_STICKER message.
func (c *Client) SendSticker(ctx context.Context, to Target, p StickerPayload, opts ...SendOption) (*Message, error) {
	return c.Send(ctx, to, p, opts...)
}

// SendContact sends a PLAIN_CONTACT message sharing a user.
func (c *Client) SendContact(ctx context.Context, to Target, p ContactPayload, opts ...SendOption) (*Message, error) {
	return c.Send(ctx, to, p, opts...)
}

// SendAppCard sends an APP_CARD message.
func (c *Client) SendAppCard(ctx context.Context, to Target, p AppCardPayload, opts ...SendOption) (*Message, error) {
	return c.Send(ctx, to, p, opts...)
}

// SendAudio sends a PLAIN_AUDIO message for an uploaded attachment.
func (c *Client) SendAudio(ctx context.Context, to Target, p AudioPayload, opts ...SendOption) (*Message, error) {
	return c.Send(ctx, to, p, opts...)
}

// SendLive sends a PLAIN_LIVE message.
func (c *Client) SendLive(ctx context.Context, to Target, p LivePayload, opts ...SendOption) (*Message, error) {
	return c.Send(ctx, to, p, opts...)
}

// SendVideo sends a PLAIN_VIDEO message for an uploaded attachment.
func (c *Client) SendVideo(ctx context.Context, to Target, p VideoPayload, opts ...SendOption) (*Message, error) {
	return c.Send(ctx, to, p, opts...)
}

// SendLocation sends a PLAIN_LOCATION message.
func (c *Client) SendLocation(ctx context.Context, to Target, p LocationPayload, opts ...SendOption) (*Message, error) {
	return c.Send(ctx, to, p, opts...)
}

// SendAppButtons sends an APP_BUTTON_GROUP message (1 to [MaxButtons]
// buttons).
func (c *Client) SendAppButtons(ctx context.Context, to Target, buttons ButtonGroupPayload, opts ...SendOption) (*Message, error) {
	return c.Send(ctx, to, buttons, opts...)
}

// SendRecall recalls (deletes for everyone) a message the bot sent.
func (c *Client) SendRecall(ctx context.Context, to Target, messageID string, opts ...SendOption) (*Message, error) {
	return c.Send(ctx, to, RecallPayload{MessageID: messageID}, opts...)
}

// PinMessages pins messages in a conversation (MESSAGE_PIN, action PIN).
func (c *Client) PinMessages(ctx context.Context, to Target, messageIDs []string, opts ...SendOption) (*Message, error) {
	return c.Send(ctx, to, PinPayload{Action: PinActionPin, MessageIDs: messageIDs}, opts...)
}

// UnpinMessages unpins messages (MESSAGE_PIN, action UNPIN).
func (c *Client) UnpinMessages(ctx context.Context, to Target, messageIDs []string, opts ...SendOption) (*Message, error) {
	return c.Send(ctx, to, PinPayload{Action: PinActionUnpin, MessageIDs: messageIDs}, opts...)
}

// SendTranscript sends a PLAIN_TRANSCRIPT bundling earlier messages. Items
// without a transcript id get the new message's id, which is what the apps
// require to show them (see [TranscriptPayload.For]).
func (c *Client) SendTranscript(ctx context.Context, to Target, items TranscriptPayload, opts ...SendOption) (*Message, error) {
	return c.Send(ctx, to, items, opts...)
}

// Reply answers in the conversation of in: to its sender in a contact
// conversation and to the whole group otherwise.
//
// Reply ids are idempotent per handler call: inside a handler run by
// [Client.RunBlaze], the n-th Reply to a message during one invocation of
// the handler gets an id derived from the bot, the message and n. When the
// handler is run again for the same message (a retry after an error, or a
// redelivery after a crash), its replies get the same ids, so the API
// creates each reply once; two replies in one invocation, even identical
// ones, are two messages. Outside a handler (no such scope in ctx), each
// Reply gets a fresh id. [WithMessageID] overrides both.
func (c *Client) Reply(ctx context.Context, in *Message, p Payload, opts ...SendOption) (*Message, error) {
	if in == nil {
		return nil, &FieldError{Field: "message", Reason: "is nil"}
	}
	cfg := newSendConfig(opts)
	if cfg.messageID == "" {
		cfg.messageID = c.replyID(ctx, in.MessageID)
	}
	m, err := c.newMessageRequest(Target{ConversationID: in.ConversationID}, p, cfg)
	if err != nil {
		return nil, err
	}
	return c.postMessage(ctx, m)
}

// AckStatus is the state an acknowledgement reports.
type AckStatus string

// Acknowledgement statuses: DELIVERED shows grey double ticks, READ blue.
const (
	AckStatusDelivered AckStatus = "DELIVERED"
	AckStatusRead      AckStatus = "READ"
)

// AcknowledgementRequest acknowledges one received message.
type AcknowledgementRequest struct {
	MessageID string    `json:"message_id"`
	Status    AckStatus `json:"status"`
}

// SendAcknowledgement marks one received message as READ or DELIVERED.
func (c *Client) SendAcknowledgement(ctx context.Context, messageID string, status AckStatus) error {
	return c.SendAcknowledgements(ctx, []AcknowledgementRequest{{MessageID: messageID, Status: status}})
}

// SendAcknowledgements acknowledges any number of messages, split into
// requests of [MaxMessagesPerRequest]. Acknowledging twice is harmless, so
// failed requests are retried. An empty batch makes no request and returns
// nil, as [Client.SendMessages] does.
func (c *Client) SendAcknowledgements(ctx context.Context, acks []AcknowledgementRequest) error {
	if len(acks) == 0 {
		return nil
	}
	clean := make([]AcknowledgementRequest, len(acks))
	for i, a := range acks {
		id, err := parseUUID("acknowledgements["+strconv.Itoa(i)+"].message_id", a.MessageID)
		if err != nil {
			return err
		}
		if a.Status != AckStatusRead && a.Status != AckStatusDelivered {
			return &FieldError{Field: "acknowledgements[" + strconv.Itoa(i) + "].status", Reason: "must be READ or DELIVERED, got " + strconvQuote(string(a.Status))}
		}
		clean[i] = AcknowledgementRequest{MessageID: id, Status: a.Status}
	}
	return c.postAcks(ctx, clean)
}

// postAcks sends already-validated acknowledgements in chunks.
func (c *Client) postAcks(ctx context.Context, acks []AcknowledgementRequest) error {
	for sent := 0; sent < len(acks); {
		n := min(len(acks)-sent, MaxMessagesPerRequest)
		if err := c.do(ctx, request{method: "POST", path: "/acknowledgements", body: acks[sent : sent+n], retry: retrySafe}); err != nil {
			if sent > 0 {
				return &BatchError{Sent: sent, Err: err}
			}
			return err
		}
		sent += n
	}
	return nil
}
