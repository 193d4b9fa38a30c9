package mixin

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"sync"
)

// Blaze actions.
const (
	actionListPending = "LIST_PENDING_MESSAGES"
	actionCreate      = "CREATE_MESSAGE"
	actionAckReceipt  = "ACKNOWLEDGE_MESSAGE_RECEIPT"
	actionAckReceipts = "ACKNOWLEDGE_MESSAGE_RECEIPTS"
	actionError       = "ERROR"
	sourceReceipt     = "ACKNOWLEDGE_MESSAGE_RECEIPT"
)

// inFrame is a frame from the server.
type inFrame struct {
	ID     string     `json:"id"`
	Action string     `json:"action"`
	Data   *Message   `json:"data"`
	Error  *errorBody `json:"error"`
}

// outFrame is a frame to the server.
type outFrame struct {
	ID     string `json:"id"`
	Action string `json:"action"`
	Params any    `json:"params,omitempty"`
}

// FrameError reports a blaze frame that could not be read: not binary, not
// gzip, too large once decompressed, or not JSON. The connection is closed
// and the loop reconnects; the server pushes unacknowledged messages again.
type FrameError struct {
	Reason string
}

// Error returns "mixin: blaze frame: REASON".
func (e *FrameError) Error() string { return "mixin: blaze frame: " + e.Reason }

// MessageDecodeError reports an inbound message whose frame is sound but
// whose data does not decode (e.g. a created_at that is not a time). The
// loop gives it to the dead-letter hook, with the fields that could be
// read, and acknowledges it: it would fail the same way every time.
type MessageDecodeError struct {
	MessageID string
	Reason    string
}

// Error returns "mixin: message MESSAGE_ID does not decode: REASON".
func (e *MessageDecodeError) Error() string {
	return "mixin: message " + e.MessageID + " does not decode: " + e.Reason
}

// frameDecoder turns binary gzip frames into inFrames, reusing its
// decompressor and buffers across frames of one connection.
type frameDecoder struct {
	maxDecompressed int64
	raw             bytes.Buffer // compressed bytes of the current frame
	rd              bytes.Reader
	zr              *gzip.Reader
	lim             io.LimitedReader
	out             bytes.Buffer // decompressed JSON
}

// decode reads one frame from r into f. If f.Data is set, the message is
// decoded into it; otherwise Data is a fresh *Message. A sound frame whose
// message data does not decode fills f.Data with what could be read and
// returns a *MessageDecodeError.
func (d *frameDecoder) decode(r io.Reader, f *inFrame) error {
	d.raw.Reset()
	if _, err := d.raw.ReadFrom(r); err != nil {
		return err
	}
	return d.decodeBytes(d.raw.Bytes(), f)
}

func (d *frameDecoder) decodeBytes(frame []byte, f *inFrame) error {
	d.rd.Reset(frame)
	var err error
	if d.zr == nil {
		d.zr, err = gzip.NewReader(&d.rd)
	} else {
		err = d.zr.Reset(&d.rd)
	}
	if err != nil {
		d.zr = nil
		return &FrameError{Reason: "not gzip"}
	}
	d.zr.Multistream(false)
	d.out.Reset()
	d.lim = io.LimitedReader{R: d.zr, N: d.maxDecompressed + 1}
	n, err := d.out.ReadFrom(&d.lim)
	if err != nil {
		return &FrameError{Reason: "corrupt gzip stream"}
	}
	if n > d.maxDecompressed {
		return &FrameError{Reason: "decompresses to more than " + strconv.FormatInt(d.maxDecompressed, 10) + " bytes"}
	}
	target := f.Data
	if decodeFrameFast(d.out.Bytes(), f) {
		// decoded without reflection
	} else if err := json.Unmarshal(d.out.Bytes(), f); err != nil {
		if derr := decodeLoose(d.out.Bytes(), f, target, err); derr != nil {
			return derr
		}
	}
	// Don't let one huge frame pin memory for the life of the connection.
	if d.out.Cap() > 1<<20 {
		d.out = bytes.Buffer{}
	}
	if d.raw.Cap() > 1<<20 {
		d.raw = bytes.Buffer{}
	}
	return nil
}

// decodeLoose reads a frame whose strict decoding failed. If the envelope
// itself is not JSON it returns a *FrameError; if only the message data is
// broken it fills f (and target, when given) with the string fields that
// can be read and returns a *MessageDecodeError.
func decodeLoose(js []byte, f *inFrame, target *Message, strictErr error) error {
	var env struct {
		ID     string          `json:"id"`
		Action string          `json:"action"`
		Data   json.RawMessage `json:"data"`
		Error  *errorBody      `json:"error"`
	}
	if err := json.Unmarshal(js, &env); err != nil || len(env.Data) == 0 || env.Data[0] != '{' {
		return &FrameError{Reason: "not a JSON frame (" + describeJSONError(strictErr, len(js)) + ")"}
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(env.Data, &fields); err != nil {
		return &FrameError{Reason: "not a JSON frame (" + describeJSONError(err, len(js)) + ")"}
	}
	str := func(k string) string {
		var s string
		_ = json.Unmarshal(fields[k], &s)
		return s
	}
	if target == nil {
		target = new(Message)
	}
	*target = Message{Type: str("type"), ConversationID: str("conversation_id"), UserID: str("user_id"),
		SessionID: str("session_id"), MessageID: str("message_id"), Category: Category(str("category")),
		Data: str("data"), DataBase64: str("data_base64"), Status: MessageStatus(str("status")), Source: str("source"),
		QuoteMessageID: str("quote_message_id"), RepresentativeID: str("representative_id")}
	*f = inFrame{ID: env.ID, Action: env.Action, Data: target, Error: env.Error}
	return &MessageDecodeError{MessageID: target.MessageID, Reason: describeJSONError(strictErr, len(js))}
}

var gzipWriters = sync.Pool{New: func() any {
	w, _ := gzip.NewWriterLevel(io.Discard, gzip.BestSpeed)
	return w
}}

// encodeFrame gzips the JSON of f.
func encodeFrame(f outFrame) ([]byte, error) {
	js, err := json.Marshal(f)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	zw := gzipWriters.Get().(*gzip.Writer)
	defer gzipWriters.Put(zw)
	zw.Reset(&buf)
	if _, err := zw.Write(js); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

var errNotBinary = errors.New("mixin: blaze frame: not a binary message")

// frameKind is what an inbound frame is to the loop.
type frameKind uint8

const (
	frameIgnored frameKind = iota // a reply without content, or a push we do not know
	frameMessage
	frameReceipt
	frameStatus // a status update of the bot's own send: not a message
	frameOwn    // a message of the bot itself (another of its sessions)
)

// classify says what a decoded, error-free push is. The official apps
// treat a CREATE_MESSAGE from their own user with an empty category as the
// status update of a message they sent, not as a message (android-app
// websocket/ChatWebSocket.kt handleReceiveMessage; ios-app
// WebSocketService receiveMessage); the reply to a blaze CREATE_MESSAGE,
// even one that comes after its waiter gave up, has that shape too.
func classify(f *inFrame, self string) frameKind {
	m := f.Data
	switch {
	case m == nil || m.MessageID == "":
		return frameIgnored
	case f.Action == actionAckReceipt:
		return frameReceipt
	case f.Action != actionCreate:
		return frameIgnored
	case m.Category == "":
		return frameStatus
	case m.UserID == self:
		return frameOwn
	}
	return frameMessage
}
