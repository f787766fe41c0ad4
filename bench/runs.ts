// SPDX-License-Identifier: Apache-2.0
/**
 * Runs per second: a 3-step no-op playbook (three `log` steps) driven end to end
 * (alert POST → incident → run → 3 steps → finished) by 1 and by 2 `riposte
 * engine` processes sharing one Redis. Each figure is the median of REPEAT
 * rounds of RUNS runs; a round's time is from the first POST to the last run
 * finished (read from the engines' /metrics).
 *
 *   node bench/runs.ts [RUNS=600] [REPEAT=3]
 */
import { randomBytes } from 'node:crypto';
import { alert, benchRedis, counter, engines, median, record, sleep, writePlaybook } from './lib.ts';

const RUNS = Number(process.argv[2] ?? 600);
const REPEAT = Number(process.argv[3] ?? 3);
const TOKEN = 'bench-token';

const env0 = await benchRedis();
const pbDir = await writePlaybook(
  env0.dir,
  'noop',
  `apiVersion: riposte.dev/v1
kind: Playbook
metadata: { name: noop }
trigger: { rules: ["Bench noop"] }
steps:
  - id: one
    action: log
    with: { message: "one {{alert.id}}" }
  - id: two
    action: log
    with: { message: "two" }
  - id: three
    action: log
    with: { message: "three" }
`,
);

async function round(n: number): Promise<number> {
  const env = { RIPOSTE_REDIS_URL: env0.redisUrl, RIPOSTE_REDIS_PREFIX: `bench-${randomBytes(4).toString('hex')}`, RIPOSTE_PLAYBOOKS_PATHS: pbDir, RIPOSTE_SERVER_PORT: '0', RIPOSTE_INGEST_TOKEN: TOKEN, RIPOSTE_STATE_DIR: env0.dir, RIPOSTE_LOG_LEVEL: 'error' };
  const procs = await engines(n, env);
  const urls = procs.map((p) => p.url);
  try {
    await sleep(500);
    const alerts = Array.from({ length: RUNS }, (_, i) => alert('Bench noop', `r${i}-${randomBytes(4).toString('hex')}`));
    const t0 = performance.now();
    for (let i = 0; i < RUNS; i += 100) {
      const res = await fetch(`${urls[(i / 100) % n]}/v1/alerts`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(alerts.slice(i, i + 100)) });
      if (res.status !== 202) throw new Error(`POST answered ${res.status}`);
    }
    for (;;) {
      const done = await counter(urls, 'riposte_runs_finished_total', 'status="succeeded"');
      if (done >= RUNS) break;
      if (performance.now() - t0 > 300_000) throw new Error(`only ${done}/${RUNS} runs finished in 5 minutes`);
      await sleep(50);
    }
    return RUNS / ((performance.now() - t0) / 1000);
  } catch (err) {
    for (const p of procs) process.stderr.write(`engine ${p.url} (exit ${p.child.exitCode ?? p.child.signalCode ?? 'running'}):\n${p.output().slice(-3000)}\n`);
    throw err;
  } finally {
    await Promise.all(procs.map((p) => p.kill()));
  }
}

try {
  const lines = [`3-step no-op playbook (3 × \`log\`), ${RUNS} runs per round, median of ${REPEAT} rounds, engine concurrency 8 per process, embedded redis-server on the same machine.`, '', '| engine processes | runs/s (median) | rounds |', '| --- | --- | --- |'];
  for (const n of [1, 2]) {
    const rates: number[] = [];
    for (let r = 0; r < REPEAT; r++) rates.push(await round(n));
    lines.push(`| ${n} | ${median(rates).toFixed(1)} | ${rates.map((x) => x.toFixed(1)).join(', ')} |`);
  }
  await record('Runs per second (bench/runs.ts)', lines);
} finally {
  await env0.close();
}
