// SPDX-License-Identifier: Apache-2.0
/**
 * End-to-end harness: an in-process Riposte wired as `riposte start` wires it
 * (approvals, audit checkpoints signed with a real key, the UI with its
 * playbook catalogue), against the test Redis; and a real headless Chromium
 * (Debian's package, driven by playwright-core) with a fresh profile.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium, type Locator, type Page } from 'playwright-core';
import { defaultRegistry } from '../../src/actions/index.ts';
import { startApprovals, type ApprovalsSetup } from '../../src/approvals/wiring.ts';
import { loadOrCreateSigningKey } from '../../src/audit/checkpoints.ts';
import { type AuditMaintenance, startAuditMaintenance } from '../../src/audit/maintenance.ts';
import { silentLogger } from '../../src/common/log.ts';
import { defaults } from '../../src/config/load.ts';
import type { RiposteConfig } from '../../src/config/schema.ts';
import { startEngine, type Engine } from '../../src/engine/engine.ts';
import { buildServer } from '../../src/http/server.ts';
import { loadPlaybookPaths, type LoadedPlaybook } from '../../src/playbooks/load.ts';
import { openRuntime, type Runtime } from '../../src/runtime.ts';
import { ANONYMOUS_VIEWER, type UiAuthConfig } from '../../src/ui/auth.ts';
import { ROOT } from '../helpers/process.ts';
import { testRedisUrl, uniquePrefix } from '../helpers/redis.ts';

export const CHROMIUM = process.env.RIPOSTE_CHROMIUM ?? '/usr/bin/chromium';
export const SCREENSHOTS = join(ROOT, 'test-results', 'screenshots');
const TOKEN = 'ui-e2e-ingest-token';

export interface UiRiposte {
  url: string;
  prefix: string;
  runtime: Runtime;
  engine: Engine;
  approvals: ApprovalsSetup;
  maintenance: AuditMaintenance;
  config: RiposteConfig;
  playbooks: LoadedPlaybook[];
  /** The checkpoint key (private PEM; `riposte audit verify --public-key` accepts it). */
  keyFile: string;
  postAlert(alert: unknown): Promise<number>;
  close(): Promise<void>;
}

