// SPDX-License-Identifier: Apache-2.0
// Node-local steps go to the agent of the alert's node through its queue; the agent runs them
// and reports to the run. A node without a live agent fails the step with a clear reason.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { defaultRegistry } from '../../src/actions/index.ts';
import type { ActionDefinition } from '../../src/actions/types.ts';
import { startAgent, type Agent } from '../../src/agent/agent.ts';
import { silentLogger } from '../../src/common/log.ts';
import { stopTestRedis } from '../helpers/redis.ts';
import { shellAlert, startTestRiposte, type TestRiposte } from '../helpers/riposte.ts';
import { waitUntil } from '../helpers/wait.ts';

let dir: string;
let rp: TestRiposte;
let agent: Agent;
const node = `test-node-${process.pid}`;

// a node action with a real, checkable effect: it appends the idempotency key to a file once
const touch: ActionDefinition<{ file: string }> = {
  name: 'test.touch',
  description: 'append a line to a file (test action)',
  params: { type: 'object', required: ['file'], properties: { file: { type: 'string' } } },
  runsOn: 'node',
  destructive: false,
  idempotent: true,
  rbac: [],
  describe: (p) => `touch ${p.file}`,
  async execute(p, ctx) {
    const seen = await readFile(p.file, 'utf8').catch(() => '');
    if (!seen.includes(ctx.idempotencyKey)) await writeFile(p.file, `${seen}${ctx.idempotencyKey} ${String(ctx.services.node)}\n`);
    return { output: { node: ctx.services.node }, summary: `touched ${p.file}` };
  },
};

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'riposte-node-'));
  const registry = defaultRegistry().register(touch);
  rp = await startTestRiposte({
    registry,
    playbooks: {
      'n.yaml': `apiVersion: riposte.dev/v1\nkind: Playbook\nmetadata: { name: node-step }\ntrigger: { rules: [node-rule] }\nsteps:\n  - id: touch\n    action: test.touch\n    with: { file: "${join(dir, 'touched')}" }\n  - id: after\n    action: log\n    with: { message: 'ran on {{steps.touch.output.node}}' }\n`,
    },
  });
  agent = await startAgent({ runtime: rp.runtime, registry, log: silentLogger, node });
});
after(async () => {
  await agent.close();
  await rp.close();
  await rm(dir, { recursive: true, force: true });
  await stopTestRedis();
});

test('a node step runs on the agent of the node that raised the alert', async () => {
  assert.equal((await rp.post(shellAlert({ rule: 'node-rule', hostname: node, uuid: 'node-ok' }))).status, 202);
  const run = await waitUntil(async () => (await rp.runtime.runs.list()).find((r) => r.meta.alertId === 'node-ok' && r.state.status !== 'running'), 'run to finish');
  assert.equal(run.state.status, 'succeeded', run.state.context.error);
  assert.deepEqual(run.state.context.steps.touch?.output, { node });
  const lines = (await readFile(join(dir, 'touched'), 'utf8')).trim().split('\n');
  assert.equal(lines.length, 1);
  assert.match(lines[0]!, new RegExp(`:touch:1 ${node}$`));
  const audit = await rp.runtime.audit.list({ runId: run.meta.id });
  assert.ok(audit.some((r) => r.action === 'step.dispatched' && (r.details as { node: string }).node === node));
  assert.ok(audit.some((r) => r.action === 'step.succeeded' && r.actor.name === `agent@${node}`));
});

test('a node without a live agent fails the step with a clear reason', async () => {
  assert.equal((await rp.post(shellAlert({ rule: 'node-rule', hostname: 'ghost-node', uuid: 'node-ghost' }))).status, 202);
  const run = await waitUntil(async () => (await rp.runtime.runs.list()).find((r) => r.meta.alertId === 'node-ghost' && r.state.status !== 'running'), 'run to finish');
  assert.equal(run.state.status, 'failed');
  assert.match(run.state.context.error ?? '', /no live Riposte agent on node "ghost-node"/);
});
