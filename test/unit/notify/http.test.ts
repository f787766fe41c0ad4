// SPDX-License-Identifier: Apache-2.0
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type NotifyError, postJson } from '../../../src/notify/http.ts';

function fakeFetch(statuses: (number | Error)[], headers: Record<string, string> = {}) {
  const calls: { url: string; init: RequestInit }[] = [];
  const f = (async (url: string, init: RequestInit) => {
    calls.push({ url, init });
    const s = statuses[Math.min(calls.length - 1, statuses.length - 1)]!;
    if (s instanceof Error) throw s;
    return new Response('x', { status: s, headers });
  }) as unknown as typeof fetch;
  return { f, calls };
}

test('retries 5xx and network errors with exponential backoff, then succeeds', async () => {
  const { f, calls } = fakeFetch([503, Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNRESET' } }), 200]);
  const sleeps: number[] = [];
  const r = await postJson('https://hooks.example/secret-path', { a: 1 }, { what: 'slack notifier "x"', fetch: f, sleep: async (ms) => void sleeps.push(ms), baseDelayMs: 100 });
  assert.deepEqual(r, { status: 200, attempts: 3 });
  assert.deepEqual(sleeps, [100, 200]);
  assert.equal(calls[0]!.init.redirect, 'error');
  assert.equal(calls[0]!.init.body, '{"a":1}');
});

test('429 honours Retry-After (capped)', async () => {
  const { f } = fakeFetch([429, 200], { 'retry-after': '120' });
  const sleeps: number[] = [];
  await postJson('https://x', {}, { what: 'n', fetch: f, sleep: async (ms) => void sleeps.push(ms), maxDelayMs: 5000 });
  assert.deepEqual(sleeps, [5000]);
});

test('other 4xx fail at once, and messages never contain the URL', async () => {
  const { f, calls } = fakeFetch([404]);
  await assert.rejects(postJson('https://hooks.example/T000/B000/SECRET', {}, { what: 'slack notifier "oncall"', fetch: f, sleep: async () => {} }), (e: NotifyError) => {
    assert.equal(e.retryable, false);
    assert.equal(e.status, 404);
    assert.equal(e.message, 'slack notifier "oncall" answered HTTP 404');
    return true;
  });
  assert.equal(calls.length, 1);
});

test('gives up after the attempts, naming the last problem', async () => {
  const { f, calls } = fakeFetch([500]);
  await assert.rejects(postJson('https://x/SECRET', {}, { what: 'teams notifier "t"', fetch: f, attempts: 3, sleep: async () => {} }), /teams notifier "t" answered HTTP 500 \(after 3 attempts\)/);
  assert.equal(calls.length, 3);
});

test('sign() sees the exact body', async () => {
  const { f, calls } = fakeFetch([200]);
  await postJson('https://x', { b: [1, 2] }, { what: 'w', fetch: f, sign: (body) => ({ 'x-sig': `len${body.length}` }) });
  assert.equal((calls[0]!.init.headers as Record<string, string>)['x-sig'], 'len11');
});
