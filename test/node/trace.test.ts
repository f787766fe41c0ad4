// SPDX-License-Identifier: Apache-2.0
// trace.enable / trace.disable on a sandbox container with the real sensor and enforcer:
// a known command's syscall sequence is in the NDJSON trace, its TCP traffic to a loopback
// server is in a pcap that a (tiny, independent) pcap reader parses, and both switch off
// by themselves when the duration ends.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { SensorProcess } from '../../detector/sensor/sensor-process.ts';
import { ENF_FLAG } from '../../src/node/enforcer-frames.ts';
import { Sandbox } from '../../src/sandbox/sandbox.ts';
import { kernelUnavailable, LOADER } from '../bpf/gate.ts';
import { gate, nodeUnavailable, runAction, sleep, startNode, type TestNode, until } from './helpers.ts';

/** pcap reader written from the format description, independent of src/node/pcap.ts */
function readPcap(buf: Buffer) {
  const magic = buf.readUInt32LE(0);
  assert.ok(magic === 0xa1b2c3d4 || magic === 0xa1b23c4d, `magic ${magic.toString(16)}`);
  const packets: { sec: number; frac: number; data: Buffer; orig: number }[] = [];
  for (let o = 24; o < buf.length; ) {
    const incl = buf.readUInt32LE(o + 8);
    packets.push({ sec: buf.readUInt32LE(o), frac: buf.readUInt32LE(o + 4), orig: buf.readUInt32LE(o + 12), data: buf.subarray(o + 16, o + 16 + incl) });
    o += 16 + incl;
    assert.ok(o <= buf.length, 'record runs past the end');
  }
  return { version: [buf.readUInt16LE(4), buf.readUInt16LE(6)], snaplen: buf.readUInt32LE(16), linktype: buf.readUInt32LE(20), nanos: magic === 0xa1b23c4d, packets };
}

