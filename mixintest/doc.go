// Package mixintest is an offline emulator of the Mixin Messenger bot API,
// in the spirit of net/http/httptest: REST and blaze (the websocket) on one
// local server, a registered bot whose keystore it hands out, simulated
// users, fault injection and a record of every request.
//
//	s := mixintest.NewServer(t)            // started; closed by t.Cleanup
//	client, err := s.Client()              // a mixin.Client for the bot
//	alice := s.NewUser("Alice")
//	alice.SendText(ctx, s.Bot().ID, "hi")  // reaches the bot's blaze queue
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
// WithMaxTokenAge. Any failure answers code 401; a blaze upgrade is refused
// with HTTP 401 or, with WithBlazeAuthFailure, an ERROR frame.
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
// Every message the server accepts, from any client (POST /messages, a
// blaze CREATE_MESSAGE, a simulated user, the admin API, and an
// ENCRYPTED_* message once a simulated user decrypts it), is checked with
// the rules the official apps apply when they parse it. A message they
// would show as invalid or unknown, empty, or not at all is reported as an
// error of the test given to NewServer, naming the field and what the apps
// do with it, and listed by Server.Problems (GET /_mixintest/problems for
// other clients; WithProblemHook to see each as it happens). The real API
// accepts such messages, and so does the emulator: it delivers them and
// answers success; the check is about what people will see.
// WithoutAppCheck turns it off, e.g. for a test that sends broken messages
// on purpose.
//
// The rules and where they come from (android-app is
// MixinNetwork/android-app app/src/main/java/one/mixin/android, ios-app is
// MixinNetwork/ios-app MixinServices/MixinServices; "unknown" is how the
// apps show a message they cannot read):
//
//   - PLAIN_TEXT, PLAIN_POST: not UTF-8 is unknown on iOS; empty text is an
//     empty bubble (ios-app ReceiveMessageService.swift
//     processDecryptSuccess; android-app job/DecryptMessage.kt).
//   - PLAIN_IMAGE, PLAIN_VIDEO, PLAIN_DATA, PLAIN_AUDIO: attachment_id (a
//     string) and size (a whole number) are required, or iOS shows unknown
//     (TransferAttachmentData.swift); a payload that is not a JSON object is
//     invalid on both.
//   - PLAIN_IMAGE, PLAIN_VIDEO: width and height missing or not positive are
//     invalid on both (android-app websocket/AttachmentMessagePayload.kt
//     invalidData(); ios-app ReceiveMessageService guard width > 0,
//     height > 0).
//   - PLAIN_VIDEO: duration is milliseconds (android-app VideoHolder
//     formatMillis; ios-app VideoMessageViewModel.swift): missing, or under
//     1000, shows 0:00; a 60 s video is 60000.
//   - PLAIN_DATA: size 0 is unknown on iOS (ReceiveMessageService guard
//     size > 0).
//   - PLAIN_AUDIO: a missing duration shows as "null" on Android
//     (DecryptMessage.kt createAudioMessage).
//   - PLAIN_STICKER: sticker_id must be a UUID; album_id and name are not
//     read (ios-app ReceiveMessageService parseSticker,
//     TransferStickerData.swift; android-app websocket/StickerMessagePayload.kt).
//   - PLAIN_CONTACT: user_id must be a UUID (ios-app ReceiveMessageService).
//   - PLAIN_LOCATION: latitude and longitude must be numbers and not both 0,
//     or Android drops the message without showing it (android-app
//     websocket/LocationPayload.kt toLocationData; ios-app Location decoding).
//   - PLAIN_LIVE: width and height positive (android-app DecryptMessage.kt),
//     thumb_url and url present (ios-app TransferLiveData.swift).
//   - PLAIN_TRANSCRIPT: every item needs transcript_id, message_id,
//     category and created_at (ios-app TranscriptMessage.swift), and the
//     apps keep only items whose transcript_id is the message's id, showing
//     unknown without any (android-app DecryptMessage.kt
//     processTranscriptMessage; ios-app ReceiveMessageService
//     parseTranscript).
//   - APP_CARD: app_id, when present, a UUID. Legacy (with action):
//     icon_url and action URLs, title and description strings (ios-app
//     AppCardData.swift V0Content), shareable present or Android refuses to
//     forward it although the docs give true as the default (android-app
//     vo/AppCardData.kt canShare; docs api/messages/category). New shape:
//     app_id, an actions array (each with label, color, action), a
//     shareable boolean and updated_at (ios-app AppCardData.swift
//     V1Content; the docs' new-shape example carries updated_at,
//     _partials/_resp.msg.d/card.md). The docs' example writes actions as
//     {"buttons": [...]}, which neither app decodes: it is reported too.
//   - APP_BUTTON_GROUP: a non-empty array of buttons with label, color and
//     action strings, each color one Android's Color.parseColor accepts
//     (#RRGGBB, #AARRGGBB or a name), or Android stores it as invalid
//     (android-app DecryptMessage.kt processAppButton; ios-app
//     ReceiveMessageService processAppButton).
//   - MESSAGE_RECALL: message_id present, or nothing is recalled (both
//     processRecallMessage).
//   - MESSAGE_PIN: action PIN or UNPIN and message_ids an array of strings
//     (ios-app ReceiveMessageService processPinMessage, TransferPinData.swift).
//   - Any other category the apps do not know is stored as unknown
//     (android-app DecryptMessage.kt isIllegalMessageCategory; ios-app
//     MessageCategory.isLegal).
//
// # Standalone
//
// Handler serves everything, including an unauthenticated admin API under
// /_mixintest/ that cmd/mixintest exposes to clients in other languages;
// "go run ./cmd/mixintest -h" prints its reference.
package mixintest
