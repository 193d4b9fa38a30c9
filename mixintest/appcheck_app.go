package mixintest

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gomixin/mixin"
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

// legalCategories are the category names the apps know besides the
// message kinds of appRules: ios-app Message.swift MessageCategory and
// android-app vo/Message.kt MessageCategory. Any other name is stored as an
// unknown message (isLegal / isIllegalMessageCategory).
var legalCategories = map[string]bool{
	"PLAIN_JSON": true, "SYSTEM_CONVERSATION": true, "SYSTEM_ACCOUNT_SNAPSHOT": true, "SYSTEM_SAFE_SNAPSHOT": true,
	"SYSTEM_SAFE_INSCRIPTION": true, "SYSTEM_SESSION": true, "SYSTEM_USER": true, "SYSTEM_CIRCLE": true,
	"WEBRTC_AUDIO_OFFER": true, "WEBRTC_AUDIO_ANSWER": true, "WEBRTC_AUDIO_CANCEL": true, "WEBRTC_AUDIO_DECLINE": true,
	"WEBRTC_AUDIO_BUSY": true, "WEBRTC_AUDIO_FAILED": true, "WEBRTC_AUDIO_END": true, "WEBRTC_ICE_CANDIDATE": true,
	"KRAKEN_INVITE": true, "KRAKEN_PUBLISH": true, "KRAKEN_SUBSCRIBE": true, "KRAKEN_ANSWER": true, "KRAKEN_TRICKLE": true,
	"KRAKEN_END": true, "KRAKEN_CANCEL": true, "KRAKEN_DECLINE": true, "KRAKEN_LIST": true, "KRAKEN_RESTART": true,
}

// checkCategory handles a category without payload rules: a SIGNAL_* one
// needs a Signal session no bot has, so the apps fail to decrypt it and
// show it as failed; a name the apps do not know is stored as unknown.
func checkCategory(ck *checker, c mixin.Category) {
	switch s := string(c); {
	case strings.HasPrefix(s, "SIGNAL_"):
		ck.report("category", "is a Signal category", "the apps cannot decrypt it (a bot has no Signal session with them) and show it as a failed message",
			srcAndroidDecrypt+" processSignalMessage; "+srcIOSReceive+"; "+srcDesktop+" _processSignalMessage")
	case !legalCategories[s]:
		ck.report("category", "is not a category the apps know", "the apps store it as an unknown message",
			srcAndroidMessage+" isIllegalMessageCategory; "+srcIOSMessage+"; "+srcDesktop+" isIllegalMessageCategory")
	}
}

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
			"the apps keep only the items whose transcript_id is the message's id: iOS shows an unknown message and Desktop an invalid one", src)
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

// checkAppCard: iOS decodes a card with a non-empty action in the legacy
// shape (V0Content: icon_url and action URLs, title and description
// strings) and any other as the new shape (V1Content: app_id and the
// shareable Bool required; title, description, cover_url, updated_at
// optional strings; actions optional, each with action, color and label
// strings); app_id, when present, must be a UUID (ios-app AppCardData.swift,
// ReceiveMessageService processAppCard). A value of the wrong type in an
// optional field fails the decoding too. Android treats a missing shareable
// as false (AppCardData.canShare) where the docs give true as the default.
func checkAppCard(ck *checker, data []byte) {
	o, ok := ck.object(data, appUnparsable, srcIOSReceive+" processAppCard; "+srcAndroidDecrypt+" processAppCard")
	if !ok {
		return
	}
	if o.present("app_id") {
		if id, ok := o.str("app_id"); !ok || !isUUID(id) {
			ck.report("app_id", "is not a UUID", appUnknownIOS, srcIOSReceive+" processAppCard")
		}
	}
	if o.present("action") {
		if _, ok := o.str("action"); !ok {
			ck.report("action", "is not a string", appUnknownIOS, srcIOSCard)
		}
	}
	checkCardLimits(ck, o)
	if action, _ := o.str("action"); strings.TrimSpace(action) != "" {
		checkLegacyCard(ck, o)
		return
	}
	checkNewCard(ck, o)
}

func checkNewCard(ck *checker, o jsonObject) {
	src := srcIOSCard + " V1Content"
	if _, ok := o.str("app_id"); !ok {
		ck.report("app_id", "is missing", appUnknownIOS+" (a new-shape card requires it)", src)
	}
	for _, k := range []string{"title", "description", "cover_url", "updated_at"} {
		if o.present(k) {
			if _, ok := o.str(k); !ok {
				ck.report(k, "is not a string", appUnknownIOS, src)
			}
		}
	}
	if o.present("cover") {
		checkCardCover(ck, o)
	}
	if o.present("actions") {
		if actions, ok := o.array("actions"); !ok {
			ck.report("actions", "is not an array", appUnknownIOS+" (the docs' {\"buttons\": [...]} form included)", src)
		} else {
			checkButtonList(ck, "actions", actions, appUnknownIOS, src+".Action")
		}
	}
	if !o.boolean("shareable") {
		ck.report("shareable", "is missing or not a boolean", appUnknownIOS+" (a new-shape card requires it) and Android does not let it be forwarded",
			src+"; "+srcAndroidCard+" canShare")
	}
}

