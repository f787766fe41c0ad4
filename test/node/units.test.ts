// SPDX-License-Identifier: Apache-2.0
// The pure parts of node actions, no root needed: tar writer (read back by the system tar),
// pcap writer, /proc parsers, CIDR checks, path resolution inside a root, ELF interpreters,
// the syscall table, the enforcer frame decoder, the artifact store, cgroup resolution rules.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, test } from 'node:test';
import { createGzip } from 'node:zlib';
import { checkCidr } from '../../src/actions/node/network.ts';
import { ActionError } from '../../src/actions/types.ts';
import { checkKey, LocalArtifactStore } from '../../src/node/artifacts.ts';
import { resolveContainerCgroup, TargetError } from '../../src/node/cgroups.ts';
import { ENF_FRAME, EnforcerDecoder } from '../../src/node/enforcer-frames.ts';
import { elfInterpreter, resolveInRoot } from '../../src/node/exec-paths.ts';
import { LINKTYPE_RAW, PcapWriter } from '../../src/node/pcap.ts';
import { decodeSockAddr, parseNetTable } from '../../src/node/procfs.ts';
import { SYSCALLS_X86_64, syscallName } from '../../src/node/syscalls-x86_64.ts';
import { TarWriter } from '../../src/node/tar.ts';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'riposte-node-units-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
const collect = (s: PassThrough) => {
  const chunks: Buffer[] = [];
  s.on('data', (c: Buffer) => chunks.push(c));
  return () => Buffer.concat(chunks);
};

test('tar: files, dirs, symlinks, long and non-ASCII names read back by the system tar', { skip: existsSync('/usr/bin/tar') || existsSync('/bin/tar') ? false : 'no tar binary' }, async () => {
  const out = new PassThrough();
  const gz = createGzip();
  gz.pipe(out);
  const bytes = collect(out);
  const tar = new TarWriter(gz);
  const long = `fs/${'x'.repeat(120)}/${'long-name-'.repeat(12)}.txt`;
  const big = Buffer.alloc(70_000, 7);
  await tar.add({ name: 'fs/dir/', type: 'dir', mode: 0o750 });
  await tar.add({ name: 'fs/dir/a.txt', data: Buffer.from('alpha\n'), mode: 0o640, mtime: 1_700_000_000 });
  await tar.add({ name: 'fs/dir/link', type: 'symlink', linkname: 'a.txt' });
  await tar.add({ name: long, data: Buffer.from('long\n') });
  await tar.add({ name: 'fs/ünïcode-名前.txt', data: Buffer.from('u\n') });
  // a stream that turns out shorter than announced is zero-filled and flagged
  const r = await tar.addStream({ name: 'fs/short.bin' }, 10, (async function* () {
    yield Buffer.from('abc');
  })());
  assert.equal(r.changed, true);
  assert.equal(r.sha256, sha(Buffer.concat([Buffer.from('abc'), Buffer.alloc(7)])));
  const rb = await tar.addStream({ name: 'fs/big.bin' }, big.length, (async function* () {
    yield big.subarray(0, 1000);
    yield big.subarray(1000);
  })());
  assert.equal(rb.sha256, sha(big));
  await tar.finish();
  gz.end();
  await new Promise((res) => out.on('end', res));
  const file = join(dir, 't.tar.gz');
  await writeFile(file, bytes());
  const listing = execFileSync('tar', ['-tvzf', file]).toString();
  assert.match(listing, /^drwxr-x---.* fs\/dir\/$/m);
  assert.match(listing, /^-rw-r-----.* fs\/dir\/a\.txt$/m);
  assert.match(listing, /fs\/dir\/link -> a\.txt/);
  const x = join(dir, 'x');
  await mkdir(x);
  execFileSync('tar', ['-xzf', file, '-C', x]);
  assert.equal(await readFile(join(x, long), 'utf8'), 'long\n');
  assert.equal(await readFile(join(x, 'fs/ünïcode-名前.txt'), 'utf8'), 'u\n');
  assert.equal(sha(await readFile(join(x, 'fs/big.bin'))), sha(big));
  assert.deepEqual((await readdir(join(x, 'fs'))).sort(), ['big.bin', 'dir', 'short.bin', 'x'.repeat(120), 'ünïcode-名前.txt'].sort());
});

