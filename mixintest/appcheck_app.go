package mixintest

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
)

// The docs' limits for app messages (developers.mixin.one
// api/messages/category): the apps do not enforce them on receipt, so the
// check reports them as [ProblemKindLimit].
const (
	docsMaxButtons     = 6
	docsMaxLabel       = 36
	docsMaxCardTitle   = 36
	docsMaxDescription = 1024
	appLimitNote       = "the apps show it anyway; the docs set the limit"
)

// transcriptFields are the optional fields of a transcript item and their
// JSON types as iOS's synthesized Codable reads them (TranscriptMessage):
// "s" string, "i" whole number, "b" standard padded base64.
var transcriptFields = map[string]string{
	"user_id": "s", "user_full_name": "s", "content": "s", "media_url": "s", "media_name": "s", "media_mime_type": "s",
	"media_status": "s", "thumb_image": "s", "thumb_url": "s", "media_created_at": "s", "sticker_id": "s",
	"shared_user_id": "s", "mentions": "s", "quote_id": "s", "quote_content": "s", "caption": "s",
	"media_size": "i", "media_duration": "i", "media_width": "i", "media_height": "i",
	"media_waveform": "b", "media_key": "b", "media_digest": "b",
}

// checkTranscript: iOS decodes every item with transcript_id, message_id,
// category and created_at required and the optional fields strictly typed
// (TranscriptMessage.swift), so one bad item fails the whole transcript;
// the apps keep only the items whose transcript_id is the message's id and
// show a transcript without any as an unknown or invalid message
// (android-app DecryptMessage.kt processTranscriptMessage; ios-app
// parseTranscript; flutter-app processTranscriptMessage).
func checkTranscript(ck *checker, data []byte) {
	src := srcAndroidDecrypt + " processTranscriptMessage; " + srcIOSReceive + " parseTranscript; " + srcDesktop + " processTranscriptMessage"
	var items []json.RawMessage
	if err := json.Unmarshal(data, &items); err != nil || items == nil {
		ck.report("data", "is not a JSON array", appUnparsable, src)
		return
	}
	const whole = "iOS cannot decode the transcript and shows an unknown message"
	own := 0
	for i, raw := range items {
		prefix := "transcript[" + strconv.Itoa(i) + "]"
		var o jsonObject
		if json.Unmarshal(raw, &o) != nil || o == nil {
			ck.report(prefix, "is not a JSON object", appUnparsable, src)
			continue
		}
		for _, k := range []string{"transcript_id", "message_id", "category", "created_at"} {
			if _, ok := o.str(k); !ok {
				ck.report(prefix+"."+k, "is missing or not a string", whole, srcIOSTranscript)
			}
		}
		checkTranscriptOptional(ck, o, prefix, whole)
		if tid, _ := o.str("transcript_id"); tid == ck.messageID {
			own++
		}
	}
	if own == 0 {
		ck.report("transcript_id", "is not this message's id ("+ck.messageID+") in any item",
			"the apps keep only the items whose transcript_id is the message's id: Android and iOS show an unknown message and Desktop an invalid one", src)
	}
}

func checkTranscriptOptional(ck *checker, o jsonObject, prefix, app string) {
	for _, k := range sortedKeys(o) {
		kind, ok := transcriptFields[k]
		if !ok || !o.present(k) {
			continue
		}
		field := prefix + "." + k
		switch kind {
		case "s":
			if _, ok := o.str(k); !ok {
				ck.report(field, "is not a string", app, srcIOSTranscript)
			}
		case "i":
			if _, ok := o.integer(k); !ok {
				ck.report(field, "is not a whole number", app, srcIOSTranscript)
			}
		case "b":
			checkBase64(ck, o, k, field, app, srcIOSTranscript+" (Data fields)")
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

// sortedKeys returns the keys of o in order, so problems come out in a
// stable order.
func sortedKeys(o jsonObject) []string {
	keys := make([]string, 0, len(o))
	for k := range o {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
