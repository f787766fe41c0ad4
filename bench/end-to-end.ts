// SPDX-License-Identifier: Apache-2.0
/**
 * The main job's latency, end to end on this machine: kernel event → alert →
 * container killed, over repeated runs of the demo scenario without the approval
 * gate. Engine and agent run in one process as `riposte start` runs them (real
 * eBPF sensor, default rules, embedded redis-server); each round makes a fresh
 * sandbox container, opens a terminal shell in it, and a playbook kills the
 * container. Latency = the moment `cgroup.events` says `populated 0` (watched
 * from a worker thread) − the kernel timestamp of the shell's exec event.
 *
 *   node bench/end-to-end.ts [N=30]     (root, bpf/ built)
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { defaultRegistry } from '../src/actions/index.ts';
import { startAgent } from '../src/agent/agent.ts';
import { silentLogger } from '../src/common/log.ts';
import { defaults } from '../src/config/load.ts';
import { startEngine } from '../src/engine/engine.ts';
import { loadPlaybookPaths } from '../src/playbooks/load.ts';
import { openRuntime } from '../src/runtime.ts';
import { Sandbox } from '../src/sandbox/sandbox.ts';
import { DEFAULT_RULES_FILE } from '../detector/ruleset/index.ts';
import { benchRedis, percentile, record, sleep } from './lib.ts';

const N = Number(process.argv[2] ?? 30);
if (process.getuid?.() !== 0) {
  console.error('bench/end-to-end.ts needs root (eBPF, cgroups, namespaces)');
  process.exit(2);
}

// the observer: its own thread and event loop, so the engine's work does not delay its timestamps
const observer = new Worker(
  `const { parentPort } = require('node:worker_threads'); const fs = require('node:fs');
   parentPort.on('message', (m) => {
     if (m.stop) return parentPort.close();
     const check = () => { try { if (/populated 0/.test(fs.readFileSync(m.watch, 'utf8'))) { w.close(); parentPort.postMessage({ emptyMs: performance.timeOrigin + performance.now() }); } } catch {} };
     const w = fs.watch(m.watch, check);
   });`,
  { eval: true },
);

const env = await benchRedis();
const dir = await mkdtemp(join(tmpdir(), 'riposte-bench-e2e-'));
await writeFile(join(dir, 'kill.yaml'), 'apiVersion: riposte.dev/v1\nkind: Playbook\nmetadata: { name: bench-shell-kill }\ntrigger: { rules: ["Terminal shell in container"] }\nsteps:\n  - id: kill\n    action: container.kill\n');
const registry = defaultRegistry();
const playbooks = (await loadPlaybookPaths([dir], { registry })).map((r) => r.playbook!);
const config = defaults(process.env);
config.redis.prefix = `bench-e2e-${process.pid}`;
const rt = openRuntime(config, env.redisUrl);
const engine = startEngine({ runtime: rt, registry, playbooks: () => playbooks, log: silentLogger, concurrency: 8, dryRun: () => false, guardrails: { protectedNamespaces: [] } });
const agent = await startAgent({ runtime: rt, registry, log: silentLogger, detection: { rulesPaths: [DEFAULT_RULES_FILE], required: true }, nodeActions: { stateDir: dir } });

const latencies: number[] = [];
const toAlert: number[] = [];
for (let i = 0; i < N; i++) {
  const sb = await Sandbox.create({ name: `bench-${i}` });
  try {
    sb.spawn(['/bin/sleep', '600'], { stdio: 'ignore' });
    await sleep(50);
    const emptied = new Promise<number>((res) => observer.once('message', (m: { emptyMs: number }) => res(m.emptyMs)));
    observer.postMessage({ watch: join(sb.cgroupDir, 'cgroup.events') });
    await sb.exec(['/usr/bin/script', '-qec', 'true', '/dev/null'], { env: { SHELL: '/bin/bash' } });
    const emptyMs = await Promise.race([emptied, sleep(20_000).then(() => Number.NaN)]);
    const run = (await rt.runs.list({ limit: 50 })).find((r) => r.state.context.alert.output_fields['container.id'] === sb.id);
    if (!run || Number.isNaN(emptyMs)) throw new Error(`round ${i}: the container was not killed`);
    const t = run.state.context.alert.time; // RFC 3339 with nanoseconds: the kernel event
    const eventMs = Date.parse(t) + Number(`0.${t.slice(23, 29)}`);
    latencies.push(emptyMs - eventMs);
    const accepted = (await rt.audit.list({ action: 'alert.accepted' })).at(-1);
    if (accepted) toAlert.push(Date.parse(accepted.time) - eventMs);
  } finally {
    await sb.destroy();
  }
}
observer.postMessage({ stop: true });
await agent.close();
await engine.close();
await rt.close();
await env.close();
await rm(dir, { recursive: true, force: true });

const f = (xs: number[], p: number) => `${percentile(xs, p).toFixed(1)} ms`;
await record('End to end: kernel event → alert → container killed (bench/end-to-end.ts)', [
  `${latencies.length} runs of the demo scenario without the approval gate: a fresh sandbox container, a terminal shell opened in it, a playbook whose one step is \`container.kill\`; engine and agent in one process with the real eBPF sensor, default rules and a private redis-server. Nearest-rank percentiles.`,
  '',
  '| measure | p50 | p99 |',
  '| --- | --- | --- |',
  `| kernel exec event → container empty (\`cgroup.events\` populated 0) | ${f(latencies, 50)} | ${f(latencies, 99)} |`,
  `| kernel exec event → alert stored in the queue (audit \`alert.accepted\`, ms resolution) | ${f(toAlert, 50)} | ${f(toAlert, 99)} |`,
]);
console.log(`p50 ${f(latencies, 50)} p99 ${f(latencies, 99)} (n=${latencies.length})`);
