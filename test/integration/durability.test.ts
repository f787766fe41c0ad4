// SPDX-License-Identifier: Apache-2.0
// Durability under kill -9: two `riposte engine` processes share the work while a killer SIGKILLs one
// (sometimes both) at random moments and restarts it, across 60 runs of a 3-step playbook. Every run
// completes, and a receiver that keys effects by Idempotency-Key sees each step's effect exactly once
// (re-deliveries of an interrupted step carry the same key). The audit chain still verifies.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { AuditLog } from '../../src/audit/log.ts';
import { verifyChain } from '../../src/audit/verify.ts';
import { RunStore } from '../../src/engine/run-store.ts';
import { createRedis } from '../../src/redis/connect.ts';
import { makeKeys } from '../../src/redis/keys.ts';
import { type RiposteProcess, spawnRiposte } from '../helpers/process.ts';
import { stopTestRedis, testRedisUrl, uniquePrefix } from '../helpers/redis.ts';
import { shellAlert } from '../helpers/riposte.ts';

const RUNS = 60;
const TOKEN = 'durability-token';

/** An idempotent receiver: counts deliveries per Idempotency-Key and effects once per key; answers slowly so kills land mid-request. */
interface Receiver {
  url: string;
  deliveries: Map<string, number>;
  close(): Promise<void>;
}
async function startReceiver(): Promise<Receiver> {
  const deliveries = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const key = String(req.headers['idempotency-key'] ?? '');
      deliveries.set(key, (deliveries.get(key) ?? 0) + 1);
      setTimeout(() => res.end('ok'), 100 + Math.random() * 300);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    deliveries,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

let receiver: Receiver;
let dir: string;
let env: Record<string, string>;
const engines: (RiposteProcess | undefined)[] = [undefined, undefined];

before(async () => {
  receiver = await startReceiver();
  dir = await mkdtemp(join(tmpdir(), 'riposte-durable-'));
  const step = (id: string) => `  - id: ${id}\n    action: notify.webhook\n    with: { url: "${receiver.url}/${id}", body: { run: "{{run.id}}", step: ${id} } }\n`;
  await writeFile(join(dir, 'pb.yaml'), `apiVersion: riposte.dev/v1\nkind: Playbook\nmetadata: { name: durable }\ntrigger: { rules: ["Durable shell"] }\nsteps:\n${step('a')}${step('b')}${step('c')}`);
  env = {
    RIPOSTE_REDIS_URL: await testRedisUrl(),
    RIPOSTE_REDIS_PREFIX: uniquePrefix('durable'),
    RIPOSTE_PLAYBOOKS_PATHS: dir,
    RIPOSTE_SERVER_PORT: '0',
    RIPOSTE_INGEST_TOKEN: TOKEN,
    RIPOSTE_STATE_DIR: dir,
    RIPOSTE_ENGINE_CONCURRENCY: '4',
    RIPOSTE_ENGINE_LOCK_DURATION: '2s',
  };
});
after(async () => {
  await Promise.all(engines.map((e) => e?.kill('SIGKILL')));
  await receiver.close();
  await rm(dir, { recursive: true, force: true });
  await stopTestRedis();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Posts a batch to any live engine, retrying (same alert ids, so a batch stored before a kill is stored once). */
async function post(batch: unknown[]): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const e = engines.filter((x): x is RiposteProcess => !!x && x.child.exitCode === null && x.child.signalCode === null)[i % 2];
    if (e) {
      try {
        const res = await fetch(`${e.url}/v1/alerts`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(batch), signal: AbortSignal.timeout(5000) });
        if (res.status === 202) return;
      } catch {
        // killed mid-request: try again
      }
    }
    await sleep(200);
  }
  throw new Error('could not post alerts to any engine');
}

test(`kill -9 of engine processes at random moments: ${RUNS} runs complete, each step's effect once`, { timeout: 118_000 }, async () => {
  engines[0] = await spawnRiposte(['engine'], env);
  engines[1] = await spawnRiposte(['engine'], env);
  const redis = createRedis(env.RIPOSTE_REDIS_URL!);
  const keys = makeKeys(env.RIPOSTE_REDIS_PREFIX!);
  const runs = new RunStore(redis, keys);
  let kills = 0;
  let killing = true;
  // one killer per engine slot: each SIGKILLs its engine at a random moment, then starts a new one;
  // the two are independent, so sometimes both engines are down at once
  const killers = [0, 1].map(async (i) => {
    while (killing) {
      await sleep(200 + Math.random() * 1800);
      if (!killing) break;
      await engines[i]?.kill('SIGKILL');
      kills++;
      engines[i] = await spawnRiposte(['engine'], env);
    }
  });
  try {
    const alerts = Array.from({ length: RUNS }, (_, i) => shellAlert({ rule: 'Durable shell', uuid: `durable-${i}` }));
    for (let b = 0; b < RUNS; b += 5) {
      await post(alerts.slice(b, b + 5));
      await sleep(300 + Math.random() * 700);
    }
    // keep killing for a while after the last alert (and until there were enough kills, on a slow machine), then let the engines finish
    const stopBy = Date.now() + 30_000;
    await sleep(8000);
    while (kills < 12 && Date.now() < stopBy) await sleep(200);
    killing = false;
    await Promise.all(killers);
    const deadline = Date.now() + 45_000;
    let all = await runs.list({ limit: 1000 });
    while (Date.now() < deadline && !(all.length === RUNS && all.every((r) => r.state.status === 'succeeded'))) {
      await sleep(250);
      all = await runs.list({ limit: 1000 });
    }
    const notDone = all.filter((r) => r.state.status !== 'succeeded');
    assert.equal(all.length, RUNS, `every alert started its run (${all.length}/${RUNS})`);
    assert.deepEqual(
      notDone.map((r) => [r.meta.id, r.state.status, r.state.value]),
      [],
      'every run completed',
    );
    assert.ok(kills >= 10, `enough kills to mean something (${kills})`);

    // each step's effect is keyed by run:step:attempt; the receiver counts it once per key
    const effects = new Set(receiver.deliveries.keys());
    for (const r of all) for (const s of ['a', 'b', 'c']) assert.ok(effects.has(`${r.meta.id}:${s}:1`), `run ${r.meta.id} step ${s} had its effect`);
    assert.equal(effects.size, RUNS * 3, 'exactly one effect key per step of each run (no extra attempts)');
    const redelivered = [...receiver.deliveries.values()].filter((n) => n > 1).length;
    const log = new AuditLog(redis, keys);
    const { head, records } = await log.read();
    const v = verifyChain(records, head);
    assert.equal(v.ok, true, JSON.stringify(v.problem));
    process.stdout.write(`# ${kills} kills; ${RUNS} runs; ${effects.size} effects; ${redelivered} keys delivered more than once (same key, one effect)\n`);
  } finally {
    killing = false;
    redis.disconnect();
  }
});
