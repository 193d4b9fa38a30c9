package mixintest

import (
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gomixin/mixin"
	"github.com/google/uuid"
)

// The rules of the app check, each from what an official app does when it
// parses a message. Paths are in MixinNetwork/android-app
// (app/src/main/java/one/mixin/android/…) and MixinNetwork/ios-app
// (MixinServices/MixinServices/…), and the docs at developers.mixin.one.
const (
	srcAndroidDecrypt    = "android-app job/DecryptMessage.kt"
	srcAndroidAttachment = "android-app websocket/AttachmentMessagePayload.kt invalidData()"
	srcAndroidLocation   = "android-app websocket/LocationPayload.kt toLocationData()"
	srcAndroidSticker    = "android-app websocket/StickerMessagePayload.kt"
	srcAndroidCard       = "android-app vo/AppCardData.kt"
	srcAndroidVideo      = "android-app VideoHolder.kt formatMillis()"
	srcIOSReceive        = "ios-app Services/WebSocket/Service/ReceiveMessageService.swift"
	srcIOSAttachment     = "ios-app Services/WebSocket/Model/TransferAttachmentData.swift"
	srcIOSCard           = "ios-app Services/WebSocket/Model/AppCardData.swift"
	srcIOSSticker        = "ios-app Services/WebSocket/Model/TransferStickerData.swift"
	srcIOSLive           = "ios-app Services/WebSocket/Model/TransferLiveData.swift"
	srcIOSPin            = "ios-app Services/WebSocket/Model/TransferPinData.swift"
	srcIOSTranscript     = "ios-app Database/User/Model/TranscriptMessage.swift"
	srcIOSVideo          = "ios-app VideoMessageViewModel.swift"
	srcDocsCategory      = "docs api/messages/category"
)

// What the apps do.
const (
	appUnknownBoth  = "Android stores it as an invalid message and iOS as an unknown one"
	appUnknownIOS   = "iOS shows it as an unknown message"
	appInvalidMedia = "both apps show it as an invalid message"
)

// appRules maps each PLAIN_* (and app) category to its check; ENCRYPTED_*
// messages are checked as their PLAIN_* counterpart once decrypted.
var appRules = map[mixin.Category]func(*checker, []byte){
	mixin.CategoryPlainText:       checkText,
	mixin.CategoryPlainPost:       checkText,
	mixin.CategoryPlainImage:      checkImage,
	mixin.CategoryPlainVideo:      checkVideo,
	mixin.CategoryPlainData:       checkData,
	mixin.CategoryPlainAudio:      checkAudio,
	mixin.CategoryPlainSticker:    checkSticker,
	mixin.CategoryPlainContact:    checkContact,
	mixin.CategoryPlainLocation:   checkLocation,
	mixin.CategoryPlainLive:       checkLive,
	mixin.CategoryPlainTranscript: checkTranscript,
	mixin.CategoryAppCard:         checkAppCard,
	mixin.CategoryAppButtonGroup:  checkButtons,
	mixin.CategoryMessageRecall:   checkRecall,
	mixin.CategoryMessagePin:      checkPin,
}

// checkText: iOS decodes the text as UTF-8 and shows an unknown message if
// it cannot; both apps show the content as is, so an empty one is an empty
// bubble (android-app DecryptMessage.kt and ios-app ReceiveMessageService
// processDecryptSuccess).
func checkText(ck *checker, data []byte) {
	switch {
	case !utf8.Valid(data):
		ck.report("data", "is not UTF-8", appUnknownIOS, srcIOSReceive+" processDecryptSuccess")
	case strings.TrimSpace(string(data)) == "":
		ck.report("data", "is empty", "both apps show an empty message", srcAndroidDecrypt+" processDecryptSuccess; "+srcIOSReceive+" processDecryptSuccess")
	}
}

