// End-to-end check of the official Node SDK (@mixin.dev/mixin-node-sdk)
// against cmd/mixintest, unchanged except for its base URL.
// Usage: NODE_PATH=/path/to/node_modules node node_e2e.js API_URL BLAZE_URL KEYSTORE_FILE
const fs = require('fs');
const { MixinApi, uniqueConversationID } = require('@mixin.dev/mixin-node-sdk');
const { websocket, sendRaw } = require('@mixin.dev/mixin-node-sdk/blaze');
const [api, blaze, ksPath] = process.argv.slice(2);
const keystore = JSON.parse(fs.readFileSync(ksPath, 'utf8'));
const client = MixinApi({ keystore, requestConfig: { baseURL: api, retry: 0 } });
const assert = (c, m) => { if (!c) { console.error('FAIL', m); process.exit(1); } };
(async () => {
  const me = await client.user.profile();
  assert(me.user_id === keystore.app_id && me.app && me.app.app_id === keystore.app_id, 'profile');
  const admin = async (path, body) => {
    const res = await fetch(api + path, { method: body ? 'POST' : 'GET', body: body && JSON.stringify(body) });
    return res.json();
  };
  const alice = (await admin('/_mixintest/users', { full_name: 'Alice' })).user;
  const bob = (await admin('/_mixintest/users', { full_name: 'Bob' })).user;
  // sendText without a contact conversation fails 403
  let err;
  try { await client.message.sendText(alice.user_id, 'hi'); } catch (e) { err = e; }
  assert(err && err.code === 403, 'expected 403 before createContact, got ' + (err && err.code));
  const conv = await client.conversation.createContact(alice.user_id);
  assert(conv.conversation_id === uniqueConversationID(keystore.app_id, alice.user_id), 'contact id');
  const sent = await client.message.sendText(alice.user_id, 'hello from node');
  const inbox = await admin(`/_mixintest/users/${alice.user_id}/inbox`);
  assert(inbox.length === 1 && Buffer.from(inbox[0].data_base64, 'base64url').toString() === 'hello from node', 'inbox');
  // group management
  const gid = require('crypto').randomUUID();
  const g = await client.conversation.createGroup(gid, 'Node group', [{ user_id: alice.user_id, role: 'ADMIN' }]);
  assert(g.participants.length === 2 && g.code_url.includes(g.code_id), 'group');
  await client.conversation.addParticipants(gid, [bob.user_id]);
  await client.conversation.setAdmin(gid, [bob.user_id]);
  await client.conversation.revokeAdmin(gid, [bob.user_id]);
  await client.conversation.removeParticipants(gid, [bob.user_id]);
  const upd = await client.conversation.updateGroupInfo(gid, { name: 'Renamed', announcement: 'hi all' });
  assert(upd.name === 'Renamed' && upd.announcement === 'hi all', 'update');
  const rot = await client.conversation.resetGroupCode(gid);
  assert(rot.code_id !== g.code_id, 'rotate');
  const muted = await client.conversation.mute(gid, 3600);
  assert(new Date(muted.mute_until) > new Date(), 'mute');
  await client.conversation.unmute(gid);
  const dis = await client.conversation.disappearDuration(gid, 600);
  assert(dis.expire_in === 600, 'disappear');
  const fetched = await client.conversation.fetch(gid);
  assert(fetched.conversation_id === gid, 'fetch');
  // attachments
  const up = await client.attachment.upload(Buffer.from('file bytes'));
  const att = await client.attachment.fetch(up.attachment_id);
  const dl = await (await fetch(att.view_url)).text();
  assert(dl === 'file bytes', 'download');
  // users
  const list = await client.user.fetchList([alice.user_id, bob.user_id]);
  assert(list.length === 2, 'fetchList');
  const found = await client.user.search(alice.identity_number);
  assert(found.user_id === alice.user_id, 'search');
  // batch + ack
  await client.message.sendBatch([{ conversation_id: conv.conversation_id, message_id: require('crypto').randomUUID(), category: 'PLAIN_TEXT', data_base64: 'aGk' }]);
  // blaze: alice writes to the bot; the bot receives it with syncAck
  const msgFromAlice = await admin(`/_mixintest/users/${alice.user_id}/messages`, { recipient_id: keystore.app_id, category: 'PLAIN_TEXT', data_base64: Buffer.from('ping').toString('base64url') });
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('blaze timeout')), 5000);
    const ws = websocket(keystore, blaze, {
      onMessage: (m) => {
        if (m.message_id === msgFromAlice.message_id) {
          assert(m.source === 'LIST_PENDING_MESSAGES', 'source ' + m.source);
          clearTimeout(timer); setTimeout(() => { ws.close(); resolve(); }, 300);
        }
      },
      onAckReceipt: () => {},
      onConversation: () => {},
    }, { parse: true, syncAck: true });
    ws.on('open', () => sendRaw(ws, { id: require('crypto').randomUUID(), action: 'LIST_PENDING_MESSAGES' }));
    ws.on('error', reject);
  });
  await client.message.sendAcknowledgement({ message_id: msgFromAlice.message_id, status: 'READ' });
  const reqs = await admin('/_mixintest/requests');
  const bad = reqs.filter(r => r.code !== 0 && r.code !== 403);
  assert(bad.length === 0, 'unexpected errors: ' + JSON.stringify(bad.map(r => [r.method, r.path, r.code])));
  console.log('NODE E2E OK', reqs.length, 'requests');
})().catch(e => { console.error('FAIL', e.message, e.code, e.description); process.exit(1); });