export async function startUiRiposte(o: { playbooks: Record<string, string>; ui?: Partial<UiAuthConfig>; configure?: (c: RiposteConfig) => void }): Promise<UiRiposte> {
  const dir = await mkdtemp(join(tmpdir(), 'riposte-ui-'));
  await mkdir(join(dir, 'playbooks'));
  for (const [name, text] of Object.entries(o.playbooks)) await writeFile(join(dir, 'playbooks', name), text);
  const registry = defaultRegistry();
  const results = await loadPlaybookPaths([join(dir, 'playbooks')], { registry });
  const playbooks = results.flatMap((r) => (r.playbook ? [r.playbook] : []));
  const config = defaults(process.env);
  config.stateDir = dir;
  config.redis.prefix = uniquePrefix('ui');
  config.server.trustedProxies = ['127.0.0.1'];
  config.audit.checkpointEvery = 5;
  config.audit.checkpointInterval = '1s';
  o.configure?.(config);
  const runtime = openRuntime(config, await testRedisUrl());
  const key = (await loadOrCreateSigningKey({ stateDir: dir }))!;
  const maintenance = startAuditMaintenance({ audit: runtime.audit, checkpoints: runtime.checkpoints, redis: runtime.redis, keys: runtime.keys, config: config.audit, signer: key.signer, log: silentLogger });
  let url = '';
  const approvals = await startApprovals({ runtime, config, secrets: {}, log: silentLogger, registry, publicUrl: () => url, env: {} });
  const engine = startEngine({ runtime, registry, playbooks: () => playbooks, log: silentLogger, concurrency: 4, dryRun: () => false, guardrails: { protectedNamespaces: ['kube-system'] }, ...approvals.engineHooks });
  approvals.attach(engine.driver);
  const app = buildServer({
    runtime,
    log: silentLogger,
    ingestToken: () => TOKEN,
    maxAlertsPerRequest: 100,
    bodyLimit: 1024 * 1024,
    trustProxy: config.server.trustedProxies,
    approvals: approvals.http,
    playbooks: () => playbooks,
    playbookProblems: () => results,
    auditPublicKeyPem: key.signer.publicKeyPem,
    uiAuth: { ...ANONYMOUS_VIEWER, trustedProxies: config.server.trustedProxies, identityHeaders: config.approvals.identityHeaders, ...o.ui },
  });
  url = await app.listen({ host: '127.0.0.1', port: 0 });
  return {
    url,
    prefix: config.redis.prefix,
    runtime,
    engine,
    approvals,
    maintenance,
    config,
    playbooks,
    keyFile: key.file,
    async postAlert(alert) {
      const res = await fetch(`${url}/v1/alerts`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(alert) });
      await res.text();
      return res.status;
    },
    async close() {
      await app.close();
      await engine.close();
      await approvals.close();
      await maintenance.close();
      await runtime.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface Browser {
  context: BrowserContext;
  /** CSP violations and page errors seen so far (there should be none). */
  problems: string[];
  newPage(): Promise<Page>;
  close(): Promise<void>;
}

/**
 * Launches Chromium with a fresh profile, or says why it cannot: a missing
 * browser fails the run in CI (CI=true) and skips the tests elsewhere.
 */
export async function launchBrowser(o: { headers?: Record<string, string> } = {}): Promise<Browser | { skip: string }> {
  if (!existsSync(CHROMIUM)) {
    const reason = `no Chromium at ${CHROMIUM} (apt-get install -y chromium, or set RIPOSTE_CHROMIUM)`;
    if (process.env.CI === 'true') throw new Error(`${reason}; browser tests are required in CI`);
    process.stdout.write(`# skipping browser tests: ${reason}\n`);
    return { skip: reason };
  }
  const profile = await mkdtemp(join(tmpdir(), 'riposte-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 900 },
    ...(o.headers ? { extraHTTPHeaders: o.headers } : {}),
  });
  const problems: string[] = [];
  const watch = (p: Page) => {
    p.on('console', (m) => {
      if (m.type() === 'error' && /Content.Security.Policy|Refused to/i.test(m.text())) problems.push(m.text());
    });
    p.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  };
  context.pages().forEach(watch);
  context.on('page', watch);
  return {
    context,
    problems,
    newPage: () => context.newPage(),
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

/** The text a person sees (Playwright's innerText: hidden rows excluded), not the DOM's textContent. */
// biome-ignore lint/performance/useDomNodeTextContent: this is Playwright's Locator.innerText(), not the DOM property
export const seen = (l: Locator) => l.innerText();

export async function screenshot(page: Page, name: string): Promise<void> {
  await mkdir(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

/** Presses Tab until `selector` has the focus (keyboard reachability); throws after `max` presses. */
export async function tabTo(page: Page, selector: string, max = 60): Promise<void> {
  for (let i = 0; i < max; i++) {
    await page.keyboard.press('Tab');
    if (await page.evaluate(`document.activeElement?.matches(${JSON.stringify(selector)}) ?? false`)) return;
  }
  throw new Error(`${selector} is not reachable with Tab within ${max} presses`);
}

/** Accessibility basics, checked in the page (a string: the project's TypeScript has no DOM types). */
const A11Y_CHECK = `(() => {
  const out = [];
  for (const el of document.querySelectorAll('input, select, textarea')) {
    if (el.type === 'hidden') continue;
    const labelled = (el.id && document.querySelector('label[for="' + CSS.escape(el.id) + '"]')) || el.closest('label') || el.getAttribute('aria-label') || el.getAttribute('aria-labelledby');
    if (!labelled) out.push('unlabelled ' + el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + (el.name ? ' name=' + el.name : ''));
  }
  for (const b of document.querySelectorAll('button, a[href]')) if (!(b.textContent || '').trim() && !b.getAttribute('aria-label')) out.push(b.tagName.toLowerCase() + ' without a name');
  if (!document.querySelector('header')) out.push('no banner (header)');
  if (!document.querySelector('nav')) out.push('no navigation landmark');
  if (document.querySelectorAll('main').length !== 1) out.push('not exactly one main landmark');
  if (document.querySelectorAll('h1').length !== 1) out.push('not exactly one h1');
  if (!document.documentElement.lang) out.push('no lang on html');
  for (const svg of document.querySelectorAll('svg')) if (svg.getAttribute('role') !== 'img' || !svg.getAttribute('aria-labelledby')) out.push('svg without role=img and a name');
  for (const t of document.querySelectorAll('table')) if (!t.querySelector('th')) out.push('table without header cells');
  return out;
})()`;

/** Form controls labelled, landmarks, one h1, named images and buttons: the problems found (none is good). */
export function a11yProblems(page: Page): Promise<string[]> {
  return page.evaluate(A11Y_CHECK) as Promise<string[]>;
}

/** One HTTP request from a chosen local address (127.0.0.2 is loopback but not a trusted proxy). */
export function rawGet(base: string, path: string, headers: Record<string, string>, from?: string): Promise<number> {
  const u = new URL(path, base);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, path: u.pathname + u.search, headers, ...(from ? { localAddress: from } : {}) }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}
