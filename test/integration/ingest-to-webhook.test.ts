// SPDX-License-Identifier: Apache-2.0
// Alert posted over HTTP → run → webhook delivered to a real HTTP server with the rendered body → audit verifies.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { verifyChain } from '../../src/audit/verify.ts';
import { startHttpSink, type HttpSink } from '../helpers/http-sink.ts';
import { stopTestRedis } from '../helpers/redis.ts';
import { shellAlert, startTestRiposte, type TestRiposte } from '../helpers/riposte.ts';
import { waitUntil } from '../helpers/wait.ts';

let sink: HttpSink;
let rp: TestRiposte;

before(async () => {
  sink = await startHttpSink();
  rp = await startTestRiposte({
    playbooks: {
      'hook.yaml': `
apiVersion: riposte.dev/v1
kind: Playbook
metadata: { name: shell-hook }
trigger:
  rules: ["Terminal shell*"]
  priority: ">=warning"
  condition: k8s.ns.name != kube-system
steps:
  - id: note
    action: log
    with: { message: 'shell in {{field "container.id"}}' }
  - id: hook
    action: notify.webhook
    with:
      url: ${sink.url}/hook
      body:
        text: '{{alert.rule}} in {{field "k8s.ns.name"}}/{{field "k8s.pod.name"}}'
        priority: '{{alert.priority}}'
        previous: '{{steps.note.output.message}}'
`,
    },
  });
});
after(async () => {
  await rp.close();
  await sink.close();
  await stopTestRedis();
});

test('a Falco alert posted over HTTP runs the playbook and delivers the rendered webhook', async () => {
  const res = await rp.post(shellAlert());
  assert.equal(res.status, 202);
  assert.equal(res.body.accepted, 1);
  const [req] = await sink.waitFor(1);
  assert.equal(req!.path, '/hook');
  assert.equal(req!.headers['content-type'], 'application/json');
  assert.match(String(req!.headers['idempotency-key']), /^[0-9a-f-]{36}:hook:1$/);
  assert.deepEqual(JSON.parse(req!.body), { text: 'Terminal shell in container in payments/api-7f9c', priority: 'warning', previous: 'shell in abc123' });

  const run = await waitUntil(async () => (await rp.runtime.runs.list()).find((r) => r.state.status === 'succeeded'), 'run to finish');
  assert.deepEqual(Object.keys(run.state.context.steps), ['note', 'hook']);
  const records = await waitUntil(async () => {
    const all = await rp.runtime.audit.list();
    return all.some((r) => r.action === 'run.finished') ? all : undefined;
  }, 'run.finished audit record');
  const actions = records.map((r) => r.action);
  for (const a of ['alert.accepted', 'alert.processed', 'run.started', 'step.started', 'step.succeeded', 'run.finished']) assert.ok(actions.includes(a), `audit has ${a}`);
  const { head, records: all } = await rp.runtime.audit.read();
  const v = verifyChain(all, head);
  assert.equal(v.ok, true, JSON.stringify(v.problem));
  assert.ok(v.verifiedUpTo >= records.length);
});

test('alerts that match no playbook are accepted and audited but start nothing', async () => {
  const before = (await rp.runtime.runs.list()).length;
  const res = await rp.post(shellAlert({ rule: 'Something else', uuid: 'no-match-1' }));
  assert.equal(res.status, 202);
  await waitUntil(async () => (await rp.runtime.audit.list({ action: 'alert.processed' })).some((r) => (r.details as { alertId: string }).alertId === 'no-match-1'), 'alert processed');
  assert.equal((await rp.runtime.runs.list()).length, before);
});

test('a playbook condition filters alerts (kube-system is excluded)', async () => {
  const res = await rp.post(shellAlert({ uuid: 'ks-1', output_fields: { 'k8s.ns.name': 'kube-system', 'container.id': 'x' } }));
  assert.equal(res.status, 202);
  const rec = await waitUntil(async () => (await rp.runtime.audit.list({ action: 'alert.processed' })).find((r) => (r.details as { alertId: string }).alertId === 'ks-1'), 'alert processed');
  assert.deepEqual((rec.details as { playbooks: string[] }).playbooks, []);
});
