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
  /** Case-insensitive substring over the whole record (the UI's search box). */
  q?: string;
  limit?: number;
}

export class AuditLog {
  private readonly redis: Redis;
  private readonly keys: Keys;
  private readonly now: () => Date;
  /** Called after each append (metrics). */
  onAppend?: (rec: AuditRecord) => void;
  private readonly listeners = new Set<(rec: AuditRecord) => void>();

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
        for (const l of this.listeners) {
          try {
            l(rec);
          } catch {
            // a listener (checkpointer, stdout export) must never fail an append that already happened
          }
        }
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

  /**
   * The head, then the records: read in this order, appends racing the read only
   * make the list longer than the head describes, never a false "truncated".
   */
  async read(): Promise<{ head: AuditHead; records: unknown[] }> {
    const head = await this.head();
    return { head, records: await this.range() };
  }

  async count(): Promise<number> {
    return this.redis.llen(this.keys.auditList);
  }

  /**
   * Runs `fn` after every append made by this process (records appended by other
   * processes are not seen; follow the list with `rangeBySeq` for those).
   * Returns the unsubscribe function.
   */
  subscribe(fn: (rec: AuditRecord) => void): () => void {
    this.listeners.add(fn);
    return () => {
      this.listeners.delete(fn);
    };
  }

  /** Sequence number of the oldest record still stored (1 until retention trims), or 0 when empty. */
  async firstSeq(): Promise<number> {
    const raw = await this.redis.lindex(this.keys.auditList, 0);
    if (!raw) return 0;
    try {
      const seq = (JSON.parse(raw) as { seq?: unknown }).seq;
      return typeof seq === 'number' ? seq : 0;
    } catch {
      return 0;
    }
  }

  /**
   * Records with `from <= seq <= to`, located by index from the first stored
   * sequence number. A trim racing with the read shifts indexes: the result is
   * re-read when its sequence numbers do not line up.
   */
  async rangeBySeq(from: number, to = Number.MAX_SAFE_INTEGER): Promise<AuditRecord[]> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const first = await this.firstSeq();
      if (first === 0) return [];
      const start = Math.max(0, from - first);
      const stop = to === Number.MAX_SAFE_INTEGER ? -1 : to - first;
      if (stop !== -1 && stop < start) return [];
      const recs = (await this.range(start, stop)) as AuditRecord[];
      if (recs.length === 0 || recs[0]!.seq === Math.max(from, first)) return recs;
    }
    throw new Error('audit log: records moved while reading (retention running?)');
  }

  /** One record by id, or by sequence number when `idOrSeq` is all digits. */
  async get(idOrSeq: string): Promise<AuditRecord | undefined> {
    if (/^\d+$/.test(idOrSeq)) {
      const seq = Number(idOrSeq);
      const [r] = await this.rangeBySeq(seq, seq);
      return r && r.seq === seq ? r : undefined;
    }
    const total = await this.count();
    for (let start = 0; start < total; start += 1000) {
      const hit = ((await this.range(start, start + 999)) as AuditRecord[]).find((r) => r.id === idOrSeq);
      if (hit) return hit;
    }
    return undefined;
  }

  async list(filter: AuditFilter = {}): Promise<AuditRecord[]> {
    const out: AuditRecord[] = [];
    const total = await this.count();
    const page = 1000;
    for (let start = 0; start < total; start += page) {
      for (const r of (await this.range(start, start + page - 1)) as AuditRecord[]) if (matchesFilter(r, filter)) out.push(r);
    }
    return filter.limit ? out.slice(-filter.limit) : out;
  }
}

/** Whether a record passes a filter (shared by list, export and the UI). */
export function matchesFilter(r: AuditRecord, f: AuditFilter): boolean {
  const t = Date.parse(r.time);
  if (f.since && t < f.since.getTime()) return false;
  if (f.until && t > f.until.getTime()) return false;
  if (f.incidentId && r.incidentId !== f.incidentId) return false;
  if (f.runId && r.runId !== f.runId) return false;
  if (f.actor && r.actor?.name !== f.actor) return false;
  if (f.action && !(r.action === f.action || (f.action.endsWith('*') && r.action?.startsWith(f.action.slice(0, -1))))) return false;
  if (f.outcome && r.outcome !== f.outcome) return false;
  if (f.q && !JSON.stringify(r).toLowerCase().includes(f.q.toLowerCase())) return false;
  return true;
}

function stripUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
