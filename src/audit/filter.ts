// SPDX-License-Identifier: Apache-2.0
/** Audit filters from user input (HTTP query strings, the UI's filter form): one parser, one set of messages. */
import { parseDuration } from '../common/duration.ts';
import type { AuditFilter } from './log.ts';

export const OUTCOMES = ['success', 'failure', 'info', 'refused', 'skipped'] as const;

/** An ISO time, or a duration meaning "that long before now" (`2h`). */
export function parseTime(s: string | undefined, name: string, now = new Date()): Date | undefined {
  const v = s?.trim();
  if (!v) return undefined;
  if (/^\d+(ms|s|m|h|d)$/.test(v)) return new Date(now.getTime() - parseDuration(v));
  const d = new Date(v);
  if (Number.isNaN(d.getTime())) throw new Error(`${name}: expected a time like 2024-05-01T12:00:00Z or a duration like 2h, got "${v}"`);
  return d;
}

export interface FilterQuery {
  q?: string;
  action?: string;
  actor?: string;
  outcome?: string;
  incident?: string;
  run?: string;
  since?: string;
  until?: string;
  limit?: string;
}

/** Builds a filter; throws an Error naming the bad parameter. Empty parameters are ignored. */
export function filterFromQuery(q: FilterQuery, opts: { defaultLimit?: number; maxLimit?: number; now?: Date } = {}): AuditFilter {
  const t = (s: string | undefined) => (s?.trim() ? s.trim() : undefined);
  const outcome = t(q.outcome);
  if (outcome && !(OUTCOMES as readonly string[]).includes(outcome)) throw new Error(`outcome: expected one of ${OUTCOMES.join(', ')}, got "${outcome}"`);
  let limit = opts.defaultLimit;
  if (t(q.limit)) {
    const n = Number(q.limit);
    if (!Number.isInteger(n) || n < 1) throw new Error(`limit: expected a positive whole number, got "${q.limit}"`);
    limit = Math.min(n, opts.maxLimit ?? n);
  }
  return {
    ...(t(q.q) ? { q: t(q.q) } : {}),
    ...(t(q.action) ? { action: t(q.action) } : {}),
    ...(t(q.actor) ? { actor: t(q.actor) } : {}),
    ...(outcome ? { outcome } : {}),
    ...(t(q.incident) ? { incidentId: t(q.incident) } : {}),
    ...(t(q.run) ? { runId: t(q.run) } : {}),
    ...(t(q.since) ? { since: parseTime(q.since, 'since', opts.now) } : {}),
    ...(t(q.until) ? { until: parseTime(q.until, 'until', opts.now) } : {}),
    ...(limit ? { limit } : {}),
  };
}
