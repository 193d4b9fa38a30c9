package mixintest

import (
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gomixin/mixin"
	"github.com/google/uuid"
)

// The rules of the app check, each from what an official app does when it
// parses a message. Paths are in MixinNetwork/android-app
// (app/src/main/java/one/mixin/android/…), MixinNetwork/ios-app
// (MixinServices/MixinServices/…) and MixinNetwork/flutter-app (lib/…,
// today's desktop app), and the docs at developers.mixin.one. Where the
// stored copies of the apps leave a fact open, the rule is a warning and
// says so.
const (
	srcAndroidDecrypt    = "android-app job/DecryptMessage.kt"
	srcAndroidMessage    = "android-app vo/Message.kt"
	srcAndroidAttachment = "android-app websocket/AttachmentMessagePayload.kt"
	srcAndroidLocation   = "android-app websocket/LocationPayload.kt toLocationData()"
	srcAndroidCard       = "android-app vo/AppCardData.kt"
	srcAndroidCardHolder = "android-app ui/conversation/holder/ActionsCardHolder.kt"
	srcAndroidColor      = "android-app util/ColorUtil.java parseColor"
	srcAndroidVideo      = "android-app ui/conversation/holder/VideoHolder.kt formatMillis()"
	srcAndroidAudio      = "android-app ui/conversation/holder/AudioHolder.kt"
	srcAndroidCipher     = "android-app crypto/attachment/AttachmentCipherInputStream.java"
	srcIOSReceive        = "ios-app Services/WebSocket/Service/ReceiveMessageService.swift"
	srcIOSAttachment     = "ios-app Services/WebSocket/Model/TransferAttachmentData.swift"
	srcIOSCard           = "ios-app Services/WebSocket/Model/AppCardData.swift"
	srcIOSSticker        = "ios-app Services/WebSocket/Model/TransferStickerData.swift"
	srcIOSLive           = "ios-app Services/WebSocket/Model/TransferLiveData.swift"
	srcIOSPin            = "ios-app Services/WebSocket/Model/TransferPinData.swift"
	srcIOSTranscript     = "ios-app Database/User/Model/TranscriptMessage.swift"
	srcIOSMessage        = "ios-app Database/User/Model/Message.swift MessageCategory.isLegal"
	srcIOSLocation       = "ios-app Location.swift (class Location: Codable)"
	srcDesktop           = "flutter-app lib/workers/decrypt_message.dart"
	srcDesktopCategory   = "flutter-app lib/db/extension/message_category.dart isIllegalMessageCategory"
	srcDocsCategory      = "docs api/messages/category"
)

