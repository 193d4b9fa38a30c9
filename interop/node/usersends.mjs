// A user, with its own keystore and the official SDK, sends one message of
// each category to the bot. interop_test.go then runs the Go SDK's blaze loop
// as the bot and checks it decodes every payload the Node SDK encoded.
//
// Env: MIXIN_API, MIXIN_USER_KEYSTORE, MIXIN_BOT_ID.
import { api, call, deadline, env, expect, finish, loadKeystore } from './lib.mjs';

deadline(20000);
const user = api(loadKeystore(env('MIXIN_USER_KEYSTORE')));
const botID = env('MIXIN_BOT_ID');

// A contact conversation must exist before anyone sends in it.
await call('user.conversation.createContact', () => user.conversation.createContact(botID), (c) => {
  expect(c.category === 'CONTACT', `conversation ${JSON.stringify(c)}`);
});

const sends = [
  ['sendText', 'PLAIN_TEXT', 'to the Go loop 你好 <&>'],
  ['sendPost', 'PLAIN_POST', '# title\n- item'],
  ['sendSticker', 'PLAIN_STICKER', { sticker_id: '0d66b1bc-5ac8-41bc-a7a4-a4b1ee5a6d6f' }],
  ['sendContact', 'PLAIN_CONTACT', { user_id: botID }],
  ['sendLocation', 'PLAIN_LOCATION', { latitude: 31.2304, longitude: 121.4737, name: 'Shanghai', address: 'People\'s Square' }],
  ['sendAudio', 'PLAIN_AUDIO', { attachment_id: '3c0b3b9e-6d7a-4a43-9b9d-6a5f5a0c8e11', mime_type: 'audio/ogg', size: 3000, duration: 3000, wave_form: 'AAECAwQ' }],
  ['sendAppButton', 'APP_BUTTON_GROUP', [{ label: 'Open', color: '#FF0000', action: 'https://example.com' }]],
];
for (const [method, category, payload] of sends) {
  await call(`user.${method}`, () => user.message[method](botID, payload), (m) => {
    expect(m.category === category && m.recipient_id === botID, `sent ${JSON.stringify(m)}`);
  }, { payload });
}
finish();
