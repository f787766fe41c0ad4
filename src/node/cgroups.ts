// SPDX-License-Identifier: Apache-2.0
/**
 * The cgroup v2 side of node actions: from a container id to exactly one
 * cgroup directory (or a refusal), and the cgroup-wide operations the
 * actions need — kill everything, freeze, thaw — each verified from the
 * kernel's own view (`cgroup.procs`, `cgroup.events`).
 *
 * @example
 *   const cg = await resolveContainerCgroup('3f1c0a9b2d4e', { root: '/sys/fs/cgroup/unified' });
 *   await killCgroup(cg.dir);               // { killed: 3, method: 'cgroup.kill' }
 */
import { existsSync } from 'node:fs';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { attributePath } from '../../detector/container/resolver.ts';
import { cgroup2Mount } from '../../detector/sensor/cgroup.ts';

/** A container's cgroup, resolved from its id. */
export interface ContainerCgroup {
  /** container id as asked for (12 to 64 hex digits) */
  container: string;
  /** full id from the cgroup name */
  fullId: string;
  runtime: string;
  /** absolute directory under the cgroup2 mount */
  dir: string;
  /** path relative to the cgroup2 mount ("/kubepods.slice/...") */
  path: string;
  /** cgroup v2 id (the directory's inode), as the kernel and the sensor know it */
  id: bigint;
}

/** The target cannot be acted on; never retried, and nothing was changed. */
export class TargetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TargetError';
  }
}

const CONTAINER_ID = /^[0-9a-f]{12,64}$/;
const MAX_DEPTH = 12;

let mountCache: Promise<string | null> | undefined;

/** The cgroup2 mount point (cached), or a TargetError when there is none. */
export async function cgroupRoot(): Promise<string> {
  mountCache ??= cgroup2Mount();
  const root = await mountCache;
  if (!root) throw new TargetError('no cgroup v2 hierarchy is mounted on this node');
  return root;
}

/**
 * Finds the one cgroup directory named after the container: the runtime
 * patterns of detector/container/resolver.ts, matched on the directory's own
 * name. No match, or more than one, is a refusal: the agent never guesses.
 * Monitor cgroups (CRI-O's conmon) are not the container and are skipped.
 */
export async function resolveContainerCgroup(container: string, opts: { root?: string } = {}): Promise<ContainerCgroup> {
  if (container === 'host') throw new TargetError('node actions never act on the host: the alert is not from a container');
  if (!CONTAINER_ID.test(container)) throw new TargetError(`"${container}" is not a container id (12 to 64 lowercase hex digits)`);
  const root = opts.root ?? (await cgroupRoot());
  const found: { dir: string; fullId: string; runtime: string }[] = [];
  const walk = async (dir: string, depth: number): Promise<void> => {
    if (depth > MAX_DEPTH) return;
    let entries: string[];
    try {
      entries = (await readdir(dir, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name);
    } catch {
      return;
    }
    for (const name of entries) {
      const sub = join(dir, name);
      // the id must be in this directory's own name (not a parent's)
      const m = name.includes('conmon') ? undefined : attributePath(sub.slice(root.length));
      if (m && name.includes(m.fullId) && m.fullId.startsWith(container)) {
        found.push({ dir: sub, fullId: m.fullId, runtime: m.runtime });
        continue; // the container's own sub-cgroups belong to it
      }
      await walk(sub, depth + 1);
    }
  };
  await walk(root, 0);
  if (found.length === 0) throw new TargetError(`no cgroup of container ${container} on this node (looked under ${root})`);
  if (found.length > 1) throw new TargetError(`container id ${container} is ambiguous on this node: ${found.map((f) => f.dir).join(', ')}`);
  const hit = found[0]!;
  const self = await ownCgroupPath();
  const path = hit.dir.slice(root.length) || '/';
  if (self !== undefined && (self === path || self.startsWith(`${path}/`))) throw new TargetError(`container ${container} is the agent's own cgroup (${path}): refusing to act on it`);
  return { container, fullId: hit.fullId, runtime: hit.runtime, dir: hit.dir, path, id: (await stat(hit.dir, { bigint: true })).ino };
}

async function ownCgroupPath(): Promise<string | undefined> {
  const text = await readFile('/proc/self/cgroup', 'utf8').catch(() => '');
  return text.split('\n').find((l) => l.startsWith('0::'))?.slice(3);
}

/** PIDs (host view) in the cgroup and its descendants. */
export async function cgroupPids(dir: string): Promise<number[]> {
  const out: number[] = [];
  const walk = async (d: string, depth: number): Promise<void> => {
    const text = await readFile(join(d, 'cgroup.procs'), 'utf8').catch(() => '');
    for (const l of text.split('\n')) if (l) out.push(Number(l));
    if (depth >= MAX_DEPTH) return;
    const subs = await readdir(d, { withFileTypes: true }).catch(() => []);
    for (const s of subs) if (s.isDirectory()) await walk(join(d, s.name), depth + 1);
  };
  await walk(dir, 0);
  return out;
}

/** `cgroup.events` as a record (`populated`, `frozen`). */
export async function cgroupEvents(dir: string): Promise<Record<string, number>> {
  const text = await readFile(join(dir, 'cgroup.events'), 'utf8');
  const out: Record<string, number> = {};
  for (const l of text.split('\n')) {
    const [k, v] = l.split(' ');
    if (k && v !== undefined) out[k] = Number(v);
  }
  return out;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: () => Promise<boolean>, timeoutMs: number, everyMs = 2): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await what()) return true;
    if (Date.now() > deadline) return false;
    await sleep(everyMs);
  }
}

