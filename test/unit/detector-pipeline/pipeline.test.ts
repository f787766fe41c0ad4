// SPDX-License-Identifier: Apache-2.0
// The detector pipeline without the kernel: sensor records → process table → container → rules → throttled alerts.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Alert } from '../../../src/alerts/alert.ts';
import { attributePath, ContainerResolver } from '../../../detector/container/resolver.ts';
import { Detector, isoNs } from '../../../detector/detector.ts';
import { ProcessTable } from '../../../detector/process/table.ts';
import { loadRulesFiles, DEFAULT_RULES_FILE } from '../../../detector/ruleset/index.ts';
import type { SensorEvent } from '../../../detector/sensor/frames.ts';
import { Throttle } from '../../../detector/throttle.ts';

test('container ids from every runtime cgroup naming; anything else is the host', () => {
  const id = 'a'.repeat(8) + 'b'.repeat(56);
  const cases: [string, string | undefined, string | undefined][] = [
    [`/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1234abcd_12ab_34cd_56ef_1234567890ab.slice/cri-containerd-${id}.scope`, 'aaaaaaaabbbb', 'containerd'],
    [`/system.slice/docker-${id}.scope`, 'aaaaaaaabbbb', 'docker'],
    [`/docker/${id}`, 'aaaaaaaabbbb', 'docker'],
    [`/kubepods.slice/kubepods-pod1.slice/crio-${id}.scope`, 'aaaaaaaabbbb', 'cri-o'],
    [`/machine.slice/libpod-${id}.scope/container`, 'aaaaaaaabbbb', 'podman'],
    [`/kubepods/besteffort/pod1234abcd-12ab-34cd-56ef-1234567890ab/${id}`, 'aaaaaaaabbbb', 'containerd'],
    ['/riposte-sandbox-0123456789ab', '0123456789ab', 'riposte-sandbox'],
    ['/user.slice/user-0.slice/session-1.scope', undefined, undefined],
    ['/', undefined, undefined],
  ];
  for (const [path, want, runtime] of cases) {
    const m = attributePath(path);
    assert.equal(m?.id, want, path);
    assert.equal(m?.runtime, runtime, path);
  }
  assert.equal(attributePath(cases[0]![0])?.podUid, '1234abcd-12ab-34cd-56ef-1234567890ab');
});

test('the process table seeds from /proc and knows this process and its parent', () => {
  const t = new ProcessTable();
  assert.ok(t.seed() > 1);
  const me = t.get(process.pid)!;
  assert.equal(me.exepath, process.execPath);
  assert.equal(me.ppid, process.ppid);
  assert.equal(me.parent?.pid, process.ppid);
});

test('throttle: burst passes, the rest is counted and flushed with the window', () => {
  const th = new Throttle<number>({ windowMs: 1000, burst: 2 });
  const flushed: [string, number, number][] = [];
  const f = (k: string, last: number, n: number) => flushed.push([k, last, n]);
  const sent = [1, 2, 3, 4, 5].map((i) => th.admit('k', i, 100 + i, f));
  assert.deepEqual(sent, [true, true, false, false, false]);
  assert.equal(th.admit('k', 6, 1200, f), true, 'a new window');
  assert.deepEqual(flushed, [['k', 5, 3]]);
  th.admit('k', 7, 1201, f);
  th.admit('k', 8, 1202, f);
  th.expire(5000, f);
  assert.deepEqual(flushed.at(-1), ['k', 8, 1]);
});

async function fixture() {
  const root = await mkdtemp(join(tmpdir(), 'riposte-detector-'));
  const proc = join(root, 'proc');
  const meta = join(root, 'meta');
  await mkdir(meta);
  const pid = 4242;
  await mkdir(join(proc, String(pid)), { recursive: true });
  await writeFile(join(proc, String(pid), 'cgroup'), '0::/riposte-sandbox-0123456789ab\n');
  await writeFile(join(meta, '0123456789ab.json'), JSON.stringify({ name: 'sandbox', image: { repository: 'riposte/sandbox' }, k8s: { ns: 'payments', pod: { name: 'api-7f9c' } } }));
  return { proc, meta, pid };
}

const header = (pid: number, ppid: number, t: bigint) => ({ code: 1, version: 1, ts: t, time: 1_732_790_000_000_000_000n + t, cgroupId: 77n, ret: 0, pid, tid: pid, ppid, uid: 0, gid: 0, variant: 0, cpu: 0 });

test('a shell exec in a container raises the shell rule with container fields; throttled repeats are counted', async () => {
  const { proc, meta, pid } = await fixture();
  const alerts: Alert[] = [];
  const ruleset = loadRulesFiles([DEFAULT_RULES_FILE]);
  assert.deepEqual(ruleset.errors, []);
  const d = new Detector({ ruleset, hostname: 'node-1', processes: new ProcessTable({ procRoot: proc }), containers: new ContainerResolver({ cgroupRoot: null, metadataDir: meta, procRoot: proc }), onAlert: (a) => alerts.push(a), throttle: { windowMs: 60_000, burst: 1 } });
  const exec = (t: bigint): SensorEvent => ({
    ...header(pid, 4200, t),
    type: 'exec',
    syscall: 'execve',
    comm: 'bash',
    euid: 0,
    egid: 0,
    loginuid: 4294967295,
    tty: 34816,
    flags: 0,
    argc: 1,
    filename: '/bin/bash',
    exe: '/usr/bin/bash',
    args: ['bash'],
    cwd: '/',
    upperLayer: false,
    fromMemfd: false,
    argsTruncated: false,
  });
  d.handle(exec(1n));
  d.handle(exec(2n));
  d.handle(exec(3n));
  const shell = alerts.filter((a) => /shell/i.test(a.rule));
  assert.equal(shell.length, 1, `alerts: ${alerts.map((a) => a.rule).join(', ')}`);
  const a = shell[0]!;
  assert.equal(a.hostname, 'node-1');
  assert.equal(a.source, 'syscall');
  assert.equal(a.output_fields['container.id'], '0123456789ab');
  assert.equal(a.output_fields['k8s.ns.name'], 'payments');
  assert.equal(a.time, isoNs(1_732_790_000_000_000_001n));
  d.tick(Date.now() + 3_600_000, true);
  const summary = alerts.filter((x) => x.rule === a.rule).at(-1)!;
  assert.equal(summary.output_fields['riposte.suppressed'], 2, 'the two throttled repeats are carried, not lost');
  assert.equal(d.stats.suppressed, 2);
});
