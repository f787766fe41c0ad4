// SPDX-License-Identifier: Apache-2.0
// Stopping the agent undoes what it switched on (isolation, exec blocks, freezes), unless it
// persists containment: then the kernel state survives in pins (a private bpffs mounted here),
// the next agent takes it back, and a later non-persisting agent clears it.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { cgroupEvents } from '../../src/node/cgroups.ts';
import { Sandbox } from '../../src/sandbox/sandbox.ts';
import { gate, nodeUnavailable, runAction, startNode, until } from './helpers.ts';

const connects = async (sb: Sandbox, port: number) => /connected/.test((await sb.exec(['/usr/bin/timeout', '2', '/bin/bash', '-c', `exec 3<>/dev/tcp/127.0.0.1/${port} && echo connected`], { timeoutMs: 5000 })).stdout);
const idWorks = async (sb: Sandbox) => (await sb.exec(['/bin/sh', '-c', '/usr/bin/id -u'])).code === 0;

if (gate('node actions: undo on agent stop, persistence', await nodeUnavailable())) {
  let sb: Sandbox;
  let server: net.Server;
  let port: number;
  let work: string;
  let bpffs: string;
  let mounted = false;

  before(async () => {
    sb = await Sandbox.create({ name: 'undo' });
    sb.spawn(['/bin/sleep', '1000'], { stdio: 'ignore' });
    await until(async () => (await sb.pids()).length >= 2, 'sandbox process');
    server = net.createServer((s) => s.on('error', () => {}));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as net.AddressInfo).port;
    work = await mkdtemp(join(tmpdir(), 'riposte-undo-'));
    bpffs = join(work, 'bpffs');
    await mkdir(bpffs);
  });
  after(async () => {
    if (mounted) execFileSync('umount', [bpffs]);
    await sb.destroy();
    server.close();
    await rm(work, { recursive: true, force: true });
  });

  test('stopping the agent lifts isolation and exec blocks and thaws what it froze', async () => {
    const node = await startNode();
    await runAction(node.ns, 'network.isolate.node', { container: sb.id });
    await runAction(node.ns, 'exec.block', { container: sb.id, paths: ['/usr/bin/id'] });
    assert.equal(await connects(sb, port), false);
    assert.equal(await idWorks(sb), false);
    await runAction(node.ns, 'container.freeze', { container: sb.id });
    assert.equal((await cgroupEvents(sb.cgroupDir)).frozen, 1);
    await node.close();
    assert.equal((await cgroupEvents(sb.cgroupDir)).frozen, 0);
    assert.equal(await connects(sb, port), true);
    assert.equal(await idWorks(sb), true);
  });

  test('an enforcer that dies is restarted and what the agent holds is put back', async () => {
    const node = await startNode();
    await runAction(node.ns, 'network.isolate.node', { container: sb.id });
    await runAction(node.ns, 'exec.block', { container: sb.id, paths: ['/usr/bin/id'] });
    const first = await node.ns.enforcer();
    process.kill(first.pid!, 'SIGKILL'); // the loader this test started
    await first.exited;
    const second = await until(async () => {
      const e = await node.ns.enforcer();
      return e !== first && e.running ? e : undefined;
    }, 'a new enforcer');
    assert.notEqual(second.pid, first.pid);
    assert.equal(await connects(sb, port), false, 'isolation is back');
    assert.equal(await idWorks(sb), false, 'exec blocking is back');
    await node.close();
    assert.equal(await connects(sb, port), true);
    assert.equal(await idWorks(sb), true);
  });

  test('a persisting agent leaves isolation in the kernel for the next one, which can release it', async () => {
    execFileSync('mount', ['-t', 'bpf', 'bpf', bpffs]);
    mounted = true;
    const pinDir = join(bpffs, 'riposte-test');
    const stateDir = join(work, 'state');
    const first = await startNode({ stateDir, persist: true, pinDir });
    await runAction(first.ns, 'network.isolate.node', { container: sb.id, allowCIDRs: ['127.0.0.2/32'] });
    await first.ns.close(); // keep the state dir: the next agent reads its record
    assert.equal(await connects(sb, port), false, 'isolation outlived the agent');

    const second = await startNode({ stateDir, persist: true, pinDir });
    const held = second.ns.allHeld();
    assert.equal(held.length, 1);
    assert.equal(held[0]?.container, sb.id);
    assert.deepEqual(held[0]?.isolate?.allow, ['127.0.0.2/32']);
    assert.equal(await connects(sb, port), false, 'still isolated under the new agent');
    const rel = await runAction(second.ns, 'network.release.node', { container: sb.id });
    assert.equal(rel.output.isolated, false);
    assert.equal(await connects(sb, port), true);

    // persisted again, then an agent that does not persist takes over: it clears the leftovers
    await runAction(second.ns, 'network.isolate.node', { container: sb.id });
    await second.ns.close();
    assert.equal(await connects(sb, port), false);
    const third = await startNode({ stateDir, persist: false, pinDir });
    assert.equal(await connects(sb, port), true, 'a non-persisting agent leaves nothing in force');
    await third.close();
  });
}
