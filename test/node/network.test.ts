// SPDX-License-Identifier: Apache-2.0
// network.isolate.node / network.release.node on a sandbox sharing the host's network:
// an established TCP connection to a loopback server stops carrying data both ways, new
// connections fail, the allow-list lets its CIDRs through, the host is untouched, and
// release restores new connections. Loopback only.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { ENF_FLAG } from '../../src/node/enforcer-frames.ts';
import { Sandbox } from '../../src/sandbox/sandbox.ts';
import { gate, nodeUnavailable, runAction, sleep, startNode, type TestNode, until } from './helpers.ts';

interface Server {
  port: number;
  lines: string[];
  connections: number;
  close(): Promise<void>;
}

/** A line server on a loopback address: records lines, answers each with "pong". */
async function lineServer(host: string): Promise<Server> {
  const socks = new Set<net.Socket>();
  const s: Server = { port: 0, lines: [], connections: 0, close: async () => {} };
  const server = net.createServer((sock) => {
    s.connections++;
    socks.add(sock);
    let buf = '';
    sock.on('data', (d) => {
      buf += d.toString();
      const parts = buf.split('\n');
      buf = parts.pop() ?? '';
      for (const l of parts) {
        s.lines.push(l);
        sock.write(`pong ${l}\n`);
      }
    });
    sock.on('error', () => {});
    sock.on('close', () => socks.delete(sock));
  });
  await new Promise<void>((r) => server.listen(0, host, r));
  s.port = (server.address() as net.AddressInfo).port;
  s.close = () =>
    new Promise<void>((r) => {
      for (const x of socks) x.destroy();
      server.close(() => r());
    });
  return s;
}

const connectOnce = (sb: Sandbox, host: string, port: number) => sb.exec(['/usr/bin/timeout', '2', '/bin/bash', '-c', `exec 3<>/dev/tcp/${host}/${port} && echo connected`], { timeoutMs: 5000 });

if (gate('node actions: in-kernel network isolation', await nodeUnavailable())) {
  let node: TestNode;
  let sb: Sandbox;
  let server: Server;
  let server2: Server;

  before(async () => {
    node = await startNode();
    sb = await Sandbox.create({ name: 'isolate' });
    server = await lineServer('127.0.0.1');
    server2 = await lineServer('127.0.0.2');
  });
  after(async () => {
    await node.close();
    await sb.destroy();
    await server.close();
    await server2.close();
  });

  test('isolation cuts an established connection both ways; release restores new connections', async () => {
    const client = sb.spawn(['/bin/bash', '-c', `exec 3<>/dev/tcp/127.0.0.1/${server.port}; (while read -r l <&3; do echo "got $l"; done) & i=0; while :; do i=$((i+1)); echo "ping $i" >&3; sleep 0.05; done`]);
    let got = 0;
    client.stdout!.on('data', (d: Buffer) => {
      got += d.toString().split('\n').filter((l) => l.startsWith('got ')).length;
    });
    await until(() => server.lines.length >= 5 && got >= 5, 'traffic on the established connection');

    const r = await runAction(node.ns, 'network.isolate.node', { container: sb.id });
    assert.equal(r.output.isolated, true);
    assert.equal(r.output.mechanism, 'cgroup-skb');
    assert.equal(r.followUps, undefined, 'no duration, no release follow-up');
    await sleep(300); // what was in flight lands
    const sent = server.lines.length;
    const received = got;
    await sleep(700);
    assert.equal(server.lines.length, sent, 'the container still reached the server');
    assert.equal(got, received, 'the server still reached the container');

    const st = await (await node.ns.enforcer()).status((await node.ns.resolve(sb.id)).id);
    assert.ok(st.flags & ENF_FLAG.isolate);
    assert.ok(st.droppedEgress > 0, 'egress drops counted');

    // new connections fail too; the host itself is not affected
    const tried = await connectOnce(sb, '127.0.0.1', server.port);
    assert.doesNotMatch(tried.stdout, /connected/);
    const hostSock = net.connect(server.port, '127.0.0.1');
    await new Promise<void>((res, rej) => hostSock.once('connect', () => res()).once('error', rej));
    hostSock.destroy();

    const rel = await runAction(node.ns, 'network.release.node', { container: sb.id });
    assert.equal(rel.output.isolated, false);
    assert.ok(Number(rel.output.droppedEgress) > 0);
    const again = await connectOnce(sb, '127.0.0.1', server.port);
    assert.match(again.stdout, /connected/);
    assert.deepEqual(node.ns.allHeld(), []);
    client.kill('SIGKILL');
  });

  test('the allow-list lets its CIDRs through; a release of an older isolation leaves a newer one', async () => {
    const first = await runAction(node.ns, 'network.isolate.node', { container: sb.id, allowCIDRs: ['127.0.0.2/32'], duration: '10m' }, { key: 'iso-1' });
    assert.deepEqual(first.output.allow, ['127.0.0.2/32']);
    assert.equal(first.followUps?.[0]?.action, 'network.release.node');
    assert.equal(first.followUps?.[0]?.delayMs, 600_000);
    assert.match((await connectOnce(sb, '127.0.0.2', server2.port)).stdout, /connected/);
    assert.doesNotMatch((await connectOnce(sb, '127.0.0.1', server.port)).stdout, /connected/);

    // renewed by a later step (no allow-list now): the first step's expiry must not lift it
    await runAction(node.ns, 'network.isolate.node', { container: sb.id }, { key: 'iso-2' });
    assert.doesNotMatch((await connectOnce(sb, '127.0.0.2', server2.port)).stdout, /connected/, 'the old allow entry was dropped');
    const stale = await runAction(node.ns, 'network.release.node', first.followUps![0]!.params);
    assert.equal(stale.output.isolated, true);
    assert.match(stale.summary, /isolated again by a later step/);
    assert.doesNotMatch((await connectOnce(sb, '127.0.0.1', server.port)).stdout, /connected/);

    await runAction(node.ns, 'network.release.node', { container: sb.id });
    assert.match((await connectOnce(sb, '127.0.0.1', server.port)).stdout, /connected/);
  });
}