// checkAttachment: iOS decodes attachment_id as a required string and size
// as a required Int64 (TransferAttachmentData), for every attachment
// category; Android stores a payload that does not parse as invalid.
func checkAttachment(ck *checker, data []byte) (jsonObject, bool) {
	o, ok := ck.object(data, appUnknownBoth, srcAndroidDecrypt+" processDecryptSuccess; "+srcIOSReceive+" processDecryptSuccess")
	if !ok {
		return nil, false
	}
	if id, ok := o.str("attachment_id"); !ok {
		ck.report("attachment_id", "is missing or not a string", appUnknownIOS, srcIOSAttachment)
	} else if strings.TrimSpace(id) == "" {
		ck.report("attachment_id", "is empty", "the apps have no attachment to download", srcAndroidDecrypt+" AttachmentDownloadJob; "+srcIOSReceive)
	}
	if _, ok := o.integer("size"); !ok {
		ck.report("size", "is missing or not a whole number", appUnknownIOS, srcIOSAttachment+" (size is a required Int64)")
	}
	return o, true
}

// checkDimensions: width and height missing or not positive make an image,
// video or live card invalid (android-app AttachmentMessagePayload.kt
// invalidData() and the live check in DecryptMessage.kt; ios-app
// ReceiveMessageService guard width > 0, height > 0).
func checkDimensions(ck *checker, o jsonObject, source string) {
	for _, k := range []string{"width", "height"} {
		if n, ok := o.num(k); !ok {
			ck.report(k, "is missing or not a number", appInvalidMedia, source)
		} else if n <= 0 {
			ck.report(k, "is "+strconv.FormatFloat(n, 'g', -1, 64)+", not positive", appInvalidMedia, source)
		}
	}
}

func checkImage(ck *checker, data []byte) {
	if o, ok := checkAttachment(ck, data); ok {
		checkDimensions(ck, o, srcAndroidAttachment+"; "+srcIOSReceive+" processDecryptSuccess")
	}
}

// checkVideo adds the duration: both apps read milliseconds (Android
// formats it with formatMillis, iOS divides by 1000), so anything under
// 1000 shows as 0:00; a 60 s video is 60000.
func checkVideo(ck *checker, data []byte) {
	o, ok := checkAttachment(ck, data)
	if !ok {
		return
	}
	checkDimensions(ck, o, srcAndroidAttachment+"; "+srcIOSReceive+" processDecryptSuccess")
	src := srcAndroidVideo + "; " + srcIOSVideo
	switch d, ok := o.num("duration"); {
	case !ok:
		ck.report("duration", "is missing", "the apps show no length", src)
	case d < 1000:
		ck.report("duration", "is "+strconv.FormatFloat(d, 'g', -1, 64)+", under one second",
			"the apps read milliseconds and show 0:00 (a 60 s video is 60000)", src)
	}
}

// checkData: iOS shows a file of size 0 as an unknown message
// (ReceiveMessageService processDecryptSuccess guard size > 0).
func checkData(ck *checker, data []byte) {
	o, ok := checkAttachment(ck, data)
	if !ok {
		return
	}
	if n, ok := o.integer("size"); ok && n <= 0 {
		ck.report("size", "is "+strconv.FormatInt(n, 10)+", not positive", appUnknownIOS, srcIOSReceive+" processDecryptSuccess")
	}
}

// checkAudio: Android stores the duration as text, "null" when it is
// missing (DecryptMessage.kt createAudioMessage duration.toString()).
func checkAudio(ck *checker, data []byte) {
	o, ok := checkAttachment(ck, data)
	if !ok {
		return
	}
	if _, ok := o.num("duration"); !ok {
		ck.report("duration", "is missing", "Android shows the voice message's length as null", srcAndroidDecrypt+" processDecryptSuccess")
	}
}

