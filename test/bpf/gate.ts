// SPDX-License-Identifier: Apache-2.0
/**
 * Shared set-up for the bpf tests: build bpf/ with make (idempotent) and
 * tell whether this machine can run the sensor. In CI (CI=true) a missing
 * capability is a failure; elsewhere the tests skip and print why.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { cgroup2Mount } from '../../detector/sensor/cgroup.ts';
import { checkSensor } from '../../detector/sensor/sensor-process.ts';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const BPF_DIR = resolve(ROOT, 'bpf');
export const BPF_OBJECT = resolve(BPF_DIR, '.output/sensor.bpf.o');
export const LOADER = resolve(BPF_DIR, '.output/riposte-sensor');
export const IN_CI = process.env.CI === 'true';

let built: string | null | undefined;

/** make -C bpf; returns null on success or the reason it failed. */
export function buildSensor(): string | null {
  if (built !== undefined) return built;
  try {
    execFileSync('make', ['-s', '-C', BPF_DIR], { stdio: ['ignore', 'pipe', 'pipe'] });
    built = existsSync(BPF_OBJECT) && existsSync(LOADER) ? null : 'make -C bpf produced no object';
  } catch (err) {
    const e = err as { stderr?: Buffer; message: string };
    built = `make -C bpf failed: ${(e.stderr?.toString() || e.message).trim().split('\n').slice(-3).join(' | ')}`;
  }
  return built;
}

/** null when the sensor can run here, else why not. */
export async function kernelUnavailable(): Promise<string | null> {
  if (process.platform !== 'linux') return `not linux (${process.platform})`;
  const b = buildSensor();
  if (b) return b;
  if (process.getuid?.() !== 0) return 'not root (loading bpf needs CAP_BPF + CAP_PERFMON)';
  if ((await cgroup2Mount()) === null) return 'no cgroup2 mount in /proc/self/mountinfo';
  const c = await checkSensor(LOADER);
  return c.ok ? null : `riposte-sensor --check: ${c.reason}`;
}

/**
 * Register the placeholder that reports unavailability: a failing test in
 * CI, a skipped one (with the reason printed) elsewhere. Returns true when
 * the real tests should run.
 */
export function gate(what: string, reason: string | null): boolean {
  if (reason === null) return true;
  if (IN_CI) {
    test(`${what}: eBPF must be available in CI`, () => {
      assert.fail(`${what} cannot run: ${reason}`);
    });
  } else {
    console.log(`# ${what} skipped: ${reason}`);
    test(`${what}`, { skip: reason }, () => {});
  }
  return false;
}