test('pcap writer: global header and records in the libpcap layout', () => {
  const out = new PassThrough();
  const bytes = collect(out);
  const w = new PcapWriter(out, { snaplen: 2048 });
  w.packet(1_700_000_000_123_456_789n, Buffer.from([0x45, 0, 0, 20]), 60);
  out.end();
  const b = bytes();
  assert.equal(b.readUInt32LE(0), 0xa1b23c4d);
  assert.equal(b.readUInt16LE(4), 2);
  assert.equal(b.readUInt16LE(6), 4);
  assert.equal(b.readUInt32LE(16), 2048);
  assert.equal(b.readUInt32LE(20), LINKTYPE_RAW);
  assert.equal(b.readUInt32LE(24), 1_700_000_000);
  assert.equal(b.readUInt32LE(28), 123_456_789);
  assert.equal(b.readUInt32LE(32), 4);
  assert.equal(b.readUInt32LE(36), 60);
  assert.equal(b.length, 24 + 16 + 4);
});

test('/proc/net parsing: addresses, ports, states', () => {
  assert.equal(decodeSockAddr('0100007F:1F90'), '127.0.0.1:8080');
  assert.equal(decodeSockAddr('00000000000000000000000001000000:0050'), '[::1]:80');
  assert.equal(decodeSockAddr('000080FE00000000FF0000000100FE00:01BB'), '[fe80::ff:fe:1]:443');
  assert.equal(decodeSockAddr('0000000000000000FFFF00000100007F:0016'), '[::ffff:127.0.0.1]:22');
  const text = ['  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode', '   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 12345 1 0000000000000000 100 0 0 10 0', '   1: 0100007F:D431 0100007F:1F90 01 00000000:00000000 00:00000000 00000000  1000        0 23456 1 0000000000000000 20 4 30 10 -1'].join('\n');
  const rows = parseNetTable('tcp', text);
  assert.deepEqual(rows.map((r) => [r.local, r.remote, r.state, r.uid, r.inode]), [
    ['127.0.0.1:8080', '0.0.0.0:0', 'LISTEN', 0, 12345],
    ['127.0.0.1:54321', '127.0.0.1:8080', 'ESTABLISHED', 1000, 23456],
  ]);
});

test('CIDRs are checked and normalised before they reach the kernel', () => {
  assert.equal(checkCidr('10.0.0.0/8'), '10.0.0.0/8');
  assert.equal(checkCidr('127.0.0.2'), '127.0.0.2/32');
  assert.equal(checkCidr('fd00::/8'), 'fd00::/8');
  assert.equal(checkCidr('::1'), '::1/128');
  for (const bad of ['10.0.0.0/33', 'fd00::/129', 'nope', '10.0.0.0/8/1', '10.0.0.0/x', '']) assert.throws(() => checkCidr(bad), ActionError, bad);
});

test('paths resolve inside a root: absolute symlinks restart at the root, never the host', async () => {
  const root = join(dir, 'root');
  await mkdir(join(root, 'usr/bin'), { recursive: true });
  await writeFile(join(root, 'usr/bin/busybox'), '');
  await symlink('usr/bin', join(root, 'bin'));
  await symlink('/usr/bin/busybox', join(root, 'usr/bin/sh'));
  await symlink('../../etc/passwd', join(root, 'usr/bin/escape'));
  await symlink('loop2', join(root, 'loop1'));
  await symlink('loop1', join(root, 'loop2'));
  assert.equal(await resolveInRoot(root, '/bin/sh'), '/usr/bin/busybox');
  assert.equal(await resolveInRoot(root, '/usr/bin/../bin/busybox'), '/usr/bin/busybox');
  assert.equal(await resolveInRoot(root, '/usr/bin/escape'), null, 'no /etc/passwd inside this root');
  assert.equal(await resolveInRoot(root, '/loop1'), null);
  assert.equal(await resolveInRoot(root, 'relative'), null);
});

