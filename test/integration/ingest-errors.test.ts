// SPDX-License-Identifier: Apache-2.0
// Bad input keeps the server serving and gets a clear 4xx naming the problem.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { stopTestRedis } from '../helpers/redis.ts';
import { shellAlert, startTestRiposte, type TestRiposte } from '../helpers/riposte.ts';

let rp: TestRiposte;
before(async () => {
  rp = await startTestRiposte({ bodyLimit: 16 * 1024 });
});
after(async () => {
  await rp.close();
  await stopTestRedis();
});

const cases: { name: string; send: () => Promise<{ status: number; body: any }>; status: number; code: string; mention: RegExp }[] = [
  { name: 'missing rule', send: () => { const { rule: _r, ...a } = shellAlert(); return rp.post(a); }, status: 400, code: 'ALERT_INVALID', mention: /rule/ },
  { name: 'priority not a Falco level', send: () => rp.post(shellAlert({ priority: 'Urgent' })), status: 400, code: 'ALERT_INVALID', mention: /priority.*Urgent/ },
  { name: 'bad field in the 2nd alert of a batch', send: () => rp.post([shellAlert(), shellAlert({ tags: 'x' })]), status: 400, code: 'ALERT_INVALID', mention: /\[1\]\.tags/ },
  { name: 'non-JSON body', send: () => rp.post(null, { raw: '{"rule": "x", priority' }), status: 400, code: 'BAD_JSON', mention: /not valid JSON/ },
  { name: 'oversized body', send: () => rp.post(null, { raw: JSON.stringify(shellAlert({ output: 'x'.repeat(20_000) })) }), status: 413, code: 'BODY_TOO_LARGE', mention: /larger than 16384 bytes/ },
  { name: 'missing token', send: () => rp.post(shellAlert(), { token: null }), status: 401, code: 'UNAUTHORIZED', mention: /missing Authorization/ },
  { name: 'wrong token', send: () => rp.post(shellAlert(), { token: 'not-the-token' }), status: 401, code: 'UNAUTHORIZED', mention: /invalid token/ },
  { name: 'a JSON value that is not an alert', send: () => rp.post('hello'), status: 400, code: 'ALERT_INVALID', mention: /expected a JSON object/ },
];

for (const c of cases) {
  test(`${c.name} → ${c.status}`, async () => {
    const res = await c.send();
    assert.equal(res.status, c.status, JSON.stringify(res.body));
    assert.equal(res.body.error.code, c.code);
    assert.match(JSON.stringify(res.body.error), c.mention);
    // the server still serves, and nothing was queued
    assert.equal((await fetch(`${rp.url}/healthz`)).status, 200);
  });
}

test('rejected requests stored nothing', async () => {
  assert.equal(await rp.runtime.queues.alerts.count(), 0);
  assert.equal((await rp.runtime.audit.list({ action: 'alert.accepted' })).length, 0);
});

test('a Falcosidekick payload is accepted and its uuid becomes the alert id (a re-post is stored once)', async () => {
  const payload = { uuid: 'b3b2c1d0-1111-4222-8333-944455556666', output: '12:00:00 Warning shell', priority: 'Warning', rule: 'Terminal shell in container', time: '2024-05-01T12:00:00.123456789Z', output_fields: { 'container.id': 'abc', 'evt.time': 1714564800123 }, source: 'syscall', tags: ['shell'], hostname: 'falco-xyz' };
  const a = await rp.post(payload);
  const b = await rp.post(payload);
  assert.equal(a.status, 202);
  assert.deepEqual(a.body.ids, [payload.uuid]);
  assert.equal(b.status, 202);
  const job = await rp.runtime.queues.alerts.getJob(payload.uuid);
  assert.equal(job?.data.hostname, 'falco-xyz');
});

test('readyz reports Redis, metrics are Prometheus text', async () => {
  const r = await fetch(`${rp.url}/readyz`);
  assert.equal(r.status, 200);
  assert.deepEqual(await r.json(), { status: 'ready', checks: { redis: 'ok' } });
  const m = await (await fetch(`${rp.url}/metrics`)).text();
  assert.match(m, /riposte_alerts_rejected_total\{reason="invalid"\} \d+/);
  assert.match(m, /riposte_alerts_rejected_total\{reason="unauthorized"\} 2/);
});