export interface KillResult {
  /** processes there were when the kill started */
  killed: number;
  method: 'cgroup.kill' | 'signal';
  /** processes left after the wait (0 unless the kernel is stuck on one) */
  remaining: number[];
}

/**
 * SIGKILL every process of the cgroup (and its descendants): `cgroup.kill`
 * where the kernel has it (5.14+; no race with fork), else freeze, signal
 * each pid, thaw. Then waits until `populated 0`.
 */
export async function killCgroup(dir: string, opts: { timeoutMs?: number } = {}): Promise<KillResult> {
  const before = await cgroupPids(dir);
  const timeoutMs = opts.timeoutMs ?? 5000;
  let method: KillResult['method'] = 'cgroup.kill';
  if (existsSync(join(dir, 'cgroup.kill'))) {
    await writeFile(join(dir, 'cgroup.kill'), '1');
  } else {
    // freezing first stops forks between reading the list and signalling it
    method = 'signal';
    await writeFile(join(dir, 'cgroup.freeze'), '1').catch(() => {});
    for (let round = 0; round < 10; round++) {
      const pids = await cgroupPids(dir);
      if (!pids.length) break;
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {}
      }
      await sleep(5);
    }
    await writeFile(join(dir, 'cgroup.freeze'), '0').catch(() => {});
  }
  await until(async () => (await cgroupPids(dir)).length === 0, timeoutMs);
  return { killed: before.length, method, remaining: await cgroupPids(dir) };
}

/** Freeze (on) or thaw (off) the cgroup and wait until `cgroup.events` says so. */
export async function freezeCgroup(dir: string, on: boolean, opts: { timeoutMs?: number } = {}): Promise<{ frozen: boolean; changed: boolean; pids: number }> {
  const was = (await cgroupEvents(dir)).frozen === 1;
  await writeFile(join(dir, 'cgroup.freeze'), on ? '1' : '0');
  const ok = await until(async () => ((await cgroupEvents(dir)).frozen === 1) === on, opts.timeoutMs ?? 5000);
  const frozen = (await cgroupEvents(dir)).frozen === 1;
  if (!ok) throw new Error(`cgroup ${dir} did not become ${on ? 'frozen' : 'thawed'} within ${opts.timeoutMs ?? 5000} ms (frozen ${frozen ? 1 : 0})`);
  return { frozen, changed: was !== frozen, pids: (await cgroupPids(dir)).length };
}
