package mixintest

import (
	"encoding/base64"
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
// today's desktop app), and the docs at developers.mixin.one.
const (
	srcAndroidDecrypt    = "android-app job/DecryptMessage.kt"
	srcAndroidMessage    = "android-app vo/Message.kt"
	srcAndroidAttachment = "android-app websocket/AttachmentMessagePayload.kt invalidData()"
	srcAndroidLocation   = "android-app websocket/LocationPayload.kt toLocationData()"
	srcAndroidCard       = "android-app vo/AppCardData.kt"
	srcAndroidCardHolder = "android-app ui/conversation/holder/ActionsCardHolder.kt"
	srcAndroidColor      = "android-app util/ColorUtil.java parseColor"
	srcAndroidVideo      = "android-app VideoHolder.kt formatMillis()"
	srcAndroidAudio      = "android-app AudioHolder.kt"
	srcAndroidGson       = "android-app util/GsonHelper.kt"
	srcAndroidCipher     = "android-app crypto/attachment/AttachmentCipherInputStream.java"
	srcIOSReceive        = "ios-app Services/WebSocket/Service/ReceiveMessageService.swift"
	srcIOSAttachment     = "ios-app Services/WebSocket/Model/TransferAttachmentData.swift"
	srcIOSCard           = "ios-app Services/WebSocket/Model/AppCardData.swift"
	srcIOSSticker        = "ios-app Services/WebSocket/Model/TransferStickerData.swift"
	srcIOSLive           = "ios-app Services/WebSocket/Model/TransferLiveData.swift"
	srcIOSPin            = "ios-app Services/WebSocket/Model/TransferPinData.swift"
	srcIOSTranscript     = "ios-app Database/User/Model/TranscriptMessage.swift"
	srcIOSMessage        = "ios-app Database/User/Model/Message.swift MessageCategory.isLegal"
	srcIOSVideo          = "ios-app VideoMessageViewModel.swift"
	srcDesktop           = "flutter-app lib/workers/decrypt_message.dart"
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
// it cannot; Desktop's utf8.decode throws and the message is stored as
// invalid. No parser refuses an empty text: it is only a warning.
func checkText(ck *checker, data []byte) {
	switch {
	case !utf8.Valid(data):
		ck.report("data", "is not UTF-8", appUnknownIOS+" and Desktop as an invalid one",
			srcIOSReceive+" processDecryptSuccess; "+srcDesktop+" _processDecryptSuccess")
	case strings.TrimSpace(string(data)) == "":
		ck.add(ProblemKindWarning, "data", "is empty or only white space", "no app refuses it: the apps show an empty bubble",
			srcAndroidDecrypt+" processDecryptSuccess; "+srcIOSReceive+" processDecryptSuccess")
	}
}

// checkAttachment holds the rules every attachment category shares: iOS
// decodes attachment_id as a required string and size as a required Int64,
// the optional strings and the base64 Data fields strictly
// (TransferAttachmentData); Android's message factories need the
// attachment id (vo/Message.kt, DecryptMessage.kt).
func checkAttachment(ck *checker, data []byte) (jsonObject, bool) {
	o, ok := ck.object(data, appUnparsable, srcAndroidDecrypt+" processDecryptSuccess; "+srcIOSReceive+" processDecryptSuccess; "+srcDesktop)
	if !ok {
		return nil, false
	}
	if id, ok := o.str("attachment_id"); !ok {
		ck.report("attachment_id", "is missing or not a string", appInvalidBoth, srcAndroidMessage+" factories; "+srcAndroidDecrypt+"; "+srcIOSAttachment)
	} else if strings.TrimSpace(id) == "" {
		ck.report("attachment_id", "is empty", "the apps have no attachment to download", srcAndroidDecrypt+" AttachmentDownloadJob; "+srcIOSReceive)
	}
	if _, ok := o.integer("size"); !ok {
		ck.report("size", "is missing or not a whole number", appUnknownIOS, srcIOSAttachment+" (size is a required Int64)")
	}
	for _, k := range []string{"mime_type", "thumbnail", "name", "created_at"} {
		if o.present(k) {
			if _, ok := o.str(k); !ok {
				ck.report(k, "is not a string", appUnknownIOS, srcIOSAttachment)
			}
		}
	}
	for _, k := range []string{"key", "digest", "waveform"} {
		checkBase64(ck, o, k, k, appInvalidBoth, srcIOSAttachment+" (Data fields); "+srcAndroidGson+" (ByteArrayToBase64TypeAdapter)")
	}
	return o, true
}

// checkBase64 flags a present field that is not standard, padded base64:
// Swift's JSONDecoder reads Data with Data(base64Encoded:), which takes
// nothing else.
func checkBase64(ck *checker, o jsonObject, key, field, app, source string) {
	if !o.present(key) {
		return
	}
	s, ok := o.str(key)
	switch {
	case !ok:
		ck.report(field, "is not a string", app, source)
	case !stdBase64(s):
		ck.report(field, "is not standard padded base64 (+ and /, = padding)", app, source)
	}
}

// stdBase64 reports whether s is standard base64 with padding, as
// Data(base64Encoded:) accepts it.
func stdBase64(s string) bool {
	if strings.ContainsAny(s, "\r\n \t") {
		return false
	}
	_, err := base64.StdEncoding.DecodeString(s)
	return err == nil
}

// checkMimeType: Android's factories for video and file messages take a
// non-null mime type and throw without one (vo/Message.kt
// createVideoMessage, createAttachmentMessage).
func checkMimeType(ck *checker, o jsonObject) {
	if _, ok := o.str("mime_type"); !ok && !o.present("mime_type") {
		ck.report("mime_type", "is missing", appInvalidAndroid, srcAndroidMessage+" createVideoMessage/createAttachmentMessage; "+srcAndroidDecrypt)
	}
}

// checkDimensions: width and height missing or 0 make an image or video
// invalid on both apps (android-app AttachmentMessagePayload invalidData();
// ios-app ReceiveMessageService guard width > 0, height > 0). iOS reads them
// with safeDecodeInt, which takes numbers and numeric strings ("100") and
// truncates fractions; Android's Gson takes numeric strings but refuses a
// fraction. A negative value passes Android's check but not iOS's.
func checkDimensions(ck *checker, o jsonObject, source string) {
	for _, k := range []string{"width", "height"} {
		n, whole, ok := o.intLike(k)
		switch {
		case !ok:
			ck.report(k, "is missing or not a number", "Android stores it as an invalid message and iOS as an unknown one", source)
		case n == 0:
			ck.report(k, "is 0", "Android stores it as an invalid message and iOS as an unknown one", source)
		case n < 0:
			ck.report(k, "is "+strconv.FormatFloat(n, 'g', -1, 64)+", negative", appUnknownIOS+" (Android accepts it)", srcIOSReceive+" guard width > 0, height > 0")
		case !whole:
			ck.report(k, "is "+strconv.FormatFloat(n, 'g', -1, 64)+", not a whole number", appInvalidAndroid+" (Gson cannot read it as an Int; iOS truncates it)", srcAndroidAttachment+" (Gson); "+srcIOSAttachment+" safeDecodeInt")
		}
	}
}

func checkImage(ck *checker, data []byte) {
	if o, ok := checkAttachment(ck, data); ok {
		checkDimensions(ck, o, srcAndroidAttachment+"; "+srcIOSReceive+" processDecryptSuccess")
		checkContent(ck, mixin.CategoryPlainImage, o)
	}
}

// checkVideo adds the mime type and the duration: the apps read
// milliseconds (Android formats it with formatMillis, iOS divides by 1000
// and rounds a fraction of a second up). A duration under 1000 may be a
// short clip or seconds sent by mistake, so it is only a warning.
func checkVideo(ck *checker, data []byte) {
	o, ok := checkAttachment(ck, data)
	if !ok {
		return
	}
	checkMimeType(ck, o)
	checkDimensions(ck, o, srcAndroidAttachment+"; "+srcIOSReceive+" processDecryptSuccess")
	switch d, _, ok := o.intLike("duration"); {
	case !ok:
		ck.report("duration", "is missing", "Android and Desktop store the length as the text \"null\"",
			srcAndroidMessage+" createVideoMessage duration.toString(); "+srcDesktop+" duration.toString()")
	case d < 1000:
		ck.add(ProblemKindWarning, "duration", "is "+strconv.FormatFloat(d, 'g', -1, 64)+", under one second",
			"iOS shows 0:01 and Android 00:00; the apps read milliseconds (a 60 s video is 60000)", srcAndroidVideo+"; "+srcIOSVideo)
	}
	checkContent(ck, mixin.CategoryPlainVideo, o)
}

// checkData: iOS shows a file of size 0 as an unknown message
// (ReceiveMessageService processDecryptSuccess guard size > 0), and Android
// needs the mime type.
func checkData(ck *checker, data []byte) {
	o, ok := checkAttachment(ck, data)
	if !ok {
		return
	}
	checkMimeType(ck, o)
	if n, ok := o.integer("size"); ok && n <= 0 {
		ck.report("size", "is "+strconv.FormatInt(n, 10)+", not positive", appUnknownIOS, srcIOSReceive+" processDecryptSuccess")
	}
	checkContent(ck, mixin.CategoryPlainData, o)
}

// checkAudio: a missing duration shows as 00:00 on Android (AudioHolder)
// and Desktop (duration ?? 0); the waveform is read from "waveform" only,
// so one under "wave_form" is not shown.
func checkAudio(ck *checker, data []byte) {
	o, ok := checkAttachment(ck, data)
	if !ok {
		return
	}
	if _, _, ok := o.intLike("duration"); !ok {
		ck.report("duration", "is missing", "Android and Desktop show the voice message's length as 00:00",
			srcAndroidAudio+"; "+srcDesktop+" mediaDuration: duration ?? 0")
	}
	if o.present("wave_form") && !o.present("waveform") {
		ck.report("wave_form", "is not read: the key is \"waveform\"", "the apps show the voice message without a waveform",
			srcIOSAttachment+" (CodingKeys waveform); "+srcAndroidGson+"; "+srcDesktop+" mediaWaveform")
	}
	checkContent(ck, mixin.CategoryPlainAudio, o)
}

// checkSticker: the apps read only sticker_id; iOS requires a UUID and
// shows an unknown message otherwise, and drops the message without
// showing it when the sticker lookup answers 404 (ReceiveMessageService
// parseSticker, TransferStickerData; android-app
// websocket/StickerMessagePayload.kt).
func checkSticker(ck *checker, data []byte) {
	o, ok := ck.object(data, appUnparsable, srcIOSSticker+"; "+srcDesktop)
	if !ok {
		return
	}
	id, ok := o.str("sticker_id")
	if !ok || !isUUID(id) {
		ck.report("sticker_id", "is missing or not a UUID", appUnknownIOS+"; Android has no sticker to show (album_id and name are not read)",
			srcIOSReceive+" parseSticker; "+srcIOSSticker+"; android-app websocket/StickerMessagePayload.kt")
		return
	}
	if ck.env != nil && ck.env.stickerKnown != nil && !ck.env.stickerKnown(id) {
		ck.report("sticker_id", "names no sticker the server knows (add it with Server.AddSticker or POST /_mixintest/stickers)",
			"iOS drops the message without showing it (the sticker lookup answers 404)", srcIOSReceive+" parseSticker")
	}
}

// checkContact: iOS requires user_id to be a UUID, and drops the message
// without showing it when the user lookup answers 404; Desktop shows the
// card without a name (ReceiveMessageService processDecryptSuccess,
// syncUser; flutter-app decrypt_message.dart refreshUsers).
func checkContact(ck *checker, data []byte) {
	o, ok := ck.object(data, appUnparsable, srcIOSReceive+" processDecryptSuccess; "+srcDesktop)
	if !ok {
		return
	}
	id, ok := o.str("user_id")
	if !ok || !isUUID(id) {
		ck.report("user_id", "is missing or not a UUID", appUnknownIOS, srcIOSReceive+" processDecryptSuccess")
		return
	}
	if ck.env != nil && ck.env.userKnown != nil && !ck.env.userKnown(id) {
		ck.report("user_id", "names no user the server knows", "iOS drops the message without showing it (the user lookup answers 404) and Desktop shows a contact card without a name",
			srcIOSReceive+" syncUser; "+srcDesktop+" refreshUsers")
	}
}

// checkLocation: Android drops a location whose coordinates do not parse,
// or are both 0, without showing anything (LocationPayload.kt
// toLocationData); Desktop drops it when either is 0
// (decrypt_message.dart); iOS shows an unknown message when they do not
// decode.
func checkLocation(ck *checker, data []byte) {
	src := srcAndroidLocation + "; " + srcIOSReceive + " processDecryptSuccess; " + srcDesktop
	const dropped = "Android and Desktop drop it without showing it and iOS shows an unknown message"
	o, ok := ck.object(data, dropped, src)
	if !ok {
		return
	}
	lat, okLat := o.num("latitude")
	lon, okLon := o.num("longitude")
	if !okLat {
		ck.report("latitude", "is missing or not a number", dropped, src)
	}
	if !okLon {
		ck.report("longitude", "is missing or not a number", dropped, src)
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

// checkLive: a live card without positive dimensions is invalid
// (DecryptMessage.kt); Android's factory needs url and thumb_url
// (vo/Message.kt createLiveMessage) and iOS decodes them as required
// (TransferLiveData).
func checkLive(ck *checker, data []byte) {
	o, ok := ck.object(data, appUnparsable, srcAndroidDecrypt+"; "+srcIOSLive+"; "+srcDesktop)
	if !ok {
		return
	}
	checkDimensions(ck, o, srcAndroidDecrypt+" processDecryptSuccess (live); "+srcIOSLive)
	for _, k := range []string{"thumb_url", "url"} {
		if _, ok := o.str(k); !ok {
			ck.report(k, "is missing or not a string", appInvalidBoth, srcAndroidMessage+" createLiveMessage; "+srcIOSLive)
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
