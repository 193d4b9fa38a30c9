package mixintest

import (
	"slices"
	"strings"
	"testing"

	"github.com/gomixin/mixin"
)

const (
	acID  = "7404c815-0393-4ea3-b9f2-b08efe4c72da"
	acMsg = "c81e774b-a762-49f8-9114-35900be2c90e"
)

// ruleCase holds one rule to one payload: want lists every finding as
// "kind:field", in order; nil means the payload must not be flagged.
type ruleCase struct {
	name     string
	category mixin.Category
	data     string
	want     []string
}

func att(fields string) string {
	return `{"attachment_id":"` + acID + `",` + fields + `}`
}

func card(fields string) string { return `{"app_id":"` + acID + `",` + fields + `}` }

func item(fields string) string {
	return `[{"transcript_id":"` + acMsg + `","message_id":"` + acID + `","category":"PLAIN_TEXT","created_at":"2022-08-19T03:06:17Z"` + fields + `}]`
}

var long37 = strings.Repeat("é", 37)

// ruleCases: each rule with payloads the apps show (must not be flagged)
// and payloads they show broken, or that are only warnings or over the
// docs' limits.
var ruleCases = []ruleCase{
	{"text", mixin.CategoryPlainText, "hello", nil},
	{"text empty: a warning, no parser refuses it", mixin.CategoryPlainText, "", []string{"warning:data"}},
	{"text blank", mixin.CategoryPlainText, "  \n", []string{"warning:data"}},
	{"text not UTF-8: iOS unknown", mixin.CategoryPlainText, "\xff\xfe", []string{"broken:data"}},
	{"post", mixin.CategoryPlainPost, "# title", nil},
	{"post empty", mixin.CategoryPlainPost, "", []string{"warning:data"}},

	{"image", mixin.CategoryPlainImage, att(`"mime_type":"image/png","width":10,"height":20,"size":5`), nil},
	{"image numeric strings: safeDecodeInt and Gson take them", mixin.CategoryPlainImage, att(`"mime_type":"image/png","width":"100","height":"20","size":5`), nil},
	{"image without mime_type: Android's media factory takes null", mixin.CategoryPlainImage, att(`"width":10,"height":20,"size":5`), nil},
	{"image std padded key and digest", mixin.CategoryPlainImage, att(`"width":10,"height":20,"size":5,"key":"AAECAw==","digest":"+/+/"`), nil},
	{"image width 0", mixin.CategoryPlainImage, att(`"mime_type":"image/png","width":0,"height":20,"size":5`), []string{"broken:width"}},
	{"image height missing", mixin.CategoryPlainImage, att(`"mime_type":"image/png","width":10,"size":5`), []string{"broken:height"}},
	{"image height negative: iOS only", mixin.CategoryPlainImage, att(`"mime_type":"image/png","width":10,"height":-1,"size":5`), []string{"broken:height"}},
	{"image width fraction: Android only", mixin.CategoryPlainImage, att(`"width":10.5,"height":20,"size":5`), []string{"broken:width"}},
	{"image width not numeric", mixin.CategoryPlainImage, att(`"width":"wide","height":20,"size":5`), []string{"broken:width"}},
	{"image without attachment_id", mixin.CategoryPlainImage, `{"mime_type":"image/png","width":10,"height":20,"size":5}`, []string{"broken:attachment_id"}},
	{"image empty attachment_id: shown, nothing to download", mixin.CategoryPlainImage, `{"attachment_id":"","width":10,"height":20,"size":5}`, []string{"warning:attachment_id"}},
	{"image attachment_id a number: iOS unknown", mixin.CategoryPlainImage, `{"attachment_id":5,"width":10,"height":20,"size":5}`, []string{"broken:attachment_id"}},
	{"image width 0.5: iOS truncates it to 0, Gson refuses it", mixin.CategoryPlainImage, att(`"width":0.5,"height":20,"size":5`), []string{"broken:width"}},
	{"image width \"0\"", mixin.CategoryPlainImage, att(`"width":"0","height":20,"size":5`), []string{"broken:width"}},
	{"image name a number: iOS unknown", mixin.CategoryPlainImage, att(`"width":10,"height":20,"size":5,"name":5`), []string{"broken:name"}},
	{"image key null: decodeIfPresent", mixin.CategoryPlainImage, att(`"width":10,"height":20,"size":5,"key":null,"digest":null`), nil},
	{"image without size", mixin.CategoryPlainImage, att(`"width":10,"height":20`), []string{"broken:size"}},
	{"image size as a string", mixin.CategoryPlainImage, att(`"width":10,"height":20,"size":"5"`), []string{"broken:size"}},
	{"image key in the URL alphabet", mixin.CategoryPlainImage, att(`"width":10,"height":20,"size":5,"key":"-_-_"`), []string{"broken:key"}},
	{"image digest unpadded", mixin.CategoryPlainImage, att(`"width":10,"height":20,"size":5,"digest":"AAECAw"`), []string{"broken:digest"}},
	{"image thumbnail not a string", mixin.CategoryPlainImage, att(`"width":10,"height":20,"size":5,"thumbnail":5`), []string{"broken:thumbnail"}},
	{"image not an object", mixin.CategoryPlainImage, `[1,2]`, []string{"broken:data"}},

	{"video", mixin.CategoryPlainVideo, att(`"mime_type":"video/mp4","width":1280,"height":720,"size":5,"duration":60000`), nil},
	{"video duration as a numeric string", mixin.CategoryPlainVideo, att(`"mime_type":"video/mp4","width":1280,"height":720,"size":5,"duration":"60000"`), nil},
	{"video under a second: a warning", mixin.CategoryPlainVideo, att(`"mime_type":"video/mp4","width":1280,"height":720,"size":5,"duration":60`), []string{"warning:duration"}},
	{"video without duration", mixin.CategoryPlainVideo, att(`"mime_type":"video/mp4","width":1280,"height":720,"size":5`), []string{"broken:duration"}},
	{"video without mime_type: Android invalid", mixin.CategoryPlainVideo, att(`"width":1280,"height":720,"size":5,"duration":60000`), []string{"broken:mime_type"}},
	{"video duration 0: a warning", mixin.CategoryPlainVideo, att(`"mime_type":"video/mp4","width":1280,"height":720,"size":5,"duration":0`), []string{"warning:duration"}},
	{"video duration with a fraction: Gson refuses a Long", mixin.CategoryPlainVideo, att(`"mime_type":"video/mp4","width":1280,"height":720,"size":5,"duration":1500.5`), []string{"broken:duration"}},
	{"video duration not a number", mixin.CategoryPlainVideo, att(`"mime_type":"video/mp4","width":1280,"height":720,"size":5,"duration":"long"`), []string{"broken:duration"}},
	{"video duration a boolean", mixin.CategoryPlainVideo, att(`"mime_type":"video/mp4","width":1280,"height":720,"size":5,"duration":true`), []string{"broken:duration"}},
	{"video mime_type null: Android invalid", mixin.CategoryPlainVideo, att(`"mime_type":null,"width":1280,"height":720,"size":5,"duration":60000`), []string{"broken:mime_type"}},
	{"video without width", mixin.CategoryPlainVideo, att(`"mime_type":"video/mp4","height":720,"size":5,"duration":60000`), []string{"broken:width"}},

	{"file", mixin.CategoryPlainData, att(`"mime_type":"text/plain","size":5,"name":"a.txt"`), nil},
	{"file of size 0", mixin.CategoryPlainData, att(`"mime_type":"text/plain","size":0,"name":"a.txt"`), []string{"broken:size"}},
	{"file without mime_type: Android invalid", mixin.CategoryPlainData, att(`"size":5,"name":"a.txt"`), []string{"broken:mime_type"}},
	{"file with an empty mime_type: a non-null string", mixin.CategoryPlainData, att(`"mime_type":"","size":5,"name":"a.txt"`), nil},
	{"file size as a numeric string: iOS needs an Int64", mixin.CategoryPlainData, att(`"mime_type":"text/plain","size":"5"`), []string{"broken:size"}},
	{"file without attachment_id", mixin.CategoryPlainData, `{"mime_type":"text/plain","size":5}`, []string{"broken:attachment_id"}},
	{"file not an object", mixin.CategoryPlainData, `"file"`, []string{"broken:data"}},

	{"audio", mixin.CategoryPlainAudio, att(`"mime_type":"audio/ogg","size":5,"duration":3000,"waveform":"AAECAwQ="`), nil},
	{"audio without duration: 00:00", mixin.CategoryPlainAudio, att(`"mime_type":"audio/ogg","size":5`), []string{"broken:duration"}},
	{"audio wave_form: no waveform", mixin.CategoryPlainAudio, att(`"mime_type":"audio/ogg","size":5,"duration":3000,"wave_form":"AAECAwQ="`), []string{"broken:wave_form"}},
	{"audio waveform unpadded", mixin.CategoryPlainAudio, att(`"mime_type":"audio/ogg","size":5,"duration":3000,"waveform":"AAECAwQ"`), []string{"broken:waveform"}},
	{"audio size with a fraction", mixin.CategoryPlainAudio, att(`"mime_type":"audio/ogg","size":1.5,"duration":3000`), []string{"broken:size"}},
	{"audio duration as a numeric string", mixin.CategoryPlainAudio, att(`"mime_type":"audio/ogg","size":5,"duration":"3000"`), nil},
	{"audio under a second: 00:00 on Android, a warning", mixin.CategoryPlainAudio, att(`"mime_type":"audio/ogg","size":5,"duration":3`), []string{"warning:duration"}},
	{"audio without mime_type: Android sets audio/ogg itself", mixin.CategoryPlainAudio, att(`"size":5,"duration":3000`), nil},

	{"sticker id in upper case", mixin.CategoryPlainSticker, `{"sticker_id":"` + strings.ToUpper(acID) + `"}`, nil},
	{"sticker by album and name: shown only to holders of the album", mixin.CategoryPlainSticker, `{"album_id":"` + acID + `","name":"wave"}`, []string{"warning:sticker_id"}},
	{"sticker by album only: iOS drops it, Android invalid", mixin.CategoryPlainSticker, `{"album_id":"` + acID + `"}`, []string{"broken:sticker_id"}},
	{"sticker id empty", mixin.CategoryPlainSticker, `{"sticker_id":""}`, []string{"broken:sticker_id"}},
	{"sticker id a number", mixin.CategoryPlainSticker, `{"sticker_id":5}`, []string{"broken:sticker_id"}},
	{"sticker id not a UUID", mixin.CategoryPlainSticker, `{"sticker_id":"wave"}`, []string{"broken:sticker_id"}},
	{"sticker id null", mixin.CategoryPlainSticker, `{"sticker_id":null}`, []string{"broken:sticker_id"}},
	{"encrypted sticker checked as plain", mixin.CategoryEncryptedSticker, `{}`, []string{"broken:sticker_id"}},
	{"contact", mixin.CategoryPlainContact, `{"user_id":"` + acID + `"}`, nil},
	{"contact id not a UUID", mixin.CategoryPlainContact, `{"user_id":"7000"}`, []string{"broken:user_id"}},
	{"contact without id", mixin.CategoryPlainContact, `{}`, []string{"broken:user_id"}},
	{"contact id a number", mixin.CategoryPlainContact, `{"user_id":7000}`, []string{"broken:user_id"}},

	{"location", mixin.CategoryPlainLocation, `{"latitude":31.2304,"longitude":121.4737,"name":"n"}`, nil},
	{"location on the equator: Desktop drops it", mixin.CategoryPlainLocation, `{"latitude":0,"longitude":2.5}`, []string{"broken:latitude"}},
	{"location on the prime meridian: Desktop drops it", mixin.CategoryPlainLocation, `{"latitude":51.5,"longitude":0}`, []string{"broken:longitude"}},
	{"location 0,0: Android and Desktop drop it", mixin.CategoryPlainLocation, `{"latitude":0,"longitude":0}`, []string{"broken:latitude"}},
	{"location without latitude", mixin.CategoryPlainLocation, `{"longitude":1}`, []string{"broken:latitude"}},
	{"location longitude as a string: iOS's Double refuses it", mixin.CategoryPlainLocation, `{"latitude":1,"longitude":"2"}`, []string{"broken:longitude"}},
	{"location latitude a boolean", mixin.CategoryPlainLocation, `{"latitude":true,"longitude":2}`, []string{"broken:latitude"}},
	{"location near the equator, not on it", mixin.CategoryPlainLocation, `{"latitude":1e-9,"longitude":-0.0001}`, nil},
	{"location negative zero is zero", mixin.CategoryPlainLocation, `{"latitude":-0.0,"longitude":2}`, []string{"broken:latitude"}},
	{"location with name, address and venue_type", mixin.CategoryPlainLocation, `{"latitude":1,"longitude":2,"name":"n","address":"a","venue_type":"food","extra":1}`, nil},
	{"location name a number: iOS unknown", mixin.CategoryPlainLocation, `{"latitude":1,"longitude":2,"name":5}`, []string{"broken:name"}},

	{"live", mixin.CategoryPlainLive, `{"width":650,"height":366,"thumb_url":"https://x.test/t.png","url":"https://x.test/l.m3u8"}`, nil},
	{"live width 0", mixin.CategoryPlainLive, `{"width":0,"height":366,"thumb_url":"https://x.test/t.png","url":"https://x.test/l.m3u8"}`, []string{"broken:width"}},
	{"live without height", mixin.CategoryPlainLive, `{"width":650,"thumb_url":"https://x.test/t.png","url":"https://x.test/l.m3u8"}`, []string{"broken:height"}},
	{"live without thumb_url: Android invalid", mixin.CategoryPlainLive, `{"width":650,"height":366,"url":"https://x.test/l.m3u8"}`, []string{"broken:thumb_url"}},
	{"live width as a numeric string: iOS's Int refuses it", mixin.CategoryPlainLive, `{"width":"650","height":366,"thumb_url":"https://x.test/t.png","url":"https://x.test/l.m3u8"}`, []string{"broken:width"}},
	{"live height negative: Android invalid", mixin.CategoryPlainLive, `{"width":650,"height":-1,"thumb_url":"https://x.test/t.png","url":"https://x.test/l.m3u8"}`, []string{"broken:height"}},
	{"live width with a fraction", mixin.CategoryPlainLive, `{"width":650.5,"height":366,"thumb_url":"https://x.test/t.png","url":"https://x.test/l.m3u8"}`, []string{"broken:width"}},
	{"live url a number: iOS unknown", mixin.CategoryPlainLive, `{"width":650,"height":366,"thumb_url":"https://x.test/t.png","url":5}`, []string{"broken:url"}},
	{"live shareable not a boolean", mixin.CategoryPlainLive, `{"width":650,"height":366,"thumb_url":"https://x.test/t.png","url":"https://x.test/l.m3u8","shareable":"yes"}`, []string{"broken:shareable"}},
	{"live without url", mixin.CategoryPlainLive, `{"width":650,"height":366,"thumb_url":"https://x.test/t.png"}`, []string{"broken:url"}},

	{"transcript", mixin.CategoryPlainTranscript, item(`,"content":"hi"`), nil},
	{"transcript with typed optional fields", mixin.CategoryPlainTranscript,
		item(`,"user_id":"u","media_size":5,"media_width":10,"media_key":"AAECAw==","media_duration":null,"unknown":1`), nil},
	{"transcript media_width as a string: iOS fails the whole transcript", mixin.CategoryPlainTranscript, item(`,"media_width":"100"`), []string{"broken:transcript[0].media_width"}},
	{"transcript media_key unpadded", mixin.CategoryPlainTranscript, item(`,"media_key":"AAECAw"`), []string{"broken:transcript[0].media_key"}},
	{"transcript user_id not a string", mixin.CategoryPlainTranscript, item(`,"user_id":5`), []string{"broken:transcript[0].user_id"}},
	{"transcript item of another message", mixin.CategoryPlainTranscript,
		`[{"transcript_id":"` + acID + `","message_id":"` + acID + `","category":"PLAIN_TEXT","created_at":"2022-08-19T03:06:17Z"}]`, []string{"broken:transcript_id"}},
	{"transcript item without created_at", mixin.CategoryPlainTranscript,
		`[{"transcript_id":"` + acMsg + `","message_id":"` + acID + `","category":"PLAIN_TEXT"}]`, []string{"broken:transcript[0].created_at"}},
	{"transcript item without transcript_id", mixin.CategoryPlainTranscript,
		`[{"message_id":"` + acID + `","category":"PLAIN_TEXT","created_at":"2022-08-19T03:06:17Z"}]`, []string{"broken:transcript[0].transcript_id", "broken:transcript_id"}},
	{"transcript not an array", mixin.CategoryPlainTranscript, `{"transcript_id":"` + acMsg + `"}`, []string{"broken:data"}},

	{"card, new shape without actions or updated_at (iOS since 2024)", mixin.CategoryAppCard, card(`"title":"t","shareable":true`), nil},
	{"card, new shape in full", mixin.CategoryAppCard, card(`"title":"t","description":"d","cover_url":"https://x.test/c.png","actions":[],"updated_at":"2024-09-28T15:49:14+10:00","shareable":false`), nil},
	{"card action colour: Android falls back to black", mixin.CategoryAppCard, card(`"actions":[{"label":"l","color":"sky","action":"https://x.test"}],"shareable":true`), nil},
	{"card cover object", mixin.CategoryAppCard, card(`"cover":{"url":"https://x.test/c.png","mime_type":"image/png","width":10,"height":10,"thumbnail":"x"},"shareable":true`), nil},
	{"card without shareable", mixin.CategoryAppCard, card(`"title":"t","actions":[]`), []string{"broken:shareable"}},
	{"card without app_id", mixin.CategoryAppCard, `{"title":"t","shareable":true}`, []string{"broken:app_id"}},
	{"card app_id not a UUID", mixin.CategoryAppCard, `{"app_id":"x","title":"t","shareable":true}`, []string{"broken:app_id"}},
	{"card action without colour", mixin.CategoryAppCard, card(`"actions":[{"label":"l","action":"https://x.test"}],"shareable":true`), []string{"broken:actions[0].color"}},
	{"card actions in the docs' buttons object", mixin.CategoryAppCard, card(`"actions":{"buttons":[]},"shareable":true`), []string{"broken:actions"}},
	{"card title not a string", mixin.CategoryAppCard, card(`"title":5,"shareable":true`), []string{"broken:title"}},
	{"card updated_at not a string", mixin.CategoryAppCard, card(`"updated_at":1,"shareable":true`), []string{"broken:updated_at"}},
	{"card cover_url not a string", mixin.CategoryAppCard, card(`"cover_url":{},"shareable":true`), []string{"broken:cover_url"}},
	{"card cover_url of another type beside a cover with a URL: not read", mixin.CategoryAppCard,
		card(`"cover":{"url":"https://x.test/c.png","mime_type":"image/png","width":10,"height":10,"thumbnail":"x"},"cover_url":5,"shareable":true`), nil},
	{"card cover not an object", mixin.CategoryAppCard, card(`"cover":"https://x.test/c.png","shareable":true`), []string{"broken:cover"}},
	{"card app_id empty", mixin.CategoryAppCard, `{"app_id":"","shareable":true}`, []string{"broken:app_id"}},
	{"card action not a string", mixin.CategoryAppCard, card(`"action":5,"shareable":true`), []string{"broken:action"}},
	{"card empty action: the new shape", mixin.CategoryAppCard, card(`"action":"","title":"t","shareable":true`), nil},
	{"card action of white space: iOS reads the legacy shape (isNilOrEmpty)", mixin.CategoryAppCard, card(`"action":" ","title":"t","shareable":true`),
		[]string{"broken:icon_url", "warning:action", "broken:description"}},
	{"card shareable null", mixin.CategoryAppCard, card(`"shareable":null`), []string{"broken:shareable"}},
	{"card action not an object", mixin.CategoryAppCard, card(`"actions":["x"],"shareable":true`), []string{"broken:actions[0]"}},
	{"card cover width as a string", mixin.CategoryAppCard, card(`"cover":{"url":"u","mime_type":"image/png","width":"1","height":1,"thumbnail":"x"},"shareable":true`), []string{"broken:cover.width"}},
	{"card title over the docs' 36", mixin.CategoryAppCard, card(`"title":"` + long37 + `","shareable":true`), []string{"limit:title"}},
	{"card description over the docs' 1024", mixin.CategoryAppCard, card(`"description":"` + strings.Repeat("d", 1025) + `","shareable":true`), []string{"limit:description"}},
	{"card with 7 actions", mixin.CategoryAppCard, card(`"actions":[` + strings.TrimSuffix(strings.Repeat(`{"label":"l","color":"#000","action":"input:x"},`, 7), ",") + `],"shareable":true`), []string{"limit:actions"}},
	{"legacy card", mixin.CategoryAppCard, card(`"icon_url":"https://x.test/i.png","title":"t","description":"d","action":"https://x.test","shareable":true`), nil},
	{"legacy card without icon_url", mixin.CategoryAppCard, card(`"title":"t","description":"d","action":"https://x.test","shareable":true`), []string{"broken:icon_url"}},
	{"legacy card with an empty icon_url", mixin.CategoryAppCard, card(`"icon_url":"","title":"t","description":"d","action":"https://x.test","shareable":true`), []string{"broken:icon_url"}},
	{"legacy card icon_url with a space: iOS before 17 only", mixin.CategoryAppCard, card(`"icon_url":"https://x.test/a b.png","title":"t","description":"d","action":"https://x.test","shareable":true`), []string{"warning:icon_url"}},
	{"legacy card shareable not a boolean", mixin.CategoryAppCard, card(`"icon_url":"https://x.test/i.png","title":"t","description":"d","action":"https://x.test","shareable":"yes"`), []string{"broken:shareable"}},
	{"legacy card without description", mixin.CategoryAppCard, card(`"icon_url":"https://x.test/i.png","title":"t","action":"https://x.test","shareable":true`), []string{"broken:description"}},
	{"legacy card without shareable: a warning", mixin.CategoryAppCard, card(`"icon_url":"https://x.test/i.png","title":"t","description":"d","action":"https://x.test"`), []string{"warning:shareable"}},

	{"buttons", mixin.CategoryAppButtonGroup, `[{"label":"l","color":"#FF0000","action":"https://x.test"},{"label":"m","color":"red","action":"input:hi"}]`, nil},
	{"button colour #RGB, #AARRGGBB, a name in capitals", mixin.CategoryAppButtonGroup,
		`[{"label":"l","color":"#F00","action":"x"},{"label":"l","color":"#80FF0000","action":"x"},{"label":"l","color":"RED","action":"x"}]`, nil},
	{"button colour with white space: processAppButton trims it", mixin.CategoryAppButtonGroup, `[{"label":"l","color":" #FF0000\t","action":"x"},{"label":"l","color":"\nred ","action":"x"}]`, nil},
	{"button colour with a sign: Long.parseLong reads it", mixin.CategoryAppButtonGroup, `[{"label":"l","color":"#-FFFFF","action":"x"}]`, nil},
	{"button colour empty", mixin.CategoryAppButtonGroup, `[{"label":"l","color":"","action":"x"}]`, []string{"broken:buttons[0].color"}},
	{"button colour a number", mixin.CategoryAppButtonGroup, `[{"label":"l","color":255,"action":"x"}]`, []string{"broken:buttons[0].color"}},
	{"button colour #RRGGBBA", mixin.CategoryAppButtonGroup, `[{"label":"l","color":"#FF00000","action":"x"}]`, []string{"broken:buttons[0].color"}},
	{"button not an object", mixin.CategoryAppButtonGroup, `["x"]`, []string{"broken:buttons[0]"}},
	{"button colour #RGBA", mixin.CategoryAppButtonGroup, `[{"label":"l","color":"#FF00","action":"x"}]`, []string{"broken:buttons[0].color"}},
	{"button without colour", mixin.CategoryAppButtonGroup, `[{"label":"l","action":"https://x.test"}]`, []string{"broken:buttons[0].color"}},
	{"button without label: not read on receipt, a warning", mixin.CategoryAppButtonGroup, `[{"color":"#FF0000","action":"https://x.test"}]`, []string{"warning:buttons[0].label"}},
	{"button without action: a warning", mixin.CategoryAppButtonGroup, `[{"label":"l","color":"#FF0000"}]`, []string{"warning:buttons[0].action"}},
	{"no buttons: a warning", mixin.CategoryAppButtonGroup, `[]`, []string{"warning:data"}},
	{"buttons not an array", mixin.CategoryAppButtonGroup, `{}`, []string{"broken:data"}},
	{"7 buttons: over the docs' limit", mixin.CategoryAppButtonGroup,
		"[" + strings.TrimSuffix(strings.Repeat(`{"label":"l","color":"#000","action":"x"},`, 7), ",") + "]", []string{"limit:data"}},
	{"button label over the docs' 36", mixin.CategoryAppButtonGroup, `[{"label":"` + long37 + `","color":"#000","action":"x"}]`, []string{"limit:buttons[0].label"}},

	{"recall", mixin.CategoryMessageRecall, `{"message_id":"` + acID + `"}`, nil},
	{"recall without message_id", mixin.CategoryMessageRecall, `{}`, []string{"broken:message_id"}},
	{"pin", mixin.CategoryMessagePin, `{"action":"PIN","message_ids":["` + acID + `"]}`, nil},
	{"pin action in lower case", mixin.CategoryMessagePin, `{"action":"pin","message_ids":["` + acID + `"]}`, []string{"broken:action"}},
	{"unpin without ids", mixin.CategoryMessagePin, `{"action":"UNPIN"}`, []string{"broken:message_ids"}},
	{"pin id not a string", mixin.CategoryMessagePin, `{"action":"PIN","message_ids":[1]}`, []string{"broken:message_ids[0]"}},

	{"PLAIN_JSON", "PLAIN_JSON", `{"action":"ACKNOWLEDGE_MESSAGE_RECEIPTS"}`, nil},
	{"a call category: Desktop has no calls", "WEBRTC_AUDIO_OFFER", `{}`, []string{"warning:category"}},
	{"KRAKEN_LIST: not in the stored iOS and Desktop lists", "KRAKEN_LIST", `{}`, []string{"warning:category"}},
	{"SYSTEM_SAFE_SNAPSHOT: only Desktop's stored list", "SYSTEM_SAFE_SNAPSHOT", `{}`, []string{"warning:category"}},
	{"STRANGER: not in the stored iOS list", "STRANGER", `{}`, []string{"warning:category"}},
	{"SYSTEM_CONVERSATION: every app", "SYSTEM_CONVERSATION", `{"action":"ADD"}`, nil},
	{"an encrypted name no app knows", "ENCRYPTED_JSON", `{}`, []string{"broken:category"}},
	{"SIGNAL_KEY", "SIGNAL_KEY", `{}`, []string{"broken:category"}},
	{"unknown category", "PLAIN_HOLOGRAM", `{}`, []string{"broken:category"}},
	{"unknown SYSTEM_ name", "SYSTEM_HOLOGRAM", `{}`, []string{"broken:category"}},
	{"unknown WEBRTC_ name", "WEBRTC_VIDEO_OFFER", `{}`, []string{"broken:category"}},
	{"a Signal category shows as failed", "SIGNAL_TEXT", "hi", []string{"broken:category"}},
}