// checkSticker: both apps read only sticker_id; iOS requires a UUID and
// shows an unknown message otherwise (ReceiveMessageService parseSticker,
// TransferStickerData; android-app StickerMessagePayload).
func checkSticker(ck *checker, data []byte) {
	o, ok := ck.object(data, appUnknownBoth, srcIOSSticker)
	if !ok {
		return
	}
	if id, ok := o.str("sticker_id"); !ok || !isUUID(id) {
		ck.report("sticker_id", "is missing or not a UUID", "iOS shows an unknown message and Android has no sticker to show (album_id and name are not read)",
			srcIOSReceive+" parseSticker; "+srcIOSSticker+"; "+srcAndroidSticker)
	}
}

// checkContact: iOS requires user_id to be a UUID (ReceiveMessageService
// processDecryptSuccess, TransferContactData).
func checkContact(ck *checker, data []byte) {
	o, ok := ck.object(data, appUnknownBoth, srcIOSReceive+" processDecryptSuccess")
	if !ok {
		return
	}
	if id, ok := o.str("user_id"); !ok || !isUUID(id) {
		ck.report("user_id", "is missing or not a UUID", appUnknownIOS, srcIOSReceive+" processDecryptSuccess")
	}
}

// checkLocation: Android drops a location whose coordinates do not parse,
// or are both 0, without showing anything (LocationPayload.kt
// toLocationData); iOS shows an unknown message when they do not decode.
func checkLocation(ck *checker, data []byte) {
	src := srcAndroidLocation + "; " + srcIOSReceive + " processDecryptSuccess"
	o, ok := ck.object(data, "Android drops it and iOS shows an unknown message", src)
	if !ok {
		return
	}
	lat, okLat := o.num("latitude")
	lon, okLon := o.num("longitude")
	if !okLat {
		ck.report("latitude", "is missing or not a number", "Android drops the message and iOS shows an unknown one", src)
	}
	if !okLon {
		ck.report("longitude", "is missing or not a number", "Android drops the message and iOS shows an unknown one", src)
	}
	if okLat && okLon && lat == 0 && lon == 0 {
		ck.report("latitude", "and longitude are both 0", "Android drops the message without showing it", srcAndroidLocation)
	}
}

// checkLive: Android shows a live card without positive dimensions as
// invalid (DecryptMessage.kt); iOS decodes width, height, thumb_url and url
// as required (TransferLiveData).
func checkLive(ck *checker, data []byte) {
	o, ok := ck.object(data, appUnknownBoth, srcAndroidDecrypt+"; "+srcIOSLive)
	if !ok {
		return
	}
	checkDimensions(ck, o, srcAndroidDecrypt+" processDecryptSuccess (live); "+srcIOSLive)
	for _, k := range []string{"thumb_url", "url"} {
		if _, ok := o.str(k); !ok {
			ck.report(k, "is missing or not a string", appUnknownIOS, srcIOSLive)
		}
	}
}

// checkTranscript: iOS decodes every item with transcript_id, message_id,
// category and created_at required (TranscriptMessage.swift); both apps
// keep only the items whose transcript_id is the message's id and show a
// transcript without any as an unknown message (android-app
// DecryptMessage.kt processTranscriptMessage; ios-app parseTranscript).
func checkTranscript(ck *checker, data []byte) {
	src := srcAndroidDecrypt + " processTranscriptMessage; " + srcIOSReceive + " parseTranscript"
	var items []json.RawMessage
	if err := json.Unmarshal(data, &items); err != nil || items == nil {
		ck.report("data", "is not a JSON array", appUnknownBoth, src)
		return
	}
	own := 0
	for i, raw := range items {
		prefix := "transcript[" + strconv.Itoa(i) + "]"
		var o jsonObject
		if json.Unmarshal(raw, &o) != nil || o == nil {
			ck.report(prefix, "is not a JSON object", appUnknownBoth, src)
			continue
		}
		for _, k := range []string{"transcript_id", "message_id", "category", "created_at"} {
			if _, ok := o.str(k); !ok {
				ck.report(prefix+"."+k, "is missing or not a string", "iOS cannot decode the transcript and shows an unknown message", srcIOSTranscript)
			}
		}
		if tid, _ := o.str("transcript_id"); tid == ck.messageID {
			own++
		}
	}
	if own == 0 {
		ck.report("transcript_id", "is not this message's id ("+ck.messageID+") in any item",
			"the apps keep only the items whose transcript_id is the message's id and show an unknown message", src)
	}
}