// checkCardCover: a cover object needs url, mime_type and thumbnail
// strings and whole-number width and height (ios-app AppCardData.swift).
func checkCardCover(ck *checker, o jsonObject) {
	src := srcIOSCard + " (cover)"
	var c jsonObject
	if json.Unmarshal(o["cover"], &c) != nil || c == nil {
		ck.report("cover", "is not an object", appUnknownIOS, src)
		return
	}
	for _, k := range []string{"url", "mime_type", "thumbnail"} {
		if _, ok := c.str(k); !ok {
			ck.report("cover."+k, "is missing or not a string", appUnknownIOS, src)
		}
	}
	for _, k := range []string{"width", "height"} {
		if _, ok := c.integer(k); !ok {
			ck.report("cover."+k, "is missing or not a whole number", appUnknownIOS, src)
		}
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
	if o.present("updated_at") {
		if _, ok := o.str("updated_at"); !ok {
			ck.report("updated_at", "is not a string", appUnknownIOS, src)
		}
	}
	switch {
	case !o.present("shareable"):
		ck.add(ProblemKindWarning, "shareable", "is missing", "Android does not let the card be forwarded, although the docs give true as the default",
			srcAndroidCard+" canShare; "+srcDocsCategory)
	case !o.boolean("shareable"):
		ck.report("shareable", "is not a boolean", appUnknownIOS, src)
	}
}

// checkCardLimits reports a title or description over the docs' limits.
func checkCardLimits(ck *checker, o jsonObject) {
	if t, ok := o.str("title"); ok && utf8.RuneCountInString(t) > docsMaxCardTitle {
		ck.add(ProblemKindLimit, "title", "has "+strconv.Itoa(utf8.RuneCountInString(t))+" characters, over the docs' "+strconv.Itoa(docsMaxCardTitle),
			appLimitNote+" (Android cuts it at 128)", srcDocsCategory)
	}
	if d, ok := o.str("description"); ok && utf8.RuneCountInString(d) > docsMaxDescription {
		ck.add(ProblemKindLimit, "description", "has "+strconv.Itoa(utf8.RuneCountInString(d))+" characters, over the docs' "+strconv.Itoa(docsMaxDescription),
			appLimitNote, srcDocsCategory)
	}
	if a, ok := o.array("actions"); ok && len(a) > docsMaxButtons {
		ck.add(ProblemKindLimit, "actions", "has "+strconv.Itoa(len(a))+" entries, over the docs' "+strconv.Itoa(docsMaxButtons), appLimitNote, srcDocsCategory)
	}
}

// checkButtons: Android parses every button's color (ColorUtil.parseColor)
// and stores the message as invalid when one does not parse; both apps
// need label, color and action as strings (android-app DecryptMessage.kt
// processAppButton; ios-app ReceiveMessageService processAppButton).
// Desktop stores the payload unparsed. No parser refuses an empty group.
func checkButtons(ck *checker, data []byte) {
	src := srcAndroidDecrypt + " processAppButton; " + srcIOSReceive + " processAppButton"
	var items []json.RawMessage
	if err := json.Unmarshal(data, &items); err != nil || items == nil {
		ck.report("data", "is not a JSON array", appInvalidBoth, src)
		return
	}
	switch {
	case len(items) == 0:
		ck.add(ProblemKindWarning, "data", "has no buttons", "no app refuses it: the apps show a message without buttons", src)
	case len(items) > docsMaxButtons:
		ck.add(ProblemKindLimit, "data", "has "+strconv.Itoa(len(items))+" buttons, over the docs' "+strconv.Itoa(docsMaxButtons), appLimitNote, srcDocsCategory)
	}
	checkButtonList(ck, "buttons", items, appInvalidBoth, src)
	for i, raw := range items {
		var o jsonObject
		if json.Unmarshal(raw, &o) != nil {
			continue
		}
		if c, ok := o.str("color"); ok && !androidColor(c) {
			ck.report("buttons["+strconv.Itoa(i)+"].color", strconv.Quote(c)+" is not a color Android parses (#RGB, #RRGGBB, #AARRGGBB or a color name)",
				appInvalidAndroid, srcAndroidDecrypt+" processAppButton; "+srcAndroidColor)
		}
	}
}

// checkButtonList checks the shape of buttons or card actions: label,
// color and action strings. The color of a card action is not parsed on
// receipt: Android parses it while drawing, falling back to black
// (ActionsCardHolder), so only its type matters.
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
		if l, ok := o.str("label"); ok && utf8.RuneCountInString(l) > docsMaxLabel {
			ck.add(ProblemKindLimit, prefix+".label", "has "+strconv.Itoa(utf8.RuneCountInString(l))+" characters, over the docs' "+strconv.Itoa(docsMaxLabel),
				appLimitNote, srcDocsCategory)
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

// androidColor reports whether android-app ColorUtil.parseColor accepts s:
// one of its color names in any case, #RGB, or what
// android.graphics.Color.parseColor takes (#RRGGBB, #AARRGGBB). Nothing
// trims the string.
func androidColor(s string) bool {
	switch strings.ToLower(s) {
	case "black", "darkgray", "gray", "lightgray", "white", "red", "green", "blue", "yellow", "cyan", "magenta",
		"aqua", "fuchsia", "darkgrey", "grey", "lightgrey", "lime", "maroon", "navy", "olive", "purple", "silver", "teal":
		return true
	}
	hex, ok := strings.CutPrefix(s, "#")
	if !ok || (len(hex) != 3 && len(hex) != 6 && len(hex) != 8) {
		return false
	}
	for _, r := range hex {
		if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
			return false
		}
	}
	return true
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
