// SPDX-License-Identifier: Apache-2.0
// End to end through the engine: an alert from this node naming a sandbox container starts a
// playbook whose container.kill step the engine routes to this node's agent; the run succeeds,
// the container is empty, and the audit log has the agent's record with what it killed.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { defaultRegistry } from '../../src/actions/index.ts';
import { startAgent, type Agent } from '../../src/agent/agent.ts';
import { silentLogger } from '../../src/common/log.ts';
import { Sandbox } from '../../src/sandbox/sandbox.ts';
import { stopTestRedis } from '../helpers/redis.ts';
import { shellAlert, startTestRiposte, type TestRiposte } from '../helpers/riposte.ts';
import { waitUntil } from '../helpers/wait.ts';
import { gate, nodeUnavailable, until } from './helpers.ts';

if (gate('node actions end to end through the engine', await nodeUnavailable())) {
  let rp: TestRiposte;
  let agent: Agent;
  let sb: Sandbox;
  let stateDir: string;
  const node = `e2e-node-${process.pid}`;

  before(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'riposte-e2e-node-'));
    rp = await startTestRiposte({
      playbooks: {
        'kill.yaml': ['apiVersion: riposte.dev/v1', 'kind: Playbook', 'metadata: { name: kill-shell }', 'trigger: { rules: [node-e2e-shell] }', 'steps:', '  - id: kill', '    action: container.kill', '  - id: note', "    action: log", "    with: { message: 'killed {{steps.kill.output.killed}} in {{steps.kill.output.container}}' }", ''].join('\n'),
      },
    });
    agent = await startAgent({ runtime: rp.runtime, registry: defaultRegistry(), log: silentLogger, node, nodeActions: { stateDir } });
    sb = await Sandbox.create({ name: 'e2e' });
  });
  after(async () => {
    await agent.close();
    await rp.close();
    await sb.destroy();
    await rm(stateDir, { recursive: true, force: true });
    await stopTestRedis();
  });

  test('an alert from this node kills the container through the agent', async () => {
    sb.spawn(['/bin/sh', '-c', 'sleep 1000 & sleep 1000 & wait'], { stdio: 'ignore' });
    await until(async () => (await sb.pids()).length >= 4, 'sandbox processes');
    const before = (await sb.pids()).length;
    const alert = shellAlert({ rule: 'node-e2e-shell', hostname: node, uuid: `e2e-${sb.id}`, output_fields: { 'container.id': sb.id, 'proc.name': 'sh' } });
    assert.equal((await rp.post(alert)).status, 202);
    const run = await waitUntil(async () => (await rp.runtime.runs.list()).find((r) => r.meta.alertId === `e2e-${sb.id}` && r.state.status !== 'running'), 'run to finish', 20_000);
    assert.equal(run.state.status, 'succeeded', run.state.context.error);
    assert.deepEqual(await sb.pids(), []);
    assert.equal((run.state.context.steps.kill?.output as { killed?: number } | undefined)?.killed, before);
    const audit = await rp.runtime.audit.list({ runId: run.meta.id });
    const done = audit.find((r) => r.action === 'step.succeeded' && r.target === 'kill');
    assert.equal(done?.actor.name, `agent@${node}`);
    const details = (done?.details ?? {}) as { killed?: number; container?: string };
    assert.equal(details.killed, before);
    assert.equal(details.container, sb.id);
  });
}
