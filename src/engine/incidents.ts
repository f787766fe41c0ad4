// SPDX-License-Identifier: Apache-2.0
/**
 * Incidents group the alerts of one playbook that share a dedupe key inside
 * its window: the first opens the incident (and its run), later ones only count
 * (first seen, last seen, count). An alert processed twice (an at-least-once
 * redelivery) is counted once. Each incident also keeps its newest alerts
 * (`KEEP_ALERTS`, newest first; an alert larger than `MAX_KEPT_ALERT_BYTES` is
 * kept as a summary without its output fields), so a storm stays readable
 * without storing every one of its alerts.
 */
import type { Redis } from 'ioredis';
import type { Alert } from '../alerts/alert.ts';
import type { Keys } from '../redis/keys.ts';

export interface Incident {
  id: string;
  playbook: string;
  dedupeKey: string;
  rule: string;
  priority: string;
  hostname: string;
  firstSeen: string;
  lastSeen: string;
  count: number;
  firstAlertId: string;
  status: string;
}

/** How many of an incident's newest alerts are kept in full. */
export const KEEP_ALERTS = 50;
/** A kept alert larger than this (JSON bytes) is kept as a summary. */
export const MAX_KEPT_ALERT_BYTES = 8 * 1024;

/** An alert as an incident keeps it; `truncated` when its output fields were left out for size. */
export type KeptAlert = Alert & { truncated?: true };

/** The JSON an incident keeps of an alert: the alert itself, or a summary when it is too large. */
export function keptAlertJson(alert: Alert): string {
  const full = JSON.stringify(alert);
  if (Buffer.byteLength(full) <= MAX_KEPT_ALERT_BYTES) return full;
  const output = alert.output.length > 2000 ? `${alert.output.slice(0, 2000)}…` : alert.output;
  return JSON.stringify({ ...alert, output, output_fields: {}, tags: alert.tags.slice(0, 50), truncated: true } satisfies KeptAlert);
}

// KEYS: dedupe key, new incident key, index, alert-seen key.
// ARGV: new id, now ms, window ms, fields json, now iso, incident key prefix, kept alert json, how many alerts to keep
const JOIN_LUA = `
local seen = redis.call('GET', KEYS[4])
if seen then return {2, seen} end
local existing = redis.call('GET', KEYS[1])
local function keep(id)
  local akey = ARGV[6] .. id .. ':alerts'
  redis.call('LPUSH', akey, ARGV[7])
  redis.call('LTRIM', akey, 0, tonumber(ARGV[8]) - 1)
end
if existing then
  local ikey = ARGV[6] .. existing
  redis.call('HINCRBY', ikey, 'count', 1)
  redis.call('HSET', ikey, 'lastSeen', ARGV[5])
  redis.call('SET', KEYS[4], existing, 'PX', 86400000)
  keep(existing)
  return {0, existing}
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
local f = cjson.decode(ARGV[4])
redis.call('HSET', KEYS[2], 'id', ARGV[1], 'playbook', f.playbook, 'dedupeKey', f.dedupeKey, 'rule', f.rule, 'priority', f.priority,
  'hostname', f.hostname, 'firstSeen', ARGV[5], 'lastSeen', ARGV[5], 'count', 1, 'firstAlertId', f.alertId, 'status', 'open')
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1])
redis.call('SET', KEYS[4], ARGV[1], 'PX', 86400000)
keep(ARGV[1])
return {1, ARGV[1]}
`;

export type JoinResult = { kind: 'opened' | 'joined' | 'duplicate'; incidentId: string };

export class IncidentStore {
  private readonly redis: Redis;
  private readonly keys: Keys;
  constructor(redis: Redis, keys: Keys) {
    this.redis = redis;
    this.keys = keys;
  }

  /** Opens an incident for this alert or joins the open one with the same dedupe key. */
  async join(opts: { playbook: string; dedupeKey: string; windowMs: number; alert: Alert; newId: string; now: Date }): Promise<JoinResult> {
    const { playbook, dedupeKey, windowMs, alert, newId, now } = opts;
    const fields = { playbook, dedupeKey, rule: alert.rule, priority: alert.priority, hostname: alert.hostname, alertId: alert.id };
    const incidentPrefix = this.keys.incident('');
    const r = (await this.redis.eval(
      JOIN_LUA,
      4,
      this.keys.dedupe(playbook, dedupeKey),
      this.keys.incident(newId),
      this.keys.incidentIndex,
      `${this.keys.dedupe(playbook, '')}alert:${alert.id}`,
      newId,
      String(now.getTime()),
      String(Math.max(1, windowMs)),
      JSON.stringify(fields),
      now.toISOString(),
      incidentPrefix,
      keptAlertJson(alert),
      String(KEEP_ALERTS),
    )) as [number, string];
    return { kind: r[0] === 1 ? 'opened' : r[0] === 0 ? 'joined' : 'duplicate', incidentId: r[1] };
  }

  async get(id: string): Promise<Incident | undefined> {
    const h = await this.redis.hgetall(this.keys.incident(id));
    if (!h.id) return undefined;
    return { ...(h as unknown as Incident), count: Number(h.count) };
  }

  /** The incident's newest alerts, newest first (at most `KEEP_ALERTS`). */
  async alerts(id: string, limit = KEEP_ALERTS): Promise<KeptAlert[]> {
    const raw = await this.redis.lrange(this.keys.incidentAlerts(id), 0, Math.max(0, limit - 1));
    return raw.map((r) => JSON.parse(r) as KeptAlert);
  }

  async setStatus(id: string, status: string): Promise<void> {
    await this.redis.hset(this.keys.incident(id), 'status', status);
  }

  async list(limit = 100): Promise<Incident[]> {
    const ids = await this.redis.zrevrange(this.keys.incidentIndex, 0, limit - 1);
    const all = await Promise.all(ids.map((id) => this.get(id)));
    return all.filter((i): i is Incident => i !== undefined);
  }
}
