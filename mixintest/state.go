package mixintest

import (
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gomixin/mixin"
	"github.com/google/uuid"
)

// User is a Mixin user known to the emulator: the bot or a simulated user.
// Each has one Ed25519 session; its KeystoreJSON lets any client act as it.
type User struct {
	// UserID is the user id (app_id for the bot).
	UserID string
	// SessionID is the id of the user's only session.
	SessionID string
	// IdentityNumber is the user's Mixin id, unique on this server.
	IdentityNumber string
	// FullName is the display name.
	FullName string

	s         *Server
	key       ed25519.PrivateKey
	codeID    string
	createdAt time.Time
	isBot     bool
}

// Message is a message as stored and delivered by the emulator.
type Message struct {
	ConversationID   string
	UserID           string // sender
	SessionID        string // sender's session
	RecipientID      string
	MessageID        string
	Category         mixin.Category
	QuoteMessageID   string
	RepresentativeID string
	Status           mixin.MessageStatus
	Source           string
	Data             []byte // decoded payload
	Silent           bool
	ExpireIn         int64
	CreatedAt        time.Time
	UpdatedAt        time.Time
	// Plaintext is, for an ENCRYPTED_* message, the payload the
	// recipient's sessions decrypted (nil if they could not: the app check
	// reports it, see Server.Problems and Server.EncryptionProblems).
	Plaintext []byte
}

// MessageRequest is what a simulated user sends with User.Send.
type MessageRequest struct {
	ConversationID   string
	RecipientID      string
	MessageID        string
	Category         mixin.Category
	QuoteMessageID   string
	RepresentativeID string
	Data             []byte
	Silent           bool
}

// Conversation is a snapshot of a conversation, for assertions.
type Conversation struct {
	ConversationID string
	CreatorID      string
	Category       mixin.ConversationCategory
	Name           string
	Announcement   string
	CodeID         string
	IconURL        string
	ExpireIn       int64
	MuteUntil      map[string]time.Time
	Participants   []Participant
	CreatedAt      time.Time
}

// Participant is a member of a conversation with its role:
// mixin.ParticipantRoleOwner, mixin.ParticipantRoleAdmin or
// mixin.ParticipantRoleMember ("").
type Participant struct {
	UserID    string
	Role      mixin.ParticipantRole
	CreatedAt time.Time
}

// conversation is the mutable server-side record; guarded by Server.mu.
type conversation struct {
	id, creatorID, category, name, announcement, codeID, iconURL string
	expireIn                                                     int64
	muteUntil                                                    map[string]time.Time
	participants                                                 []*Participant
	createdAt                                                    time.Time
}

func (c *conversation) participant(userID string) *Participant {
	for _, p := range c.participants {
		if p.UserID == userID {
			return p
		}
	}
	return nil
}

func (c *conversation) snapshot() Conversation {
	out := Conversation{
		ConversationID: c.id, CreatorID: c.creatorID, Category: mixin.ConversationCategory(c.category), Name: c.name,
		Announcement: c.announcement, CodeID: c.codeID, IconURL: c.iconURL,
		ExpireIn: c.expireIn, CreatedAt: c.createdAt,
		MuteUntil: make(map[string]time.Time, len(c.muteUntil)),
	}
	for k, v := range c.muteUntil {
		out.MuteUntil[k] = v
	}
	for _, p := range c.participants {
		out.Participants = append(out.Participants, *p)
	}
	return out
}

// pendingEntry is one item of a user's blaze queue: a delivered message or a
// receipt for a message the user sent. Both are keyed by message id.
type pendingEntry struct {
	messageID string
	msg       *Message    // set for messages
	receipt   *receiptRec // set for receipts
	acked     atomic.Bool // set under Server.mu; read by blaze writers
	holder    *blazeConn  // FanoutOne: the connection it was pushed to; guarded by Server.mu
}

type receiptRec struct {
	MessageID string
	Status    string
	UpdatedAt time.Time
}

