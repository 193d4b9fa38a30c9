// The official Node SDK 7.5.5's blaze client, as the bot, against the
// emulator's websocket.
//
// BlazeKeystoreClient (the SDK's loop) hardcodes wss://blaze.mixin.one and has
// no option to change it. The SDK's public entry '@mixin.dev/mixin-node-sdk/blaze'
// also exports websocket(keystore, url, handler, options) — the function that
// loop is built on, which takes the URL — and sendRaw(ws, frame). This script
// uses those two exactly as the loop does (subprotocol Mixin-Blaze-1, signed
// GET /, LIST_PENDING_MESSAGES on open, syncAck), with only the URL changed.
//
// It prints the messages it receives and exits once every id in
// MIXIN_BLAZE_EXPECT_IDS arrived and every ack the SDK sent was answered.
// Ids in MIXIN_BLAZE_FORBID_IDS must not arrive (already acked earlier);
// MIXIN_BLAZE_SETTLE_MS keeps listening that long after the LIST_PENDING_MESSAGES
// reply so a wrongly redelivered message has time to show up, and
// MIXIN_BLAZE_MIN_PINGS makes it wait for that many server pings (the SDK's
// loop terminates a socket that saw no ping for 30 s).
// MIXIN_BLAZE_EXPECT_RECEIPTS lists ids of the bot's own messages whose
// delivery/read receipts must reach the SDK's onAckReceipt handler.
//
// Lines: blaze.open, blaze.list_pending (the Go test injects live messages
// after it), blaze.message (one per message), blaze.receipt,
// blaze.conversation, summary.
// Env: MIXIN_BLAZE, MIXIN_BOT_KEYSTORE, MIXIN_BLAZE_EXPECT_IDS,
// MIXIN_BLAZE_FORBID_IDS, MIXIN_BLAZE_SETTLE_MS, MIXIN_BLAZE_MIN_PINGS,
// MIXIN_BLAZE_EXPECT_RECEIPTS.
import { gunzipSync } from 'node:zlib';
import { getUuid } from '@mixin.dev/mixin-node-sdk';
import { sendRaw, websocket } from '@mixin.dev/mixin-node-sdk/blaze';
import { deadline, emit, env, loadKeystore } from './lib.mjs';

deadline(10000);

const ids = (name) => new Set((process.env[name] || '').split(',').filter(Boolean));
const keystore = loadKeystore(env('MIXIN_BOT_KEYSTORE'));
const expected = ids('MIXIN_BLAZE_EXPECT_IDS');
const forbidden = ids('MIXIN_BLAZE_FORBID_IDS');
const expectedReceipts = ids('MIXIN_BLAZE_EXPECT_RECEIPTS');
const settleMs = Number(process.env.MIXIN_BLAZE_SETTLE_MS || '0');
const minPings = Number(process.env.MIXIN_BLAZE_MIN_PINGS || '0');

const received = new Set();
const receipts = new Set();
const failures = [];
let dataFrames = 0; // frames carrying data: the SDK acks each one (syncAck)
let ackReplies = 0; // server replies to those acks
let pings = 0;
let settled = false;
let done = false;
const listID = getUuid();

const fail = (call, error) => {
  failures.push(error);
  emit({ call, ok: false, error });
  setTimeout(exit, 200).unref(); // report what else arrives, then stop
};

const ws = websocket(keystore, env('MIXIN_BLAZE'), {
  onMessage: (msg) => {
    if (!msg.message_id) return; // not a message view
    received.add(msg.message_id);
    if (forbidden.has(msg.message_id)) {
      fail('blaze.message', `message ${msg.message_id} was acked earlier but delivered again`);
      return;
    }
    emit({ call: 'blaze.message', ok: true, result: msg });
  },
  onAckReceipt: (msg) => {
    receipts.add(msg.message_id);
    emit({ call: 'blaze.receipt', ok: true, result: msg });
  },
  onConversation: (msg) => emit({ call: 'blaze.conversation', ok: true, result: msg }),
}, { parse: true, syncAck: true });

ws.on('ping', () => {
  pings++;
  check();
});
ws.on('message', (raw, isBinary) => {
  if (!isBinary) fail('blaze.frame', 'server sent a text frame; blaze frames must be binary gzip JSON');
  let frame;
  try {
    frame = JSON.parse(gunzipSync(raw).toString('utf8'));
  } catch (err) {
    fail('blaze.frame', `frame is not gzip JSON: ${err.message}`);
    return;
  }
  if (frame.error) {
    fail('blaze.frame', `server frame ${frame.id} (${frame.action}) has error ${JSON.stringify(frame.error)}`);
    return;
  }
  if (frame.data) dataFrames++;
  if (frame.action === 'ACKNOWLEDGE_MESSAGE_RECEIPT' && !frame.data) ackReplies++;
  if (frame.id === listID) {
    if (frame.action !== 'LIST_PENDING_MESSAGES') fail('blaze.list_pending', `reply action ${frame.action}`);
    emit({ call: 'blaze.list_pending', ok: true, result: { id: frame.id, has_data: frame.data !== undefined } });
    setTimeout(() => {
      settled = true;
      check();
    }, settleMs);
  }
  setImmediate(check);
});
ws.on('open', () => {
  emit({ call: 'blaze.open', ok: true, result: { protocol: ws.protocol } });
  if (ws.protocol !== 'Mixin-Blaze-1') fail('blaze.open', `subprotocol ${JSON.stringify(ws.protocol)}, want Mixin-Blaze-1`);
  sendRaw(ws, { id: listID, action: 'LIST_PENDING_MESSAGES' }).then((ok) => {
    if (!ok) fail('blaze.list_pending', 'could not send LIST_PENDING_MESSAGES');
  });
});
ws.on('error', (err) => fail('blaze.error', `websocket error: ${err.message}`));
ws.on('unexpected-response', (req, res) => {
  let body = '';
  res.on('data', (b) => (body += b));
  res.on('end', () => {
    fail('blaze.handshake', `handshake answered HTTP ${res.statusCode}: ${body.slice(0, 300)}`);
    req.destroy();
    exit();
  });
});
ws.on('close', (code, reason) => {
  if (!done) fail('blaze.close', `server closed the socket: ${code} ${reason}`);
  exit();
});

function check() {
  if (done || !settled) return;
  for (const id of expected) if (!received.has(id)) return;
  for (const id of expectedReceipts) if (!receipts.has(id)) return;
  if (ackReplies < dataFrames) return;
  if (pings < minPings) return;
  done = true;
  ws.close(1000);
  setTimeout(exit, 1000).unref();
}

function exit() {
  const missing = [...expected].filter((id) => !received.has(id));
  missing.push(...[...expectedReceipts].filter((id) => !receipts.has(id)).map((id) => `receipt of ${id}`));
  if (missing.length > 0 && failures.length === 0) failures.push(`missing ${missing.join(',')}`);
  emit({ call: 'summary', ok: failures.length === 0, result: { received: [...received], data_frames: dataFrames, ack_replies: ackReplies, pings, missing } });
  process.exit(failures.length === 0 ? 0 : 1);
}
