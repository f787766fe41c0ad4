// SPDX-License-Identifier: Apache-2.0
/**
 * Decoder tests on hand-built frames (no kernel needed): chunk splitting,
 * strings, addresses, loader frames, bad input.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ABI_VERSION, EVENT_TYPE, LOADER_FRAME } from '../../detector/sensor/event-types.ts';
import { FrameDecoder, FrameError, type LoaderFrame, type SensorEvent, formatAddr } from '../../detector/sensor/frames.ts';
import { STRUCTS } from '../../detector/sensor/layout.ts';

function header(type: number, variant: number, payload: Buffer, strings: string[]): Buffer {
  const strs = strings.map((s) => {
    const b = Buffer.from(s);
    const l = Buffer.alloc(2);
    l.writeUInt16LE(b.length);
    return Buffer.concat([l, b]);
  });
  const h = Buffer.alloc(STRUCTS.rp_header.size);
  const frame = Buffer.concat([h, payload, ...strs]);
  frame.writeUInt32LE(frame.length, 0);
  frame.writeUInt16LE(type, 4);
  frame.writeUInt16LE(ABI_VERSION, 6);
  frame.writeBigUInt64LE(123456789n, 8);
  frame.writeBigUInt64LE(4242n, 16);
  frame.writeBigInt64LE(-2n, 24);
  frame.writeUInt32LE(100, 32);
  frame.writeUInt32LE(101, 36);
  frame.writeUInt32LE(1, 40);
  frame.writeUInt32LE(1000, 44);
  frame.writeUInt32LE(1001, 48);
  frame.writeUInt16LE(variant, 52);
  frame.writeUInt16LE(1, 54);
  frame.write('cat', 56);
  return frame;
}

function loader(type: number, body: Buffer): Buffer {
  const f = Buffer.concat([Buffer.alloc(8), body]);
  f.writeUInt32LE(f.length, 0);
  f.writeUInt16LE(type, 4);
  f.writeUInt16LE(ABI_VERSION, 6);
  return f;
}

function decodeAll(stream: Buffer, chunk: number): { events: SensorEvent[]; frames: LoaderFrame[] } {
  const events: SensorEvent[] = [];
  const frames: LoaderFrame[] = [];
  const d = new FrameDecoder({ event: (e) => events.push(e), loader: (f) => frames.push(f) });
  for (let i = 0; i < stream.length; i += chunk) d.push(stream.subarray(i, i + chunk));
  assert.equal(d.buffered, 0);
  return { events, frames };
}

const openPayload = Buffer.alloc(STRUCTS.rp_open.size);
openPayload.writeInt32LE(-100, 0);
openPayload.writeUInt32LE(0o1101, 4);
openPayload.writeUInt32LE(0o644, 8);

const sockPayload = Buffer.alloc(STRUCTS.rp_sock.size);
sockPayload.writeInt32LE(3, 0);
sockPayload.writeUInt16LE(10, 4);
sockPayload.writeUInt16LE(6, 6);
sockPayload.writeUInt16LE(40000, 8);
sockPayload.writeUInt16LE(443, 10);
sockPayload[31] = 1; // ::1
sockPayload[47] = 1;

const hello = Buffer.alloc(24 + 7);
hello.writeUInt32LE(ABI_VERSION, 0);
hello.writeUInt32LE(2, 4);
hello.writeBigInt64LE(1_000_000_000n, 8);
hello.writeUInt32LE(77, 16);
hello.writeUInt16LE(5, 24);
hello.write('1.2.3', 26);

const stream = Buffer.concat([
  loader(LOADER_FRAME.hello, hello),
  header(EVENT_TYPE.open, 1, openPayload, ['out.txt', '/tmp/out.txt']),
  header(EVENT_TYPE.connect, 0, sockPayload, ['']),
  loader(LOADER_FRAME.reply, Buffer.concat([Buffer.from([1, 0, 0, 0, 2, 0]), Buffer.from('ok')])),
]);

for (const chunk of [1, 7, 64, stream.length]) {
  test(`decodes a stream cut in ${chunk}-byte chunks`, () => {
    const { events, frames } = decodeAll(stream, chunk);
    assert.equal(frames.length, 2);
    assert.deepEqual(frames[0], { kind: 'hello', abi: ABI_VERSION, ncpus: 2, bootToRealtimeNs: 1_000_000_000n, loaderPid: 77, loaderVersion: '1.2.3' });
    assert.deepEqual(frames[1], { kind: 'reply', ok: true, message: 'ok' });
    assert.equal(events.length, 2);
    const [open, conn] = events;
    assert.ok(open?.type === 'open');
    assert.equal(open.syscall, 'openat');
    assert.equal(open.path, 'out.txt');
    assert.equal(open.resolved, '/tmp/out.txt');
    assert.equal(open.flags, 0o1101);
    assert.equal(open.dfd, -100);
    assert.equal(open.ret, -2);
    assert.equal(open.cgroupId, 4242n);
    assert.equal(open.time, 123456789n + 1_000_000_000n);
    assert.equal(open.comm, 'cat');
    assert.equal(open.uid, 1000);
    assert.ok(conn?.type === 'connect');
    assert.equal(conn.daddr, '::1');
    assert.equal(conn.saddr, '::1');
    assert.equal(conn.dport, 443);
    assert.equal(conn.sport, 40000);
  });
}

test('formats ipv4, ipv6 and mapped addresses', () => {
  const b = Buffer.alloc(16);
  b.set([127, 0, 0, 1]);
  assert.equal(formatAddr(b, 0, 2), '127.0.0.1');
  const v6 = Buffer.from('20010db8000000000000000000000001', 'hex');
  assert.equal(formatAddr(v6, 0, 10), '2001:db8::1');
  const mapped = Buffer.from('00000000000000000000ffff0a000001', 'hex');
  assert.equal(formatAddr(mapped, 0, 10), '::ffff:10.0.0.1');
  assert.equal(formatAddr(Buffer.alloc(16), 0, 10), '::');
});

test('rejects a frame with a bad length or another abi version', () => {
  const d = new FrameDecoder({});
  assert.throws(() => d.push(Buffer.from([4, 0, 0, 0, 1, 0, 1, 0])), FrameError);
  const bad = header(EVENT_TYPE.exit, 0, Buffer.alloc(8), []);
  bad.writeUInt16LE(ABI_VERSION + 1, 6);
  assert.throws(() => new FrameDecoder({}).push(bad), /abi version/);
});

test('skips unknown kernel types and counts them', () => {
  const d = new FrameDecoder({ event: () => assert.fail('unknown type decoded') });
  d.push(header(99, 0, Buffer.alloc(0), []));
  assert.equal(d.unknown, 1);
});
