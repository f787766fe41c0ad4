// SPDX-License-Identifier: Apache-2.0
/**
 * The append-only audit log in Redis: a list of JSON records plus a head
 * `{seq, hash}`. Appends from many engine processes stay one correct chain:
 * each append is a compare-and-set on the head, retried on conflict.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Keys } from '../redis/keys.ts';
import { GENESIS_HASH, hashRecord, type AuditEntry, type AuditRecord } from './record.ts';

const APPEND_LUA = `
local head = redis.call('GET', KEYS[1])
local seq = 0
if head then seq = tonumber(cjson.decode(head).seq) end
if seq ~= tonumber(ARGV[1]) then return 0 end
redis.call('RPUSH', KEYS[2], ARGV[2])
redis.call('SET', KEYS[1], ARGV[3])
return 1
`;

export interface AuditHead {
  seq: number;
  hash: string;
}

export interface AuditFilter {
  since?: Date;
  until?: Date;
  incidentId?: string;
  runId?: string;
  actor?: string;
  action?: string;
  outcome?: string;
  limit?: number;
}

export class AuditLog {
  private readonly redis: Redis;
  private readonly keys: Keys;
  private readonly now: () => Date;
  /** Called after each append (metrics, stdout export). */
  onAppend?: (rec: AuditRecord) => void;

  constructor(redis: Redis, keys: Keys, opts: { now?: () => Date } = {}) {
    this.redis = redis;
    this.keys = keys;
    this.now = opts.now ?? (() => new Date());
  }

  async head(): Promise<AuditHead> {
    const raw = await this.redis.get(this.keys.auditHead);
    return raw ? (JSON.parse(raw) as AuditHead) : { seq: 0, hash: GENESIS_HASH };
  }

  /** Appends one record to the chain and returns it. */
  async append(entry: AuditEntry): Promise<AuditRecord> {
    for (let attempt = 0; ; attempt++) {
      const head = await this.head();
      const body: Omit<AuditRecord, 'hash'> = {
        id: randomUUID(),
        seq: head.seq + 1,
        time: this.now().toISOString(),
        prevHash: head.hash,
        ...stripUndefined(entry),
      };
      const rec: AuditRecord = { ...body, hash: hashRecord(body) };
      const ok = await this.redis.eval(APPEND_LUA, 2, this.keys.auditHead, this.keys.auditList, String(head.seq), JSON.stringify(rec), JSON.stringify({ seq: rec.seq, hash: rec.hash }));
      if (ok === 1) {
        this.onAppend?.(rec);
        return rec;
      }
      if (attempt > 1000) throw new Error('audit append: too much contention');
      await new Promise((r) => setTimeout(r, Math.random() * Math.min(50, 2 ** attempt)));
    }
  }

  /** Reads raw records in chain order, `start`/`stop` are list indexes. */
  async range(start = 0, stop = -1): Promise<unknown[]> {
    const raw = await this.redis.lrange(this.keys.auditList, start, stop);
    return raw.map((r) => {
      try {
        return JSON.parse(r) as unknown;
      } catch {
        return { unparseable: r };
      }
    });
  }

  async count(): Promise<number> {
    return this.redis.llen(this.keys.auditList);
  }

  async list(filter: AuditFilter = {}): Promise<AuditRecord[]> {
    const out: AuditRecord[] = [];
    const total = await this.count();
    const page = 1000;
    for (let start = 0; start < total; start += page) {
      for (const r of (await this.range(start, start + page - 1)) as AuditRecord[]) if (matches(r, filter)) out.push(r);
    }
    return filter.limit ? out.slice(-filter.limit) : out;
  }
}

function matches(r: AuditRecord, f: AuditFilter): boolean {
  const t = Date.parse(r.time);
  if (f.since && t < f.since.getTime()) return false;
  if (f.until && t > f.until.getTime()) return false;
  if (f.incidentId && r.incidentId !== f.incidentId) return false;
  if (f.runId && r.runId !== f.runId) return false;
  if (f.actor && r.actor?.name !== f.actor) return false;
  if (f.action && !(r.action === f.action || (f.action.endsWith('*') && r.action?.startsWith(f.action.slice(0, -1))))) return false;
  if (f.outcome && r.outcome !== f.outcome) return false;
  return true;
}

function stripUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