// checkAppCard: iOS decodes the legacy shape (with an action) with icon_url
// and action as required URLs and title and description as required
// strings, and the new shape with app_id, actions (each with label, color
// and action) and shareable required; app_id, when present, must be a UUID
// (ios-app AppCardData.swift, ReceiveMessageService processAppCard).
// Android treats a missing shareable as false (AppCardData.canShare) where
// the docs give true as the default. iOS also requires updated_at on a
// new-shape card, which the docs' new-shape example carries (docs
// _partials/_resp.msg.d/card.md).
func checkAppCard(ck *checker, data []byte) {
	o, ok := ck.object(data, appUnknownBoth, srcIOSReceive+" processAppCard; "+srcAndroidDecrypt+" processAppCard")
	if !ok {
		return
	}
	if o.present("app_id") {
		if id, ok := o.str("app_id"); !ok || !isUUID(id) {
			ck.report("app_id", "is not a UUID", appUnknownIOS, srcIOSReceive+" processAppCard")
		}
	}
	if action, _ := o.str("action"); strings.TrimSpace(action) != "" {
		checkLegacyCard(ck, o)
		return
	}
	if _, ok := o.str("app_id"); !ok {
		ck.report("app_id", "is missing", appUnknownIOS+" (a new-shape card requires it)", srcIOSCard+" V1Content")
	}
	if actions, ok := o.array("actions"); !ok {
		ck.report("actions", "is missing or not an array", appUnknownIOS+" (a new-shape card requires it, empty or not)", srcIOSCard+" V1Content")
	} else {
		checkButtonList(ck, "actions", actions, appUnknownIOS+" and Android cannot show the button", srcIOSCard+" V1Content.Action; "+srcAndroidCard+" ActionButtonData")
	}
	if !o.boolean("shareable") {
		ck.report("shareable", "is missing or not a boolean", appUnknownIOS+" (a new-shape card requires it) and Android does not let it be forwarded",
			srcIOSCard+" V1Content; "+srcAndroidCard+" canShare")
	}
	if _, ok := o.str("updated_at"); !ok {
		ck.report("updated_at", "is missing or not a string", appUnknownIOS+" (a new-shape card requires it)", srcIOSCard+" V1Content")
	}
}

func checkLegacyCard(ck *checker, o jsonObject) {
	src := srcIOSCard + " V0Content"
	for _, k := range []string{"icon_url", "action"} {
		if s, ok := o.str(k); !ok || !isSwiftURL(s) {
			ck.report(k, "is missing or not a URL", appUnknownIOS+" (a legacy card requires it)", src)
		}
	}
	for _, k := range []string{"title", "description"} {
		if _, ok := o.str(k); !ok {
			ck.report(k, "is missing or not a string", appUnknownIOS+" (a legacy card requires it)", src)
		}
	}
	if !o.boolean("shareable") {
		ck.report("shareable", "is missing", "Android does not let the card be forwarded, although the docs give true as the default",
			srcAndroidCard+" canShare; "+srcDocsCategory)
	}
}

// checkButtons: Android parses every button's color and stores the message
// as invalid when one does not parse; both apps need label, color and
// action as strings (android-app DecryptMessage.kt processAppButton,
// ColorUtil.parseColor; ios-app ReceiveMessageService processAppButton).
func checkButtons(ck *checker, data []byte) {
	src := srcAndroidDecrypt + " processAppButton; " + srcIOSReceive + " processAppButton"
	var items []json.RawMessage
	if err := json.Unmarshal(data, &items); err != nil || items == nil {
		ck.report("data", "is not a JSON array", appUnknownBoth, src)
		return
	}
	if len(items) == 0 {
		ck.report("data", "has no buttons", "both apps show an empty message", src)
	}
	checkButtonList(ck, "buttons", items, appUnknownBoth, src)
}

