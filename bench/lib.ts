// SPDX-License-Identifier: Apache-2.0
/** Shared helpers for benchmarks: statistics and the facts of the machine they ran on. */
import { execSync } from 'node:child_process';
import { cpus, release, totalmem } from 'node:os';

export function median(xs: number[]): number {
  return percentile(xs, 50);
}

export function percentile(xs: number[], p: number): number {
  if (!xs.length) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const idx = Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1));
  return s[idx]!;
}

export function machineFacts(): { cpu: string; nproc: number; mem: string; kernel: string; date: string } {
  let nproc = cpus().length;
  try {
    nproc = Number(execSync('nproc').toString().trim());
  } catch {}
  return { cpu: cpus()[0]?.model.trim() ?? 'unknown CPU', nproc, mem: `${Math.round(totalmem() / 2 ** 30)} GiB`, kernel: release(), date: new Date().toISOString().slice(0, 10) };
}
