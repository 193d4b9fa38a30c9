// Every message call of the seed (seeds/003), made by the official Node SDK
// 7.5.5: the bot sends each category to a user, a batch, a legacy single
// object, uploads and shows an attachment, and acks what the user sent; the
// user (its own keystore) sends a text to the bot.
// Seed name -> SDK 7.5.5 method:
//   sendTextMsg/sendPostMsg/sendImageMsg/sendDataMsg/sendStickerMsg/
//   sendContactMsg/sendAppCardMsg/sendAudioMsg/sendLiveMsg/sendVideoMsg/
//   sendLocationMsg/sendAppButtonMsg/sendRecallMsg
//     -> message.sendText/sendPost/sendImage/sendFile/sendSticker/sendContact/
//        sendAppCard/sendAudio/sendLive/sendVideo/sendLocation/sendAppButton/sendRecall
//   sendMessage  -> message.sendOne (array of one) and message.sendLegacy (bare object)
//   sendMessages -> message.sendBatch
//   sendAcknowledgement(s) -> message.sendAcknowledgement / message.sendAcknowledges
//   uploadFile / showAttachment -> attachment.upload / attachment.fetch
//
// Each message line carries "payload": the text (string) or the object the
// script gave the SDK, so the Go test can compare it with what arrived.
//
// Env: MIXIN_API, MIXIN_BOT_KEYSTORE, MIXIN_USER_KEYSTORE,
// MIXIN_ACK_IDS (comma-separated ids of messages the user sent the bot).
import { base64RawURLEncode, getUuid, uniqueConversationID } from '@mixin.dev/mixin-node-sdk';
import { api, call, deadline, emit, env, expect, finish, loadKeystore } from './lib.mjs';

deadline(20000);

const botKS = loadKeystore(env('MIXIN_BOT_KEYSTORE'));
const userKS = loadKeystore(env('MIXIN_USER_KEYSTORE'));
const bot = api(botKS);
const user = api(userKS);
const botID = botKS.app_id;
const u1 = userKS.app_id;
const contactID = uniqueConversationID(botID, u1);
const ackIDs = (process.env.MIXIN_ACK_IDS || '').split(',').filter(Boolean);

await call('conversation.createContact', () => bot.conversation.createContact(u1));

// uploadFile: POST /attachments, then a PUT of the bytes to upload_url.
const fileBytes = Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 7 + 3) % 256));
const uploaded = await call('attachment.upload', () => bot.attachment.upload(fileBytes), (a) => {
  expect(a.attachment_id && a.view_url, `upload returned ${JSON.stringify(a)}`);
});
const attachmentID = uploaded ? uploaded.attachment_id : getUuid();

// showAttachment
await call('attachment.fetch', () => bot.attachment.fetch(attachmentID), (a) => {
  expect(a.attachment_id === attachmentID, `attachment_id ${a.attachment_id}`);
  expect(a.view_url, 'view_url set');
});

// The bytes must come back from view_url (plain GET, as a Mixin client would).
await call('attachment.download', async () => {
  const res = await fetch(uploaded.view_url, { signal: AbortSignal.timeout(5000) });
  expect(res.ok, `GET view_url: HTTP ${res.status}`);
  const got = Buffer.from(await res.arrayBuffer());
  expect(got.equals(fileBytes), `downloaded ${got.length} bytes, uploaded ${fileBytes.length}; contents differ`);
  return { size: got.length };
});