func checkButtonList(ck *checker, field string, items []json.RawMessage, app, src string) {
	for i, raw := range items {
		prefix := field + "[" + strconv.Itoa(i) + "]"
		var o jsonObject
		if json.Unmarshal(raw, &o) != nil || o == nil {
			ck.report(prefix, "is not a JSON object", app, src)
			continue
		}
		for _, k := range []string{"label", "color", "action"} {
			if _, ok := o.str(k); !ok {
				ck.report(prefix+"."+k, "is missing or not a string", app, src)
			}
		}
		if c, ok := o.str("color"); ok && !androidColor(strings.TrimSpace(c)) {
			ck.report(prefix+".color", strconv.Quote(c)+" is not a color Android parses (#RRGGBB, #AARRGGBB or a color name)",
				"Android stores the message as invalid", srcAndroidDecrypt+" processAppButton (ColorUtil.parseColor)")
		}
	}
}

// checkRecall: the apps look the recalled message up by message_id and do
// nothing without one (android-app DecryptMessage.kt processRecallMessage;
// ios-app ReceiveMessageService processRecallMessage).
func checkRecall(ck *checker, data []byte) {
	src := srcAndroidDecrypt + " processRecallMessage; " + srcIOSReceive + " processRecallMessage"
	o, ok := ck.object(data, "nothing is recalled", src)
	if !ok {
		return
	}
	if id, ok := o.str("message_id"); !ok || strings.TrimSpace(id) == "" {
		ck.report("message_id", "is missing or empty", "nothing is recalled", src)
	}
}

// checkPin: iOS decodes action (PIN or UNPIN) and message_ids as required
// and shows an unknown message otherwise (ReceiveMessageService
// processPinMessage, TransferPinData).
func checkPin(ck *checker, data []byte) {
	src := srcIOSReceive + " processPinMessage; " + srcIOSPin
	o, ok := ck.object(data, appUnknownIOS, src)
	if !ok {
		return
	}
	if a, _ := o.str("action"); a != "PIN" && a != "UNPIN" {
		ck.report("action", "is not PIN or UNPIN", appUnknownIOS, src)
	}
	ids, ok := o.array("message_ids")
	if !ok {
		ck.report("message_ids", "is missing or not an array", appUnknownIOS, src)
	}
	for i, raw := range ids {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			ck.report("message_ids["+strconv.Itoa(i)+"]", "is not a string", appUnknownIOS, src)
		}
	}
}

// isUUID accepts a UUID in either case, as iOS's UUID(uuidString:) does.
func isUUID(s string) bool {
	_, err := uuid.Parse(s)
	return len(s) == 36 && err == nil
}

// isSwiftURL approximates Foundation's URL(string:): a non-empty string
// without spaces or characters a URL may not hold.
func isSwiftURL(s string) bool {
	if s == "" || strings.ContainsAny(s, " \t\r\n\"<>\\^`{|}") {
		return false
	}
	_, err := url.Parse(s)
	return err == nil
}

// androidColor reports whether android.graphics.Color.parseColor accepts
// s: #RRGGBB, #AARRGGBB or one of its color names.
func androidColor(s string) bool {
	if hex, ok := strings.CutPrefix(s, "#"); ok {
		if len(hex) != 6 && len(hex) != 8 {
			return false
		}
		_, err := strconv.ParseUint(hex, 16, 32)
		return err == nil
	}
	switch strings.ToLower(s) {
	case "red", "blue", "green", "black", "white", "gray", "cyan", "magenta", "yellow", "lightgray", "darkgray",
		"grey", "lightgrey", "darkgrey", "aqua", "fuchsia", "lime", "maroon", "navy", "olive", "purple", "silver", "teal":
		return true
	}
	return false
}
