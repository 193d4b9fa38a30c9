// Package mixin is a client for the Mixin Messenger bot API: conversations and
// their members, messages of every category, acknowledgements, attachments,
// and the blaze websocket loop that delivers what users send to the bot.
//
// Every network call takes a [context.Context] first and returns a typed
// result and an error. There is no package-level state: all configuration
// lives on a [Client], and two clients with different settings can run in one
// process. The companion package [github.com/gomixin/mixin/mixintest] is an
// offline emulator of the API for tests and demos.
//
// # Authentication
//
// A bot session's credentials come from the Mixin dashboard as a keystore
// file. Load it with [LoadKeystore] (or [ParseKeystore], or build one with
// [NewKeystore]) and pass it to [NewClient]:
//
//	ks, err := mixin.LoadKeystore("keystore.json")
//	if err != nil { … }
//	client, err := mixin.NewClient(ks, mixin.WithLogger(logger))
//
// Every request is signed with a fresh short-lived token (EdDSA, or RS512 for
// legacy RSA sessions); see [WithTokenLifetime]. A [Keystore] never prints its
// private key, through fmt, slog or errors. Options such as [WithBaseURL],
// [WithHTTPClient], [WithRequestTimeout] and [WithRequestRetry] (one [Retry]
// shape for REST calls, handler retries and reconnects) are checked by
// [NewClient];
// the defaults are meant for production (timeouts set, bounded retries, no
// logging).
//
// # Conversations
//
// A bot talks to a user in their one-to-one conversation, which must exist
// first: [Client.CreateContactConversation]. Its id is deterministic,
// [UniqueConversationID]. Groups are made with
// [Client.CreateGroupConversation] and run with [Client.UpdateConversation],
// [Client.AddParticipants], [Client.RemoveParticipants],
// [Client.AdminParticipants], [Client.ManageParticipants],
// [Client.RotateConversation] (a new invite link), [Client.JoinConversation],
// [Client.ExitConversation], [Client.MuteConversation] and
// [Client.DisappearConversation].
//
// # Users, contacts and circles
//
// [Client.ReadMe], [Client.ReadUser], [Client.ReadUsers], [Client.SearchUser]
// and [Client.ReadSessions] read users; [Client.UpdateRelationship] (or
// [Client.AddFriend], [Client.RemoveFriend], [Client.BlockUser],
// [Client.UnblockUser]), [Client.ReadFriends] and [Client.ReadBlockingUsers] manage
// the bot's contacts; [Client.UpdateProfile] and [Client.UpdatePreferences]
// change its profile and who may reach it ([MessageSource]). Circles group
// conversations: [Client.CreateCircle], [Client.ReadCircles],
// [Client.UpdateCircleConversations], [Client.AddUserToCircle] and their
// siblings. [Client.ReadCode] resolves an invite or user code, and
// [Client.ReadMessageStatuses] replays the receipts missed while no blaze
// connection was open.
//
// # Messages
//
// A [Target] says where a message goes: [ToUser], [ToConversation], or
// [ToMember] for one member of a group. Each sendable category has a typed
// [Payload] and a helper: [Client.SendText], [Client.SendPost],
// [Client.SendImage], [Client.SendData], [Client.SendVideo],
// [Client.SendAudio], [Client.SendSticker], [Client.SendContact],
// [Client.SendLocation], [Client.SendLive], [Client.SendTranscript],
// [Client.SendAppCard], [Client.SendAppButtons], [Client.SendRecall] and
// [Client.PinMessages]. [SendOption] values quote a message ([WithQuote]),
// send silently ([WithSilent]), on behalf of a user ([WithRepresentative]),
// over the blaze socket ([OverBlaze]) or encrypted ([WithEncryption]), or fix
// the message id ([WithMessageID]).
// Payloads are validated before anything is sent, with the rules the
// official apps apply when they show a message: width and height of images
// and videos, a video's duration in milliseconds, a sticker by its id, a
// card's shareable flag, transcript items that belong to their message.
//
// Payloads are values. [Message.Payload] and [DecodePayload] return the
// sealed [Payload] interface, so a received message is read with a type
// switch (case [ImagePayload]:, case [TextPayload]:, …), a category this SDK has
// no type for comes as [RawPayload], and an inbound payload of a sendable
// category can be sent back as it is:
//
//	p, err := msg.Payload()
//	if err != nil {
//		return mixin.Permanent(err)
//	}
//	_, err = client.Reply(ctx, msg, p) // an echo
//	return err
//
// The client chooses every message id and reuses it on each retry, so a
// message is created once however often it is sent; [UniqueObjectID] derives
// stable ids from your own keys. [Client.SendMessages] sends any number of
// messages, split into requests of [MaxMessagesPerRequest] and of at most the
// body size set by [WithMaxMessageBody] (128 KiB by default);
// [Client.SendAcknowledgements] does the same for acknowledgements.
// [Client.Reply] answers an inbound message in its conversation; inside a
// handler run by [Client.RunBlaze] its ids are stable across retries of the
// same message, so a retried handler sends each reply once.
//
// # Attachments
//
// [Client.UploadFile] streams a file of up to [MaxAttachmentSize] to a new
// attachment without buffering it; its size comes from the reader (a file,
// or a Len or Size method) or from [WithUploadSize], and [WithProgress] reports
// progress.
// The returned [Attachment] knows its size, content type and, for images, its
// dimensions, so [Attachment.ImagePayload], [Attachment.DataPayload] and
// [Attachment.VideoPayload] give ready payloads; [Client.SendImageFile]
// uploads and sends an image in one call. [Client.ReadAttachment],
// [Client.DownloadAttachment] and [Client.Download] read attachments back.
//
// # Blaze
//
// [Client.RunBlaze] is the bot's receive loop: one blocking call that
// returns when its ctx ends or when the server rejects the session. It hands
// every inbound message to a [Handler] (a [HandlerFunc], or a [Router] that
// routes by command and category, with [Middleware] such as [Logging]):
//
//	err := client.RunBlaze(ctx, mixin.HandlerFunc(func(ctx context.Context, msg *mixin.Message) error {
//		_, err := client.Reply(ctx, msg, mixin.TextPayload("got: "+msg.Text()))
//		return err
//	}))
//
// A message is acknowledged only after its handler returned nil (see
// [WithAckMode]); a failing or panicking handler is retried
// ([WithHandlerRetry]) unless its error is permanent ([Permanent],
// [IsPermanent]: e.g. a 403), then passed to [WithDeadLetter]; so is a
// message whose data does not decode ([*MessageDecodeError]). The handler
// gets every inbound message, not only what users write: SYSTEM_CONVERSATION
// events (joins, exits, the bot added to a group…) and recalls reach it
// unless [WithSystemConversationHook] and [WithRecallHook] take them (see
// [Handler]). Messages of
// one conversation are handled in order, conversations in parallel
// ([WithHandlerWorkers]); one conversation's backlog or stuck handler holds up only
// that conversation ([WithConversationQueue]), and memory is bounded in
// total, acknowledgements included, by slowing intake ([WithHandlerQueueSize]).
// Dropped or silent connections are replaced with jittered backoff
// ([WithReconnect], [WithKeepalive]); every id stays known until its
// acknowledgement is confirmed, and a window after that
// ([WithDedupeWindow]), so redeliveries are dropped. Receipts, recalls and
// membership changes can go to their own hooks: [WithReceiptHook],
// [WithRecallHook], [WithSystemConversationHook]; receipts are not
// acknowledged unless [WithReceiptAcks] says so. [WithStateHook] reports the
// connection state. Acknowledgements go over REST, or over the socket with
// [WithSocketAcks]; a send goes over the socket only when it says so
// ([OverBlaze]). The handler never sees the bot's own messages or the status
// updates of its sends. Cancelling ctx lets running handlers finish within
// [WithShutdownTimeout], flushes the pending acknowledgements and closes the
// socket.
//
// # End-to-end encryption
//
// [WithEncryption] makes a send end-to-end encrypted: the message becomes
// the ENCRYPTED_* counterpart of its PLAIN_* category, encrypted for every
// device session of its recipients (X25519 keys derived from the Ed25519
// session keys, AES-CBC key wrap, AES-GCM body, as the official clients do)
// and posted with the conversation checksum; when the API answers that the
// sessions changed, the client refreshes them and encrypts once more under
// the same message id. Given to [Client.UploadFile], the same option uploads
// the file encrypted (the payloads' Size stays the plain length), and
// [Client.DownloadMedia] checks and decrypts such files; an encrypted image
// is one call, [Client.SendImageFile] with WithEncryption. The blaze loop decrypts inbound ENCRYPTED_* messages before the
// handler sees them ([Message].Encrypted tells) and sends the ones it cannot
// decrypt to [WithDeadLetter] with a [*DecryptError]; [Client.DecryptMessage]
// does the same outside the loop. A legacy RSA keystore cannot take part
// ([ErrEncryptionUnsupported]).
//
// Session lists come from a bounded cache of conversations,
// [Client.LookupConversation], which also tells a handler whether a
// conversation is a group and who is an admin, without a request per
// message; SYSTEM_CONVERSATION events and the bot's own conversation calls
// keep it current ([WithConversationCache]).
//
// # Errors
//
// The API's refusals are [*APIError] values (the call's method and path,
// HTTP status, Mixin code such as [CodeForbidden], description, request id),
// to be matched with [errors.As] or the classifiers [IsUnauthorized],
// [IsForbidden], [IsNotFound] and [IsRateLimited] (code 429 in the
// documented HTTP 202 envelope or an HTTP 429); [RetryAfter] gives the
// server's hint. An answer the client cannot use is a [*ResponseError]; a
// success without the result a call returns matches [ErrNoData]. Input the client
// refuses before any request is a [*FieldError] naming the field, matching
// [ErrInvalidInput]. A batch that failed part way is a [*BatchError] telling
// how many messages got through. Errors caused by ctx wrap ctx's error.
//
// # Durable state and recent conversations
//
// With a [Store] ([WithStore]; packages store/sqlite and store/postgres), the
// loop records each handled message before acknowledging it, so no handler
// sees it again after a crash, a restart or on another replica, and a
// handler can do its database work in the message's transaction ([Tx]),
// on tables of its own created by the store's Migrate (see the example of
// [Tx]). When the database fails the loop waits rather than give up:
// nothing whose record did not commit is acknowledged, store calls are
// bounded by [WithStoreTimeout] and retried with backoff, and the state hook
// hears [ConnStateStoreFailed] and [ConnStateStoreRecovered]. Replicas
// ([WithReplica]) are fenced: one that stalls past its lease commits nothing
// for a conversation another replica took meanwhile. Package recent keeps a
// recent-conversation list (unread counts, sequences, the last N messages,
// versioned incremental sync with tombstones, delete and set-unread) on the
// same stores, fed by its middleware and by the client's sends through
// [WithSentHook], and serves it over HTTP in the convention of WuKongIM's
// recent-conversation API.
//
// # Observability
//
// [WithTracer] installs a [Tracer]: it sees every REST attempt (method and
// route template, never the raw path), and, if it is also a [BlazeTracer],
// every message of the loop from the socket to its acknowledgement, the
// store's commits, the connection's changes with their cause, and the
// loop's gauges. Package otelmixin implements both with OpenTelemetry;
// without a tracer nothing is recorded and nothing is allocated.
//
// # Testing with mixintest
//
// [github.com/gomixin/mixin/mixintest] runs the API locally, REST and
// blaze, with a registered bot, simulated users and fault injection:
//
//	s := mixintest.NewServer(t)          // closed by t.Cleanup
//	client, err := s.Client()            // a *Client for the bot, wired to s
//	alice := s.NewUser("Alice")
//	alice.SendText(ctx, s.Bot().UserID, "hi") // reaches the bot's blaze loop
//	inbox, err := alice.WaitInbox(ctx, 1) // what the bot sent her
//
// No credentials and no network are needed, so a bot's tests run with
// go test like any other. The emulator also checks every message the bot
// sends as the official apps would read it, and fails the test on one they
// would show broken (the real API accepts it; see the mixintest package
// documentation, "App check").
package mixin
