// Shared helpers for the interop scripts. Every script prints one JSON line
// per SDK call: {"call":"...","ok":true,"result":...} or
// {"call":"...","ok":false,"error":"..."}; interop_test.go parses them.
import { readFileSync } from 'node:fs';
import { MixinApi } from '@mixin.dev/mixin-node-sdk';

let failures = 0;

// env returns a required environment variable or exits with a clear message.
export function env(name) {
  const v = process.env[name];
  if (!v) {
    emit({ call: 'env', ok: false, error: `environment variable ${name} is not set` });
    process.exit(2);
  }
  return v;
}

export function loadKeystore(path) {
  return JSON.parse(readFileSync(path, 'utf8'));
}

// api builds the SDK client exactly as a bot author would, changing only the
// base URL.
export function api(keystore) {
  return MixinApi({ keystore, requestConfig: { baseURL: env('MIXIN_API') } });
}

export function emit(line) {
  process.stdout.write(JSON.stringify(line) + '\n');
}

// describe turns an SDK error (ResponseError or AxiosError) into one line of
// text that names the request, the HTTP status and the API error.
export function describe(err) {
  if (err && err.isAxiosError) {
    const c = err.config || {};
    const r = err.response;
    let body = '';
    if (r) body = typeof r.data === 'string' ? r.data : JSON.stringify(r.data);
    return `${(c.method || '').toUpperCase()} ${c.url}: ${err.message}` + (r ? ` (HTTP ${r.status}, body ${body.slice(0, 500)})` : '');
  }
  if (err && err.code !== undefined && err.description !== undefined) {
    return `API error code ${err.code} (status ${err.status}): ${err.description}`;
  }
  return String(err && err.stack ? err.stack : err);
}

// call runs one SDK call, checks its result and prints the line. extra is
// merged into the line (e.g. the payload a message call meant to send).
export async function call(name, fn, check, extra = {}) {
  try {
    const result = await fn();
    if (check) check(result);
    emit({ call: name, ok: true, ...extra, result });
    return result;
  } catch (err) {
    failures++;
    emit({ call: name, ok: false, ...extra, error: describe(err) });
    return undefined;
  }
}

export function expect(cond, message) {
  if (!cond) throw new Error('unexpected result: ' + message);
}

export function role(conv, userID) {
  const p = (conv.participants || []).find((x) => x.user_id === userID);
  return p === undefined ? undefined : p.role;
}

// finish exits non-zero when any call failed.
export function finish() {
  emit({ call: 'summary', ok: failures === 0, result: { failures } });
  process.exit(failures === 0 ? 0 : 1);
}

// A hard deadline so a hung call cannot hang the Go test.
export function deadline(ms) {
  setTimeout(() => {
    emit({ call: 'deadline', ok: false, error: `script did not finish within ${ms} ms` });
    process.exit(3);
  }, ms).unref();
}
