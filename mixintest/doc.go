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
// for its sender. Membership changes send SYSTEM_CONVERSATION messages to the
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
// # Standalone
//
// Handler serves everything, including an unauthenticated admin API under
// /_mixintest/ that cmd/mixintest exposes to clients in other languages;
// "go run ./cmd/mixintest -h" prints its reference.
package mixintest