// mailbox is per-user delivery state; guarded by Server.mu.
type mailbox struct {
	inbox    []Message
	received map[string]*Message        // message id -> message delivered to this user
	pending  []*pendingEntry            // in arrival order; may hold acked entries until compacted
	byID     map[string][]*pendingEntry // unacked entries by message id
	live     int                        // unacked entries
	notify   chan struct{}              // closed and replaced on every inbox append
	conns    map[*blazeConn]struct{}
	turn     uint64       // FanoutOne round-robin
	pushes   atomic.Int64 // pushes written to the user's connections, re-pushes included
}

func newMailbox() *mailbox {
	return &mailbox{
		received: make(map[string]*Message),
		byID:     make(map[string][]*pendingEntry),
		notify:   make(chan struct{}),
		conns:    make(map[*blazeConn]struct{}),
	}
}

// attachment is an uploaded (or announced) attachment.
type attachment struct {
	id        string
	ownerID   string
	createdAt time.Time
	uploaded  bool
	size      int64
	sha256    string
	data      []byte
}

// Attachment describes an attachment known to the server.
type Attachment struct {
	// AttachmentID is the attachment's id.
	AttachmentID string
	// OwnerID is the user who created it (the API answers no uploader).
	OwnerID   string
	Uploaded  bool
	Size      int64
	SHA256    string // lowercase hex
	Data      []byte // nil when WithDiscardUploads is set
	CreatedAt time.Time
}

func newUser(s *Server, id, fullName, identity string, now time.Time) *User {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		panic("mixintest: ed25519 key: " + err.Error()) // crypto/rand never fails
	}
	return &User{
		UserID: id, SessionID: uuid.NewString(), IdentityNumber: identity, FullName: fullName,
		s: s, key: key, codeID: uuid.NewString(), createdAt: now,
	}
}

// KeystoreJSON returns the user's keystore in the current dashboard format
// ({"app_id","session_id","server_public_key","session_private_key"}), so any
// client can act as this user.
func (u *User) KeystoreJSON() []byte {
	b, _ := json.Marshal(u.keystore())
	return b
}

type keystoreJSON struct {
	AppID             string `json:"app_id"`
	SessionID         string `json:"session_id"`
	ServerPublicKey   string `json:"server_public_key"`
	SessionPrivateKey string `json:"session_private_key"`
}

func (u *User) keystore() keystoreJSON {
	return keystoreJSON{
		AppID:             u.UserID,
		SessionID:         u.SessionID,
		ServerPublicKey:   hex.EncodeToString(u.s.serverKey.Public().(ed25519.PublicKey)),
		SessionPrivateKey: hex.EncodeToString(u.key.Seed()),
	}
}

// ContactConversationID returns the deterministic id of the contact
// conversation between u and the user other.
func (u *User) ContactConversationID(other string) string {
	return uniqueConversationID(u.UserID, other)
}

// sessionPublicKey is the session's X25519 public key, base64 RawURL, as the
// API publishes it in participant_sessions and sessions/fetch.
func (u *User) sessionPublicKey() string {
	h := sha512.Sum512(u.key.Seed())
	priv := h[:32]
	priv[0] &= 248
	priv[31] &= 127
	priv[31] |= 64
	k, err := ecdh.X25519().NewPrivateKey(priv)
	if err != nil {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString(k.PublicKey().Bytes())
}

// uniqueConversationID is the CONTACT conversation id: MD5 of the two ids in
// bytewise order, with the UUID version 3 and RFC 4122 variant bits.
func uniqueConversationID(a, b string) string {
	if a > b {
		a, b = b, a
	}
	sum := md5.Sum([]byte(a + b))
	sum[6] = (sum[6] & 0x0f) | 0x30
	sum[8] = (sum[8] & 0x3f) | 0x80
	return uuid.UUID(sum).String()
}

// validUUID reports whether s is a UUID in canonical lowercase form.
func validUUID(s string) bool {
	id, err := uuid.Parse(s)
	return err == nil && id.String() == s
}

func newIdentityNumber(n int) string { return fmt.Sprintf("%d", 37000000+n) }

func normID(s string) string { return strings.ToLower(strings.TrimSpace(s)) }
