// SPDX-License-Identifier: Apache-2.0
/**
 * Node actions, time to effect: an engine and an agent in one process (as
 * `riposte start` runs them) against a private redis-server; each round posts
 * an alert naming a fresh sandbox container, the engine routes the playbook's
 * node step to the agent, and the effect is observed independently, from a
 * worker thread with its own event loop:
 *   container.kill        the cgroup's `cgroup.events` says `populated 0` (inotify)
 *   network.isolate.node  the last bytes from the container reach a loopback
 *                         server that it writes to every millisecond (a lower
 *                         bound: the cut lies within 1 ms after it)
 * "Agent takes the step" is when the agent calls the action (job taken from
 * the node queue, run loaded). p50/p99 are nearest-rank over N rounds.
 *
 *   node bench/node-actions.ts [N=100]     (root; make -C bpf enforcer)
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { defaultRegistry } from '../src/actions/index.ts';
import { ActionRegistry } from '../src/actions/registry.ts';
import type { ActionDefinition } from '../src/actions/types.ts';
import { startAgent } from '../src/agent/agent.ts';
import { silentLogger } from '../src/common/log.ts';
import { defaults } from '../src/config/load.ts';
import { startEngine } from '../src/engine/engine.ts';
import { loadPlaybookPaths } from '../src/playbooks/load.ts';
import { killCgroup } from '../src/node/cgroups.ts';
import { enqueueAlerts } from '../src/queue/queues.ts';
import { openRuntime } from '../src/runtime.ts';
import { Sandbox } from '../src/sandbox/sandbox.ts';
import { benchRedis, percentile, record, sleep } from './lib.ts';

const N = Number(process.argv[2] ?? 100);
const NODE = `bench-node-${process.pid}`;
const now = () => performance.timeOrigin + performance.now();

if (process.getuid?.() !== 0) {
  console.error('bench/node-actions.ts needs root (cgroups, namespaces, bpf)');
  process.exit(2);
}

// the observer: its own thread, so the agent's work does not delay the timestamps
const observer = new Worker(
  `
  const { parentPort } = require('node:worker_threads');
  const fs = require('node:fs');
  const net = require('node:net');
  const now = () => performance.timeOrigin + performance.now();
  let watcher, lastData = 0;
  const server = net.createServer((s) => { s.on('data', () => { lastData = now(); }); s.on('error', () => {}); });
  server.listen(0, '127.0.0.1', () => parentPort.postMessage({ port: server.address().port }));
  parentPort.on('message', (m) => {
    if (m.watch) {
      watcher?.close();
      const check = () => { try { if (/populated 0/.test(fs.readFileSync(m.watch, 'utf8'))) { const t = now(); watcher?.close(); watcher = undefined; parentPort.postMessage({ empty: t }); } } catch {} };
      watcher = fs.watch(m.watch, check);
      check();
    }
    if (m.last) parentPort.postMessage({ lastData });
    if (m.reset) { lastData = 0; parentPort.postMessage({ reset: true }); }
    if (m.stop) { watcher?.close(); server.close(); parentPort.close(); }
  });
  `,
  { eval: true },
);
const ask = <T>(msg: Record<string, unknown>, key: string): Promise<T> =>
  new Promise((res) => {
    const on = (m: Record<string, unknown>) => {
      if (key in m) {
        observer.off('message', on);
        res(m[key] as T);
      }
    };
    observer.on('message', on);
    observer.postMessage(msg);
  });
const port = await new Promise<number>((res) => observer.once('message', (m: { port: number }) => res(m.port)));

// the actions, wrapped to timestamp when the agent calls them and when they return
const calls = new Map<string, { take: number; done?: number }>();
const base = defaultRegistry();
const registry = new ActionRegistry();
for (const def of base.all()) {
  if (def.runsOn !== 'node') {
    registry.register(def);
    continue;
  }
  const wrapped: ActionDefinition = {
    ...def,
    async execute(p, ctx) {
      const t = { take: now() } as { take: number; done?: number };
      calls.set(ctx.alert.id, t);
      try {
        return await def.execute(p, ctx);
      } finally {
        t.done = now();
      }
    },
  };
  registry.register(wrapped);
}

const env = await benchRedis();
const stateDir = await mkdtemp(join(tmpdir(), 'riposte-bench-node-'));
const pbDir = join(env.dir, 'playbooks');
await mkdir(pbDir);
for (const [name, action] of [
  ['kill', 'container.kill'],
  ['isolate', 'network.isolate.node'],
]) await writeFile(join(pbDir, `${name}.yaml`), `apiVersion: riposte.dev/v1\nkind: Playbook\nmetadata: { name: bench-${name} }\ntrigger: { rules: ["bench ${name}"] }\nsteps:\n  - id: act\n    action: ${action}\n`);
const playbooks = (await loadPlaybookPaths([pbDir], { registry })).map((r) => r.playbook!);
const config = defaults(process.env);
config.redis.prefix = `bench-node-${process.pid}`;
const rt = openRuntime(config, env.redisUrl);
const engine = startEngine({ runtime: rt, registry, playbooks: () => playbooks, log: silentLogger, concurrency: 4, dryRun: () => false, guardrails: { protectedNamespaces: [] } });
const agent = await startAgent({ runtime: rt, registry, log: silentLogger, node: NODE, nodeActions: { stateDir } });
await agent.nodeActions!.enforcer(); // started (BPF object loaded) before the clock runs

let seq = 0;
const fire = async (rule: string, container: string): Promise<{ id: string; sent: number }> => {
  const id = `bench-${process.pid}-${++seq}`;
  const sent = now();
  await enqueueAlerts(rt.queues.alerts, [{ id, time: new Date().toISOString(), rule, priority: 'warning', source: 'bench', hostname: NODE, output: 'bench', output_fields: { 'container.id': container }, tags: [] }]);
  return { id, sent };
};
const waitRun = async (alertId: string) => {
  for (let i = 0; i < 2000; i++) {
    const run = (await rt.runs.list()).find((r) => r.meta.alertId === alertId && r.state.status !== 'running');
    if (run) {
      if (run.state.status !== 'succeeded') throw new Error(`run ${run.meta.id}: ${run.state.status} ${run.state.context.error ?? ''}`);
      return run;
    }
    await sleep(5);
  }
  throw new Error(`run of ${alertId} did not finish`);
};

const kill = { effect: [] as number[], returned: [] as number[], e2e: [] as number[] };
const iso = { effect: [] as number[], returned: [] as number[], e2e: [] as number[] };
try {
  for (let i = 0; i < N; i++) {
    const sb = await Sandbox.create({ name: 'bench-kill' });
    try {
      sb.spawn(['/bin/sh', '-c', 'sleep 1000 & sleep 1000 & wait'], { stdio: 'ignore' });
      while ((await sb.pids()).length < 4) await sleep(5);
      const empty = ask<number>({ watch: join(sb.cgroupDir, 'cgroup.events') }, 'empty');
      const { id, sent } = await fire('bench kill', sb.id);
      const at = await empty;
      await waitRun(id);
      const c = calls.get(id)!;
      kill.effect.push(at - c.take);
      kill.returned.push(c.done! - c.take);
      kill.e2e.push(at - sent);
    } finally {
      await sb.destroy();
    }
  }

  const sb = await Sandbox.create({ name: 'bench-isolate' });
  const cg = await agent.nodeActions!.resolve(sb.id);
  const client = `const s=require('net').connect(${port},'127.0.0.1');s.on('error',()=>{});setInterval(()=>s.write('x'),1);`;
  try {
    for (let i = 0; i < N; i++) {
      const writer = sb.spawn([process.execPath, '-e', client], { stdio: 'ignore' });
      await ask({ reset: true }, 'reset');
      while ((await ask<number>({ last: true }, 'lastData')) === 0) await sleep(5);
      await sleep(20);
      const { id, sent } = await fire('bench isolate', sb.id);
      await waitRun(id);
      await sleep(100); // nothing more arrives once the cut is in
      const last = await ask<number>({ last: true }, 'lastData');
      const c = calls.get(id)!;
      iso.effect.push(last - c.take);
      iso.returned.push(c.done! - c.take);
      iso.e2e.push(last - sent);
      writer.kill('SIGKILL');
      await killCgroup(sb.cgroupDir); // the client runs under the sandbox's unshare: end it all
      const enf = await agent.nodeActions!.enforcer();
      await enf.release(cg.id);
      await agent.nodeActions!.record(cg, 'isolate', undefined);
    }
  } finally {
    await sb.destroy();
  }
} finally {
  await agent.close();
  await engine.close();
  await rt.close();
  await env.close();
  await rm(stateDir, { recursive: true, force: true });
  observer.postMessage({ stop: true });
}

const f = (xs: number[]) => `${percentile(xs, 50).toFixed(1)} ms / ${percentile(xs, 99).toFixed(1)} ms`;
const enf = 'isolation by riposte-enforcer (cgroup skb programs attached to the container cgroup)';
await record('Node actions: time to effect (bench/node-actions.ts)', [
  `${N} rounds per action; engine + agent in one process with a private redis-server on this machine; each kill round a fresh sandbox container with 3 processes; ${enf}. Timestamps from a separate worker thread.`,
  '',
  '| action | agent takes the step → effect (p50 / p99) | agent takes the step → action returned, verified (p50 / p99) | alert queued → effect (p50 / p99) |',
  '| --- | --- | --- | --- |',
  `| container.kill (\`cgroup.kill\`; effect = \`populated 0\`) | ${f(kill.effect)} | ${f(kill.returned)} | ${f(kill.e2e)} |`,
  `| network.isolate.node (effect = last byte from the container; it writes every 1 ms) | ${f(iso.effect)} | ${f(iso.returned)} | ${f(iso.e2e)} |`,
  '',
  'The enforcer is started before the first round (its start, loading the BPF object, takes longer once). The alert → effect column adds the engine: alert job, trigger match, run creation, the step queue and the per-node queue.',
]);
process.exit(0);
