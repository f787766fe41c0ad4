// SPDX-License-Identifier: Apache-2.0
/**
 * Alerts per second accepted over HTTP: POST /v1/alerts answers 202 only once
 * Redis holds the alerts, so this is the durable-accept rate. One `riposte
 * engine` process (its workers also process what it accepts, matching no
 * playbook); CLIENTS concurrent clients post for SECONDS, with 1 and with 100
 * alerts per request. Median of REPEAT rounds.
 *
 *   node bench/alerts.ts [SECONDS=5] [CLIENTS=16] [REPEAT=3]
 */
import { randomBytes } from 'node:crypto';
import { alert, benchRedis, engines, median, record, sleep, writePlaybook } from './lib.ts';

const SECONDS = Number(process.argv[2] ?? 5);
const CLIENTS = Number(process.argv[3] ?? 16);
const REPEAT = Number(process.argv[4] ?? 3);
const TOKEN = 'bench-token';

const env0 = await benchRedis();
const pbDir = await writePlaybook(env0.dir, 'none', 'apiVersion: riposte.dev/v1\nkind: Playbook\nmetadata: { name: none }\ntrigger: { rules: ["Never matches"] }\nsteps:\n  - id: x\n    action: log\n    with: { message: x }\n');

async function round(batch: number): Promise<number> {
  const env = { RIPOSTE_REDIS_URL: env0.redisUrl, RIPOSTE_REDIS_PREFIX: `bench-${randomBytes(4).toString('hex')}`, RIPOSTE_PLAYBOOKS_PATHS: pbDir, RIPOSTE_SERVER_PORT: '0', RIPOSTE_INGEST_TOKEN: TOKEN, RIPOSTE_STATE_DIR: env0.dir, RIPOSTE_LOG_LEVEL: 'error' };
  const [p] = await engines(1, env);
  try {
    await sleep(500);
    let accepted = 0;
    const end = performance.now() + SECONDS * 1000;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: CLIENTS }, async (_, c) => {
        let i = 0;
        while (performance.now() < end) {
          const body = Array.from({ length: batch }, () => alert('Bench ingest', `a${c}-${i++}-${randomBytes(3).toString('hex')}`));
          const res = await fetch(`${p!.url}/v1/alerts`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(batch === 1 ? body[0] : body) });
          if (res.status !== 202) throw new Error(`POST answered ${res.status}: ${await res.text()}`);
          await res.arrayBuffer();
          accepted += batch;
        }
      }),
    );
    return accepted / ((performance.now() - t0) / 1000);
  } finally {
    await p!.kill();
  }
}

try {
  const lines = [`${CLIENTS} concurrent HTTP clients for ${SECONDS} s per round against one \`riposte engine\` (which also processes the alerts), median of ${REPEAT} rounds; 202 means stored in Redis.`, '', '| alerts per request | alerts/s accepted (median) | rounds |', '| --- | --- | --- |'];
  for (const batch of [1, 100]) {
    const rates: number[] = [];
    for (let r = 0; r < REPEAT; r++) rates.push(await round(batch));
    lines.push(`| ${batch} | ${median(rates).toFixed(0)} | ${rates.map((x) => x.toFixed(0)).join(', ')} |`);
  }
  await record('Alerts per second accepted over HTTP (bench/alerts.ts)', lines);
} finally {
  await env0.close();
}
