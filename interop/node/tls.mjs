// The official Node SDK 7.5.5 against cmd/mixintest -tls: REST over https://
// with the emulator's certificate trusted through NODE_EXTRA_CA_CERTS, and
// nothing else changed (certificate verification stays on). blaze.mjs, run
// with an wss:// MIXIN_BLAZE, covers the websocket.
//
// With MIXIN_TLS_EXPECT_REFUSAL=1 (run without NODE_EXTRA_CA_CERTS) the first
// call must fail certificate verification.
//
// Env: MIXIN_API, MIXIN_BOT_KEYSTORE, MIXIN_USER_ID, MIXIN_TLS_EXPECT_REFUSAL.
import { uniqueConversationID } from '@mixin.dev/mixin-node-sdk';
import { api, call, deadline, describe, emit, env, expect, finish, loadKeystore } from './lib.mjs';

deadline(15000);

const botKS = loadKeystore(env('MIXIN_BOT_KEYSTORE'));
const bot = api(botKS);
const u1 = env('MIXIN_USER_ID');
const base = env('MIXIN_API');
expect(base.startsWith('https://'), `MIXIN_API ${base} is not https`);

if (process.env.MIXIN_TLS_EXPECT_REFUSAL === '1') {
  let err;
  try { await bot.user.profile(); } catch (e) { err = e; }
  const text = err ? describe(err) + ' ' + (err.code || '') : '';
  const refused = /certificate|self.signed|SELF_SIGNED|UNABLE_TO_VERIFY/i.test(text);
  emit({ call: 'tls.refused', ok: refused, result: { error: text }, error: refused ? undefined : `untrusted call did not fail verification: ${text || 'it succeeded'}` });
  emit({ call: 'summary', ok: refused, result: {} });
  process.exit(refused ? 0 : 1);
}

await call('tls.user.profile', () => bot.user.profile(), (me) => expect(me.user_id === botKS.app_id, 'profile'));
await call('tls.conversation.createContact', () => bot.conversation.createContact(u1),
  (c) => expect(c.conversation_id === uniqueConversationID(botKS.app_id, u1), 'contact id'));
await call('tls.message.sendText', () => bot.message.sendText(u1, 'over https'), (m) => expect(m.message_id, 'message id'));
await call('tls.admin.inbox', async () => {
  const res = await fetch(`${base}/_mixintest/users/${u1}/inbox`);
  return res.json();
}, (inbox) => expect(inbox.length === 1 && Buffer.from(inbox[0].data_base64, 'base64url').toString() === 'over https', 'inbox'));
finish();
