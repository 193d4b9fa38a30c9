// Every conversation call of the seed (seeds/000), made by the official Node
// SDK 7.5.5 as the bot, plus the user calls and a user joining by code.
// Seed name -> SDK 7.5.5 method:
//   createContactConversation -> conversation.createContact
//   createGroupConversation   -> conversation.createGroup
//   updateConversation        -> conversation.updateGroupInfo
//   readConversation          -> conversation.fetch
//   removeParticipants        -> conversation.removeParticipants
//   addParticipants           -> conversation.addParticipants
//   adminParticipants         -> conversation.setAdmin
//   managerConversation       -> conversation.updateParticipants
//   rotateConversation        -> conversation.resetGroupCode
//   (beyond the seed)            revokeAdmin, mute, unmute, disappearDuration, joinGroup, exitGroup
//
// Env: MIXIN_API, MIXIN_BOT_KEYSTORE, MIXIN_USER_KEYSTORE, MIXIN_USER2_ID.
import { randomBytes } from 'node:crypto';
import { getUuid, uniqueConversationID } from '@mixin.dev/mixin-node-sdk';
import { api, call, deadline, describe, emit, env, expect, finish, loadKeystore, role } from './lib.mjs';

deadline(20000);

const botKS = loadKeystore(env('MIXIN_BOT_KEYSTORE'));
const userKS = loadKeystore(env('MIXIN_USER_KEYSTORE'));
const bot = api(botKS);
const user = api(userKS);
const botID = botKS.app_id;
const u1 = userKS.app_id;
const u2 = env('MIXIN_USER2_ID');

await call('user.profile', () => bot.user.profile(), (me) => expect(me.user_id === botID, `me.user_id ${me.user_id} != ${botID}`));
await call('user.fetch', () => bot.user.fetch(u1), (u) => expect(u.user_id === u1, `user_id ${u.user_id} != ${u1}`));
await call('user.fetchList', () => bot.user.fetchList([u1, u2]), (us) => {
  expect(Array.isArray(us) && us.length === 2, `want 2 users, got ${JSON.stringify(us)}`);
  expect(new Set(us.map((u) => u.user_id)).size === 2 && us.every((u) => u.user_id === u1 || u.user_id === u2), 'wrong user ids');
});

// createContactConversation
const contactID = uniqueConversationID(botID, u1);
const checkContact = (c) => {
  expect(c.conversation_id === contactID, `conversation_id ${c.conversation_id} != ${contactID}`);
  expect(c.category === 'CONTACT', `category ${c.category}`);
  expect(role(c, u1) !== undefined && role(c, botID) !== undefined, 'both users must be participants');
};
await call('conversation.createContact', () => bot.conversation.createContact(u1), checkContact);
await call('conversation.createContact.again', () => bot.conversation.createContact(u1), checkContact);
await call('conversation.fetch.contact', () => bot.conversation.fetch(contactID), checkContact);

// createGroupConversation(newUUID, name, [{user_id, role: 'ADMIN'}])
const groupID = getUuid();
let group = await call(
  'conversation.createGroup',
  () => bot.conversation.createGroup(groupID, '测试群组 interop', [{ user_id: u1, role: 'ADMIN' }]),
  (c) => {
    expect(c.conversation_id === groupID, `conversation_id ${c.conversation_id} != ${groupID}`);
    expect(c.category === 'GROUP', `category ${c.category}`);
    expect(c.name === '测试群组 interop', `name ${c.name}`);
    expect(role(c, botID) === 'OWNER', `bot role ${role(c, botID)}`);
    expect(role(c, u1) === 'ADMIN', `user role ${role(c, u1)}`);
    expect(c.code_id, 'a group has a code_id');
  },
);
const firstCode = group ? group.code_id : '';

// updateConversation(id, {name, announcement})
const name2 = '测试群聊2 interop';
const announcement = '测试公告 <interop> & "quotes"';
await call('conversation.updateGroupInfo', () => bot.conversation.updateGroupInfo(groupID, { name: name2, announcement }), (c) => {
  expect(c.name === name2, `name ${c.name}`);
  expect(c.announcement === announcement, `announcement ${c.announcement}`);
});

// readConversation
await call('conversation.fetch', () => bot.conversation.fetch(groupID), (c) => {
  expect(c.name === name2 && c.announcement === announcement, 'fetch shows the update');
  expect(c.code_id === firstCode, `code_id ${c.code_id} != ${firstCode}`);
});

