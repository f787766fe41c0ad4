// SPDX-License-Identifier: Apache-2.0
/**
 * Decision latency: time from sending the approval form (POST
 * /approvals/:id/decision, identity from a trusted-proxy header) to the next
 * step starting, measured where the next step's effect lands (a local HTTP
 * receiver of its `notify.webhook`) and from the `step.started` audit record.
 * One `riposte engine` process; SAMPLES approvals one after another.
 *
 *   node bench/decision-latency.ts [SAMPLES=40]
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { AuditLog } from '../src/audit/log.ts';
import { createRedis } from '../src/redis/connect.ts';
import { makeKeys } from '../src/redis/keys.ts';
import { alert, benchRedis, engines, median, percentile, record, sleep, writePlaybook } from './lib.ts';

const SAMPLES = Number(process.argv[2] ?? 40);
const TOKEN = 'bench-token';

const arrivals = new Map<string, number>();
const receiver = createServer((req, res) => {
  let body = '';
  req.on('data', (d) => (body += d));
  req.on('end', () => {
    arrivals.set(JSON.parse(body).alert, performance.now());
    res.end('ok');
  });
});
await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', () => r()));
const receiverUrl = `http://127.0.0.1:${(receiver.address() as { port: number }).port}`;

const env0 = await benchRedis();
const pbDir = await writePlaybook(
  env0.dir,
  'gate',
  `apiVersion: riposte.dev/v1
kind: Playbook
metadata: { name: gate }
trigger: { rules: ["Bench gate"] }
steps:
  - id: approve
    approval: { timeout: 10m }
  - id: next
    action: notify.webhook
    with: { url: "${receiverUrl}/next", body: { alert: "{{alert.id}}" } }
`,
);
const prefix = `bench-${randomBytes(4).toString('hex')}`;
const env = { RIPOSTE_REDIS_URL: env0.redisUrl, RIPOSTE_REDIS_PREFIX: prefix, RIPOSTE_PLAYBOOKS_PATHS: pbDir, RIPOSTE_SERVER_PORT: '0', RIPOSTE_INGEST_TOKEN: TOKEN, RIPOSTE_STATE_DIR: env0.dir, RIPOSTE_LOG_LEVEL: 'error', RIPOSTE_SERVER_TRUSTED_PROXIES: '127.0.0.1' };
const [p] = await engines(1, env);
const redis = createRedis(env0.redisUrl);
const audit = new AuditLog(redis, makeKeys(prefix));
const who = { 'x-auth-request-email': 'bench@example.com' };

try {
  const toEffect: number[] = [];
  const toStarted: number[] = [];
  const postTimes: number[] = [];
  for (let i = 0; i < SAMPLES + 3; i++) {
    const id = `gate-${i}-${randomBytes(3).toString('hex')}`;
    const res = await fetch(`${p!.url}/v1/alerts`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(alert('Bench gate', id)) });
    if (res.status !== 202) throw new Error(`alert POST ${res.status}`);
    let approvalId: string | undefined;
    let runId: string | undefined;
    while (!approvalId) {
      const list = (await (await fetch(`${p!.url}/api/approvals`)).json()) as { approvals: { id: string; runId: string }[] };
      const runs = (await (await fetch(`${p!.url}/api/runs`)).json()) as { runs: { id: string; incidentId: string }[] };
      for (const a of list.approvals) {
        const detail = (await (await fetch(`${p!.url}/api/runs/${a.runId}`)).json()) as { run: { alertId: string } };
        if (detail.run.alertId === id) {
          approvalId = a.id;
          runId = a.runId;
        }
      }
      if (!approvalId) await sleep(5);
      void runs;
    }
    const page = await (await fetch(`${p!.url}/approvals/${approvalId}`, { headers: who })).text();
    const csrf = /name="csrf" value="([^"]+)"/.exec(page)?.[1];
    if (!csrf) throw new Error('no form on the approval page');
    const wall0 = Date.now();
    const t0 = performance.now();
    const d = await fetch(`${p!.url}/approvals/${approvalId}/decision`, { method: 'POST', headers: { ...who, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' }, body: new URLSearchParams({ decision: 'approve', csrf }).toString() });
    const t1 = performance.now();
    if (d.status !== 200) throw new Error(`decision POST ${d.status}: ${await d.text()}`);
    while (!arrivals.has(id)) await sleep(1);
    let started: number | undefined;
    while (started === undefined) {
      const rec = (await audit.list({ runId, action: 'step.started' })).find((r) => r.stepId === 'next');
      if (rec) started = Date.parse(rec.time) - wall0;
      else await sleep(5);
    }
    if (i < 3) continue; // warm-up
    postTimes.push(t1 - t0);
    toEffect.push(arrivals.get(id)! - t0);
    toStarted.push(started);
  }
  const f = (xs: number[]) => `${median(xs).toFixed(1)} ms (p90 ${percentile(xs, 90).toFixed(1)} ms)`;
  await record('Decision latency (bench/decision-latency.ts)', [
    `${SAMPLES} approvals one after another on one \`riposte engine\` (3 warm-up rounds dropped); decision POSTed with a trusted-proxy identity.`,
    '',
    '| measure | median (p90) |',
    '| --- | --- |',
    `| decision POST answered | ${f(postTimes)} |`,
    `| POST sent → next step \`step.started\` audit record | ${f(toStarted)} |`,
    `| POST sent → next step's webhook received | ${f(toEffect)} |`,
  ]);
} finally {
  await p!.kill();
  redis.disconnect();
  await env0.close();
  receiver.close();
}
