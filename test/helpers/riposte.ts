// SPDX-License-Identifier: Apache-2.0
/** Starts Riposte's engine and HTTP server in-process against the test Redis. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { defaultRegistry } from '../../src/actions/index.ts';
import type { ActionRegistry } from '../../src/actions/registry.ts';
import type { ActionServices } from '../../src/actions/types.ts';
import { silentLogger } from '../../src/common/log.ts';
import { defaults } from '../../src/config/load.ts';
import { startEngine, type Engine } from '../../src/engine/engine.ts';
import { buildServer } from '../../src/http/server.ts';
import { loadPlaybookPaths, type LoadedPlaybook } from '../../src/playbooks/load.ts';
import { openRuntime, type Runtime } from '../../src/runtime.ts';
import { testRedisUrl, uniquePrefix } from './redis.ts';

export interface TestRiposte {
  url: string;
  token: string;
  runtime: Runtime;
  engine: Engine;
  playbooks: LoadedPlaybook[];
  post(body: unknown, opts?: { token?: string | null; raw?: string; contentType?: string }): Promise<{ status: number; body: any }>;
  close(): Promise<void>;
}

export async function startTestRiposte(opts: { playbooks?: Record<string, string>; dryRun?: boolean; bodyLimit?: number; prefix?: string; registry?: ActionRegistry; services?: ActionServices } = {}): Promise<TestRiposte> {
  const registry = opts.registry ?? defaultRegistry();
  const dir = await mkdtemp(join(tmpdir(), 'riposte-pb-'));
  for (const [name, text] of Object.entries(opts.playbooks ?? {})) await writeFile(join(dir, name), text);
  const results = await loadPlaybookPaths([dir], { registry });
  const bad = results.filter((r) => !r.playbook);
  if (bad.length) throw new Error(`test playbooks invalid: ${JSON.stringify(bad.map((b) => b.diagnostics))}`);
  const playbooks = results.map((r) => r.playbook!);
  const config = defaults(process.env);
  config.redis.prefix = opts.prefix ?? uniquePrefix();
  const runtime = openRuntime(config, await testRedisUrl());
  const engine = startEngine({ runtime, registry, playbooks: () => playbooks, log: silentLogger, concurrency: 4, dryRun: () => opts.dryRun ?? false, guardrails: { protectedNamespaces: ['kube-system'] }, ...(opts.services ? { services: opts.services } : {}) });
  const token = randomBytes(24).toString('hex');
  const app = buildServer({ runtime, log: silentLogger, ingestToken: () => token, maxAlertsPerRequest: 1000, bodyLimit: opts.bodyLimit ?? 64 * 1024 });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return {
    url,
    token,
    runtime,
    engine,
    playbooks,
    async post(body, o = {}) {
      const headers: Record<string, string> = { 'content-type': o.contentType ?? 'application/json' };
      const t = o.token === undefined ? token : o.token;
      if (t !== null) headers.authorization = `Bearer ${t}`;
      const res = await fetch(`${url}/v1/alerts`, { method: 'POST', headers, body: o.raw ?? JSON.stringify(body) });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {}
      return { status: res.status, body: parsed };
    },
    async close() {
      await app.close();
      await engine.close();
      await runtime.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export const shellAlert = (over: Record<string, unknown> = {}) => ({
  time: '2024-05-01T12:00:00.000000000Z',
  rule: 'Terminal shell in container',
  priority: 'Warning',
  source: 'syscall',
  hostname: 'node-1',
  output: 'A shell was spawned in a container with an attached terminal',
  output_fields: { 'container.id': 'abc123', 'k8s.ns.name': 'payments', 'k8s.pod.name': 'api-7f9c', 'proc.name': 'bash' },
  tags: ['container', 'shell', 'mitre_execution'],
  ...over,
});