// removeParticipants / addParticipants / adminParticipants
await call('conversation.removeParticipants', () => bot.conversation.removeParticipants(groupID, [u1]), (c) => {
  expect(role(c, u1) === undefined, 'removed user still a participant');
});
await call('conversation.addParticipants', () => bot.conversation.addParticipants(groupID, [u1, u2]), (c) => {
  expect(role(c, u1) === '' && role(c, u2) === '', `roles after add: ${role(c, u1)}, ${role(c, u2)}`);
});
await call('conversation.setAdmin', () => bot.conversation.setAdmin(groupID, [u1]), (c) => {
  expect(role(c, u1) === 'ADMIN', `role ${role(c, u1)}`);
});

// managerConversation(id, action, participants)
await call('conversation.updateParticipants.ROLE', () => bot.conversation.updateParticipants(groupID, 'ROLE', [{ user_id: u2, role: 'ADMIN' }]), (c) => {
  expect(role(c, u2) === 'ADMIN', `role ${role(c, u2)}`);
});
await call('conversation.revokeAdmin', () => bot.conversation.revokeAdmin(groupID, [u2]), (c) => {
  expect(role(c, u2) === '', `role ${role(c, u2)}`);
});
await call('conversation.updateParticipants.REMOVE', () => bot.conversation.updateParticipants(groupID, 'REMOVE', [{ user_id: u2 }]), (c) => {
  expect(role(c, u2) === undefined, 'removed user still a participant');
});
await call('conversation.updateParticipants.ADD', () => bot.conversation.updateParticipants(groupID, 'ADD', [{ user_id: u2 }]), (c) => {
  expect(role(c, u2) === '', `role ${role(c, u2)}`);
});

// rotateConversation
group = await call('conversation.resetGroupCode', () => bot.conversation.resetGroupCode(groupID), (c) => {
  expect(c.code_id && c.code_id !== firstCode, `code_id not rotated: ${c.code_id}`);
  expect(c.code_url && c.code_url.endsWith(c.code_id), `code_url ${c.code_url}`);
});
const code = group ? group.code_id : '';

// mute / unmute / disappear
const future = (c) => Date.parse(c.mute_until) > Date.now() + 3000 * 1000;
await call('conversation.mute', () => bot.conversation.mute(groupID, 28800), (c) => expect(future(c), `mute_until ${c.mute_until}`));
await call('conversation.mute.contact', () => bot.conversation.mute(contactID, 3600), (c) => expect(future(c), `mute_until ${c.mute_until}`));
await call('conversation.unmute.contact', () => bot.conversation.unmute(contactID), (c) => {
  expect(!(Date.parse(c.mute_until) > Date.now() + 60 * 1000), `still muted until ${c.mute_until}`);
});
await call('conversation.disappearDuration', () => bot.conversation.disappearDuration(groupID, 3600), (c) => {
  expect(c.expire_in === 3600, `expire_in ${c.expire_in}`);
});

// The user (its own keystore, its own MixinApi) leaves and comes back by code.
await call('user.conversation.exitGroup', () => user.conversation.exitGroup(groupID));
await call('conversation.fetch.afterExit', () => bot.conversation.fetch(groupID), (c) => {
  expect(role(c, u1) === undefined, 'exited user still a participant');
});
await call('user.conversation.joinGroup', () => user.conversation.joinGroup(code), (c) => {
  expect(c.conversation_id === groupID, `joined ${c.conversation_id}`);
  expect(role(c, u1) === '', `joined role ${role(c, u1)}`);
});
await call('conversation.fetch.final', () => bot.conversation.fetch(groupID), (c) => {
  expect(c.name === name2 && c.announcement === announcement && c.code_id === code, 'final state');
});

// Errors reach the SDK as its ResponseError with the API's code.
const rejects = (code, fn) => async () => {
  try {
    await fn();
  } catch (err) {
    expect(err.code === code, `want API error code ${code}, got ${describe(err)}`);
    return { code: err.code, status: err.status, description: err.description };
  }
  throw new Error(`the call succeeded; want API error code ${code}`);
};
const forged = { ...botKS, session_private_key: randomBytes(32).toString('hex') };
await call('auth.wrongKey', rejects(401, () => api(forged).user.profile()));
await call('conversation.fetch.unknown', rejects(404, () => bot.conversation.fetch(getUuid())));

emit({ call: 'ids', ok: true, result: { group_id: groupID, contact_id: contactID, code_id: code } });
finish();
