package mixintest

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/gomixin/mixin"
)

// The app check on payloads as the docs and the official apps show them
// (testdata/official/SOURCES.md): the apps' own shapes pass; what the docs'
// examples get wrong is caught.
func TestAppCheckOfficialFixtures(t *testing.T) {
	const transcriptID = "c81e774b-a762-49f8-9114-35900be2c90e"
	cases := []struct {
		file     string
		category mixin.Category
		flagged  []string // fields the check reports
	}{
		{"docs-card-legacy", mixin.CategoryAppCard, nil},
		{"docs-card-2024", mixin.CategoryAppCard, []string{"actions"}}, // {"buttons": [...]}: neither app decodes it
		{"docs-image", mixin.CategoryPlainImage, nil},
		{"docs-video", mixin.CategoryPlainVideo, []string{"duration"}}, // 60: the apps read milliseconds
		{"docs-file", mixin.CategoryPlainData, nil},
		{"docs-live", mixin.CategoryPlainLive, nil},
		{"docs-location", mixin.CategoryPlainLocation, nil},
		{"docs-sticker", mixin.CategoryPlainSticker, []string{"sticker_id"}}, // the placeholder "UUID"
		{"docs-contact", mixin.CategoryPlainContact, []string{"user_id"}},    // likewise
		{"docs-buttons", mixin.CategoryAppButtonGroup, nil},
		{"docs-transfer", mixin.CategorySystemAccountSnapshot, nil},
		{"android-SystemConversationMessagePayload-add", mixin.CategorySystemConversation, nil},
		{"android-PinMessagePayload", mixin.CategoryMessagePin, nil},
		{"android-RecallMessagePayload", mixin.CategoryMessageRecall, nil},
		{"ios-AppCardData-V1", mixin.CategoryAppCard, nil},
		{"ios-TransferLiveData", mixin.CategoryPlainLive, nil},
		{"ios-TranscriptMessage", mixin.CategoryPlainTranscript, nil},
	}
	for _, tc := range cases {
		data, err := os.ReadFile(filepath.Join("..", "testdata", "official", tc.file+".json"))
		if err != nil {
			t.Fatal(err)
		}
		var fields []string
		for _, p := range checkMessage(tc.category, transcriptID, data) {
			fields = append(fields, p.Field)
		}
		if !slices.Equal(fields, tc.flagged) {
			t.Errorf("%s: flagged %v, want %v", tc.file, fields, tc.flagged)
		}
	}
}
