// SPDX-License-Identifier: Apache-2.0
/**
 * Shared pieces of the benchmarks: a private redis-server, real `riposte engine`
 * processes, machine facts, medians, and appending a result section to
 * bench/RESULTS.md. Benchmarks are plain scripts (`node bench/runs.ts`), not tests.
 */
import { execFileSync } from 'node:child_process';
import { appendFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startEmbeddedRedis } from '../src/redis/embedded.ts';
import { type RiposteProcess, spawnRiposte } from '../test/helpers/process.ts';

export const RESULTS = fileURLToPath(new URL('./RESULTS.md', import.meta.url));

export function machine(): { date: string; nproc: string; cpu: string; node: string; commit: string } {
  const run = (cmd: string, args: string[]) => {
    try {
      return execFileSync(cmd, args, { encoding: 'utf8' }).trim();
    } catch {
      return '';
    }
  };
  const model = /Model name:\s*(.+)/.exec(run('lscpu', []))?.[1]?.trim() ?? cpus()[0]?.model ?? 'unknown';
  return { date: new Date().toISOString(), nproc: run('nproc', []) || String(cpus().length), cpu: model, node: process.version, commit: run('git', ['rev-parse', '--short', 'HEAD']) || 'unknown' };
}

/** The facts bench/detector.ts prints (its original helper, kept as it was). */
export function machineFacts(): { cpu: string; nproc: number; mem: string; kernel: string; date: string } {
  let nproc = cpus().length;
  try {
    nproc = Number(execFileSync('nproc', [], { encoding: 'utf8' }).trim());
  } catch {}
  return { cpu: cpus()[0]?.model.trim() ?? 'unknown CPU', nproc, mem: `${Math.round(totalmem() / 2 ** 30)} GiB`, kernel: release(), date: new Date().toISOString().slice(0, 10) };
}

export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
/** Nearest-rank percentile, `p` in percent (50, 90, 99). */
export const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
};
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Appends `## title` with the machine facts and the body lines to bench/RESULTS.md, and prints it. */
export async function record(title: string, lines: string[]): Promise<void> {
  const m = machine();
  const text = `\n## ${title}\n\n${m.date} · ${m.nproc} CPUs (\`nproc\`) · ${m.cpu} · Node ${m.node} · commit ${m.commit}\n\n${lines.join('\n')}\n`;
  await appendFile(RESULTS, text);
  process.stdout.write(text);
}

export interface BenchEnv {
  dir: string;
  redisUrl: string;
  close(): Promise<void>;
}

/** A private redis-server in a temporary directory (AOF on, like `riposte start`). */
export async function benchRedis(): Promise<BenchEnv> {
  const dir = await mkdtemp(join(tmpdir(), 'riposte-bench-'));
  const r = await startEmbeddedRedis({ stateDir: dir });
  return {
    dir,
    redisUrl: r.url,
    async close() {
      await r.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export async function writePlaybook(dir: string, name: string, text: string): Promise<string> {
  const pbDir = join(dir, `playbooks-${name}`);
  await import('node:fs/promises').then((fs) => fs.mkdir(pbDir, { recursive: true }));
  await writeFile(join(pbDir, `${name}.yaml`), text);
  return pbDir;
}

export async function engines(n: number, env: Record<string, string>): Promise<RiposteProcess[]> {
  return Promise.all(Array.from({ length: n }, () => spawnRiposte(['engine'], env)));
}

/** Sum of a Prometheus counter over engine processes, e.g. `riposte_runs_finished_total{...status="succeeded"}`. */
export async function counter(urls: string[], name: string, labelMatch = ''): Promise<number> {
  let total = 0;
  for (const u of urls) {
    const text = await (await fetch(`${u}/metrics`)).text();
    for (const line of text.split('\n')) if (line.startsWith(name) && line.includes(labelMatch)) total += Number(line.split(' ').pop());
  }
  return total;
}

export const alert = (rule: string, id: string) => ({
  uuid: id,
  time: new Date().toISOString(),
  rule,
  priority: 'Warning',
  source: 'syscall',
  hostname: 'bench-node',
  output: 'bench',
  output_fields: { 'container.id': id.slice(-12), 'k8s.ns.name': 'bench', 'k8s.pod.name': `pod-${id}` },
  tags: ['bench'],
});