// What the apps do.
const (
	appUnknownIOS     = "iOS shows it as an unknown message"
	appInvalidAndroid = "Android stores it as an invalid message"
	appUnparsable     = "Android and Desktop show it as an invalid message and iOS as an unknown one"
	appInvalidBoth    = "Android stores it as an invalid message and iOS shows it as an unknown one"
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
// it cannot (ReceiveMessageService processDecryptSuccess). Android
// (String(bytes)) and Desktop (decrypt_message.dart _decode,
// utf8.decode(allowMalformed: true)) show it with replacement characters.
// No parser refuses an empty text: it is only a warning.
func checkText(ck *checker, data []byte) {
	switch {
	case !utf8.Valid(data):
		ck.report("data", "is not UTF-8", appUnknownIOS+" (Android and Desktop show it with replacement characters)",
			srcIOSReceive+" processDecryptSuccess; "+srcDesktop+" _decode allowMalformed")
	case strings.TrimSpace(string(data)) == "":
		ck.add(ProblemKindWarning, "data", "is empty or only white space", "no app refuses it: the apps show an empty bubble",
			srcAndroidDecrypt+" processDecryptSuccess; "+srcIOSReceive+" processDecryptSuccess")
	}
}

// checkSticker: iOS decodes sticker_id as an optional string; one that is
// empty or not a UUID shows an unknown message, and one the sticker lookup
// answers 404 for drops the message without showing it (ReceiveMessageService
// parseSticker). Android and Desktop keep the id and fetch the sticker,
// showing none when it does not exist (DecryptMessage.kt RefreshStickerJob;
// decrypt_message.dart UpdateStickerJob). Without sticker_id, Android and
// iOS look album_id and name up among the stickers the recipient already
// holds and drop the message when they find none; with neither, Android's
// albumId!! throws and it stores an invalid message.
func checkSticker(ck *checker, data []byte) {
	src := srcIOSReceive + " parseSticker; " + srcAndroidDecrypt + " processDecryptSuccess (_STICKER)"
	o, ok := ck.object(data, appUnparsable, src+"; "+srcDesktop)
	if !ok {
		return
	}
	if !o.present("sticker_id") {
		_, album := o.str("album_id")
		_, name := o.str("name")
		if album && name {
			ck.add(ProblemKindWarning, "sticker_id", "is missing: the sticker is named by album_id and name",
				"Android and iOS show it only to recipients who already hold that album's sticker and drop it for the others; "+
					"the stored "+srcIOSSticker+" decodes sticker_id only", src)
			return
		}
		ck.report("sticker_id", "is missing, and album_id and name do not name a sticker either",
			"iOS drops the message without showing it and Android stores it as an invalid message", src)
		return
	}
	id, ok := o.str("sticker_id")
	if !ok || !isUUID(id) {
		ck.report("sticker_id", "is not a UUID", appUnknownIOS+"; Android and Desktop have no sticker to show", src+"; "+srcIOSSticker)
		return
	}
	if ck.env != nil && ck.env.stickerKnown != nil && !ck.env.stickerKnown(id) {
		ck.report("sticker_id", "names no sticker the server knows (add it with Server.AddSticker or POST /_mixintest/stickers)",
			"iOS drops the message without showing it (the sticker lookup answers 404); Android and Desktop show no sticker", src)
	}
}

// checkContact: iOS decodes user_id as a required string and shows an
// unknown message when it is not a UUID, and drops the message without
// showing it when the user lookup answers 404 (ReceiveMessageService
// processDecryptSuccess, syncUser). Android needs the id (vo/Message.kt
// createContactMessage takes a non-null sharedUserId) and, like Desktop,
// shows a card without a name for a user it cannot fetch (DecryptMessage.kt
// syncUser; decrypt_message.dart refreshUsers).
func checkContact(ck *checker, data []byte) {
	src := srcIOSReceive + " processDecryptSuccess"
	o, ok := ck.object(data, appUnparsable, src+"; "+srcDesktop)
	if !ok {
		return
	}
	id, ok := o.str("user_id")
	switch {
	case !ok:
		ck.report("user_id", "is missing or not a string", appInvalidBoth, src+"; "+srcAndroidMessage+" createContactMessage")
		return
	case !isUUID(id):
		ck.report("user_id", "is not a UUID", appUnknownIOS, src)
		return
	}
	if ck.env != nil && ck.env.userKnown != nil && !ck.env.userKnown(id) {
		ck.report("user_id", "names no user the server knows",
			"iOS drops the message without showing it (the user lookup answers 404); Android and Desktop show a contact card without a name",
			srcIOSReceive+" syncUser; "+srcAndroidDecrypt+" syncUser; "+srcDesktop+" refreshUsers")
	}
}

// checkLocation: Android (Moshi) drops a location whose coordinates are
// missing or both 0 without showing anything (LocationPayload.kt
// toLocationData); Desktop drops one that does not decode or has either
// coordinate 0 (decrypt_message.dart: latitude == 0.0 || longitude == 0.0);
// iOS decodes latitude and longitude as required numbers and name, address
// and venue_type as optional strings, and shows an unknown message when
// that fails (class Location: Codable; ReceiveMessageService
// processDecryptSuccess).
func checkLocation(ck *checker, data []byte) {
	src := srcAndroidLocation + "; " + srcIOSReceive + " processDecryptSuccess; " + srcIOSLocation + "; " + srcDesktop
	const dropped = "Android and Desktop drop it without showing it and iOS shows an unknown message"
	o, ok := ck.object(data, dropped, src)
	if !ok {
		return
	}
	lat, okLat := checkCoordinate(ck, o, "latitude", dropped, src)
	lon, okLon := checkCoordinate(ck, o, "longitude", dropped, src)
	for _, k := range []string{"name", "address", "venue_type"} {
		if _, ok := o.str(k); o.present(k) && !ok {
			ck.report(k, "is not a string", appUnknownIOS, srcIOSLocation)
		}
	}
	switch {
	case !okLat || !okLon:
	case lat == 0 && lon == 0:
		ck.report("latitude", "and longitude are both 0", "Android and Desktop drop the message without showing it", srcAndroidLocation+"; "+srcDesktop)
	case lat == 0:
		ck.report("latitude", "is 0", "Desktop drops the message without showing it (Android and iOS show it)", srcDesktop+" latitude == 0.0 || longitude == 0.0")
	case lon == 0:
		ck.report("longitude", "is 0", "Desktop drops the message without showing it (Android and iOS show it)", srcDesktop+" latitude == 0.0 || longitude == 0.0")
	}
}

// checkCoordinate reports a coordinate that is missing or not a JSON
// number. A number in a string fails iOS's Double and Desktop's
// LocationMessage; Android's Moshi reads it.
func checkCoordinate(ck *checker, o jsonObject, k, dropped, src string) (float64, bool) {
	if v, ok := o.num(k); ok {
		return v, true
	}
	if s, ok := o.str(k); ok {
		if _, err := strconv.ParseFloat(strings.TrimSpace(s), 64); err == nil {
			ck.report(k, "is a number in a string", appUnknownIOS+" and Desktop drops it", srcIOSLocation+"; "+srcDesktop)
			return 0, false
		}
	}
	ck.report(k, "is missing or not a number", dropped, src)
	return 0, false
}

// checkLive: Android stores a live card whose width or height is not
// positive (Gson reads a missing one as 0) as invalid (DecryptMessage.kt
// processDecryptSuccess, _LIVE), and its factory needs url and thumb_url
// (vo/Message.kt createLiveMessage); iOS decodes width and height as
// required Ints (no numeric strings, no fractions), url and thumb_url as
// required strings and shareable as an optional Bool, and does not look at
// the values (TransferLiveData.swift).
func checkLive(ck *checker, data []byte) {
	o, ok := ck.object(data, appUnparsable, srcAndroidDecrypt+"; "+srcIOSLive+"; "+srcDesktop)
	if !ok {
		return
	}
	for _, k := range []string{"width", "height"} {
		checkLiveDimension(ck, o, k)
	}
	for _, k := range []string{"thumb_url", "url"} {
		if _, ok := o.str(k); ok {
			continue
		}
		if o.present(k) {
			ck.report(k, "is not a string", appUnknownIOS, srcIOSLive)
		} else {
			ck.report(k, "is missing", appInvalidBoth, srcAndroidMessage+" createLiveMessage; "+srcIOSLive)
		}
	}
	if o.present("shareable") && !o.boolean("shareable") {
		ck.report("shareable", "is not a boolean", appUnknownIOS, srcIOSLive)
	}
}

func checkLiveDimension(ck *checker, o jsonObject, k string) {
	const src = srcAndroidDecrypt + " processDecryptSuccess (_LIVE); " + srcIOSLive
	n, whole, ok := o.intLike(k)
	_, isNum := o.num(k)
	switch {
	case !ok:
		ck.report(k, "is missing or not a number", appInvalidBoth, src)
	case !whole:
		ck.report(k, "is "+strconv.FormatFloat(n, 'g', -1, 64)+", not a whole number", appInvalidBoth+" (an Int for both)", src)
	case !isNum && n <= 0:
		ck.report(k, "is a number in a string, and not positive", appInvalidBoth, src)
	case !isNum:
		ck.report(k, "is a number in a string", appUnknownIOS+" (its Int does not read strings; Android does)", srcIOSLive)
	case n <= 0:
		ck.report(k, "is "+strconv.FormatFloat(n, 'g', -1, 64)+", not positive", appInvalidAndroid+" (iOS shows it)", srcAndroidDecrypt+" processDecryptSuccess (_LIVE)")
	}
}

// isUUID accepts a UUID in either case, as iOS's UUID(uuidString:) does.
func isUUID(s string) bool {
	_, err := uuid.Parse(s)
	return len(s) == 36 && err == nil
}

// isSwiftURL approximates what Foundation's URL(string:) accepted before
// iOS 17: a non-empty string without spaces or characters a URL may not
// hold. Apps built for iOS 17 and later percent-encode such characters
// instead of failing, so only an empty string fails for sure.
func isSwiftURL(s string) bool {
	if s == "" || strings.ContainsAny(s, " \t\r\n\"<>\\^`{|}") {
		return false
	}
	_, err := url.Parse(s)
	return err == nil
}
