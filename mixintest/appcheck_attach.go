package mixintest

import (
	"encoding/base64"
	"math"
	"strconv"
	"strings"

	"github.com/gomixin/mixin"
)

// checkAttachment holds the rules every attachment category shares. iOS
// decodes attachment_id as a required string, size as a required Int64,
// mime_type, thumbnail, name and created_at as optional strings and key,
// digest and waveform as optional Data, which JSONDecoder reads as
// standard padded base64 (TransferAttachmentData.swift); a failure shows an
// unknown message. Android hands the id to its message factories as a
// nullable content (vo/Message.kt), so it shows such a message with
// nothing to download.
func checkAttachment(ck *checker, data []byte) (jsonObject, bool) {
	o, ok := ck.object(data, appUnparsable, srcAndroidDecrypt+" processDecryptSuccess; "+srcIOSReceive+" processDecryptSuccess; "+srcDesktop)
	if !ok {
		return nil, false
	}
	if id, ok := o.str("attachment_id"); !ok {
		ck.report("attachment_id", "is missing or not a string", appUnknownIOS+"; Android shows it with nothing to download",
			srcIOSAttachment+"; "+srcAndroidMessage+" factories (content: String?)")
	} else if strings.TrimSpace(id) == "" {
		ck.add(ProblemKindWarning, "attachment_id", "is empty", "the apps show the message, but no attachment has an empty id to download",
			srcAndroidDecrypt+" (AttachmentDownloadJob of the id); "+srcIOSReceive+" (AttachmentDownloadJob of the id)")
	}
	switch n, ok := o.num("size"); {
	case ok && n != math.Trunc(n):
		ck.report("size", "is "+strconv.FormatFloat(n, 'g', -1, 64)+", not a whole number", appInvalidBoth+" (a Long for both)",
			srcIOSAttachment+" (size: Int64); "+srcAndroidAttachment+" (size: Long)")
	case !ok:
		ck.report("size", "is missing or not a number", appUnknownIOS, srcIOSAttachment+" (size is a required Int64)")
	}
	for _, k := range []string{"mime_type", "thumbnail", "name", "created_at"} {
		if _, ok := o.str(k); o.present(k) && !ok {
			ck.report(k, "is not a string", appUnknownIOS, srcIOSAttachment)
		}
	}
	for _, k := range []string{"key", "digest", "waveform"} {
		checkBase64(ck, o, k, k, appUnknownIOS, srcIOSAttachment+" (Data, read with Data(base64Encoded:))")
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
// non-null mime type and throw without one, which stores an invalid
// message (vo/Message.kt createVideoMessage, createAttachmentMessage;
// DecryptMessage.kt processPlainMessage catches it).
func checkMimeType(ck *checker, o jsonObject) {
	if !o.present("mime_type") {
		ck.report("mime_type", "is missing", appInvalidAndroid, srcAndroidMessage+" createVideoMessage/createAttachmentMessage; "+srcAndroidDecrypt)
	}
}

// checkDimensions: width and height missing or 0 make an image or video
// invalid on both apps (android-app AttachmentMessagePayload invalidData();
// ios-app ReceiveMessageService guard width > 0, height > 0). iOS reads them
// with safeDecodeInt, which takes numbers and numeric strings ("100") and
// truncates fractions; Android's Gson takes numeric strings but refuses a
// fraction. A negative value passes Android's check but not iOS's.
func checkDimensions(ck *checker, o jsonObject) {
	const (
		both = "Android stores it as an invalid message and iOS as an unknown one"
		src  = srcAndroidAttachment + " invalidData(); " + srcIOSReceive + " processDecryptSuccess"
	)
	for _, k := range []string{"width", "height"} {
		n, whole, ok := o.intLike(k)
		v := strconv.FormatFloat(n, 'g', -1, 64)
		switch {
		case !ok:
			ck.report(k, "is missing or not a number", both, src)
		case n == 0:
			ck.report(k, "is 0", both, src)
		case !whole && math.Trunc(n) <= 0:
			ck.report(k, "is "+v+", not a positive whole number", both+" (iOS truncates it to "+strconv.FormatFloat(math.Trunc(n), 'g', -1, 64)+")",
				src+"; "+srcIOSAttachment+" safeDecodeInt")
		case !whole:
			ck.report(k, "is "+v+", not a whole number", appInvalidAndroid+" (Gson cannot read it as an Int; iOS truncates it)",
				srcAndroidAttachment+" (Gson); "+srcIOSAttachment+" safeDecodeInt")
		case n < 0:
			ck.report(k, "is "+v+", negative", appUnknownIOS+" (Android accepts it)", srcIOSReceive+" guard width > 0, height > 0")
		}
	}
}

// checkDuration checks a duration in milliseconds, which iOS reads with
// safeDecodeInt64 (a number or a string) and Android's Gson as a Long. It
// returns the duration, whether there is one, and whether it is a whole
// number the apps read.
func checkDuration(ck *checker, o jsonObject) (d float64, present, valid bool) {
	if !o.present("duration") {
		return 0, false, false
	}
	n, whole, ok := o.intLike("duration")
	switch {
	case !ok:
		if _, isStr := o.str("duration"); isStr {
			ck.report("duration", "is not a number", appInvalidAndroid+" (Gson cannot read it as a Long)", srcAndroidAttachment+" (duration: Long?)")
		} else {
			ck.report("duration", "is not a number", appInvalidBoth, srcAndroidAttachment+" (duration: Long?); "+srcIOSAttachment+" safeDecodeInt64")
		}
		return 0, true, false
	case !whole:
		ck.report("duration", "is "+strconv.FormatFloat(n, 'g', -1, 64)+", not a whole number", appInvalidAndroid+" (Gson cannot read it as a Long; iOS truncates it)",
			srcAndroidAttachment+" (duration: Long?); "+srcIOSAttachment+" safeDecodeInt64")
		return 0, true, false
	}
	return n, true, true
}

func checkImage(ck *checker, data []byte) {
	if o, ok := checkAttachment(ck, data); ok {
		checkDimensions(ck, o)
		checkContent(ck, mixin.CategoryPlainImage, o)
	}
}

// checkVideo adds the mime type and the duration: Android and Desktop
// store a missing one as the text "null" (vo/Message.kt createVideoMessage
// duration.toString(); decrypt_message.dart), and the apps read
// milliseconds: Android formats the value with formatMillis, so 60 (seconds
// sent by mistake) shows as 00:00. A duration under 1000 may also be a
// short clip, so it is only a warning.
func checkVideo(ck *checker, data []byte) {
	o, ok := checkAttachment(ck, data)
	if !ok {
		return
	}
	checkMimeType(ck, o)
	checkDimensions(ck, o)
	switch d, present, valid := checkDuration(ck, o); {
	case !present:
		ck.report("duration", "is missing", "Android and Desktop store the length as the text \"null\"",
			srcAndroidMessage+" createVideoMessage duration.toString(); "+srcDesktop+" duration.toString()")
	case valid && d < 1000:
		ck.add(ProblemKindWarning, "duration", "is "+strconv.FormatFloat(d, 'g', -1, 64)+", under one second",
			"the apps read milliseconds (a 60 s video is 60000): Android shows it as 00:00", srcAndroidVideo+"; "+srcIOSAttachment+" (duration in ms)")
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
		ck.report("size", "is "+strconv.FormatInt(n, 10)+", not positive", appUnknownIOS, srcIOSReceive+" processDecryptSuccess guard size > 0")
	}
	checkContent(ck, mixin.CategoryPlainData, o)
}

// checkAudio: Android shows a missing duration as 00:00 (AudioHolder.kt
// toLongOrNull() ?: "00:00") and Desktop as 0 (duration ?? 0), and formats
// the milliseconds with formatMillis, so a value under 1000 also reads
// 00:00; the waveform is read from "waveform" only, so one under
// "wave_form" is not shown.
func checkAudio(ck *checker, data []byte) {
	o, ok := checkAttachment(ck, data)
	if !ok {
		return
	}
	switch d, present, valid := checkDuration(ck, o); {
	case !present:
		ck.report("duration", "is missing", "Android and Desktop show the voice message's length as 00:00",
			srcAndroidAudio+"; "+srcDesktop+" mediaDuration: duration ?? 0")
	case valid && d < 1000:
		ck.add(ProblemKindWarning, "duration", "is "+strconv.FormatFloat(d, 'g', -1, 64)+", under one second",
			"the apps read milliseconds: Android shows it as 00:00", srcAndroidAudio+" formatMillis")
	}
	if o.present("wave_form") && !o.present("waveform") {
		ck.report("wave_form", "is not read: the key is \"waveform\"", "the apps show the voice message without a waveform",
			srcIOSAttachment+" (CodingKeys waveform); "+srcAndroidAttachment+" (waveform); "+srcDesktop+" mediaWaveform")
	}
	checkContent(ck, mixin.CategoryPlainAudio, o)
}
