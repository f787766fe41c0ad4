// SPDX-License-Identifier: Apache-2.0
// Playbook constructs on the real engine and real Redis: retry with backoff, wait, parallel,
// onError goto, step timeout — all timers are delayed BullMQ jobs, not in-process timers.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startHttpSink, type HttpSink } from '../helpers/http-sink.ts';
import { stopTestRedis } from '../helpers/redis.ts';
import { shellAlert, startTestRiposte, type TestRiposte } from '../helpers/riposte.ts';
import { waitUntil } from '../helpers/wait.ts';

let sink: HttpSink;
let rp: TestRiposte;
const hook = (id: string, path: string, extra = '') => `  - id: ${id}\n    action: notify.webhook\n    with: { url: "URL${path}", body: { step: ${id}, run: "{{run.id}}" } }\n${extra}`;

before(async () => {
  sink = await startHttpSink();
  sink.respond = (req, n) => {
    if (req.path === '/flaky') return { status: n <= 2 ? 503 : 200 };
    if (req.path === '/fail-twice') return { status: n <= 2 ? 500 : 200 };
    if (req.path === '/slow') return { status: 200, delayMs: 1500 };
    return { status: 200 };
  };
  const doc = (name: string, rule: string, steps: string) =>
    `apiVersion: riposte.dev/v1\nkind: Playbook\nmetadata: { name: ${name} }\ntrigger: { rules: ["${rule}"] }\nsteps:\n${steps.replaceAll('URL', sink.url)}`;
  rp = await startTestRiposte({
    playbooks: {
      'retry.yaml': doc('retry', 'retry', hook('flaky', '/flaky', '    retry: { attempts: 3, backoff: 200ms, factor: 2 }\n')),
      'flow.yaml': doc(
        'flow',
        'flow',
        `  - id: pause\n    wait: 300ms\n  - id: fan\n    parallel:\n      branches:\n        - steps:\n${hook('left', '/left').replace(/^ {2}/gm, '          ')}        - steps:\n${hook('right', '/right').replace(/^ {2}/gm, '          ')}` +
          `  - id: again\n    wait: 100ms\n${hook('shaky', '/fail-twice', '    onError: { goto: again }\n')}${hook('slow', '/slow', '    timeout: 300ms\n    onError: continue\n')}${hook('last', '/last')}`,
      ),
    },
  });
});
after(async () => {
  await rp.close();
  await sink.close();
  await stopTestRedis();
});

const finished = (rule: string) =>
  waitUntil(async () => (await rp.runtime.runs.list()).find((r) => r.state.context.alert.rule === rule && r.state.status !== 'running'), `${rule} run to finish`, 20_000);

test('retry with backoff: two 503s then success, same step, new attempt each time', async () => {
  assert.equal((await rp.post(shellAlert({ rule: 'retry' }))).status, 202);
  const run = await finished('retry');
  assert.equal(run.state.status, 'succeeded');
  const calls = sink.received.filter((r) => r.path === '/flaky');
  assert.deepEqual(calls.map((c) => String(c.headers['idempotency-key']).split(':').slice(1).join(':')), ['flaky:1', 'flaky:2', 'flaky:3']);
  const failed = await rp.runtime.audit.list({ runId: run.meta.id, action: 'step.failed' });
  assert.equal(failed.length, 2);
  assert.equal(run.state.context.attempts.flaky, 3);
});

test('wait, parallel branches, onError goto through a wait, and a step timeout', async () => {
  const t0 = Date.now();
  assert.equal((await rp.post(shellAlert({ rule: 'flow' }))).status, 202);
  const run = await finished('flow');
  assert.equal(run.state.status, 'succeeded', run.state.context.error);
  assert.ok(Date.now() - t0 >= 300, 'the wait step waited');
  const paths = sink.received.map((r) => r.path);
  assert.ok(paths.includes('/left') && paths.includes('/right'), 'both branches ran');
  assert.equal(paths.filter((p) => p === '/fail-twice').length, 3, 'goto looped until the step succeeded');
  assert.equal(run.state.context.attempts.again, 3, 'the wait step was visited three times');
  assert.equal(run.state.context.steps.slow?.status, 'failed');
  assert.equal(run.state.context.steps.slow?.error, 'timed out');
  assert.ok(paths.indexOf('/last') > paths.indexOf('/slow'), 'the run went on after the timeout');
  // the slow webhook answers after the run moved on: its late result is stale and changes nothing
  await new Promise((r) => setTimeout(r, 1500));
  const after = await rp.runtime.runs.get(run.meta.id);
  assert.equal(after?.rev, run.rev);
});