test('ELF interpreters are read from PT_INTERP', { skip: existsSync('/usr/bin/true') ? false : 'no /usr/bin/true' }, async () => {
  assert.match((await elfInterpreter('/usr/bin/true')) ?? '', /ld-linux|ld-musl/);
  const script = join(dir, 's.sh');
  await writeFile(script, '#!/bin/sh\n');
  assert.equal(await elfInterpreter(script), null);
  assert.equal(await elfInterpreter(join(dir, 'missing')), null);
});

test('syscall names: the table agrees with the installed UAPI header', { skip: existsSync('/usr/include/x86_64-linux-gnu/asm/unistd_64.h') ? false : 'no asm/unistd_64.h here' }, async () => {
  const header = await readFile('/usr/include/x86_64-linux-gnu/asm/unistd_64.h', 'utf8');
  let n = 0;
  for (const m of header.matchAll(/#define __NR_(\w+) (\d+)/g)) {
    assert.equal(SYSCALLS_X86_64[Number(m[2])], m[1], `syscall ${m[2]}`);
    n++;
  }
  assert.ok(n > 300);
  assert.equal(syscallName(59), 'execve');
  assert.equal(syscallName(9999), 'syscall_9999');
});

test('enforcer frames decode at any chunking', () => {
  const frame = (type: number, body: Buffer) => {
    const b = Buffer.alloc(8 + body.length);
    b.writeUInt32LE(b.length, 0);
    b.writeUInt16LE(type, 4);
    b.writeUInt16LE(1, 6);
    body.copy(b, 8);
    return b;
  };
  const str = (s: string) => Buffer.concat([Buffer.from([Buffer.byteLength(s) & 255, Buffer.byteLength(s) >> 8]), Buffer.from(s)]);
  const hello = Buffer.alloc(24);
  hello.writeUInt32LE(1, 0);
  hello.writeUInt32LE(1, 4);
  hello.writeBigInt64LE(123n, 8);
  hello.writeUInt32LE(42, 16);
  hello.writeUInt32LE(2, 20);
  const reply = Buffer.concat([Buffer.from([1, 0, 0, 0]), str('isolate 77')]);
  const pkt = Buffer.alloc(32 + 4);
  pkt.writeBigUInt64LE(1000n, 0);
  pkt.writeBigUInt64LE(77n, 8);
  pkt.writeUInt32LE(60, 16);
  pkt.writeUInt32LE(4, 20);
  pkt.writeUInt8(1, 24);
  pkt.writeUInt8(1, 25);
  pkt.writeUInt16LE(0x0800, 26);
  Buffer.from([0x45, 1, 2, 3]).copy(pkt, 32);
  const exec = Buffer.alloc(304);
  exec.writeBigUInt64LE(5n, 0);
  exec.writeBigUInt64LE(77n, 8);
  exec.writeUInt32LE(9, 16);
  exec.writeInt32LE(-1, 28);
  exec.write('sh', 32);
  exec.write('/usr/bin/id', 48);
  const stream = Buffer.concat([frame(ENF_FRAME.hello, Buffer.concat([hello, str('0.1.0'), str('why')])), frame(ENF_FRAME.reply, reply), frame(0x0077, Buffer.from('unknown, skipped')), frame(ENF_FRAME.packet, pkt), frame(ENF_FRAME.execDenied, exec)]);
  for (let step = 1; step <= stream.length; step += step < 16 ? 1 : 37) {
    const dec = new EnforcerDecoder();
    const got = [];
    for (let o = 0; o < stream.length; o += step) got.push(...dec.push(stream.subarray(o, o + step)));
    assert.deepEqual(got.map((f) => f.kind), ['hello', 'reply', 'packet', 'exec-denied'], `chunk ${step}`);
    const [h, r, p, e] = got as any[];
    assert.equal(h.execMechanism, 'fanotify');
    assert.equal(h.version, '0.1.0');
    assert.equal(h.lsmUnavailable, 'why');
    assert.equal(r.message, 'isolate 77');
    assert.deepEqual([p.cgroupId, p.wireLen, p.egress, p.dropped, p.proto, [...p.data]], [77n, 60, true, true, 0x0800, [0x45, 1, 2, 3]]);
    assert.deepEqual([e.pid, e.ret, e.comm, e.path], [9, -1, 'sh', '/usr/bin/id']);
  }
});

test('artifact store: visible only once committed, hashed, keys checked', async () => {
  const store = new LocalArtifactStore(join(dir, 'artifacts'));
  const w = await store.create('snapshots/abc/x.tar.gz', { contentType: 'application/gzip' });
  w.stream.write('part one,');
  assert.equal(await store.head('snapshots/abc/x.tar.gz'), undefined, 'not visible before commit');
  w.stream.write('part two');
  const ref = await w.commit({ container: 'abc' });
  assert.equal(ref.sha256, sha('part one,part two'));
  assert.equal(ref.size, 17);
  assert.match(ref.uri, /^file:\/\//);
  assert.deepEqual(await store.head('snapshots/abc/x.tar.gz'), ref);
  assert.deepEqual((await store.list('snapshots/')).map((r) => r.key), ['snapshots/abc/x.tar.gz']);
  const aborted = await store.create('snapshots/abc/y', { contentType: 'text/plain' });
  aborted.stream.write('junk');
  await aborted.abort();
  assert.equal(await store.head('snapshots/abc/y'), undefined);
  assert.deepEqual(await readdir(join(dir, 'artifacts', '.partial')), []);
  for (const bad of ['../x', '/abs', 'a/../b', 'a//b', 'x.meta.json', '']) assert.throws(() => checkKey(bad), /bad artifact key/, bad);
  await store.delete('snapshots/abc/x.tar.gz');
  assert.deepEqual(await store.list(), []);
});

test('cgroup resolution: exactly one directory named after the id, or a refusal', async () => {
  const root = join(dir, 'cg');
  const full = 'ab'.repeat(32);
  await mkdir(join(root, 'system.slice', `docker-${full}.scope`, 'init.scope'), { recursive: true });
  await mkdir(join(root, 'kubepods', 'burstable', 'pod1234abcd-1111-2222-3333-444455556666', 'cd'.repeat(32)), { recursive: true });
  await mkdir(join(root, 'crio-conmon-ef00000000000000000000000000000000000000000000000000000000000000.scope'), { recursive: true });
  await mkdir(join(root, `riposte-sandbox-123456abcdef`), { recursive: true });
  await mkdir(join(root, `riposte-sandbox-123456abcdefaa`), { recursive: true });
  const docker = await resolveContainerCgroup('abababababab', { root });
  assert.equal(docker.path, `/system.slice/docker-${full}.scope`);
  assert.equal(docker.runtime, 'docker');
  assert.equal(docker.fullId, full);
  const pod = await resolveContainerCgroup('cdcdcdcdcdcd', { root });
  assert.match(pod.path, /^\/kubepods\/burstable\/pod.*\/cdcd/);
  await assert.rejects(resolveContainerCgroup('ef0000000000', { root }), TargetError, 'a conmon cgroup is not the container');
  await assert.rejects(resolveContainerCgroup('123456abcdef', { root }), /ambiguous/);
  await assert.rejects(resolveContainerCgroup('host', { root }), /never act on the host/);
  await assert.rejects(resolveContainerCgroup('ABCDEF123456', { root }), /not a container id/);
  await assert.rejects(resolveContainerCgroup('0123456789ab', { root }), /no cgroup of container/);
});
