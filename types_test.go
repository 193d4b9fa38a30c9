package mixin

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSeedConversationsDecodeLosslessly decodes every conversation the seed
// documents show and encodes it back to the same JSON.
func TestSeedConversationsDecodeLosslessly(t *testing.T) {
	files, err := filepath.Glob("testdata/seed/conversation_*.json")
	require.NoError(t, err)
	require.Len(t, files, 8)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			raw, err := os.ReadFile(f)
			require.NoError(t, err)
			var conv Conversation
			dec := json.NewDecoder(bytesReader(raw))
			dec.DisallowUnknownFields()
			require.NoError(t, dec.Decode(&conv), "every seed field must have a home")
			back, err := json.Marshal(conv)
			require.NoError(t, err)
			assert.JSONEq(t, string(raw), string(back))
			assert.NotEmpty(t, conv.ConversationID)
			assert.NotEmpty(t, conv.Participants)
			assert.False(t, conv.CreatedAt.IsZero())
		})
	}
	raw, _ := os.ReadFile("testdata/seed/conversation_create_contact.json")
	var contact Conversation
	require.NoError(t, json.Unmarshal(raw, &contact))
	assert.Equal(t, UniqueConversationID(contact.Participants[0].UserID, contact.Participants[1].UserID), contact.ConversationID)
	assert.Len(t, contact.ParticipantSessions, 3)
}

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }
