// SPDX-License-Identifier: Apache-2.0
// exec.block / exec.release inside a sandbox container: the listed binary fails with
// EPERM (and an event is emitted), others run, the host is unaffected; allow-only mode;
// release restores it. Works with whichever mechanism the kernel allows (bpf-lsm or fanotify).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, test } from 'node:test';
import type { ExecDenied } from '../../src/node/services.ts';
import { Sandbox } from '../../src/sandbox/sandbox.ts';
import { gate, nodeUnavailable, runAction, startNode, type TestNode, until } from './helpers.ts';

if (gate('node actions: exec blocking', await nodeUnavailable())) {
  let node: TestNode;
  let sb: Sandbox;
  const denied: ExecDenied[] = [];

  before(async () => {
    node = await startNode();
    node.ns.on('exec-denied', (d: ExecDenied) => denied.push(d));
    sb = await Sandbox.create({ name: 'exec' });
    // a process of the container, so its root (and mounts) can be found
    sb.spawn(['/bin/sleep', '1000'], { stdio: 'ignore' });
    await until(async () => (await sb.pids()).length >= 2, 'sandbox process');
  });
  after(async () => {
    await node.close();
    await sb.destroy();
  });

  test('exec.block denies the listed binary with EPERM and allows others; the host is unaffected', async () => {
    // /bin/id is a symlinked path on merged-/usr systems: the resolved /usr/bin/id is covered too
    const r = await runAction(node.ns, 'exec.block', { container: sb.id, paths: ['/bin/id'] });
    assert.equal(r.output.mode, 'deny');
    assert.ok((r.output.paths as string[]).includes('/usr/bin/id'), JSON.stringify(r.output.paths));
    assert.match(String(r.output.mechanism), /^(bpf-lsm|fanotify)$/);
    const run = await sb.exec(['/bin/sh', '-c', '/usr/bin/id -u; echo "id=$?"; /bin/id -u; echo "bin_id=$?"; /usr/bin/true; echo "true=$?"']);
    assert.match(run.stderr, /Operation not permitted/);
    assert.match(run.stdout, /^id=126$/m);
    assert.match(run.stdout, /^bin_id=126$/m);
    assert.match(run.stdout, /^true=0$/m);
    assert.equal(execFileSync('/usr/bin/id', ['-u']).toString().trim(), '0', 'the host can still run it');
    const ev = await until(() => denied.find((d) => d.path === '/usr/bin/id'), 'an exec-denied event');
    assert.equal(ev.container, sb.id);
    assert.equal(ev.mechanism, r.output.mechanism);
    const st = await (await node.ns.enforcer()).status((await node.ns.resolve(sb.id)).id);
    assert.ok(st.execsDenied >= 2);

    const rel = await runAction(node.ns, 'exec.release', { container: sb.id });
    assert.ok(Number(rel.output.execsDenied) >= 2);
    const after = await sb.exec(['/bin/sh', '-c', '/usr/bin/id -u']);
    assert.equal(after.code, 0);
    assert.equal(after.stdout.trim(), '0');
  });

  test('allowOnly denies everything else', async () => {
    // the sandbox starts commands through unshare inside its cgroup: allow that too
    const r = await runAction(node.ns, 'exec.block', { container: sb.id, allowOnly: ['/bin/sh', '/usr/bin/true', '/usr/bin/unshare'] });
    assert.equal(r.output.mode, 'allow-only');
    const run = await sb.exec(['/bin/sh', '-c', '/usr/bin/true; echo "true=$?"; /usr/bin/id; echo "id=$?"; /bin/ls /; echo "ls=$?"']);
    assert.match(run.stdout, /^true=0$/m);
    assert.match(run.stdout, /^id=126$/m);
    assert.match(run.stdout, /^ls=126$/m);
    // replacing the list: now deny-mode for /usr/bin/true only
    await runAction(node.ns, 'exec.block', { container: sb.id, paths: ['/usr/bin/true'] });
    const run2 = await sb.exec(['/bin/sh', '-c', '/usr/bin/true; echo "true=$?"; /usr/bin/id -u; echo "id=$?"']);
    assert.match(run2.stdout, /^true=126$/m);
    assert.match(run2.stdout, /^id=0$/m);
    await runAction(node.ns, 'exec.release', { container: sb.id });
    const run3 = await sb.exec(['/bin/sh', '-c', '/usr/bin/true; echo "true=$?"']);
    assert.match(run3.stdout, /^true=0$/m);
    assert.deepEqual(node.ns.allHeld(), []);
  });
}
