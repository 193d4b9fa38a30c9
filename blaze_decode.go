package mixin

import (
	"strconv"
	"strings"
)

// decodeFrameFast decodes the common shape of a server frame (an envelope
// whose data is a message view of plain ASCII strings, numbers, booleans
// and times) without reflection, taking every string from one copy of the
// frame. It gives exactly what encoding/json gives, or reports false and
// leaves f for encoding/json to fill: on anything it does not handle
// itself (escapes, non-ASCII, nested values, an error object, keys that
// differ only in case, malformed JSON) it does not decide. The fuzz test
// FuzzFrameDecodeFast holds it to encoding/json.
func decodeFrameFast(js []byte, f *inFrame) bool {
	p := fastScan{b: js, s: string(js)}
	target := f.Data
	out := *f // keys that are absent leave f as it was, as with encoding/json
	ok := p.object(func(key string) bool {
		switch key {
		case "id":
			return p.strInto(&out.ID)
		case "action":
			return p.strInto(&out.Action)
		case "data":
			if p.null() {
				out.Data = nil
				return true
			}
			if target == nil {
				target = new(Message)
			}
			out.Data = target
			return p.message(target)
		case "error":
			return p.null() && setNil(&out.Error)
		}
		return p.unknown(key, "id", "action", "data", "error")
	})
	if !ok || !p.end() {
		if target != nil {
			*target = Message{}
		}
		return false
	}
	*f = out
	return true
}

func setNil(e **errorBody) bool { *e = nil; return true }

// fastScan is a cursor over one JSON text; s is the same bytes as a
// string, so decoded strings share it.
type fastScan struct {
	b []byte
	s string
	i int
}

func (p *fastScan) ws() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// lit consumes the byte c after optional whitespace.
func (p *fastScan) lit(c byte) bool {
	p.ws()
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

// word consumes the literal w (true, false, null) after optional
// whitespace.
func (p *fastScan) word(w string) bool {
	p.ws()
	if strings.HasPrefix(p.s[p.i:], w) {
		p.i += len(w)
		return true
	}
	return false
}

func (p *fastScan) null() bool { return p.word("null") }

// end reports that only whitespace is left.
func (p *fastScan) end() bool {
	p.ws()
	return p.i == len(p.b)
}

// str reads a string of printable ASCII without escapes.
func (p *fastScan) str() (string, bool) {
	p.ws()
	if p.i >= len(p.b) || p.b[p.i] != '"' {
		return "", false
	}
	start := p.i + 1
	for j := start; j < len(p.b); j++ {
		switch c := p.b[j]; {
		case c == '"':
			p.i = j + 1
			return p.s[start:j], true
		case c == '\\' || c < 0x20 || c >= 0x80:
			return "", false
		}
	}
	return "", false
}

// strInto reads a string or null (which leaves *dst as it is, as
// encoding/json does).
func (p *fastScan) strInto(dst *string) bool {
	if p.null() {
		return true
	}
	s, ok := p.str()
	*dst = s
	return ok
}

// object reads an object, calling field for each key with the cursor on
// its value; field reads the value.
func (p *fastScan) object(field func(key string) bool) bool {
	if !p.lit('{') {
		return false
	}
	if p.lit('}') {
		return true
	}
	for {
		key, ok := p.str()
		if !ok || !p.lit(':') || !field(key) {
			return false
		}
		if p.lit(',') {
			continue
		}
		return p.lit('}')
	}
}

// unknown skips the simple value of a key the target does not have; a key
// that matches a known one but for case is encoding/json's to decide.
func (p *fastScan) unknown(key string, known ...string) bool {
	for _, k := range known {
		if strings.EqualFold(key, k) {
			return false
		}
	}
	p.ws()
	if p.i >= len(p.b) {
		return false
	}
	switch p.b[p.i] {
	case '"':
		_, ok := p.str()
		return ok
	case 't':
		return p.word("true")
	case 'f':
		return p.word("false")
	case 'n':
		return p.null()
	}
	_, ok := p.int()
	return ok
}

// int reads an integer in JSON's grammar (no fraction, no exponent) that
// fits an int64.
func (p *fastScan) int() (int64, bool) {
	p.ws()
	start := p.i
	if p.i < len(p.b) && p.b[p.i] == '-' {
		p.i++
	}
	digits := p.i
	for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
		p.i++
	}
	n := p.i - digits
	if n == 0 || (n > 1 && p.b[digits] == '0') {
		return 0, false
	}
	if p.i < len(p.b) && (p.b[p.i] == '.' || p.b[p.i] == 'e' || p.b[p.i] == 'E') {
		return 0, false
	}
	v, err := strconv.ParseInt(p.s[start:p.i], 10, 64)
	return v, err == nil
}

// bool reads true, false or null (which leaves *dst as it is).
func (p *fastScan) bool(dst *bool) bool {
	switch {
	case p.word("true"):
		*dst = true
	case p.word("false"):
		*dst = false
	default:
		return p.null()
	}
	return true
}

// messageKeys are the JSON keys of Message, in the order of its fields.
var messageKeys = []string{"type", "representative_id", "quote_message_id", "conversation_id", "user_id", "session_id",
	"message_id", "category", "data", "data_base64", "status", "source", "silent", "expire_in", "created_at", "updated_at"}

// message reads a message view into m.
func (p *fastScan) message(m *Message) bool {
	return p.object(func(key string) bool {
		switch key {
		case "type":
			return p.strInto(&m.Type)
		case "representative_id":
			return p.strInto(&m.RepresentativeID)
		case "quote_message_id":
			return p.strInto(&m.QuoteMessageID)
		case "conversation_id":
			return p.strInto(&m.ConversationID)
		case "user_id":
			return p.strInto(&m.UserID)
		case "session_id":
			return p.strInto(&m.SessionID)
		case "message_id":
			return p.strInto(&m.MessageID)
		case "category":
			return p.strInto((*string)(&m.Category))
		case "data":
			return p.strInto(&m.Data)
		case "data_base64":
			return p.strInto(&m.DataBase64)
		case "status":
			return p.strInto((*string)(&m.Status))
		case "source":
			return p.strInto(&m.Source)
		case "silent":
			return p.bool(&m.Silent)
		case "expire_in":
			if p.null() {
				return true
			}
			v, ok := p.int()
			m.ExpireIn = v
			return ok
		case "created_at", "updated_at":
			return p.time(key, m)
		}
		return p.unknown(key, messageKeys...)
	})
}

// time reads a time the way time.Time's UnmarshalJSON does (RFC 3339, or
// null to leave it as it is).
func (p *fastScan) time(key string, m *Message) bool {
	if p.null() {
		return true
	}
	p.ws()
	start := p.i
	if _, ok := p.str(); !ok {
		return false
	}
	t := &m.CreatedAt
	if key == "updated_at" {
		t = &m.UpdatedAt
	}
	return t.UnmarshalJSON(p.b[start:p.i]) == nil
}
