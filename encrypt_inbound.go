package mixin

import "encoding/base64"

// DecryptMessage replaces the ciphertext of an ENCRYPTED_* message with its
// plaintext, in place: Category becomes the PLAIN_* counterpart, Data and
// DataBase64 hold the decrypted payload and Encrypted is set. Other messages
// are left alone. It fails with a [*DecryptError] (matching
// [ErrUndecryptable]) and leaves m unchanged when the message cannot be
// decrypted; a legacy RSA keystore always fails, with Reason
// DecryptReasonUnsupportedKeystore.
//
// The blaze loop calls it before any handler sees a message.
func (c *Client) DecryptMessage(m *Message) error {
	if m == nil || !m.Category.Encrypted() {
		return nil
	}
	k, err := c.e2eKey()
	if err != nil {
		return &DecryptError{MessageID: m.MessageID, Category: m.Category, Reason: DecryptReasonUnsupportedKeystore, Err: err}
	}
	raw, err := m.Bytes()
	if err != nil {
		return &DecryptError{MessageID: m.MessageID, Category: m.Category, Reason: DecryptReasonMalformed, Detail: "data is not base64"}
	}
	plain, derr := openEnvelope(k.priv, k.sessionID, raw)
	if derr != nil {
		derr.MessageID, derr.Category = m.MessageID, m.Category
		return derr
	}
	m.Category = m.Category.Plain()
	m.DataBase64 = base64.RawURLEncoding.EncodeToString(plain)
	m.Data = base64.StdEncoding.EncodeToString(plain)
	m.Encrypted = true
	return nil
}

// prepareInbound is what the blaze loop does with a message before its
// handler: keep the conversation cache current and decrypt ENCRYPTED_*
// messages. An error means the message goes to the dead-letter hook.
func (c *Client) prepareInbound(m *Message) error {
	if m.Category == CategorySystemConversation {
		c.observeSystemConversation(m)
		return nil
	}
	return c.DecryptMessage(m)
}
