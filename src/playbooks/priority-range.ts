// SPDX-License-Identifier: Apache-2.0
/** Priority ranges as playbooks write them: `critical`, `>=warning`, `<error`, `notice..critical`. */
import { PRIORITIES, parsePriority, priorityRank, type Priority } from '../alerts/alert.ts';

const byRank = (r: number): Priority => PRIORITIES[PRIORITIES.length - 1 - r]!;

export function parsePriorityRange(text: string): { min: Priority; max: Priority } | undefined {
  const t = text.trim();
  const range = /^(\w+)\s*\.\.\s*(\w+)$/.exec(t);
  if (range) {
    const a = parsePriority(range[1]!);
    const b = parsePriority(range[2]!);
    if (!a || !b) return undefined;
    return priorityRank(a) <= priorityRank(b) ? { min: a, max: b } : { min: b, max: a };
  }
  const m = /^(>=|<=|>|<)?\s*(\w+)$/.exec(t);
  if (!m) return undefined;
  const p = parsePriority(m[2]!);
  if (!p) return undefined;
  const r = priorityRank(p);
  switch (m[1]) {
    case '>=':
      return { min: p, max: 'emergency' };
    case '>':
      return r >= 7 ? undefined : { min: byRank(r + 1), max: 'emergency' };
    case '<=':
      return { min: 'debug', max: p };
    case '<':
      return r <= 0 ? undefined : { min: 'debug', max: byRank(r - 1) };
    default:
      return { min: p, max: p };
  }
}

export function inRange(p: Priority, range: { min: Priority; max: Priority }): boolean {
  const r = priorityRank(p);
  return r >= priorityRank(range.min) && r <= priorityRank(range.max);
}
