package mixin

import "time"

// SystemConversationAction is what happened in a SYSTEM_CONVERSATION
// message.
type SystemConversationAction string

// System conversation actions.
const (
	SystemConversationActionJoin   SystemConversationAction = "JOIN"
	SystemConversationActionExit   SystemConversationAction = "EXIT"
	SystemConversationActionAdd    SystemConversationAction = "ADD"
	SystemConversationActionRemove SystemConversationAction = "REMOVE"
	SystemConversationActionCreate SystemConversationAction = "CREATE"
	SystemConversationActionUpdate SystemConversationAction = "UPDATE"
	SystemConversationActionRole   SystemConversationAction = "ROLE"
	SystemConversationActionExpire SystemConversationAction = "EXPIRE"
)

// SystemConversationPayload is the inbound SYSTEM_CONVERSATION payload. The
// actor is UserID when set, otherwise the message's sender; the target is
// ParticipantID.
type SystemConversationPayload struct {
	Action        SystemConversationAction `json:"action"`
	ParticipantID string                   `json:"participant_id"`
	UserID        string                   `json:"user_id,omitempty"`
	Role          ParticipantRole          `json:"role,omitempty"`
	ExpireIn      int64                    `json:"expire_in,omitempty"` // seconds
}

// Category returns SYSTEM_CONVERSATION.
func (SystemConversationPayload) Category() Category { return CategorySystemConversation }

func (SystemConversationPayload) payload() {}

// Validate refuses the payload: only the API sends SYSTEM_CONVERSATION.
func (p SystemConversationPayload) Validate() error { return inboundOnly(p.Category()) }

// AccountSnapshotPayload is the inbound SYSTEM_ACCOUNT_SNAPSHOT payload: a
// legacy transfer. Amount is a decimal string, negative when outgoing. The
// counter-party is OpponentID or CounterUserID, whichever the server sent;
// see [AccountSnapshotPayload.Counterparty].
//
// (The docs name it opponent_id; the official Go and Node SDK types,
// counter_user_id.)
type AccountSnapshotPayload struct {
	Type          string    `json:"type"` // "transfer"
	SnapshotID    string    `json:"snapshot_id"`
	OpponentID    string    `json:"opponent_id,omitempty"`
	CounterUserID string    `json:"counter_user_id,omitempty"`
	AssetID       string    `json:"asset_id"`
	Amount        string    `json:"amount"`
	TraceID       string    `json:"trace_id"`
	Memo          string    `json:"memo"`
	CreatedAt     time.Time `json:"created_at"`
}

// Category returns SYSTEM_ACCOUNT_SNAPSHOT.
func (AccountSnapshotPayload) Category() Category { return CategorySystemAccountSnapshot }

func (AccountSnapshotPayload) payload() {}

// Validate refuses the payload: only the API sends SYSTEM_ACCOUNT_SNAPSHOT.
func (p AccountSnapshotPayload) Validate() error { return inboundOnly(p.Category()) }

// Counterparty returns OpponentID, or CounterUserID when that is empty.
func (p AccountSnapshotPayload) Counterparty() string {
	if p.OpponentID != "" {
		return p.OpponentID
	}
	return p.CounterUserID
}

// SafeSnapshotPayload is the inbound SYSTEM_SAFE_SNAPSHOT payload: a
// transfer on the Safe network. Amount is a decimal string.
type SafeSnapshotPayload struct {
	Type            string    `json:"type"`
	SnapshotID      string    `json:"snapshot_id"`
	UserID          string    `json:"user_id"`
	OpponentID      string    `json:"opponent_id"`
	TransactionHash string    `json:"transaction_hash"`
	AssetID         string    `json:"asset_id"`
	Amount          string    `json:"amount"`
	Memo            string    `json:"memo"`
	CreatedAt       time.Time `json:"created_at"`
	DepositHash     string    `json:"deposit_hash,omitempty"`     // deposits only
	InscriptionHash string    `json:"inscription_hash,omitempty"` // inscriptions only
}

// Category returns SYSTEM_SAFE_SNAPSHOT.
func (SafeSnapshotPayload) Category() Category { return CategorySystemSafeSnapshot }

func (SafeSnapshotPayload) payload() {}

// Validate refuses the payload: only the API sends SYSTEM_SAFE_SNAPSHOT.
func (p SafeSnapshotPayload) Validate() error { return inboundOnly(p.Category()) }
