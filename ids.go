package mixin

import (
	"crypto/md5"
	"sort"
	"strconv"
	"strings"

	"github.com/google/uuid"
)

// NewUUID returns a random (version 4) UUID in the lower-case form the API
// uses, e.g. for a message id.
func NewUUID() string { return uuid.NewString() }

// UniqueConversationID returns the deterministic id of the CONTACT
// conversation between two users: a version-3 UUID of MD5(min‖max) of the
// two lower-case ids. Both users compute the same id.
func UniqueConversationID(userID, recipientID string) string {
	return pairUUID(strings.ToLower(userID), strings.ToLower(recipientID))
}

// pairUUID is the official clients' UniqueConversationId on a and b as
// given: a version-3 UUID of MD5(min‖max), compared bytewise.
func pairUUID(a, b string) string {
	if a > b {
		a, b = b, a
	}
	return nameUUID(a + b)
}

// UniqueObjectID returns a version-3 UUID of MD5 over args joined in order;
// use it for deterministic ids, e.g. UniqueObjectID(incoming.MessageID,
// "reply") so that a retried reply reuses its message id.
func UniqueObjectID(args ...string) string {
	return nameUUID(strings.Join(args, ""))
}

// GroupConversationID returns the deterministic id of a group created by
// ownerID with name, the participants and randomID (a UUID sent as
// random_id), as the official clients compute it. The name keeps its case;
// the ids are taken in their lower-case form.
func GroupConversationID(ownerID, name string, participants []string, randomID string) string {
	// bot-api-go-client utils.go GroupConversationId; docs
	// conversations/create.md; android-app ConversationIdUtil.
	g := pairUUID(strings.ToLower(ownerID), name)
	g = UniqueConversationID(g, strings.ToLower(randomID))
	ids := make([]string, len(participants))
	for i, p := range participants {
		ids[i] = strings.ToLower(p)
	}
	sort.Strings(ids)
	for _, p := range ids {
		g = UniqueConversationID(g, p)
	}
	return g
}

func nameUUID(s string) string {
	sum := md5.Sum([]byte(s))
	sum[6] = (sum[6] & 0x0f) | 0x30
	sum[8] = (sum[8] & 0x3f) | 0x80
	return uuid.UUID(sum).String()
}

// parseUUID validates a UUID field in its canonical 36-character form and
// returns it in lower case.
func parseUUID(field, s string) (string, error) {
	if s == "" {
		return "", &FieldError{Field: field, Reason: "is empty"}
	}
	if len(s) != 36 {
		return "", &FieldError{Field: field, Reason: "must be a UUID (36 characters), got " + strconvQuote(s)}
	}
	if _, err := uuid.Parse(s); err != nil {
		return "", &FieldError{Field: field, Reason: "must be a UUID, got " + strconvQuote(s)}
	}
	return strings.ToLower(s), nil
}

// parseSecretUUID is parseUUID for fields of a keystore file: a bad value
// is never quoted, since it may be a key pasted into the wrong field.
func parseSecretUUID(field, s string) (string, error) {
	if _, err := parseUUID(field, s); err != nil {
		reason := "must be a UUID (36 characters), got " + strconv.Itoa(len(s)) + " characters"
		if s == "" {
			reason = "is empty"
		}
		return "", &FieldError{Field: field, Reason: reason}
	}
	return strings.ToLower(s), nil
}

// parseUUIDs validates a list of ids: non-empty, each a UUID, no duplicates.
func parseUUIDs(field string, ids []string, maxN int) ([]string, error) {
	if len(ids) == 0 {
		return nil, &FieldError{Field: field, Reason: "is empty"}
	}
	if maxN > 0 && len(ids) > maxN {
		return nil, &FieldError{Field: field, Reason: "has " + strconv.Itoa(len(ids)) + " entries, at most " + strconv.Itoa(maxN) + " allowed"}
	}
	out := make([]string, len(ids))
	seen := make(map[string]struct{}, len(ids))
	for i, id := range ids {
		v, err := parseUUID(field+"["+strconv.Itoa(i)+"]", id)
		if err != nil {
			return nil, err
		}
		if _, dup := seen[v]; dup {
			return nil, &FieldError{Field: field + "[" + strconv.Itoa(i) + "]", Reason: "repeats " + v}
		}
		seen[v] = struct{}{}
		out[i] = v
	}
	return out, nil
}
