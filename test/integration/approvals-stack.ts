// SPDX-License-Identifier: Apache-2.0
/**
 * An in-process Riposte with approvals and notifiers wired exactly as
 * `riposte start` wires them (src/approvals/wiring.ts), against the test Redis,
 * plus a raw HTTP client that can choose its source address (to be, or not be,
 * a trusted proxy). Used by the approvals*, storm* test files.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultRegistry } from '../../src/actions/index.ts';
import { startApprovals, type ApprovalsSetup } from '../../src/approvals/wiring.ts';
import { silentLogger } from '../../src/common/log.ts';
import { defaults } from '../../src/config/load.ts';
import type { RiposteConfig } from '../../src/config/schema.ts';
import { startEngine, type Engine, type EngineOptions } from '../../src/engine/engine.ts';
import { buildServer } from '../../src/http/server.ts';
import { loadPlaybookPaths, type LoadedPlaybook } from '../../src/playbooks/load.ts';
import { openRuntime, type Runtime } from '../../src/runtime.ts';
import { testRedisUrl, uniquePrefix } from '../helpers/redis.ts';
import { waitUntil } from '../helpers/wait.ts';

export const INGEST_TOKEN = 'stack-ingest-token';

export interface Stack {
  url: string;
  port: number;
  runtime: Runtime;
  engine: Engine;
  approvals: ApprovalsSetup;
  config: RiposteConfig;
  playbooks: LoadedPlaybook[];
  postAlerts(body: unknown): Promise<{ status: number; body: any }>;
  /** The pending approval of the run started by alert `alertId`. */
  approvalFor(alertId: string, playbook: string): Promise<any>;
  close(): Promise<void>;
}

export interface StackOptions {
  playbooks: Record<string, string>;
  configure?: (c: RiposteConfig) => void;
  env?: Record<string, string>;
  engine?: Partial<EngineOptions>;
  secrets?: { slackSigningSecret?: string };
  concurrency?: number;
}

export async function startStack(o: StackOptions): Promise<Stack> {
  const dir = await mkdtemp(join(tmpdir(), 'riposte-stack-'));
  for (const [name, text] of Object.entries(o.playbooks)) await writeFile(join(dir, name), text);
  const registry = defaultRegistry();
  const results = await loadPlaybookPaths([dir], { registry });
  const bad = results.filter((r) => !r.playbook);
  if (bad.length) throw new Error(`test playbooks invalid: ${JSON.stringify(bad.map((b) => b.diagnostics))}`);
  const playbooks = results.map((r) => r.playbook!);
  const config = defaults(process.env);
  config.redis.prefix = uniquePrefix('stack');
  config.server.trustedProxies = ['127.0.0.1'];
  o.configure?.(config);
  const runtime = openRuntime(config, await testRedisUrl());
  let url = '';
  const approvals = await startApprovals({ runtime, config, secrets: o.secrets ?? {}, log: silentLogger, registry, publicUrl: () => url, env: o.env ?? {}, notifierRuntime: { baseDelayMs: 20 } });
  const engine = startEngine({
    runtime,
    registry,
    playbooks: () => playbooks,
    log: silentLogger,
    concurrency: o.concurrency ?? 4,
    dryRun: () => false,
    guardrails: { protectedNamespaces: ['kube-system'] },
    ...approvals.engineHooks,
    ...(o.engine ?? {}),
  });
  approvals.attach(engine.driver);
  const app = buildServer({ runtime, log: silentLogger, ingestToken: () => INGEST_TOKEN, maxAlertsPerRequest: 1000, bodyLimit: 4 * 1024 * 1024, trustProxy: config.server.trustedProxies, approvals: approvals.http });
  url = await app.listen({ host: '127.0.0.1', port: 0 });
  return {
    url,
    port: Number(new URL(url).port),
    runtime,
    engine,
    approvals,
    config,
    playbooks,
    async postAlerts(body) {
      const res = await fetch(`${url}/v1/alerts`, { method: 'POST', headers: { authorization: `Bearer ${INGEST_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      const text = await res.text();
      return { status: res.status, body: JSON.parse(text) };
    },
    async approvalFor(alertId, playbook) {
      return waitUntil(async () => {
        const list = (await (await fetch(`${url}/api/approvals`)).json()) as { approvals: any[] };
        const runs = await runtime.runs.list({ limit: 1000 });
        const run = runs.find((r) => r.meta.alertId === alertId && r.meta.playbook === playbook);
        return run && list.approvals.find((a) => a.runId === run.meta.id);
      }, `approval for alert ${alertId}`, 30_000);
    },
    async close() {
      await app.close();
      await engine.close();
      await approvals.close();
      await runtime.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/** One HTTP request from a chosen local address (127.0.0.2 is loopback but not a trusted proxy). */
export function rawRequest(base: string, method: string, path: string, o: { headers?: Record<string, string>; body?: string; from?: string } = {}): Promise<RawResponse> {
  const u = new URL(path, base);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, path: u.pathname + u.search, method, headers: { ...(o.body !== undefined ? { 'content-length': String(Buffer.byteLength(o.body)) } : {}), ...(o.headers ?? {}) }, localAddress: o.from }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
    });
    req.on('error', reject);
    if (o.body !== undefined) req.write(o.body);
    req.end();
  });
}

export const formBody = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
export const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
export const csrfOf = (html: string) => /name="csrf" value="([^"]+)"/.exec(html)?.[1];
