package mixintest

import (
	"slices"
	"testing"

	"github.com/gomixin/mixin"
)

// FuzzAppCheck: the app check reads what any client sends, so no payload
// may make it panic, and every finding names its field, what the apps do
// and its source. The attachment the payload names is the fuzzed bytes
// themselves, so the content check (decryption, image headers, container
// signatures) reads arbitrary input too.
func FuzzAppCheck(f *testing.F) {
	categories := make([]mixin.Category, 0, len(appRules)+3)
	for c := range appRules {
		categories = append(categories, c)
	}
	slices.Sort(categories)
	categories = append(categories, "WEBRTC_AUDIO_OFFER", "SIGNAL_TEXT", "PLAIN_HOLOGRAM")
	for i, tc := range ruleCases {
		f.Add(uint8(slices.Index(categories, tc.category)), []byte(tc.data), []byte(tc.data))
		if i%5 == 0 {
			f.Add(uint8(i), []byte(tc.data), pngBytes(f, 3, 2))
		}
	}
	f.Fuzz(func(t *testing.T, pick uint8, data, file []byte) {
		env := &checkEnv{
			userKnown:    func(id string) bool { return len(id)%2 == 0 },
			stickerKnown: func(id string) bool { return len(id)%2 == 1 },
			attachment:   func(string) ([]byte, bool) { return file, true },
		}
		c := categories[int(pick)%len(categories)]
		for _, p := range checkMessageIn(env, c, acMsg, data) {
			switch {
			case p.Kind != ProblemKindBroken && p.Kind != ProblemKindWarning && p.Kind != ProblemKindLimit:
				t.Fatalf("%s: kind %q", c, p.Kind)
			case p.Field == "" || p.Reason == "" || p.App == "" || p.Source == "":
				t.Fatalf("%s: incomplete problem %+v", c, p)
			}
		}
	})
}
