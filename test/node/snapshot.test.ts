// SPDX-License-Identifier: Apache-2.0
// container.snapshot of a sandbox container: the archive (read back with the system's tar)
// holds exactly the files the container wrote, with the manifest's sizes, modes and
// sha256; deletions are listed; processes, open files, connections and executables are in.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, lstat, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import type { Manifest } from '../../src/node/snapshot.ts';
import { Sandbox } from '../../src/sandbox/sandbox.ts';
import { gate, nodeUnavailable, runAction, startNode, type TestNode, until } from './helpers.ts';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function walkFiles(dir: string, base = dir): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await walkFiles(p, base)));
    else if (e.isFile()) out.push(relative(base, p));
  }
  return out.sort();
}

const hasTar = (() => {
  try {
    execFileSync('tar', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

if (gate('node actions: container snapshot', await nodeUnavailable())) {
  let node: TestNode;
  let sb: Sandbox;
  let out: string;
  let server: net.Server;
  let port: number;
  const longDir = `/root/${'deep-directory-name-'.repeat(6)}`;

  before(async () => {
    node = await startNode();
    sb = await Sandbox.create({ name: 'snapshot' });
    out = await mkdtemp(join(tmpdir(), 'riposte-snap-test-'));
    server = net.createServer((s) => s.on('error', () => {}));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as net.AddressInfo).port;
  });
  after(async () => {
    await node.close();
    await sb.destroy();
    server.close();
    await rm(out, { recursive: true, force: true });
  });

  test('the archive holds exactly what the container wrote, with correct hashes', { skip: hasTar ? false : 'no tar binary to read the archive back with' }, async () => {
    const w = await sb.exec(['/bin/bash', '-c', [
      'set -e',
      'mkdir -p /tmp/riposte-snap /root/data',
      'printf "hello from the container\\n" > /tmp/riposte-snap/a.txt',
      'head -c 300000 /dev/urandom > /root/data/b.bin',
      'printf "#!/bin/sh\\necho tool\\n" > /root/data/tool.sh && chmod 0750 /root/data/tool.sh',
      'ln -s a.txt /tmp/riposte-snap/link',
      `mkdir -p ${longDir} && printf "long\\n" > ${longDir}/file-with-a-long-path.txt`,
      'rm /etc/hostname',
    ].join('\n')]);
    assert.equal(w.code, 0, w.stderr);
    assert.ok(existsSync('/etc/hostname'), 'the host file is untouched');
    // a running process with an open connection and a file
    sb.spawn(['/bin/bash', '-c', `exec 3<>/dev/tcp/127.0.0.1/${port}; exec 4</tmp/riposte-snap/a.txt; exec sleep 1000`], { stdio: 'ignore' });
    await until(async () => (await sb.pids()).length >= 2, 'the container process');
    await new Promise((r) => setTimeout(r, 200));

    const r = await runAction(node.ns, 'container.snapshot', { container: sb.id, maxBytes: 268435456, timeout: '2m' }, { key: 'snap-1' });
    assert.equal(r.output.source, 'overlay-upper');
    assert.equal(r.output.truncated, false);
    const archivePath = fileURLToPath(String(r.output.artifact));
    const archive = await readFile(archivePath);
    assert.equal(sha(archive), r.output.sha256, 'the archive hash reported (and audited) is the file’s');
    assert.equal(archive.length, r.output.size);
    assert.deepEqual(r.details?.sha256, r.output.sha256);

    execFileSync('tar', ['-xzf', archivePath, '-C', out]);
    const written = ['/tmp/riposte-snap/a.txt', '/root/data/b.bin', '/root/data/tool.sh', `${longDir}/file-with-a-long-path.txt`].sort();
    const files = (await walkFiles(join(out, 'fs'))).map((f) => `/${f}`);
    assert.deepEqual(files, written, 'exactly the files the container wrote');
    for (const f of written) {
      const fromArchive = await readFile(join(out, 'fs', f));
      const fromUpper = await readFile(join(sb.upper, f));
      assert.equal(sha(fromArchive), sha(fromUpper), f);
    }
    assert.equal((await lstat(join(out, 'fs/root/data/tool.sh'))).mode & 0o777, 0o750);
    assert.ok((await lstat(join(out, 'fs/tmp/riposte-snap/link'))).isSymbolicLink());

    // the manifest (inside and beside the archive) lists each file with its true hash
    const manifest = JSON.parse(await readFile(join(out, 'manifest.json'), 'utf8')) as Manifest;
    const stored = (r.output.manifest as { uri: string; sha256: string });
    const storedText = await readFile(fileURLToPath(stored.uri));
    assert.equal(sha(storedText), stored.sha256);
    assert.deepEqual(JSON.parse(storedText.toString()), manifest);
    assert.equal(manifest.container, sb.id);
    assert.deepEqual(manifest.deleted, ['/etc/hostname']);
    for (const e of manifest.files.filter((x) => x.type === 'file')) {
      const data = await readFile(join(out, e.path));
      assert.equal(sha(data), e.sha256, e.path);
      assert.equal(data.length, e.size, e.path);
    }
    const toolEntry = manifest.files.find((x) => x.source === '/root/data/tool.sh');
    assert.equal(toolEntry?.mode, '0750');
    assert.equal(manifest.files.find((x) => x.source === '/tmp/riposte-snap/link')?.linkname, 'a.txt');

    // live state: processes, the open file, the connection, the executables
    const procs = JSON.parse(await readFile(join(out, 'proc/processes.json'), 'utf8')) as { comm: string; pid: number }[];
    const sleeper = procs.find((p) => p.comm === 'sleep');
    assert.ok(sleeper, JSON.stringify(procs.map((p) => p.comm)));
    const openFiles = JSON.parse(await readFile(join(out, 'proc/open-files.json'), 'utf8')) as { pid: number; target: string }[];
    assert.ok(openFiles.some((f) => f.pid === sleeper.pid && f.target.endsWith('/tmp/riposte-snap/a.txt')), 'the open file');
    const conns = JSON.parse(await readFile(join(out, 'proc/connections.json'), 'utf8')) as { remote: string; state: string; pid?: number }[];
    assert.ok(conns.some((c) => c.remote === `127.0.0.1:${port}` && c.state === 'ESTABLISHED' && c.pid === sleeper.pid), JSON.stringify(conns));
    const exes = await readdir(join(out, 'exe'));
    assert.ok(exes.some((e) => e === `${sleeper.pid}-sleep`), exes.join(','));
    assert.equal(sha(await readFile(join(out, 'exe', `${sleeper.pid}-sleep`))), sha(await readFile('/usr/bin/sleep')));

    // at least once: the same step again returns the same artifact
    const again = await runAction(node.ns, 'container.snapshot', { container: sb.id }, { key: 'snap-1' });
    assert.equal(again.output.sha256, r.output.sha256);
    assert.match(again.summary, /already taken/);
  });

  test('the size cap truncates and says so', async () => {
    const r = await runAction(node.ns, 'container.snapshot', { container: sb.id, maxBytes: 100_000 }, { key: 'snap-small' });
    assert.equal(r.output.truncated, true);
    assert.ok(Number(r.output.size) <= 100_000, `archive of ${r.output.size} bytes`);
    const m = JSON.parse(await readFile(fileURLToPath((r.output.manifest as { uri: string }).uri), 'utf8')) as Manifest;
    assert.ok(m.skipped.some((s) => s.source === '/root/data/b.bin' && s.reason === 'size cap reached'));
  });
}