/** IPv4 + TCP fields of a raw-IP packet */
function tcp4(p: Buffer) {
  if (p[0]! >> 4 !== 4 || p[9] !== 6) return null;
  const ihl = (p[0]! & 15) * 4;
  const doff = (p[ihl + 12]! >> 4) * 4;
  return { src: [...p.subarray(12, 16)].join('.'), dst: [...p.subarray(16, 20)].join('.'), sport: p.readUInt16BE(ihl), dport: p.readUInt16BE(ihl + 2), flags: p[ihl + 13]!, payload: p.subarray(ihl + doff) };
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

const why = (await nodeUnavailable()) ?? (await kernelUnavailable());
if (gate('node actions: verbose tracing and packet capture', why)) {
  let node: TestNode;
  let sensor: SensorProcess;
  let sb: Sandbox;
  let server: net.Server;
  let port: number;
  const received: string[] = [];

  before(async () => {
    sensor = await SensorProcess.start({ binary: LOADER, events: ['exec', 'fork', 'exit', 'open', 'connect'] });
    node = await startNode({ sensor: () => sensor });
    sb = await Sandbox.create({ name: 'trace' });
    server = net.createServer((s) => {
      s.on('data', (d) => received.push(d.toString()));
      s.on('error', () => {});
      s.write('welcome\n');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as net.AddressInfo).port;
  });
  after(async () => {
    await node.close();
    await sensor.stop();
    await sb.destroy();
    server.close();
  });

  test('a known syscall sequence goes to the NDJSON trace and the traffic to a pcap', async () => {
    const on = await runAction(node.ns, 'trace.enable', { container: sb.id, duration: '30s' }, { key: 'trace-1' });
    assert.equal(on.output.active, true);
    const fu = on.followUps?.[0];
    assert.equal(fu?.action, 'trace.disable');
    assert.ok(fu && fu.delayMs > 25_000 && fu.delayMs <= 30_000, `delay ${fu?.delayMs}`);
    assert.deepEqual(Object.keys(fu.params).sort(), ['container', 'session']);
    const cg = await node.ns.resolve(sb.id);
    assert.ok(((await (await node.ns.enforcer()).status(cg.id)).flags & ENF_FLAG.pcap) !== 0);

    const cat = await sb.exec(['/bin/cat', '/etc/os-release']);
    assert.equal(cat.code, 0);
    const talk = await sb.exec(['/bin/bash', '-c', `exec 3<>/dev/tcp/127.0.0.1/${port}; echo hello-riposte >&3; read -r line <&3; echo "$line"`]);
    assert.match(talk.stdout, /welcome/);
    await until(() => received.join('').includes('hello-riposte'), 'the server to get the line');
    await sleep(200);

    const off = await runAction(node.ns, 'trace.disable', fu.params);
    assert.equal(off.output.active, false);
    const traceRef = off.output.trace as { uri: string; sha256: string; size: number };
    const pcapRef = off.output.pcap as { uri: string; sha256: string; size: number };
    assert.equal((off.details?.trace as { sha256: string } | undefined)?.sha256, traceRef.sha256, 'hashes go to the audit record');
    assert.equal(((await (await node.ns.enforcer()).status(cg.id)).flags & ENF_FLAG.pcap), 0, 'pcap is off');
    assert.equal(node.ns.tracer.sessionOf(cg.id), undefined, 'tracing is off');

    // the trace: cat's own syscalls, in order, with the file it opened
    const text = await readFile(fileURLToPath(traceRef.uri));
    assert.equal(sha(text), traceRef.sha256);
    const lines = text.toString().trim().split('\n').map((l) => JSON.parse(l) as Record<string, any>);
    const openEv = lines.find((l) => l.event === 'open' && l.path === '/etc/os-release');
    assert.ok(openEv, 'the decoded open event with the path as the container sees it');
    const catPid = openEv.pid as number;
    const seq = lines.filter((l) => l.pid === catPid && l.syscall && !l.event).map((l) => l.syscall as string);
    const want = ['execve', 'openat', 'read', 'write', 'exit_group'];
    let i = 0;
    for (const s of seq) if (s === want[i]) i++;
    assert.equal(i, want.length, `syscall sequence of cat: ${seq.join(' ')}`);
    const execve = lines.find((l) => l.pid === catPid && l.syscall === 'execve' && !l.event);
    assert.equal(execve?.ret, 0);
    assert.equal(execve?.args.length, 6);
    assert.equal(lines.find((l) => l.pid === catPid && l.syscall === 'exit_group')?.ret, null, 'exit_group never returns');
    assert.ok(lines.some((l) => l.event === 'connect' && l.dport === port), 'the connect event');

    // the pcap: both directions of the TCP exchange with the loopback server
    const buf = await readFile(fileURLToPath(pcapRef.uri));
    assert.equal(sha(buf), pcapRef.sha256);
    const pcap = readPcap(buf);
    assert.deepEqual(pcap.version, [2, 4]);
    assert.equal(pcap.linktype, 101, 'LINKTYPE_RAW');
    const tcp = pcap.packets.map((p) => tcp4(p.data)).filter((p) => p !== null);
    assert.ok(tcp.some((p) => p.dport === port && (p.flags & 0x02) !== 0), 'the SYN');
    assert.ok(tcp.some((p) => p.dport === port && p.payload.toString().includes('hello-riposte')), 'the line it sent');
    assert.ok(tcp.some((p) => p.sport === port && p.payload.toString().includes('welcome')), 'the line it received');
    const t0 = pcap.packets[0]!.sec;
    assert.ok(Math.abs(t0 - Date.now() / 1000) < 120, 'wall-clock timestamps');
  });

  test('tracing switches itself off when the duration ends; the follow-up then reports the artifacts', async () => {
    const on = await runAction(node.ns, 'trace.enable', { container: sb.id, duration: '1s', pcap: false }, { key: 'trace-2' });
    const cg = await node.ns.resolve(sb.id);
    assert.ok(node.ns.tracer.sessionOf(cg.id));
    await sb.exec(['/bin/true']);
    await until(() => node.ns.tracer.sessionOf(cg.id) === undefined, 'the session to end by itself', 5000);
    const fu = await runAction(node.ns, 'trace.disable', on.followUps![0]!.params);
    assert.equal(fu.output.active, false);
    assert.equal(fu.output.reason, 'duration ended');
    assert.ok(Number(fu.output.syscalls) > 0);
    assert.equal(fu.output.pcap, undefined);
  });
}
