// The official Node SDK 7.5.5's relationship, profile, circle and code calls,
// made as the bot against cmd/mixintest:
//   user.updateRelationships (ADD, REMOVE, BLOCK, UNBLOCK), user.friends,
//   user.blockings, user.update, user.updatePreferences,
//   circle.fetchList, fetch, conversations, create, update, delete,
//   addConversation, removeConversation, addUser, removeUser (the SDK sends
//   circleID, not circle_id: refused 10002), user.rotateCode,
//   code.fetch (a user code, the bot's rotated code, a group invite code).
// The Go test prepared a circle "Prepared" holding the contact conversation
// with user 1 and a group whose invite code is MIXIN_GROUP_CODE; it compares
// what this script read with what the Go client reads afterwards.
//
// Env: MIXIN_API, MIXIN_BOT_KEYSTORE, MIXIN_USER_ID, MIXIN_USER2_ID,
// MIXIN_USER_CODE, MIXIN_GROUP_CODE, MIXIN_GROUP_ID, MIXIN_CONTACT_ID,
// MIXIN_AVATAR_BASE64.
import { api, call, deadline, emit, env, expect, finish, loadKeystore } from './lib.mjs';

deadline(20000);

const botKS = loadKeystore(env('MIXIN_BOT_KEYSTORE'));
const bot = api(botKS);
const u1 = env('MIXIN_USER_ID');
const u2 = env('MIXIN_USER2_ID');

// Relationships.
await call('relationship.add', () => bot.user.updateRelationships({ user_id: u1, action: 'ADD', full_name: 'Friend One' }),
  (u) => expect(u.user_id === u1 && u.relationship === 'FRIEND', `after ADD: ${JSON.stringify(u)}`));
await call('relationship.add2', () => bot.user.updateRelationships({ user_id: u2, action: 'ADD' }),
  (u) => expect(u.relationship === 'FRIEND', `after ADD: ${u.relationship}`));
await call('relationship.remove', () => bot.user.updateRelationships({ user_id: u2, action: 'REMOVE' }),
  (u) => expect(u.relationship === 'STRANGER', `after REMOVE: ${u.relationship}`));
await call('relationship.block', () => bot.user.updateRelationships({ user_id: u2, action: 'BLOCK' }),
  (u) => expect(u.relationship === 'BLOCKING', `after BLOCK: ${u.relationship}`));
await call('user.friends', () => bot.user.friends(),
  (us) => expect(us.length === 1 && us[0].user_id === u1 && us[0].full_name === 'Friend One', `friends ${JSON.stringify(us)}`));
await call('user.blockings', () => bot.user.blockings(),
  (us) => expect(us.length === 1 && us[0].user_id === u2, `blockings ${JSON.stringify(us)}`));
await call('relationship.unblock', () => bot.user.updateRelationships({ user_id: u2, action: 'UNBLOCK' }),
  (u) => expect(u.relationship === 'STRANGER', `after UNBLOCK: ${u.relationship}`));
await call('relationship.block.final', () => bot.user.updateRelationships({ user_id: u2, action: 'BLOCK' }));
let badAction;
try { await bot.user.updateRelationships({ user_id: u1, action: 'FOLLOW' }); } catch (e) { badAction = e; }
await call('relationship.badAction', async () => ({ code: badAction && badAction.code }),
  (r) => expect(r.code === 10002, `unknown action answered ${JSON.stringify(badAction)}`));

// Profile and preferences.
await call('user.update', () => bot.user.update('Node Named Bot', env('MIXIN_AVATAR_BASE64')),
  (u) => expect(u.full_name === 'Node Named Bot' && u.avatar_url.startsWith('http'), `update ${JSON.stringify(u)}`));
await call('user.updatePreferences', () => bot.user.updatePreferences({ receive_message_source: 'CONTACTS', fiat_currency: 'EUR' }),
  (u) => expect(u.receive_message_source === 'CONTACTS' && u.fiat_currency === 'EUR' && u.accept_search_source === 'EVERYBODY', `preferences ${JSON.stringify(u)}`));
let badPref;
try { await bot.user.updatePreferences({ receive_message_source: 'SOMETIMES' }); } catch (e) { badPref = e; }
await call('user.updatePreferences.bad', async () => ({ code: badPref && badPref.code }),
  (r) => expect(r.code === 10002, `bad preference answered ${JSON.stringify(badPref)}`));
