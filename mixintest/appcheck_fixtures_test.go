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
		flagged  []string // what the check reports, as kind:field
	}{
		{"docs-card-legacy", mixin.CategoryAppCard, nil},
		{"docs-card-2024", mixin.CategoryAppCard, []string{"broken:actions"}}, // {"buttons": [...]}: neither app decodes it
		{"docs-image", mixin.CategoryPlainImage, nil},
		{"docs-video", mixin.CategoryPlainVideo, []string{"warning:duration"}}, // 60: the apps read milliseconds
		{"docs-file", mixin.CategoryPlainData, nil},
		{"docs-live", mixin.CategoryPlainLive, nil},
		{"docs-location", mixin.CategoryPlainLocation, nil},
		{"docs-sticker", mixin.CategoryPlainSticker, []string{"broken:sticker_id"}}, // the placeholder "UUID"
		{"docs-contact", mixin.CategoryPlainContact, []string{"broken:user_id"}},    // likewise
		{"docs-buttons", mixin.CategoryAppButtonGroup, nil},
		{"docs-transfer", mixin.CategorySystemAccountSnapshot, nil},
		{"android-SystemConversationMessagePayload-add", mixin.CategorySystemConversation, nil},
		{"android-PinMessagePayload", mixin.CategoryMessagePin, nil},
		{"android-RecallMessagePayload", mixin.CategoryMessageRecall, nil},
		{"ios-AppCardData-V1", mixin.CategoryAppCard, nil},
		{"ios-TransferLiveData", mixin.CategoryPlainLive, nil},
		{"ios-TranscriptMessage", mixin.CategoryPlainTranscript, nil},
		{"ios-TransferAttachmentData-video", mixin.CategoryPlainVideo, nil},                    // numeric strings are read
		{"ios-AppCardData-V1-minimal", mixin.CategoryAppCard, nil},                             // actions and updated_at optional
		{"flutter-location-equator", mixin.CategoryPlainLocation, []string{"broken:latitude"}}, // Desktop drops it
	}
	for _, tc := range cases {
		data, err := os.ReadFile(filepath.Join("..", "testdata", "official", tc.file+".json"))
		if err != nil {
			t.Fatal(err)
		}
		fields := findings(checkMessage(tc.category, transcriptID, data))
		if !slices.Equal(fields, tc.flagged) {
			t.Errorf("%s: flagged %v, want %v", tc.file, fields, tc.flagged)
		}
	}
}
