// SPDX-License-Identifier: Apache-2.0
/**
 * Shared set-up of the node-action tests: whether this machine can run them
 * (root, cgroup v2, the enforcer built and loadable), node services on a
 * temporary state dir, and a context to call an action's execute() directly.
 * Every target is a sandbox container the test made (src/sandbox/sandbox.ts);
 * nothing else on the machine is acted on.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { defaultRegistry } from '../../src/actions/index.ts';
import type { ActionContext, ActionResult } from '../../src/actions/types.ts';
import type { Alert } from '../../src/alerts/alert.ts';
import { silentLogger } from '../../src/common/log.ts';
import { cgroupRoot } from '../../src/node/cgroups.ts';
import { checkEnforcer } from '../../src/node/enforcer.ts';
import { NodeServices, type NodeServicesOptions } from '../../src/node/services.ts';
import type { SensorProcess } from '../../detector/sensor/sensor-process.ts';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const ENFORCER = resolve(ROOT, 'bpf/.output/riposte-enforcer');
export const ENFORCER_OBJECT = resolve(ROOT, 'bpf/.output/enforcer.bpf.o');
export const IN_CI = process.env.CI === 'true';

let built: string | null | undefined;

/** make the enforcer only (the sensor has its own tests); null on success, else why not. */
export function buildEnforcer(): string | null {
  if (built !== undefined) return built;
  try {
    execFileSync('make', ['-s', '-C', join(ROOT, 'bpf'), 'enforcer'], { stdio: ['ignore', 'pipe', 'pipe'] });
    built = existsSync(ENFORCER) && existsSync(ENFORCER_OBJECT) ? null : 'make -C bpf enforcer produced nothing';
  } catch (err) {
    const e = err as { stderr?: Buffer; message: string };
    built = `make -C bpf enforcer failed: ${(e.stderr?.toString() || e.message).trim().split('\n').slice(-3).join(' | ')}`;
  }
  return built;
}

/** null when the node-action kernel tests can run here, else why not. */
export async function nodeUnavailable(): Promise<string | null> {
  if (process.platform !== 'linux') return `not linux (${process.platform})`;
  if (process.getuid?.() !== 0) return 'not root (cgroups, namespaces and bpf need it)';
  const root = await cgroupRoot().catch(() => null);
  if (!root) return 'no cgroup v2 hierarchy mounted';
  const b = buildEnforcer();
  if (b) return b;
  const c = await checkEnforcer(root, ENFORCER);
  return c.ok ? null : `riposte-enforcer --check: ${c.reason}`;
}

/** Fails in CI, skips (saying why) elsewhere; true when the tests should run. */
export function gate(what: string, reason: string | null): boolean {
  if (reason === null) return true;
  if (IN_CI) test(`${what}: must run in CI`, () => assert.fail(`${what} cannot run: ${reason}`));
  else {
    console.log(`# ${what} skipped: ${reason}`);
    test(what, { skip: reason }, () => {});
  }
  return false;
}

export interface TestNode {
  ns: NodeServices;
  stateDir: string;
  close(): Promise<void>;
}

/** Node services on a temporary state dir (artifacts there too). */
export async function startNode(o: Partial<NodeServicesOptions> & { sensor?: () => SensorProcess | undefined } = {}): Promise<TestNode> {
  const stateDir = o.stateDir ?? (await mkdtemp(join(tmpdir(), 'riposte-node-test-')));
  const ns = await NodeServices.create({ node: `test-${process.pid}`, log: silentLogger, enforcerBinary: ENFORCER, ...o, stateDir });
  return {
    ns,
    stateDir,
    async close() {
      await ns.close();
      await rm(stateDir, { recursive: true, force: true });
    },
  };
}

export function alertFor(container: string, over: Partial<Alert> = {}): Alert {
  return { id: `a-${container}`, time: new Date().toISOString(), rule: 'test', priority: 'warning', source: 'test', hostname: `test-${process.pid}`, output: 'test alert', output_fields: { 'container.id': container }, tags: [], ...over } as Alert;
}

let seq = 0;

/** Runs a registered node action's execute() with the agent's context shape. */
export async function runAction(ns: NodeServices, name: string, params: Record<string, unknown>, o: { alert?: Alert; key?: string; dryRun?: boolean } = {}): Promise<ActionResult> {
  const def = defaultRegistry().get(name);
  if (!def) throw new Error(`no action ${name}`);
  const ctx: ActionContext = {
    idempotencyKey: o.key ?? `run-${process.pid}:${name}:${++seq}`,
    runId: 'run',
    stepId: name,
    incidentId: 'inc',
    attempt: 1,
    alert: o.alert ?? alertFor(typeof params.container === 'string' ? params.container : 'host'),
    dryRun: o.dryRun ?? false,
    log: silentLogger,
    signal: new AbortController().signal,
    services: { node: ns.node, nodeActions: ns },
  };
  return def.execute(params, ctx);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until fn() is truthy or the time is up. */
export async function until<T>(fn: () => Promise<T> | T, what: string, ms = 5000): Promise<NonNullable<T>> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v as NonNullable<T>;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}