await call('user.profile', () => bot.user.profile(),
  (me) => expect(me.full_name === 'Node Named Bot' && me.receive_message_source === 'CONTACTS', `profile ${JSON.stringify(me)}`));

// Circles.
const listed = await call('circle.fetchList', () => bot.circle.fetchList(),
  (cs) => expect(cs.length === 1 && cs[0].name === 'Prepared' && cs[0].type === 'circle', `circles ${JSON.stringify(cs)}`));
const prepared = listed ? listed[0].circle_id : '';
await call('circle.fetch', () => bot.circle.fetch(prepared), (c) => expect(c.circle_id === prepared, 'fetch'));
await call('circle.conversations', () => bot.circle.conversations(prepared, { offset: '', limit: 10 }),
  (items) => expect(items.length === 1 && items[0].conversation_id === env('MIXIN_CONTACT_ID') && items[0].user_id === u1
    && items[0].type === 'circle_conversation', `items ${JSON.stringify(items)}`));
const made = await call('circle.create', () => bot.circle.create('From Node'), (c) => expect(c.name === 'From Node', 'create'));
await call('circle.update', () => bot.circle.update(made.circle_id, 'From Node, renamed'),
  (c) => expect(c.name === 'From Node, renamed' && c.circle_id === made.circle_id, 'update'));
let addConv;
try { await bot.circle.addConversation(env('MIXIN_GROUP_ID'), made.circle_id); } catch (e) { addConv = e; }
await call('circle.addConversation', async () => ({ code: addConv && addConv.code }),
  (r) => expect(r.code === 10002, `addConversation (sends circleID) answered ${JSON.stringify(addConv)}`));
// The SDK's removeConversation, addUser and removeUser send circleID too.
for (const [name, fn] of [
  ['circle.removeConversation', () => bot.circle.removeConversation(env('MIXIN_GROUP_ID'), made.circle_id)],
  ['circle.addUser', () => bot.circle.addUser(u1, made.circle_id)],
  ['circle.removeUser', () => bot.circle.removeUser(u1, made.circle_id)],
]) {
  let refused;
  try { await fn(); } catch (e) { refused = e; }
  await call(name, async () => ({ code: refused && refused.code }),
    (r) => expect(r.code === 10002, `${name} (sends circleID) answered ${JSON.stringify(refused)}`));
}
const doomed = await call('circle.create.doomed', () => bot.circle.create('Doomed'));
await call('circle.delete', () => bot.circle.delete(doomed.circle_id));
let gone;
try { await bot.circle.fetch(doomed.circle_id); } catch (e) { gone = e; }
await call('circle.fetch.deleted', async () => ({ code: gone && gone.code }), (r) => expect(r.code === 404, `deleted circle: ${JSON.stringify(gone)}`));
await call('circle.fetchList.final', () => bot.circle.fetchList(), (cs) => expect(cs.length === 2, `circles ${cs.length}`));

// Codes; user.rotateCode replaces the bot's own code.
const rotated = await call('user.rotateCode', () => bot.user.rotateCode(),
  (me) => expect(me.code_id && me.code_url === `https://mixin.one/codes/${me.code_id}`, `rotateCode ${JSON.stringify(me)}`));
await call('code.fetch.self', () => bot.code.fetch(rotated.code_id),
  (c) => expect(c.type === 'user' && c.user_id === botKS.app_id, `own code ${JSON.stringify(c)}`));
await call('code.fetch.user', () => bot.code.fetch(env('MIXIN_USER_CODE')),
  (c) => expect(c.type === 'user' && c.user_id === u1, `user code ${JSON.stringify(c)}`));
await call('code.fetch.group', () => bot.code.fetch(env('MIXIN_GROUP_CODE')),
  (c) => expect(c.type === 'conversation' && c.conversation_id === env('MIXIN_GROUP_ID'), `group code ${JSON.stringify(c)}`));
let noCode;
try { await bot.code.fetch('00000000-0000-4000-8000-000000000000'); } catch (e) { noCode = e; }
await call('code.fetch.unknown', async () => ({ code: noCode && noCode.code }), (r) => expect(r.code === 404, `unknown code: ${JSON.stringify(noCode)}`));

emit({ call: 'ids', ok: true, result: { created_circle: made && made.circle_id } });
finish();
