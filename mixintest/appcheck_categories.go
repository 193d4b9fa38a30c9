package mixintest

import (
	"strings"

	"github.com/gomixin/mixin"
)

// The category names each official app knows, exactly as the stored copies
// of their sources list them. A message of a name an app does not know is
// stored as an unknown message there (android-app DecryptMessage.kt
// processMessage; ios-app ReceiveMessageService processReceiveMessage
// processUnknownMessage; flutter-app decrypt_message.dart process). The
// stored copies are of different ages: the iOS list predates the
// PLAIN_TRANSCRIPT, ENCRYPTED_* and MESSAGE_PIN messages the stored
// ReceiveMessageService handles, and only Desktop's names
// SYSTEM_SAFE_SNAPSHOT and SYSTEM_SAFE_INSCRIPTION, so a name some list
// lacks is only a warning.
var (
	// androidCategories: android-app vo/Message.kt enum class
	// MessageCategory, read by String.isIllegalMessageCategory.
	androidCategories = categorySet(
		"SIGNAL_KEY SIGNAL_TEXT SIGNAL_IMAGE SIGNAL_VIDEO SIGNAL_STICKER SIGNAL_DATA SIGNAL_CONTACT SIGNAL_AUDIO",
		"SIGNAL_LIVE SIGNAL_POST SIGNAL_LOCATION SIGNAL_TRANSCRIPT",
		"PLAIN_TEXT PLAIN_IMAGE PLAIN_VIDEO PLAIN_DATA PLAIN_STICKER PLAIN_CONTACT PLAIN_AUDIO PLAIN_LIVE PLAIN_POST",
		"PLAIN_JSON PLAIN_LOCATION PLAIN_TRANSCRIPT MESSAGE_RECALL MESSAGE_PIN STRANGER SECRET",
		"SYSTEM_CONVERSATION SYSTEM_USER SYSTEM_CIRCLE SYSTEM_SESSION SYSTEM_ACCOUNT_SNAPSHOT APP_BUTTON_GROUP APP_CARD",
		"WEBRTC_AUDIO_OFFER WEBRTC_AUDIO_ANSWER WEBRTC_ICE_CANDIDATE WEBRTC_AUDIO_CANCEL WEBRTC_AUDIO_DECLINE",
		"WEBRTC_AUDIO_END WEBRTC_AUDIO_BUSY WEBRTC_AUDIO_FAILED",
		"KRAKEN_INVITE KRAKEN_PUBLISH KRAKEN_SUBSCRIBE KRAKEN_ANSWER KRAKEN_TRICKLE KRAKEN_END KRAKEN_CANCEL",
		"KRAKEN_DECLINE KRAKEN_LIST KRAKEN_RESTART",
		"ENCRYPTED_TEXT ENCRYPTED_IMAGE ENCRYPTED_VIDEO ENCRYPTED_STICKER ENCRYPTED_DATA ENCRYPTED_CONTACT",
		"ENCRYPTED_AUDIO ENCRYPTED_LIVE ENCRYPTED_POST ENCRYPTED_LOCATION ENCRYPTED_TRANSCRIPT",
	)
	// iosCategories: ios-app Database/User/Model/Message.swift enum
	// MessageCategory, less UNKNOWN, EXT_UNREAD and EXT_ENCRYPTION, which
	// MessageCategory.isLegal refuses.
	iosCategories = categorySet(
		"SIGNAL_KEY SIGNAL_TEXT SIGNAL_IMAGE SIGNAL_VIDEO SIGNAL_DATA SIGNAL_STICKER SIGNAL_CONTACT SIGNAL_AUDIO",
		"SIGNAL_LIVE SIGNAL_POST SIGNAL_LOCATION SIGNAL_TRANSCRIPT",
		"PLAIN_TEXT PLAIN_IMAGE PLAIN_VIDEO PLAIN_DATA PLAIN_STICKER PLAIN_CONTACT PLAIN_JSON PLAIN_AUDIO PLAIN_LIVE",
		"PLAIN_POST PLAIN_LOCATION APP_CARD APP_BUTTON_GROUP",
		"SYSTEM_CONVERSATION SYSTEM_ACCOUNT_SNAPSHOT SYSTEM_SESSION SYSTEM_USER SYSTEM_CIRCLE",
		"WEBRTC_AUDIO_OFFER WEBRTC_AUDIO_ANSWER WEBRTC_AUDIO_CANCEL WEBRTC_AUDIO_DECLINE WEBRTC_AUDIO_BUSY",
		"WEBRTC_AUDIO_FAILED WEBRTC_AUDIO_END WEBRTC_ICE_CANDIDATE MESSAGE_RECALL",
		"KRAKEN_INVITE KRAKEN_PUBLISH KRAKEN_SUBSCRIBE KRAKEN_ANSWER KRAKEN_TRICKLE KRAKEN_END KRAKEN_CANCEL",
		"KRAKEN_DECLINE KRAKEN_RESTART",
	)
	// desktopCategories: flutter-app lib/enum/message_category.dart, less
	// what lib/db/extension/message_category.dart isIllegalMessageCategory
	// leaves out (the WEBRTC_* and KRAKEN_* calls, which Desktop does not
	// have).
	desktopCategories = categorySet(
		"SIGNAL_KEY SIGNAL_TEXT SIGNAL_IMAGE SIGNAL_VIDEO SIGNAL_STICKER SIGNAL_DATA SIGNAL_CONTACT SIGNAL_AUDIO",
		"SIGNAL_LIVE SIGNAL_POST SIGNAL_LOCATION SIGNAL_TRANSCRIPT",
		"PLAIN_TEXT PLAIN_IMAGE PLAIN_VIDEO PLAIN_DATA PLAIN_STICKER PLAIN_CONTACT PLAIN_AUDIO PLAIN_LIVE PLAIN_POST",
		"PLAIN_JSON PLAIN_LOCATION PLAIN_TRANSCRIPT MESSAGE_RECALL STRANGER SECRET",
		"SYSTEM_CONVERSATION SYSTEM_USER SYSTEM_CIRCLE SYSTEM_SESSION SYSTEM_ACCOUNT_SNAPSHOT",
		"SYSTEM_SAFE_SNAPSHOT SYSTEM_SAFE_INSCRIPTION APP_BUTTON_GROUP APP_CARD",
		"ENCRYPTED_TEXT ENCRYPTED_IMAGE ENCRYPTED_VIDEO ENCRYPTED_STICKER ENCRYPTED_DATA ENCRYPTED_CONTACT",
		"ENCRYPTED_AUDIO ENCRYPTED_LIVE ENCRYPTED_POST ENCRYPTED_LOCATION ENCRYPTED_TRANSCRIPT MESSAGE_PIN",
	)
)

