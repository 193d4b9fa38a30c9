// Package mixintest is an offline emulator of the Mixin Messenger bot API,
// in the spirit of net/http/httptest: REST and blaze (the websocket) on one
// local server, a registered bot whose keystore it hands out, simulated
// users, fault injection and a record of every request.
//
//	s := mixintest.NewServer(t)            // started; closed by t.Cleanup
//	client, err := s.Client()              // a mixin.Client for the bot
//	alice := s.NewUser("Alice")
//	alice.SendText(ctx, s.Bot().UserID, "hi")  // reaches the bot's blaze queue
//	in, _ := alice.WaitInbox(ctx, 1)       // what the bot sent her
//
// # Authentication
//
// Every user, the bot and each simulated user, has a primary Ed25519
// session (simulated users may add device sessions, see below), and
// User.KeystoreJSON gives its keystore in the dashboard format, so any client
// can act as any user. Requests are verified like the real API: an EdDSA JWT
// checked with github.com/golang-jwt/jwt/v5 against the session key named by
// uid/sid, sig = hex(sha256(METHOD + request URI as received + body)), exp
// with 5s leeway by the server clock (WithClock), iat at most 5 minutes ahead
// (or within WithMaxClockSkew either way), a lifetime of at most
// WithMaxTokenAge. Any failure answers code 401; a blaze connection with a
// bad token is accepted, sent an ERROR frame with code 401 and closed, the
// form the official apps act on (WithBlazeAuthFailure(BlazeAuthFailureHTTP401)
// refuses the upgrade with HTTP 401 instead).
//
// # Responses
//
// Success is {"data":…} with HTTP 200, or {} where the docs show empty JSON
// (a batch POST /messages, POST /acknowledgements); business errors are
// HTTP 202 {"error":{"status":202,"code":N,"description":…,"extra":…}};
// 500, 7000 and 7001 come as HTTP 500. X-Request-Id is echoed; X-Server-Time
// (nanoseconds) and Date carry the server clock (WithClockHeaders).
//
// # Messages and blaze
//
// POST /messages (an object or an array of up to 100) routes a message to
// every other participant, or to recipient_id only, and dedupes on the
// sender's message_id. Each delivery lands in the recipient's inbox
// (User.Inbox) and blaze queue (Server.Pending). A blaze connection gets
// nothing until LIST_PENDING_MESSAGES; then the queue in order, then live
// pushes. Entries stay queued until acknowledged (POST /acknowledgements or an
// ACKNOWLEDGE_MESSAGE_RECEIPT frame) and come again on the next connection.
// Acknowledging someone else's message queues an ACKNOWLEDGE_MESSAGE_RECEIPT
// for its sender, delivered once (WithReceiptsUntilAcked keeps it until
// acknowledged; WithReceiptKeying says which receipts an acknowledgement
// retires). Server.Pushes counts what the queues cost: every push, re-pushes
// included. Membership changes send SYSTEM_CONVERSATION messages to the
// participants other than the actor.
//
// # End-to-end encryption
//
// Each session publishes its X25519 key (converted from its Ed25519 key) in
// participant_sessions and sessions/fetch; User.AddSession and
// User.RemoveSession change a user's devices without any SYSTEM message, as
// a sign-in elsewhere does. POST /encrypted_messages checks each message:
// the data must be the encrypted format, recipient_sessions must name the
// sessions it is encrypted for, and every session of every recipient must be
// among them. A recipient whose sessions changed is answered FAILED with its
// current sessions (or the whole request error 20140 with
// WithStaleChecksumError); a checksum that matches no current set while every
// recipient is covered is error 20140. A message re-sent under the same id
// reaches only the recipients that have not had it. Simulated users decrypt
// what they receive with every one of their sessions (Message.Plaintext,
// User.Decrypt), check encrypted attachments (EncryptAttachment,
// DecryptAttachment) and report what they cannot read through the test
// (Server.EncryptionProblems). With WithBotCapabilities("ENCRYPTED", …) they
// send the bot ENCRYPTED_* messages as the Android app does; User.SendEncrypted
// sends one to anyone.
//
// # Faults
//
// Faults (WithFaults, Server.SetFaults) inject HTTP 500s, rate limits (code
// 429 in the documented HTTP 202 envelope, or HTTP 429) with Retry-After,
// latency, blaze frame delays, dropped sockets and refused or
// unauthorized upgrades, all from a seeded random source; Server.FailNext
// scripts the next answers of one endpoint.
//
// # Relationships, profiles and circles
//
// POST /relationships (ADD with an alias, UPDATE, REMOVE, BLOCK, UNBLOCK),
// GET /friends and GET /blocking_users keep one-sided relationships; a
// simulated user befriends and blocks with User.AddFriend, User.Block and
// User.Unblock, and Server.Relationship reports what one user sees of
// another. In a contact conversation a recipient who blocks the sender, or
// accepts messages from contacts only (User.AcceptMessagesFrom, or POST
// /me/preferences receive_message_source CONTACTS) and has not added the
// sender, refuses the message with 403. POST /me changes the name,
// biography and avatar (served back at the avatar_url it answers); groups
// take icon_base64 likewise. Circles belong to the user who created them.
// GET /codes/:id resolves user and group invite codes, and GET
// /messages/status/:offset replays the receipts of a user's messages.
//
// # TLS
//
// NewTLSServer (or StartTLS) serves HTTPS and WSS with a self-signed
// certificate generated for localhost, 127.0.0.1, ::1 and WithTLSHosts;
// Client trusts it, and CertificatePEM or WriteCertificate hand it to other
// clients (Go reads SSL_CERT_FILE, Node NODE_EXTRA_CA_CERTS).
//
// # App check
//
// Every message the server accepts, from any client (POST /messages, POST
// /encrypted_messages, a blaze CREATE_MESSAGE, a simulated user, the admin
// API; an ENCRYPTED_* message once decrypted with the recipients' keys,
// which the emulator holds), is read the way the official apps parse it:
// Android (MixinNetwork/android-app, paths under
// app/src/main/java/one/mixin/android), iOS (MixinNetwork/ios-app, under
// MixinServices/MixinServices) and Desktop (MixinNetwork/flutter-app, under
// lib). Each finding is a Problem of one kind:
//
//   - ProblemKindBroken: an app shows the message as invalid, unknown or
//     failed, with a part missing or wrong, or drops it. It fails the test
//     given to NewServer.
//   - ProblemKindWarning: no app is known to refuse it, but it is likely a
//     mistake, a shape no official client sends, or one the stored
//     official sources leave open. Logged to the test.
//   - ProblemKindLimit: outside the docs' limits, which no app enforces on
//     receipt. Logged to the test.
//
// Server.Problems lists them (GET /_mixintest/problems for other clients;
// WithProblemHook to see each as it happens). The real API accepts such
// messages, and so does the emulator: it delivers them and answers
// success. WithoutAppCheck turns the check off.
//
// The rules, with what each app does (unknown: iOS's "unknown message";
// invalid: Android's and Desktop's invalid message). Each rule cites, beside
// its code, the stored official file it comes from; where those files leave
// a fact open the rule is a warning and says so:
//
//   - Categories: SIGNAL_* shows as failed, a bot having no Signal session
//     (android-app job/DecryptMessage.kt processSignalMessage; ios-app
//     ReceiveMessageService.swift; flutter-app decrypt_message.dart). A name
//     in none of the apps' category lists (android-app vo/Message.kt
//     MessageCategory; ios-app Database/User/Model/Message.swift
//     MessageCategory.isLegal; flutter-app lib/db/extension/
//     message_category.dart isIllegalMessageCategory) is stored as unknown
//     by all three. A name only some lists hold is a warning: WEBRTC_* and
//     KRAKEN_* (Desktop has no calls), KRAKEN_LIST, STRANGER, SECRET,
//     SYSTEM_SAFE_SNAPSHOT, SYSTEM_SAFE_INSCRIPTION.
//   - PLAIN_TEXT, PLAIN_POST: not UTF-8 is unknown on iOS; Android and
//     Desktop show replacement characters (ios-app ReceiveMessageService;
//     decrypt_message.dart _decode). Empty or blank: warning.
//   - Attachments (IMAGE, VIDEO, DATA, AUDIO), as iOS decodes them (ios-app
//     Services/WebSocket/Model/TransferAttachmentData.swift): attachment_id
//     missing or not a string, size missing or not a whole number, mime_type,
//     thumbnail, name or created_at of another type, key, digest or
//     waveform not standard padded base64: unknown on iOS. A size with a
//     fraction is invalid on Android too. An empty attachment_id is a
//     warning: the message shows with nothing to download.
//   - VIDEO, DATA: mime_type missing is invalid on Android (vo/Message.kt
//     createVideoMessage, createAttachmentMessage).
//   - IMAGE, VIDEO: width or height missing, 0 or not numeric is invalid on
//     both; negative is unknown on iOS only; a fraction is invalid on
//     Android (Gson), and on iOS too when it truncates to 0. Numeric strings
//     such as "100" are read by both (websocket/AttachmentMessagePayload.kt
//     invalidData(); TransferAttachmentData safeDecodeInt).
//   - VIDEO, AUDIO duration (milliseconds): not a number is invalid on
//     Android (Gson Long). VIDEO without one: Android and Desktop store the
//     text "null". AUDIO without one: 00:00 on Android and Desktop
//     (ui/conversation/holder/AudioHolder.kt; decrypt_message.dart). Under
//     1000: warning, Android shows 00:00 (formatMillis). A waveform under
//     "wave_form" is not read.
//   - DATA: size 0 is unknown on iOS (ReceiveMessageService).
//   - Attachment content, when the server holds the bytes (decrypted with
//     key and digest first; a key that does not open them is broken:
//     android-app crypto/attachment/AttachmentCipherInputStream.java): an
//     image/png, image/jpeg, image/gif, image/webp, image/bmp or image/tiff
//     whose bytes are no image cannot be shown; audio and video whose bytes
//     have no known container signature (MP4, Matroska, Ogg, MP3, AAC,
//     WAV, FLAC, AMR) cannot be played. Bytes of another format than the
//     mime type, and a picture whose width and height are not its shape
//     (either orientation, 2% slack), are warnings. Types the check does
//     not know are not checked. These rules are the check's own reading of
//     the bytes, not a parser of the apps.
//   - PLAIN_STICKER: sticker_id empty or not a UUID is unknown on iOS; one
//     the catalogue does not hold (BuiltinStickers, Server.AddSticker) makes
//     iOS drop the message silently and Android and Desktop show no sticker
//     (ReceiveMessageService parseSticker). Without sticker_id, album_id and
//     name: warning, shown only to recipients already holding that album;
//     with neither, iOS drops it and Android stores it invalid
//     (DecryptMessage.kt).
//   - PLAIN_CONTACT: user_id missing is invalid on Android and unknown on
//     iOS; not a UUID is unknown on iOS; a user the server does not know
//     makes iOS drop the message silently and Android and Desktop show a
//     card without a name (ReceiveMessageService syncUser).
//   - PLAIN_LOCATION: coordinates missing or not numbers make Android and
//     Desktop drop it and iOS show unknown; a number in a string is unknown
//     on iOS and dropped by Desktop; name, address or venue_type of another
//     type than string is unknown on iOS (its class Location: Codable);
//     both 0 make Android and Desktop drop it (websocket/LocationPayload.kt
//     toLocationData); either one 0 makes Desktop drop it
//     (decrypt_message.dart).
//   - PLAIN_LIVE: width or height missing, 0 or negative is invalid on
//     Android (iOS shows it); iOS reads them as strict Ints, so numeric
//     strings are unknown there; thumb_url and url missing are invalid on
//     Android (vo/Message.kt createLiveMessage) and unknown on iOS, of
//     another type unknown on iOS, and so is a shareable that is not a
//     boolean (TransferLiveData.swift).
//   - PLAIN_TRANSCRIPT: every item needs transcript_id, message_id,
//     category and created_at strings, and its optional fields their types
//     (strings; media_size, media_duration, media_width, media_height whole
//     numbers; media_waveform, media_key, media_digest standard base64), or
//     iOS fails the whole transcript (Database/User/Model/
//     TranscriptMessage.swift); without an item whose transcript_id is the
//     message's id Android and iOS show unknown and Desktop invalid
//     (DecryptMessage.kt processTranscriptMessage; ReceiveMessageService
//     parseTranscript; decrypt_message.dart processTranscriptMessage).
//   - APP_CARD (ios-app Services/WebSocket/Model/AppCardData.swift): a
//     non-string action, or an app_id that is not a UUID, is unknown on iOS.
//     Legacy (a non-empty action): icon_url and action URLs (an empty one
//     is unknown; characters a URL may not hold only before iOS 17: a
//     warning), title and description strings; shareable missing is a
//     warning, Android not letting it be forwarded although the docs
//     default to true (android-app vo/AppCardData.kt canShare). New shape:
//     app_id and a shareable boolean required; title, description and
//     updated_at optional strings; actions optional (iOS since August
//     2024), an array of objects with label, color and action strings (the
//     docs' {"buttons": [...]} is not one, and is invalid on Android too);
//     a cover object needs url, mime_type and thumbnail strings and whole
//     width and height; cover_url, read only when cover gives no URL, a
//     string. A value of the wrong type is unknown on iOS. The color of a
//     card action is not flagged: Android draws one it cannot parse in
//     black (ui/conversation/holder/ActionsCardHolder.kt).
//   - APP_BUTTON_GROUP: an array of objects (invalid on Android, unknown on
//     iOS otherwise); each color one Android's ColorUtil.parseColor reads
//     once trimmed (#RGB, #RRGGBB, #AARRGGBB or a color name), or Android
//     stores it invalid (DecryptMessage.kt processAppButton;
//     util/ColorUtil.java). A label or action missing is a warning (Android
//     does not read them on receipt; iOS's AppButtonData is not in the
//     stored sources). No buttons: warning.
//   - The docs' limits (limit kind; docs api/messages/category): 1 to 6
//     buttons or card actions, labels and card titles up to 36 characters,
//     card descriptions up to 1024.
//   - MESSAGE_RECALL: message_id present, or nothing is recalled (both
//     processRecallMessage).
//   - MESSAGE_PIN: action PIN or UNPIN and message_ids an array of strings
//     (ReceiveMessageService processPinMessage, TransferPinData.swift).
//   - ENCRYPTED_*: checked as the PLAIN_* category once decrypted. A
//     recipient whose sessions cannot decrypt it (tampered data, a session
//     left out) is broken: iOS shows unknown, Desktop invalid and Android
//     failed (decrypt_message.dart _processEncryptedMessage;
//     DecryptMessage.kt processEncryptedMessage). One to a group without
//     recipient_id is a warning: no official client sends it; they send one
//     entry per recipient (bot-api-go-client PostEncryptedMessages;
//     android-app SendMessageHelper.kt).
//
// # Standalone
//
// Handler serves everything, including an unauthenticated admin API under
// /_mixintest/ that cmd/mixintest exposes to clients in other languages;
// "go run ./cmd/mixintest -h" prints its reference.
package mixintest