func findings(ps []Problem) []string {
	var out []string
	for _, p := range ps {
		out = append(out, string(p.Kind)+":"+p.Field)
	}
	return out
}

func TestAppCheckRules(t *testing.T) {
	for _, tc := range ruleCases {
		t.Run(tc.name, func(t *testing.T) {
			got := checkMessage(tc.category, acMsg, []byte(tc.data))
			if f := findings(got); !slices.Equal(f, tc.want) {
				t.Fatalf("%s %s: findings %v, want %v\n%v", tc.category, tc.data, f, tc.want, got)
			}
			for _, p := range got {
				if p.Reason == "" || p.App == "" || p.Source == "" {
					t.Errorf("problem without reason, app or source: %+v", p)
				}
				if p.Kind != ProblemKindLimit && !strings.Contains(p.Source, "-app ") && !strings.Contains(p.Source, "bot-api-go-client") {
					t.Errorf("problem does not cite an official app: %+v", p)
				}
			}
		})
	}
}

// TestAppCheckEffects holds the wording of what each app does to the
// sources, where the kind and field alone do not tell the rules apart.
func TestAppCheckEffects(t *testing.T) {
	cases := []struct {
		name     string
		category mixin.Category
		data     string
		field    string
		want     string // in Problem.App
		not      string // not in Problem.App ("" for no check)
	}{
		{"text not UTF-8: Desktop decodes allowMalformed", mixin.CategoryPlainText, "\xff\xfe", "data", "iOS shows it as an unknown message", "Desktop as an invalid"},
		{"width 0.5: iOS truncates it to 0", mixin.CategoryPlainImage, att(`"width":0.5,"height":20,"size":5`), "width", "iOS as an unknown one", ""},
		{"width 10.5: iOS truncates it to 10", mixin.CategoryPlainImage, att(`"width":10.5,"height":20,"size":5`), "width", "iOS truncates it", "unknown"},
		{"no attachment_id: Android's factories take a nullable id", mixin.CategoryPlainImage, `{"width":10,"height":20,"size":5}`, "attachment_id", "nothing to download", "Android stores it as an invalid"},
		{"live width 0: iOS does not check it", mixin.CategoryPlainLive, `{"width":0,"height":1,"thumb_url":"t","url":"u"}`, "width", "iOS shows it", "unknown"},
		{"live width \"0\": both", mixin.CategoryPlainLive, `{"width":"0","height":1,"thumb_url":"t","url":"u"}`, "width", "Android stores it as an invalid message and iOS", ""},
		{"location longitude in a string: Android's Moshi reads it", mixin.CategoryPlainLocation, `{"latitude":1,"longitude":"2"}`, "longitude", "Desktop drops it", "Android"},
		{"sticker not a UUID: Android keeps the id", mixin.CategoryPlainSticker, `{"sticker_id":"wave"}`, "sticker_id", "Android and Desktop have no sticker", ""},
		{"sticker without any name: Android's albumId!!", mixin.CategoryPlainSticker, `{}`, "sticker_id", "Android stores it as an invalid message", ""},
		{"contact id missing: both", mixin.CategoryPlainContact, `{}`, "user_id", "Android stores it as an invalid message", ""},
		{"transcript of another message: Android unknown too", mixin.CategoryPlainTranscript,
			`[{"transcript_id":"` + acID + `","message_id":"` + acID + `","category":"PLAIN_TEXT","created_at":"2022-08-19T03:06:17Z"}]`, "transcript_id", "Android and iOS show an unknown message", ""},
		{"card actions not an array: Gson fails too", mixin.CategoryAppCard, card(`"actions":{"buttons":[]},"shareable":true`), "actions", "Android stores it as an invalid message", ""},
		{"card title over 36: no claim of a cut", mixin.CategoryAppCard, card(`"title":"` + long37 + `","shareable":true`), "title", "the docs set the limit", "128"},
		{"WEBRTC_AUDIO_OFFER: Desktop only", "WEBRTC_AUDIO_OFFER", `{}`, "category", "Desktop store", "Android"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var p *Problem
			for _, f := range checkMessage(tc.category, acMsg, []byte(tc.data)) {
				if f.Field == tc.field {
					p = &f
					break
				}
			}
			if p == nil {
				t.Fatalf("no problem on %s", tc.field)
			}
			if !strings.Contains(p.App, tc.want) || (tc.not != "" && strings.Contains(p.App, tc.not)) {
				t.Fatalf("app %q: want %q in it and not %q", p.App, tc.want, tc.not)
			}
		})
	}
}