// One of each category. payload is what the SDK is handed.
const sends = [
  ['sendText', 'PLAIN_TEXT', 'hello 你好 from node <&>'],
  ['sendPost', 'PLAIN_POST', '# 一级标题\n## 二级标题\n 正文..'],
  ['sendImage', 'PLAIN_IMAGE', { attachment_id: attachmentID, mime_type: 'image/jpeg', width: 300, height: 200, size: 3000, thumbnail: base64RawURLEncode(Buffer.from('tiny')) }],
  ['sendFile', 'PLAIN_DATA', { attachment_id: attachmentID, mime_type: 'application/octet-stream', size: 3000, name: 'interop.bin' }],
  ['sendSticker', 'PLAIN_STICKER', { sticker_id: '0d66b1bc-5ac8-41bc-a7a4-a4b1ee5a6d6f' }],
  ['sendContact', 'PLAIN_CONTACT', { user_id: botID }],
  ['sendAppCard', 'APP_CARD', { app_id: botID, icon_url: 'https://example.com/icon.png', title: 'Interop', description: 'card from node', action: 'https://example.com', shareable: false }],
  ['sendAudio', 'PLAIN_AUDIO', { attachment_id: attachmentID, mime_type: 'audio/ogg', size: 3000, duration: 3000, wave_form: 'AAECAwQ' }],
  ['sendLive', 'PLAIN_LIVE', { width: 640, height: 360, thumb_url: 'https://example.com/t.png', url: 'https://example.com/live.m3u8', shareable: true }],
  ['sendVideo', 'PLAIN_VIDEO', { attachment_id: attachmentID, mime_type: 'video/mp4', size: 3000, duration: 60, width: 640, height: 360, thumbnail: '' }],
  ['sendLocation', 'PLAIN_LOCATION', { latitude: 31.2304, longitude: 121.4737, name: 'Shanghai', address: 'People\'s Square' }],
  ['sendAppButton', 'APP_BUTTON_GROUP', [{ label: 'Open', color: '#FF0000', action: 'https://example.com' }, { label: '第二', color: '#00FF00', action: 'https://example.org' }]],
];
const checkSent = (category) => (m) => {
  expect(m.category === category && m.conversation_id === contactID && m.recipient_id === u1, `sent ${JSON.stringify(m)}`);
};
for (const [method, category, payload] of sends) {
  await call(`message.${method}`, () => bot.message[method](u1, payload), checkSent(category), { payload });
}

// recall: send a text, then recall it.
const doomed = await call('message.sendText.toRecall', () => bot.message.sendText(u1, 'recall me'), checkSent('PLAIN_TEXT'), { payload: 'recall me', recalled: true });
if (doomed) {
  const payload = { message_id: doomed.message_id };
  await call('message.sendRecall', () => bot.message.sendRecall(u1, payload), checkSent('MESSAGE_RECALL'), { payload });
}

// sendMessages: a batch of three, to the contact conversation.
const batch = ['batch one', 'batch two', 'batch three'].map((text) => ({
  conversation_id: contactID,
  recipient_id: u1,
  message_id: getUuid(),
  category: 'PLAIN_TEXT',
  data_base64: base64RawURLEncode(Buffer.from(text)),
}));
await call('message.sendBatch', () => bot.message.sendBatch(batch), undefined, { sent: batch });

// sendMessage as one message in an array, then the same request again: a retry
// with the same message_id must be accepted and delivered once.
const one = { conversation_id: contactID, recipient_id: u1, message_id: getUuid(), category: 'PLAIN_TEXT', data_base64: base64RawURLEncode(Buffer.from('sent twice, delivered once')) };
await call('message.sendOne', () => bot.message.sendOne(one), undefined, { sent: [one] });
await call('message.sendOne.retry', () => bot.message.sendOne(one), undefined, { sent: [one], duplicate: true });

// The legacy single-object form returns the created message view.
const legacy = { conversation_id: contactID, recipient_id: u1, message_id: getUuid(), category: 'PLAIN_TEXT', data_base64: base64RawURLEncode(Buffer.from('legacy single object')) };
await call('message.sendLegacy', () => bot.message.sendLegacy(legacy), (v) => {
  expect(v && v.type === 'message' && v.message_id === legacy.message_id, `view ${JSON.stringify(v)}`);
  expect(v.category === 'PLAIN_TEXT' && v.conversation_id === contactID && v.user_id === botID, 'view fields');
  expect(v.data_base64 === legacy.data_base64, `data_base64 ${v.data_base64}`);
  expect(v.data === Buffer.from('legacy single object').toString('base64'), `data ${v.data}`);
}, { sent: [legacy] });

// The user sends a text to the bot with its own keystore. The bot does not
// ack it here: blaze.mjs must receive it from the pending queue.
await call('user.message.sendText', () => user.message.sendText(botID, 'hello bot, from a node user'), (m) => {
  expect(m.conversation_id === contactID && m.recipient_id === botID, `sent ${JSON.stringify(m)}`);
}, { payload: 'hello bot, from a node user' });

// The bot acks the messages the user sent before this script ran (ids from
// the Go test): the first DELIVERED, then all READ in bulk. blaze.mjs then
// checks that none of them is delivered again.
if (ackIDs.length > 0) {
  await call('message.sendAcknowledgement', () => bot.message.sendAcknowledgement({ message_id: ackIDs[0], status: 'DELIVERED' }));
  await call('message.sendAcknowledges', () => bot.message.sendAcknowledges(ackIDs.map((id) => ({ message_id: id, status: 'READ' }))), undefined, { acked: ackIDs });
}

emit({ call: 'ids', ok: true, result: { contact_id: contactID, attachment_id: attachmentID } });
finish();