// categorySet builds a set from space-separated names.
func categorySet(lines ...string) map[string]bool {
	set := map[string]bool{}
	for _, l := range lines {
		for _, name := range strings.Fields(l) {
			set[name] = true
		}
	}
	return set
}

// checkCategory handles a category without payload rules. A SIGNAL_* one
// needs a Signal session no bot has, so the apps fail to decrypt it and
// show it as failed, or not at all for SIGNAL_KEY (android-app DecryptMessage.kt processSignalMessage
// insertFailedMessage; ios-app ReceiveMessageService processSignalMessage;
// flutter-app decrypt_message.dart _processSignalMessage). A name no app
// knows is stored as an unknown message by all of them; one only some of
// their lists hold is a warning naming the others.
func checkCategory(ck *checker, c mixin.Category) {
	s := string(c)
	var missing []string
	for _, app := range []struct {
		name  string
		known map[string]bool
	}{{"Android", androidCategories}, {"iOS", iosCategories}, {"Desktop", desktopCategories}} {
		if !app.known[s] {
			missing = append(missing, app.name)
		}
	}
	const src = srcAndroidMessage + " MessageCategory; " + srcIOSMessage + "; " + srcDesktopCategory
	switch {
	case strings.HasPrefix(s, "SIGNAL_"):
		ck.report("category", "is a Signal category", "the apps cannot decrypt it (a bot has no Signal session with them) and show it as a failed message, or not at all",
			srcAndroidDecrypt+" processSignalMessage; "+srcIOSReceive+" processSignalMessage; "+srcDesktop+" _processSignalMessage")
	case len(missing) == 3:
		ck.report("category", "is not a category the apps know", "the apps store it as an unknown message", src)
	case len(missing) > 0:
		ck.add(ProblemKindWarning, "category", "is not in the category list of "+strings.Join(missing, " and ")+" (the other apps know it)",
			strings.Join(missing, " and ")+" store it as an unknown message, unless a version newer than the stored sources added it", src)
	}
}
