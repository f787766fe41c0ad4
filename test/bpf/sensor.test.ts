// SPDX-License-Identifier: Apache-2.0
/**
 * Real-kernel tests: start riposte-sensor, run commands inside sandbox
 * cgroups made under the cgroup2 mount, and check the decoded events.
 * Only cgroups and processes made here are touched; all are removed.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, realpath, rm, rmdir } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { cgroup2Mount, cgroupId } from '../../detector/sensor/cgroup.ts';
import type { SensorEvent, SockEvent } from '../../detector/sensor/frames.ts';
import { SensorProcess } from '../../detector/sensor/sensor-process.ts';
import { gate, kernelUnavailable, LOADER } from './gate.ts';

interface Sandbox {
  dir: string;
  id: bigint;
}

const O_WRONLY = 1;
const O_CREAT = 0o100;
const O_ACCMODE = 3;

if (gate('bpf real-kernel tests', await kernelUnavailable())) {
  let sensor: SensorProcess;
  let work: string;
  let cgRoot: string;
  const sandboxes: Sandbox[] = [];
  const events: SensorEvent[] = [];
  const accepts: SockEvent[] = [];

  const makeSandbox = async (): Promise<Sandbox> => {
    const dir = join(cgRoot, `riposte-test-${process.pid}-${randomBytes(4).toString('hex')}`);
    await mkdir(dir);
    const sb = { dir, id: await cgroupId(dir) };
    sandboxes.push(sb);
    return sb;
  };

  /** run a shell script as a process that first moves itself into the sandbox */
  const runIn = (sb: Sandbox, script: string): Promise<{ pid: number; code: number | null }> =>
    new Promise((res, rej) => {
      const child = spawn('/bin/sh', ['-c', 'echo $$ > "$RP_CG/cgroup.procs" && exec /bin/sh -c "$RP_SCRIPT"'], {
        cwd: work,
        env: { ...process.env, RP_CG: sb.dir, RP_SCRIPT: script },
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      child.on('error', rej);
      child.on('close', (code) => res({ pid: child.pid!, code }));
    });

  const waitFor = async <T extends SensorEvent>(what: string, pred: (e: SensorEvent) => e is T, ms = 5000): Promise<T> => {
    const end = Date.now() + ms;
    for (;;) {
      const hit = events.find(pred);
      if (hit) return hit;
      if (Date.now() > end) throw new Error(`no ${what} within ${ms} ms`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  /** run, then wait for the script's own exit event so every earlier record is in */
  const runAndSettle = async (sb: Sandbox, script: string) => {
    const r = await runIn(sb, script);
    await waitFor('exit event', (e): e is SensorEvent => e.type === 'exit' && e.pid === r.pid);
    return r;
  };

  const inSb = (sb: Sandbox) => events.filter((e) => e.cgroupId === sb.id);

  before(async () => {
    cgRoot = (await cgroup2Mount())!;
    work = await realpath(await mkdtemp(join(tmpdir(), 'riposte-bpf-')));
    sensor = await SensorProcess.start({ binary: LOADER, events: 'all' });
    const ours = new Set<bigint>();
    sensor.on('event', (e: SensorEvent) => {
      if (sandboxes.some((s) => s.id === e.cgroupId)) events.push(e);
      else if (e.type === 'accept' && e.pid === process.pid) accepts.push(e);
      ours.add(e.cgroupId);
    });
  });

  after(async () => {
    await sensor?.stop();
    for (const sb of sandboxes) await rmdir(sb.dir).catch(() => {});
    if (work) await rm(work, { recursive: true, force: true });
  });

  test('hello frame carries abi and cpu count', () => {
    assert.equal(sensor.hello.abi, 1);
    assert.ok(sensor.hello.ncpus >= 1);
    assert.ok(sensor.hello.bootToRealtimeNs > 0n);
  });

  test('exec: filename, exe, argv, cwd, cgroup, parent', async () => {
    const sb = await makeSandbox();
    const r = await runAndSettle(sb, 'exec /bin/cat /etc/hostname');
    assert.equal(r.code, 0);
    const ex = await waitFor('exec of cat', (e): e is Extract<SensorEvent, { type: 'exec' }> => e.type === 'exec' && e.pid === r.pid && e.comm === 'cat');
    assert.equal(ex.cgroupId, sb.id);
    assert.equal(ex.filename, '/bin/cat');
    assert.match(ex.exe, /^\/(usr\/)?bin\/cat$/);
    assert.deepEqual(ex.args, ['/bin/cat', '/etc/hostname']);
    assert.equal(ex.argc, 2);
    assert.equal(ex.cwd, work);
    assert.equal(ex.ppid, process.pid);
    assert.equal(ex.uid, process.getuid!());
    assert.equal(ex.upperLayer, false);
    assert.ok(ex.time > 0n);
    // and the read open of /etc/hostname
    const op = inSb(sb).find((e) => e.type === 'open' && e.pid === r.pid && e.path === '/etc/hostname');
    assert.ok(op && op.type === 'open');
    assert.equal(op.flags & O_ACCMODE, 0);
    assert.ok(op.ret >= 0);
  });

  test('open: relative create/write resolved to the absolute path; failures keep errno', async () => {
    const sb = await makeSandbox();
    const r = await runAndSettle(sb, 'echo hi > made.txt; cat missing.txt 2>/dev/null; exit 0');
    const mine = inSb(sb).filter((e) => e.type === 'open');
    const w = mine.find((e) => e.type === 'open' && e.path === 'made.txt');
    assert.ok(w && w.type === 'open', 'open of made.txt');
    assert.equal(w.flags & O_ACCMODE, O_WRONLY);
    assert.ok(w.flags & O_CREAT);
    assert.equal(w.resolved, join(work, 'made.txt'));
    assert.equal(w.pid, r.pid);
    const miss = mine.find((e) => e.type === 'open' && e.path === 'missing.txt');
    assert.ok(miss && miss.type === 'open');
    assert.equal(miss.ret, -2);
    assert.equal(miss.resolved, '');
  });

  test('exec from an overlayfs upper layer vs a lower layer', { skip: existsSync('/usr/bin/unshare') ? false : 'unshare not installed' }, async () => {
    const sb = await makeSandbox();
    const d = join(work, 'ovl');
    // private mount namespace: the overlay never shows up on the host
    const script = [
      `mkdir -p ${d}/lower ${d}/upper ${d}/work ${d}/merged`,
      `cp /bin/true ${d}/lower/lowertrue`,
      `exec /usr/bin/unshare -m /bin/sh -c "mount --make-rprivate / && mount -t overlay overlay -o lowerdir=${d}/lower,upperdir=${d}/upper,workdir=${d}/work ${d}/merged && cp /bin/true ${d}/merged/uppertrue && ${d}/merged/lowertrue && ${d}/merged/uppertrue"`,
    ].join(' && ');
    const r = await runAndSettle(sb, script);
    assert.equal(r.code, 0);
    const execs = inSb(sb).filter((e) => e.type === 'exec');
    const up = execs.find((e) => e.type === 'exec' && e.filename.endsWith('/uppertrue'));
    const low = execs.find((e) => e.type === 'exec' && e.filename.endsWith('/lowertrue'));
    assert.ok(up && up.type === 'exec' && low && low.type === 'exec');
    assert.equal(up.upperLayer, true);
    assert.equal(low.upperLayer, false);
    assert.equal((low.flags & 8) !== 0, true, 'lower file is still on overlay');
    assert.equal(up.exe, `${d}/merged/uppertrue`);
  });

  test('fork and exit', async () => {
    const sb = await makeSandbox();
    const r = await runAndSettle(sb, '/bin/true; exit 3');
    const fork = inSb(sb).find((e) => e.type === 'fork' && e.pid === r.pid);
    assert.ok(fork && fork.type === 'fork');
    assert.ok(fork.childPid > 0);
    const childExit = inSb(sb).find((e) => e.type === 'exit' && e.pid === fork.childPid);
    assert.ok(childExit && childExit.type === 'exit');
    assert.equal(childExit.exitCode, 0);
    const own = inSb(sb).find((e) => e.type === 'exit' && e.pid === r.pid);
    assert.ok(own && own.type === 'exit');
    assert.equal(own.exitCode, 3);
  });

  test('connect to 127.0.0.1 and ::1 listeners, accept on the test side', async () => {
    const sb = await makeSandbox();
    const servers: net.Server[] = [];
    const listen = (host: string) =>
      new Promise<number>((res, rej) => {
        const s = net.createServer((c) => c.destroy());
        s.on('error', rej);
        s.listen(0, host, () => res((s.address() as net.AddressInfo).port));
        servers.push(s);
      });
    try {
      const p4 = await listen('127.0.0.1');
      const p6 = await listen('::1').catch(() => 0);
      const bash = existsSync('/bin/bash') ? '/bin/bash' : null;
      assert.ok(bash, 'bash needed for /dev/tcp');
      const script = `${bash} -c 'exec 3<>/dev/tcp/127.0.0.1/${p4}' ${p6 ? `; ${bash} -c 'exec 3<>/dev/tcp/::1/${p6}'` : ''}`;
      await runAndSettle(sb, script);
      const c4 = inSb(sb).find((e) => e.type === 'connect' && e.dport === p4);
      assert.ok(c4 && c4.type === 'connect', 'ipv4 connect');
      assert.equal(c4.family, 2);
      assert.equal(c4.daddr, '127.0.0.1');
      assert.equal(c4.proto, 6);
      assert.equal(c4.ret, 0);
      assert.equal(c4.saddr, '127.0.0.1');
      assert.ok(c4.sport > 0);
      if (p6) {
        const c6 = inSb(sb).find((e) => e.type === 'connect' && e.dport === p6);
        assert.ok(c6 && c6.type === 'connect', 'ipv6 connect');
        assert.equal(c6.family, 10);
        assert.equal(c6.daddr, '::1');
      }
      const end = Date.now() + 3000;
      while (!accepts.some((a) => a.sport === p4) && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
      const acc = accepts.find((a) => a.sport === p4);
      assert.ok(acc, 'accept in the test process');
      assert.equal(acc.daddr, '127.0.0.1');
      assert.equal(acc.dport, c4.sport);
    } finally {
      for (const s of servers) s.close();
    }
  });

  test('file surface: symlink, link, rename, chmod, unlink', async () => {
    const sb = await makeSandbox();
    await runAndSettle(sb, 'touch a; ln -s a s; ln a h; mv a b; chmod 600 b; rm b s h');
    const ev = inSb(sb);
    const sym = ev.find((e) => e.type === 'symlink');
    assert.ok(sym && sym.type === 'symlink');
    assert.equal(sym.oldpath, 'a');
    assert.equal(sym.newpath, 's');
    const ln = ev.find((e) => e.type === 'link');
    assert.ok(ln && ln.type === 'link' && ln.oldpath === 'a' && ln.newpath === 'h');
    const mv = ev.find((e) => e.type === 'rename');
    assert.ok(mv && mv.type === 'rename' && mv.oldpath === 'a' && mv.newpath === 'b');
    const ch = ev.find((e) => e.type === 'chmod');
    assert.ok(ch && ch.type === 'chmod');
    assert.equal(ch.mode & 0o777, 0o600);
    const rmv = ev.filter((e) => e.type === 'unlink').map((e) => (e.type === 'unlink' ? e.path : ''));
    assert.deepEqual(rmv.sort(), ['b', 'h', 's']);
  });

  test('memfd_create and setuid', { skip: existsSync('/usr/bin/python3') ? false : 'python3 not installed' }, async () => {
    const sb = await makeSandbox();
    await runAndSettle(sb, `/usr/bin/python3 -c "import os; os.memfd_create('rp-test'); os.setuid(0)"`);
    const mf = inSb(sb).find((e) => e.type === 'memfd_create');
    assert.ok(mf && mf.type === 'memfd_create');
    assert.equal(mf.name, 'rp-test');
    assert.ok(mf.ret >= 0);
    const su = inSb(sb).find((e) => e.type === 'setuid');
    assert.ok(su && su.type === 'setuid');
    assert.equal(su.ids[0], 0);
    assert.equal(su.ret, 0);
  });

  test('verbose flag: raw syscall records only for the flagged cgroup', async () => {
    const loud = await makeSandbox();
    const quiet = await makeSandbox();
    await sensor.setCgroupVerbose(loud.id, true);
    const rl = await runAndSettle(loud, '/bin/true');
    await runAndSettle(quiet, '/bin/true');
    await sensor.setCgroupVerbose(loud.id, false);
    const rawLoud = inSb(loud).filter((e) => e.type === 'raw_enter' || e.type === 'raw_exit');
    assert.ok(rawLoud.length > 10, `raw records for the flagged cgroup: ${rawLoud.length}`);
    const enter = rawLoud.find((e) => e.type === 'raw_enter' && e.pid === rl.pid);
    assert.ok(enter && enter.type === 'raw_enter' && enter.args.length === 6);
    assert.equal(inSb(quiet).filter((e) => e.type.startsWith('raw_')).length, 0);
    // off again: nothing new for the flagged cgroup
    const before = inSb(loud).filter((e) => e.type.startsWith('raw_')).length;
    await runAndSettle(loud, '/bin/true');
    assert.equal(inSb(loud).filter((e) => e.type.startsWith('raw_')).length, before);
  });

  test('events command: disabled types stop in the kernel', async () => {
    const sb = await makeSandbox();
    await sensor.setEvents(['exec', 'exit']);
    try {
      const r = await runAndSettle(sb, 'exec /bin/cat /etc/hostname');
      assert.ok(inSb(sb).some((e) => e.type === 'exec' && e.pid === r.pid));
      assert.equal(inSb(sb).filter((e) => e.type === 'open' || e.type === 'fork').length, 0);
      await assert.rejects(sensor.setEvents(['exec', 'nonsense' as 'exec']), /unknown event type/);
    } finally {
      await sensor.setEvents('all');
    }
  });

  test('stats: per-type counts and per-cpu drops; no events from the loader itself', async () => {
    const s = await sensor.stats();
    assert.equal(s.dropsPerCpu.length, sensor.hello.ncpus);
    assert.ok((s.perType.find((t) => t.type === 'exec')?.events ?? 0) > 0);
    assert.ok(s.frames > 0);
    assert.equal(
      events.filter((e) => e.pid === sensor.pid).length,
      0,
    );
  });
}
