// Command mixintest runs the Mixin API emulator (package
// github.com/gomixin/mixin/mixintest) as a standalone server, for bots and
// clients in any language and for manual runs:
//
//	mixintest -addr 127.0.0.1:0 -keystore bot.json [-users N] [-prefix /api] [-tls]
//
// Run mixintest -h for the flags. The reference below is the -h text too
// (usage.txt; a test keeps the two identical).
//
//	Serving:
//	  mixintest prints three lines, then serves until SIGINT or SIGTERM:
//	    mixintest: api http://127.0.0.1:PORT        (https:// with -tls)
//	    mixintest: blaze ws://127.0.0.1:PORT/       (wss:// with -tls)
//	    mixintest: bot BOT_USER_ID
//	  and with -tls a fourth, naming the certificate to trust:
//	    mixintest: cert PATH
//	  The bot's keystore (dashboard format: app_id, session_id,
//	  server_public_key, session_private_key) is written to -keystore. Point any
//	  Mixin client at the api and blaze URLs. REST and blaze behave as the real
//	  API does: EdDSA JWT checks, {"data":...} envelopes, errors as HTTP 202
//	  {"error":{"status","code","description"}}, X-Request-Id echoed.
//
//	TLS:
//	  -tls serves HTTPS and WSS with a self-signed certificate generated at
//	  start for localhost, 127.0.0.1, ::1 and every -tls-host. It is written to
//	  -cert (default: mixintest-cert.pem beside the keystore). Trust it and
//	  nothing else changes: Go clients read SSL_CERT_FILE=PATH, Node
//	  NODE_EXTRA_CA_CERTS=PATH, curl --cacert PATH, Python
//	  SSL_CERT_FILE=PATH or requests' REQUESTS_CA_BUNDLE=PATH.
//
//	Encryption:
//	  -encrypted gives the bot's app the ENCRYPTED capability (GET /me, user
//	  views): simulated users then send the bot ENCRYPTED_* messages, as the
//	  Android app does, and POST /encrypted_messages takes the bot's encrypted
//	  messages. The inbox view below shows what each encrypted message decrypts
//	  to.
//
//	App check:
//	  Every message accepted is read the way the official Android, iOS and
//	  desktop apps parse it. Each finding is printed to standard output as a
//	  line "mixintest: problem: [KIND] CATEGORY message ID from USER: FIELD
//	  REASON: WHAT THE APPS DO (SOURCE)" and served at GET
//	  /_mixintest/problems. KIND is "broken" (an app shows the message as
//	  invalid, unknown or failed, with a part missing, or drops it), "warning"
//	  (no app is known to refuse it, but it is likely a mistake, a shape no
//	  official client sends, or one the stored app sources leave open) or
//	  "limit" (outside the docs' limits, which the apps do not enforce). A
//	  message an app cannot decrypt is "broken" too. The real API accepts all
//	  of them.
//
//	Admin API (no authentication; plain JSON, no data envelope; errors as
//	{"error":{"code","description"}} with a 4xx status):
//	  POST   /_mixintest/users
//	         {"full_name", "user_id"?} -> {"user", "keystore"}: a simulated user
//	         and its keystore; act as that user with any Mixin client.
//	  GET    /_mixintest/users
//	         -> [{"user", "keystore"}], the bot first.
//	  GET    /_mixintest/users/{id}/inbox
//	         -> [message]: what the user received, oldest first (message views
//	         as blaze pushes them: message_id, category, data_base64, ...); an
//	         ENCRYPTED_* message also carries "plain_category" and
//	         "plain_data_base64", what the user's sessions decrypt it to.
//	  POST   /_mixintest/users/{id}/messages
//	         {"conversation_id"?, "recipient_id"?, "category", "data_base64" or
//	         "data", "message_id"?, "quote_message_id"?, "representative_id"?,
//	         "silent"?} -> message: send as the user, in any category; with only
//	         recipient_id the contact conversation is created first. Refused
//	         (403) when the recipient blocks the user or accepts contacts only.
//	  POST   /_mixintest/users/{id}/acknowledgements
//	         [{"message_id", "status": "DELIVERED"|"READ"}] -> the same list:
//	         acknowledge as the user; the sender gets a receipt.
//	  POST   /_mixintest/users/{id}/relationships
//	         {"user_id", "action": "ADD"|"UPDATE"|"REMOVE"|"BLOCK"|"UNBLOCK",
//	         "full_name"?} -> user (as {id} now sees them): befriend or block.
//	  POST   /_mixintest/users/{id}/groups
//	         {"name", "participants": [user_id, ...]} -> conversation: a group
//	         owned by the user.
//	  POST   /_mixintest/users/{id}/conversations/{cid}/participants/{action}
//	         [{"user_id", "role"?}] -> conversation; action ADD, REMOVE or ROLE
//	         (role "ADMIN" or ""), with the API's role rules.
//	  POST   /_mixintest/users/{id}/conversations/{cid}/exit
//	         -> {"ok": true}: the user leaves the group.
//	  POST   /_mixintest/users/{id}/join/{code}
//	         -> conversation: join a group by its invite code_id.
//	  GET    /_mixintest/conversations/{id}
//	         -> conversation, with every participant and role.
//	  GET    /_mixintest/requests
//	         -> [{"method", "path", "raw_query", "header", "body", "user_id",
//	         "status", "code", "at"}]: every REST request received.
//	  DELETE /_mixintest/requests
//	         -> {"ok": true}: forgets them.
//	  GET    /_mixintest/problems
//	         -> [{"kind", "message_id", "conversation_id", "user_id",
//	         "category", "field", "reason", "app", "source"}]: the app check's
//	         findings (see App check above), oldest first; [] when none.
//	  DELETE /_mixintest/problems
//	         -> {"ok": true}: forgets them.
//	  GET    /_mixintest/stickers
//	         -> [{"sticker_id", "album_id", "name", "asset_url", ...}]: the
//	         sticker catalogue (a few built in). GET /stickers/{id} serves each
//	         as the API does; the app check flags a sticker not in it.
//	  POST   /_mixintest/stickers
//	         {"sticker_id"?, "name"?, "album_id"?, "asset_url"?, ...} -> the
//	         sticker as stored: adds it to the catalogue.
//	  POST   /_mixintest/faults
//	         {"seed", "error_rate", "error_paths", "rate_limit_rate",
//	         "rate_limit_http", "retry_after_ms", "latency_ms",
//	         "latency_jitter_ms", "drop_after_frames", "frame_delay_ms",
//	         "frame_jitter_ms", "refuse_upgrade", "unauthorized_blaze",
//	         "blaze_error_frame"}: inject 500s, rate limits (code 429 in an
//	         HTTP 202 envelope, or HTTP 429 with rate_limit_http) with
//	         Retry-After, latency, slow or dropped blaze sockets; {} turns
//	         faults off.
//	  POST   /_mixintest/fail_next
//	         {"method"?, "path"?, "n"?, "status"?, "code"?, "retry_after_ms"?}:
//	         the next n requests (default 1) to method+path (default any)
//	         fail with that code (default 500) and HTTP status (default the
//	         code's usual one).
//	  GET    /_mixintest/images/{key}
//	         an uploaded avatar or group icon, at the avatar_url / icon_url the
//	         API views name.
//
//	Example (any language; here curl):
//	  mixintest -addr 127.0.0.1:7700 -keystore bot.json &
//	  curl -s -X POST localhost:7700/_mixintest/users -d '{"full_name":"Alice"}'
//	  curl -s -X POST localhost:7700/_mixintest/users/ALICE_ID/messages \
//	       -d '{"recipient_id":"BOT_ID","category":"PLAIN_TEXT","data":"aGk="}'
//	  curl -s localhost:7700/_mixintest/users/ALICE_ID/inbox
package main
