package mixintest

import (
	"encoding/json"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// checkAppCard: iOS reads action as an optional string first; a non-empty
// one makes the card the legacy shape (V0Content), anything else the new
// shape (V1Content), and a card that does not decode is an unknown message
// (ios-app AppCardData.swift init(from:), ReceiveMessageService
// processAppCard). app_id, when present, must be a non-empty UUID, or iOS
// shows an unknown message (processAppCard). Android parses the card with
// Gson, which coerces numbers to strings but stores an invalid message when
// the JSON has another structure (DecryptMessage.kt processAppCard).
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
	checkCardLimits(ck, o)
	action, ok := o.str("action")
	switch {
	case o.present("action") && !ok:
		ck.report("action", "is not a string", appUnknownIOS, srcIOSCard+" init(from:) decodeIfPresent(String.self, forKey: .action)")
	case action != "":
		checkLegacyCard(ck, o)
	default:
		checkNewCard(ck, o)
	}
}

// checkNewCard: V1Content needs app_id (a string) and shareable (a Bool);
// title, description and updated_at are optional strings, actions an
// optional array of {action, color, label} strings, and cover an optional
// object; cover_url, an optional string, is read only when cover gives no
// URL. Android does not let a card without shareable be forwarded
// (AppCardData.canShare).
func checkNewCard(ck *checker, o jsonObject) {
	src := srcIOSCard + " V1Content"
	if !o.present("app_id") {
		ck.report("app_id", "is missing", appUnknownIOS+" (a new-shape card requires it)", src)
	}
	for _, k := range []string{"title", "description", "updated_at"} {
		if _, ok := o.str(k); o.present(k) && !ok {
			ck.report(k, "is not a string", appUnknownIOS, src)
		}
	}
	coverURL := false
	if o.present("cover") {
		coverURL = checkCardCover(ck, o)
	}
	if _, ok := o.str("cover_url"); !coverURL && o.present("cover_url") && !ok {
		ck.report("cover_url", "is not a string", appUnknownIOS, src+" (read when cover gives no URL)")
	}
	if o.present("actions") {
		if actions, ok := o.array("actions"); !ok {
			ck.report("actions", "is not an array", appInvalidBoth+" (the docs' {\"buttons\": [...]} form included)",
				src+"; "+srcAndroidCard+" (actions: List<ActionButtonData>?)")
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
// strings and width and height Ints, strictly (no numeric strings), or
// iOS shows an unknown message (AppCardData.swift RichCover). It reports
// whether the cover gives a URL, so that cover_url is not read.
func checkCardCover(ck *checker, o jsonObject) bool {
	src := srcIOSCard + " RichCover"
	var c jsonObject
	if json.Unmarshal(o["cover"], &c) != nil || c == nil {
		ck.report("cover", "is not an object", appUnknownIOS, src)
		return false
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
	u, _ := c.str("url")
	return u != ""
}

// checkLegacyCard: V0Content needs icon_url and action URLs and title and
// description strings; app_id and updated_at are optional strings and
// shareable an optional Bool. Foundation's URL(string:) refuses an empty
// string; characters such as spaces it refused only before iOS 17, so
// those are a warning.
func checkLegacyCard(ck *checker, o jsonObject) {
	src := srcIOSCard + " V0Content"
	for _, k := range []string{"icon_url", "action"} {
		switch s, ok := o.str(k); {
		case !ok || s == "":
			ck.report(k, "is missing, empty or not a string", appUnknownIOS+" (a legacy card requires a URL)", src)
		case !isSwiftURL(s):
			ck.add(ProblemKindWarning, k, "has characters a URL may not hold", "iOS before 17 cannot read it as a URL and shows an unknown message", src)
		}
	}
	for _, k := range []string{"title", "description"} {
		if _, ok := o.str(k); !ok {
			ck.report(k, "is missing or not a string", appUnknownIOS+" (a legacy card requires it)", src)
		}
	}
	if _, ok := o.str("updated_at"); o.present("updated_at") && !ok {
		ck.report("updated_at", "is not a string", appUnknownIOS, src)
	}
	switch {
	case !o.present("shareable"):
		ck.add(ProblemKindWarning, "shareable", "is missing", "Android does not let the card be forwarded, although the docs give true as the default",
			srcAndroidCard+" canShare; "+srcDocsCategory)
	case !o.boolean("shareable"):
		ck.report("shareable", "is not a boolean", appUnknownIOS, src)
	}
}

// checkCardLimits reports a title, description or action list over the
// docs' limits.
func checkCardLimits(ck *checker, o jsonObject) {
	if t, ok := o.str("title"); ok && utf8.RuneCountInString(t) > docsMaxCardTitle {
		ck.add(ProblemKindLimit, "title", "has "+strconv.Itoa(utf8.RuneCountInString(t))+" characters, over the docs' "+strconv.Itoa(docsMaxCardTitle),
			appLimitNote, srcDocsCategory)
	}
	if d, ok := o.str("description"); ok && utf8.RuneCountInString(d) > docsMaxDescription {
		ck.add(ProblemKindLimit, "description", "has "+strconv.Itoa(utf8.RuneCountInString(d))+" characters, over the docs' "+strconv.Itoa(docsMaxDescription),
			appLimitNote, srcDocsCategory)
	}
	if a, ok := o.array("actions"); ok && len(a) > docsMaxButtons {
		ck.add(ProblemKindLimit, "actions", "has "+strconv.Itoa(len(a))+" entries, over the docs' "+strconv.Itoa(docsMaxButtons), appLimitNote, srcDocsCategory)
	}
}

// checkButtons: both apps need a JSON array of objects (android-app
// DecryptMessage.kt processAppButton, Gson Array<AppButtonData>; ios-app
// ReceiveMessageService processAppButton, [AppButtonData]). Android runs
// ColorUtil.parseColor(color.trim()) on every button while it receives the
// message and stores it as invalid when a colour is missing or does not
// parse. iOS's AppButtonData is not in the stored sources, and Android does
// not read label and action on receipt, so a missing label or action is a
// warning. No parser refuses an empty group.
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
	for i, raw := range items {
		prefix := "buttons[" + strconv.Itoa(i) + "]"
		var o jsonObject
		if json.Unmarshal(raw, &o) != nil || o == nil {
			ck.report(prefix, "is not a JSON object", appInvalidBoth, src)
			continue
		}
		switch c, ok := o.str("color"); {
		case !ok:
			ck.report(prefix+".color", "is missing or not a string", appInvalidAndroid, src+"; "+srcAndroidColor)
		case !androidColor(c):
			ck.report(prefix+".color", strconv.Quote(c)+" is not a color Android parses (#RGB, #RRGGBB, #AARRGGBB or a color name)",
				appInvalidAndroid, src+"; "+srcAndroidColor)
		}
		for _, k := range []string{"label", "action"} {
			if _, ok := o.str(k); !ok {
				ck.add(ProblemKindWarning, prefix+"."+k, "is missing or not a string",
					"Android does not read it on receipt; what iOS does is not in the stored sources (AppButtonData)", src)
			}
		}
		checkLabelLimit(ck, prefix, o)
	}
}

// checkButtonList checks card actions: label, color and action strings,
// which iOS requires (V1Content.Action). The color is not parsed on
// receipt: Android parses it while drawing, falling back to black
// (ActionsCardHolder.kt), so only its type matters.
func checkButtonList(ck *checker, field string, items []json.RawMessage, app, src string) {
	for i, raw := range items {
		prefix := field + "[" + strconv.Itoa(i) + "]"
		var o jsonObject
		if json.Unmarshal(raw, &o) != nil || o == nil {
			ck.report(prefix, "is not a JSON object", appInvalidBoth, src+"; "+srcAndroidCard)
			continue
		}
		for _, k := range []string{"label", "color", "action"} {
			if _, ok := o.str(k); !ok {
				ck.report(prefix+"."+k, "is missing or not a string", app, src)
			}
		}
		checkLabelLimit(ck, prefix, o)
	}
}

// checkLabelLimit reports a button label over the docs' limit.
func checkLabelLimit(ck *checker, prefix string, o jsonObject) {
	if l, ok := o.str("label"); ok && utf8.RuneCountInString(l) > docsMaxLabel {
		ck.add(ProblemKindLimit, prefix+".label", "has "+strconv.Itoa(utf8.RuneCountInString(l))+" characters, over the docs' "+strconv.Itoa(docsMaxLabel),
			appLimitNote, srcDocsCategory)
	}
}

// androidColor reports whether Android accepts s as a button colour:
// processAppButton trims it (Kotlin trim(): Unicode white space) and
// ColorUtil.parseColor takes one of its colour names in any case, "#" and
// three digits Integer.parseInt reads in base 16, or what
// android.graphics.Color.parseColor takes: "#" and six or eight digits
// Long.parseLong reads in base 16. Both Java parsers accept a leading sign.
func androidColor(s string) bool {
	s = strings.TrimFunc(s, unicode.IsSpace)
	switch strings.ToLower(s) {
	case "black", "darkgray", "gray", "lightgray", "white", "red", "green", "blue", "yellow", "cyan", "magenta",
		"aqua", "fuchsia", "darkgrey", "grey", "lightgrey", "lime", "maroon", "navy", "olive", "purple", "silver", "teal":
		return true
	}
	hex, ok := strings.CutPrefix(s, "#")
	if !ok || (len(s) != 4 && len(s) != 7 && len(s) != 9) {
		return false
	}
	if len(hex) > 0 && (hex[0] == '+' || hex[0] == '-') {
		hex = hex[1:]
	}
	if hex == "" {
		return false
	}
	for _, r := range hex {
		if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
			return false
		}
	}
	return true
}
