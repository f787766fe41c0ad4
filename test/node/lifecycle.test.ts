// SPDX-License-Identifier: Apache-2.0
// container.kill, container.freeze / container.thaw on sandbox containers made here,
// and refusals of targets that do not resolve (nothing changed).
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { after, before, test } from 'node:test';
import { ActionError } from '../../src/actions/types.ts';
import { cgroupEvents } from '../../src/node/cgroups.ts';
import { Sandbox } from '../../src/sandbox/sandbox.ts';
import { alertFor, gate, nodeUnavailable, runAction, sleep, startNode, type TestNode, until } from './helpers.ts';

if (gate('node actions: kill, freeze, thaw, bad targets', await nodeUnavailable())) {
  let node: TestNode;
  const boxes: Sandbox[] = [];
  const box = async () => {
    const sb = await Sandbox.create({ name: 'lifecycle' });
    boxes.push(sb);
    return sb;
  };

  before(async () => {
    node = await startNode();
  });
  after(async () => {
    await node.close();
    for (const sb of boxes) await sb.destroy();
  });

  test('container.kill leaves no process in the cgroup, and says how many it killed', async () => {
    const sb = await box();
    sb.spawn(['/bin/sh', '-c', 'sleep 1000 & sleep 1000 & sleep 1000 & wait'], { stdio: 'ignore' });
    await until(async () => (await sb.pids()).length >= 5, 'sandbox processes');
    const before = (await sb.pids()).length;
    const r = await runAction(node.ns, 'container.kill', {}, { alert: alertFor(sb.id) });
    assert.deepEqual(await sb.pids(), []);
    assert.equal((await cgroupEvents(sb.cgroupDir)).populated, 0);
    assert.equal(r.output.killed, before);
    assert.equal(r.output.remaining, 0);
    assert.equal(r.output.method, 'cgroup.kill');
    assert.match(r.summary, /none remain/);
    // once more: nothing left, still a success (at least once, one effect)
    const again = await runAction(node.ns, 'container.kill', { container: sb.id });
    assert.equal(again.output.killed, 0);
  });

  test('container.freeze stops progress and container.thaw resumes it', async () => {
    const sb = await box();
    const c = sb.spawn(['/bin/sh', '-c', 'i=0; while :; do i=$((i+1)); echo $i; sleep 0.02; done']);
    let last = 0;
    c.stdout!.on('data', (d: Buffer) => {
      const n = d.toString().trim().split('\n').pop();
      if (n) last = Number(n);
    });
    await until(() => last > 3, 'the counter to run');
    const f = await runAction(node.ns, 'container.freeze', { container: sb.id });
    assert.equal(f.output.frozen, true);
    assert.equal((await cgroupEvents(sb.cgroupDir)).frozen, 1);
    await sleep(100); // output already in the pipe drains
    const frozenAt = last;
    await sleep(400);
    assert.equal(last, frozenAt, 'the counter moved while frozen');
    assert.ok(node.ns.holding((await node.ns.resolve(sb.id)))?.frozen, 'the agent records the freeze (to undo it on stop)');
    const t = await runAction(node.ns, 'container.thaw', { container: sb.id });
    assert.equal(t.output.frozen, false);
    assert.equal((await cgroupEvents(sb.cgroupDir)).frozen, 0);
    await until(() => last > frozenAt + 3, 'the counter to move again');
    assert.equal(node.ns.holding(await node.ns.resolve(sb.id)), undefined);
    c.kill('SIGKILL');
  });

  test('bad targets get a clear, non-retryable error and nothing changes', async () => {
    const sb = await box();
    sb.spawn(['/bin/sleep', '1000'], { stdio: 'ignore' });
    await until(async () => (await sb.pids()).length >= 2, 'sandbox process');
    const pidsBefore = await sb.pids();
    const cgroupsBefore = await readdir(sb.cgroupDir);
    const cases: [string, Record<string, unknown>, ReturnType<typeof alertFor> | undefined, RegExp][] = [
      ['container.kill', { container: 'ffffffffffff' }, undefined, /no cgroup of container ffffffffffff on this node .*; nothing was changed/],
      ['container.kill', {}, alertFor('host'), /from the host, not a container/],
      ['container.freeze', { container: '../../etc' }, undefined, /not a container id/],
      ['network.isolate.node', { container: 'deadbeef0000' }, undefined, /no cgroup of container deadbeef0000/],
      ['exec.block', { container: 'deadbeef0000', paths: ['/bin/sh'] }, undefined, /no cgroup of container deadbeef0000/],
      ['container.snapshot', { container: 'deadbeef0000' }, undefined, /no cgroup of container/],
      ['trace.enable', { container: 'deadbeef0000', duration: '1m' }, undefined, /no cgroup of container/],
      ['network.isolate.node', { container: sb.id, allowCIDRs: ['10.0.0.0/33'] }, undefined, /not a CIDR/],
      ['exec.block', { container: sb.id, paths: ['relative/sh'] }, undefined, /not an absolute path/],
      ['exec.block', { container: sb.id, paths: ['/bin/a'], allowOnly: ['/bin/b'] }, undefined, /not both/],
    ];
    for (const [action, params, alert, message] of cases) {
      await assert.rejects(runAction(node.ns, action, params, alert ? { alert } : {}), (err: unknown) => {
        assert.ok(err instanceof ActionError, `${action}: ${String(err)}`);
        assert.equal(err.retryable, false, `${action} must not be retried`);
        assert.match(err.message, message);
        return true;
      });
    }
    assert.deepEqual(await sb.pids(), pidsBefore);
    assert.deepEqual(await readdir(sb.cgroupDir), cgroupsBefore);
    assert.equal((await cgroupEvents(sb.cgroupDir)).frozen, 0);
    assert.deepEqual(node.ns.allHeld(), []);
  });
}
