// SPDX-License-Identifier: Apache-2.0
/** Durations as people write them in YAML: `500ms`, `30s`, `5m`, `2h`, `1d`. */

export const DURATION_PATTERN = '^\\d+(ms|s|m|h|d)$';
const UNIT: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export function parseDuration(text: string): number {
  const m = /^(\d+)(ms|s|m|h|d)$/.exec(text.trim());
  if (!m) throw new Error(`expected a duration like 5m, got ${JSON.stringify(text)}`);
  return Number(m[1]) * UNIT[m[2]!]!;
}

export function formatDuration(ms: number): string {
  for (const [u, n] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) {
    if (ms >= n && ms % n === 0) return `${ms / n}${u}`;
  }
  return `${ms}ms`;
}
