// The app check seen from the official Node SDK 7.5.5: the bot sends one
// payload per rule the emulator's app check added or changed, and payloads
// it must not flag. Each line carries "expect": the findings the Go test
// must read back from GET /_mixintest/problems for that message, as
// "kind:field" ([] for none).
//
// Env: MIXIN_API, MIXIN_BOT_KEYSTORE, MIXIN_USER_KEYSTORE, MIXIN_STICKER_ID
// (a sticker of the emulator's catalogue).
import { base64RawURLEncode, getUuid, uniqueConversationID } from '@mixin.dev/mixin-node-sdk';
import { api, call, deadline, emit, env, finish, loadKeystore } from './lib.mjs';

deadline(20000);

const botKS = loadKeystore(env('MIXIN_BOT_KEYSTORE'));
const userKS = loadKeystore(env('MIXIN_USER_KEYSTORE'));
const bot = api(botKS);
const botID = botKS.app_id;
const u1 = userKS.app_id;
const contactID = uniqueConversationID(botID, u1);
await call('conversation.createContact', () => bot.conversation.createContact(u1));

// A real 1x1 PNG and random bytes, both uploaded with the SDK.
const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==', 'base64');
const noise = Buffer.from(Array.from({ length: 2048 }, (_, i) => (i * 37 + 11) % 251));
const pngUp = await call('attachment.upload.png', () => bot.attachment.upload(png));
const noiseUp = await call('attachment.upload.noise', () => bot.attachment.upload(noise));
const att = (u) => (u ? u.attachment_id : getUuid());

const img = (id, w, h, extra = {}) => ({ attachment_id: id, mime_type: 'image/png', width: w, height: h, size: 68, ...extra });
const item = (extra) => [{ transcript_id: '', message_id: getUuid(), category: 'PLAIN_TEXT', created_at: '2024-05-01T08:00:00Z', content: 'hi', ...extra }];
const buttons = (n, color = '#FF0000') => Array.from({ length: n }, (_, i) => ({ label: `b${i}`, color, action: 'input:hi' }));

// [name, category, payload, expected findings]
const cases = [
  ['video without mime_type', 'PLAIN_VIDEO', { attachment_id: att(noiseUp), width: 640, height: 360, size: 2048, duration: 5000 }, ['broken:mime_type']],
  ['file without mime_type', 'PLAIN_DATA', { attachment_id: att(noiseUp), size: 2048, name: 'a.bin' }, ['broken:mime_type']],
  ['live without url', 'PLAIN_LIVE', { width: 640, height: 360, thumb_url: 'https://example.com/t.png' }, ['broken:url']],
  ['waveform unpadded', 'PLAIN_AUDIO', { attachment_id: getUuid(), mime_type: 'audio/ogg', size: 10, duration: 1000, waveform: 'AAECAwQ' }, ['broken:waveform']],
  ['wave_form', 'PLAIN_AUDIO', { attachment_id: getUuid(), mime_type: 'audio/ogg', size: 10, duration: 1000, wave_form: 'AAECAwQ=' }, ['broken:wave_form']],
  ['key in the URL alphabet', 'PLAIN_IMAGE', img(getUuid(), 10, 10, { key: '-_-_' }), ['broken:key']],
  ['card cover_url of the wrong type', 'APP_CARD', { app_id: botID, title: 't', cover_url: 5, shareable: true }, ['broken:cover_url']],
  ['card title of the wrong type', 'APP_CARD', { app_id: botID, title: 5, shareable: true }, ['broken:title']],
  ['transcript media_width as a string', 'PLAIN_TRANSCRIPT', null, ['broken:transcript[0].media_width']],
  ['contact of an unknown user', 'PLAIN_CONTACT', { user_id: getUuid() }, ['broken:user_id']],
  ['sticker not in the catalogue', 'PLAIN_STICKER', { sticker_id: getUuid() }, ['broken:sticker_id']],
  ['random bytes as image/png', 'PLAIN_IMAGE', img(att(noiseUp), 1, 1), ['broken:mime_type']],
  ['location on the equator (Desktop drops it)', 'PLAIN_LOCATION', { latitude: 0, longitude: 32.58, name: 'Equator' }, ['broken:latitude']],
  ['a Signal category', 'SIGNAL_TEXT', 'hi', ['broken:category']],
  ['an unknown call category', 'WEBRTC_VIDEO_OFFER', {}, ['broken:category']],
  ['no buttons', 'APP_BUTTON_GROUP', [], ['warning:data']],
  ['seven buttons', 'APP_BUTTON_GROUP', buttons(7), ['limit:data']],
  ['live width as a numeric string (iOS reads an Int)', 'PLAIN_LIVE', { width: '640', height: 360, thumb_url: 'https://example.com/t.png', url: 'https://example.com/l.m3u8' }, ['broken:width']],
  ['location name of the wrong type', 'PLAIN_LOCATION', { latitude: 1.5, longitude: 2.5, name: 5 }, ['broken:name']],
  ['sticker by album and name only', 'PLAIN_STICKER', { album_id: getUuid(), name: 'wave' }, ['warning:sticker_id']],
  ['video of 60 ms', 'PLAIN_VIDEO', { attachment_id: getUuid(), mime_type: 'video/mp4', width: 640, height: 360, size: 10, duration: 60 }, ['warning:duration']],
  // Not flagged:
  ['a real PNG of its size', 'PLAIN_IMAGE', img(att(pngUp), 1, 1), []],
  ['width and height as numeric strings', 'PLAIN_IMAGE', img(getUuid(), '640', '360'), []],
  ['button colour #RGB', 'APP_BUTTON_GROUP', buttons(1, '#F00'), []],
  ['button colour with white space (Android trims it)', 'APP_BUTTON_GROUP', buttons(1, ' #FF0000 '), []],
  ['card action colour Android cannot parse', 'APP_CARD', { app_id: botID, title: 't', actions: [{ label: 'l', color: 'sky', action: 'input:x' }], shareable: true }, []],
  ['card without actions or updated_at', 'APP_CARD', { app_id: botID, title: 't', description: 'd', shareable: true }, []],
  ['a sticker of the catalogue', 'PLAIN_STICKER', { sticker_id: env('MIXIN_STICKER_ID') }, []],
  ['contact of a known user', 'PLAIN_CONTACT', { user_id: u1 }, []],
];

for (const [name, category, payload, expect] of cases) {
  const messageID = getUuid();
  let data = payload;
  if (category === 'PLAIN_TRANSCRIPT') data = item({ transcript_id: messageID, media_width: '100' });
  const text = typeof data === 'string' ? data : JSON.stringify(data);
  const req = { conversation_id: contactID, recipient_id: u1, message_id: messageID, category, data_base64: base64RawURLEncode(Buffer.from(text)) };
  await call(`appcheck.${name}`, () => bot.message.sendOne(req), undefined, { sent: [req], expect });
}

emit({ call: 'ids', ok: true, result: { contact_id: contactID } });
finish();
