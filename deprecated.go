package mixin

import (
	"context"
	"database/sql"
	"time"
)

// The names below were settled for 1.0 (see CHANGELOG.md, "Names settled
// for 1.0"). The old names stay as aliases until 1.0 so that code written
// before then still builds; nothing in this module uses them.

// Text is the old name of [TextPayload].
//
// Deprecated: use TextPayload. Kept until 1.0 so code written before the names
// settled still builds.
type Text = TextPayload

// Post is the old name of [PostPayload].
//
// Deprecated: use PostPayload. Kept until 1.0 so code written before the names
// settled still builds.
type Post = PostPayload

// ButtonGroup is the old name of [ButtonGroupPayload].
//
// Deprecated: use ButtonGroupPayload. Kept until 1.0 so code written before the
// names settled still builds.
type ButtonGroup = ButtonGroupPayload

// Transcript is the old name of [TranscriptPayload].
//
// Deprecated: use TranscriptPayload. Kept until 1.0 so code written before the
// names settled still builds.
type Transcript = TranscriptPayload

// AckDelivered is the old name of [AckStatusDelivered].
//
// Deprecated: use AckStatusDelivered. Kept until 1.0 so code written before the
// names settled still builds.
const AckDelivered = AckStatusDelivered

// AckRead is the old name of [AckStatusRead].
//
// Deprecated: use AckStatusRead. Kept until 1.0 so code written before the
// names settled still builds.
const AckRead = AckStatusRead

// CircleAdd is the old name of [CircleActionAdd].
//
// Deprecated: use CircleActionAdd. Kept until 1.0 so code written before the
// names settled still builds.
const CircleAdd = CircleActionAdd

// CircleRemove is the old name of [CircleActionRemove].
//
// Deprecated: use CircleActionRemove. Kept until 1.0 so code written before the
// names settled still builds.
const CircleRemove = CircleActionRemove

// StateConnecting is the old name of [ConnStateConnecting].
//
// Deprecated: use ConnStateConnecting. Kept until 1.0 so code written before
// the names settled still builds.
const StateConnecting = ConnStateConnecting

// StateConnected is the old name of [ConnStateConnected].
//
// Deprecated: use ConnStateConnected. Kept until 1.0 so code written before the
// names settled still builds.
const StateConnected = ConnStateConnected

// StateDisconnected is the old name of [ConnStateDisconnected].
//
// Deprecated: use ConnStateDisconnected. Kept until 1.0 so code written before
// the names settled still builds.
const StateDisconnected = ConnStateDisconnected

// ConversationContact is the old name of [ConversationCategoryContact].
//
// Deprecated: use ConversationCategoryContact. Kept until 1.0 so code written
// before the names settled still builds.
const ConversationContact = ConversationCategoryContact

// ConversationGroup is the old name of [ConversationCategoryGroup].
//
// Deprecated: use ConversationCategoryGroup. Kept until 1.0 so code written
// before the names settled still builds.
const ConversationGroup = ConversationCategoryGroup

// DecryptMalformed is the old name of [DecryptReasonMalformed].
//
// Deprecated: use DecryptReasonMalformed. Kept until 1.0 so code written before
// the names settled still builds.
const DecryptMalformed = DecryptReasonMalformed

// DecryptNotForSession is the old name of [DecryptReasonNotForSession].
//
// Deprecated: use DecryptReasonNotForSession. Kept until 1.0 so code written
// before the names settled still builds.
const DecryptNotForSession = DecryptReasonNotForSession

// DecryptBadKey is the old name of [DecryptReasonBadKey].
//
// Deprecated: use DecryptReasonBadKey. Kept until 1.0 so code written before
// the names settled still builds.
const DecryptBadKey = DecryptReasonBadKey

// DecryptAuthFailed is the old name of [DecryptReasonAuthFailed].
//
// Deprecated: use DecryptReasonAuthFailed. Kept until 1.0 so code written
// before the names settled still builds.
const DecryptAuthFailed = DecryptReasonAuthFailed

// DecryptUnsupportedKeystore is the old name of
// [DecryptReasonUnsupportedKeystore].
//
// Deprecated: use DecryptReasonUnsupportedKeystore. Kept until 1.0 so code
// written before the names settled still builds.
const DecryptUnsupportedKeystore = DecryptReasonUnsupportedKeystore

// SourceEverybody is the old name of [MessageSourceEverybody].
//
// Deprecated: use MessageSourceEverybody. Kept until 1.0 so code written before
// the names settled still builds.
const SourceEverybody = MessageSourceEverybody

// SourceContacts is the old name of [MessageSourceContacts].
//
// Deprecated: use MessageSourceContacts. Kept until 1.0 so code written before
// the names settled still builds.
const SourceContacts = MessageSourceContacts

// SourceNobody is the old name of [MessageSourceNobody].
//
// Deprecated: use MessageSourceNobody. Kept until 1.0 so code written before
// the names settled still builds.
const SourceNobody = MessageSourceNobody

// StatusSent is the old name of [MessageStatusSent].
//
// Deprecated: use MessageStatusSent. Kept until 1.0 so code written before the
// names settled still builds.
const StatusSent = MessageStatusSent

// StatusDelivered is the old name of [MessageStatusDelivered].
//
// Deprecated: use MessageStatusDelivered. Kept until 1.0 so code written before
// the names settled still builds.
const StatusDelivered = MessageStatusDelivered

// StatusRead is the old name of [MessageStatusRead].
//
// Deprecated: use MessageStatusRead. Kept until 1.0 so code written before the
// names settled still builds.
const StatusRead = MessageStatusRead

// RoleOwner is the old name of [ParticipantRoleOwner].
//
// Deprecated: use ParticipantRoleOwner. Kept until 1.0 so code written before
// the names settled still builds.
const RoleOwner = ParticipantRoleOwner

// RoleAdmin is the old name of [ParticipantRoleAdmin].
//
// Deprecated: use ParticipantRoleAdmin. Kept until 1.0 so code written before
// the names settled still builds.
const RoleAdmin = ParticipantRoleAdmin

// RoleMember is the old name of [ParticipantRoleMember].
//
// Deprecated: use ParticipantRoleMember. Kept until 1.0 so code written before
// the names settled still builds.
const RoleMember = ParticipantRoleMember

// RelationshipAdd is the old name of [RelationshipActionAdd].
//
// Deprecated: use RelationshipActionAdd. Kept until 1.0 so code written before
// the names settled still builds.
const RelationshipAdd = RelationshipActionAdd

// RelationshipUpdate is the old name of [RelationshipActionUpdate].
//
// Deprecated: use RelationshipActionUpdate. Kept until 1.0 so code written
// before the names settled still builds.
const RelationshipUpdate = RelationshipActionUpdate

// RelationshipRemove is the old name of [RelationshipActionRemove].
//
// Deprecated: use RelationshipActionRemove. Kept until 1.0 so code written
// before the names settled still builds.
const RelationshipRemove = RelationshipActionRemove

// RelationshipBlock is the old name of [RelationshipActionBlock].
//
// Deprecated: use RelationshipActionBlock. Kept until 1.0 so code written
// before the names settled still builds.
const RelationshipBlock = RelationshipActionBlock

// RelationshipUnblock is the old name of [RelationshipActionUnblock].
//
// Deprecated: use RelationshipActionUnblock. Kept until 1.0 so code written
// before the names settled still builds.
const RelationshipUnblock = RelationshipActionUnblock

// OpenTx is the old name of [CurrentTx].
//
// Deprecated: use CurrentTx. Kept until 1.0 so code written before the names
// settled still builds.
func OpenTx(ctx context.Context) (Store, *sql.Tx, bool) { return CurrentTx(ctx) }

// WithTimeout is the old name of [WithRequestTimeout].
//
// Deprecated: use WithRequestTimeout. Kept until 1.0 so code written before the
// names settled still builds.
func WithTimeout(d time.Duration) Option { return WithRequestTimeout(d) }

// WithRetry is the old name of [WithRequestRetry].
//
// Deprecated: use WithRequestRetry. Kept until 1.0 so code written before the
// names settled still builds.
func WithRetry(r Retry) Option { return WithRequestRetry(r) }

// WithMaxRetryAfter is the old name of [WithMaxRequestRetryAfter].
//
// Deprecated: use WithMaxRequestRetryAfter. Kept until 1.0 so code written
// before the names settled still builds.
func WithMaxRetryAfter(d time.Duration) Option { return WithMaxRequestRetryAfter(d) }

// WithReplyTimeout is the old name of [WithSocketReplyTimeout].
//
// Deprecated: use WithSocketReplyTimeout. Kept until 1.0 so code written before
// the names settled still builds.
func WithReplyTimeout(d time.Duration) BlazeOption { return WithSocketReplyTimeout(d) }

// WithWorkers is the old name of [WithHandlerWorkers].
//
// Deprecated: use WithHandlerWorkers. Kept until 1.0 so code written before the
// names settled still builds.
func WithWorkers(n int) BlazeOption { return WithHandlerWorkers(n) }

// WithQueueSize is the old name of [WithHandlerQueueSize].
//
// Deprecated: use WithHandlerQueueSize. Kept until 1.0 so code written before
// the names settled still builds.
func WithQueueSize(n int) BlazeOption { return WithHandlerQueueSize(n) }

// WithSize is the old name of [WithUploadSize].
//
// Deprecated: use WithUploadSize. Kept until 1.0 so code written before the
// names settled still builds.
func WithSize(n int64) UploadOption { return WithUploadSize(n) }

// WithMimeType is the old name of [WithUploadMimeType].
//
// Deprecated: use WithUploadMimeType. Kept until 1.0 so code written before the
// names settled still builds.
func WithMimeType(mime string) UploadOption { return WithUploadMimeType(mime) }

// Circles is the old name of [Client.ReadCircles].
//
// Deprecated: use ReadCircles. Kept until 1.0 so code written before the names
// settled still builds.
func (c *Client) Circles(ctx context.Context) ([]Circle, error) { return c.ReadCircles(ctx) }

// CircleConversations is the old name of [Client.ReadCircleConversations].
//
// Deprecated: use ReadCircleConversations. Kept until 1.0 so code written
// before the names settled still builds.
func (c *Client) CircleConversations(ctx context.Context, circleID string, q CircleConversationsQuery) ([]ConversationCircle, error) {
	return c.ReadCircleConversations(ctx, circleID, q)
}

// Friends is the old name of [Client.ReadFriends].
//
// Deprecated: use ReadFriends. Kept until 1.0 so code written before the names
// settled still builds.
func (c *Client) Friends(ctx context.Context) ([]User, error) { return c.ReadFriends(ctx) }

// BlockingUsers is the old name of [Client.ReadBlockingUsers].
//
// Deprecated: use ReadBlockingUsers. Kept until 1.0 so code written before the
// names settled still builds.
func (c *Client) BlockingUsers(ctx context.Context) ([]User, error) { return c.ReadBlockingUsers(ctx) }
