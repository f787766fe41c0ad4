// SPDX-License-Identifier: Apache-2.0
/**
 * Retention: drops the oldest audit records, but only up to a signed
 * checkpoint, so the first kept record still links to a hash a key vouches
 * for and `verify` keeps working from there. Before trimming it verifies what
 * it is about to drop (trimming must never hide a broken chain) and appends an
 * `audit.trimmed` record: verification treats records missing from the start
 * as deleted unless such a record covers them.
 *
 * @example
 *   await applyRetention({ log, store, redis, keys, policy: { maxAgeMs: 90 * 86_400_000 }, now: new Date() });
 */
import type { Redis } from 'ioredis';
import type { Keys } from '../redis/keys.ts';
import { type CheckpointStore, type KeyRing, verifyCheckpoint } from './checkpoints.ts';
import type { AuditLog } from './log.ts';
import { GENESIS_HASH } from './record.ts';
import { verifyChain } from './verify.ts';

export interface RetentionPolicy {
  /** Records older than this may go. */
  maxAgeMs?: number;
  /** Keep at most this many records (plus those after the nearest checkpoint). */
  maxRecords?: number;
}

export interface RetentionResult {
  removed: number;
  /** The checkpoint the log now starts behind. */
  trimmedThrough?: number;
  /** Why nothing (or less than asked) was removed. */
  reason?: string;
}

// KEYS: list, checkpoints. ARGV: expected first seq, records to remove, checkpoint seq kept as anchor.
const TRIM_LUA = `
local raw = redis.call('LINDEX', KEYS[1], 0)
if not raw then return -1 end
if tonumber(cjson.decode(raw).seq) ~= tonumber(ARGV[1]) then return -1 end
redis.call('LTRIM', KEYS[1], tonumber(ARGV[2]), -1)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[3])
return tonumber(ARGV[2])
`;

export interface RetentionDeps {
  log: AuditLog;
  store: CheckpointStore;
  redis: Redis;
  keys: Keys;
  policy: RetentionPolicy;
  now: Date;
  /** When given, the anchor checkpoint's signature must verify with it. */
  ring?: KeyRing;
}

export async function applyRetention(d: RetentionDeps): Promise<RetentionResult> {
  const { maxAgeMs, maxRecords } = d.policy;
  if (maxAgeMs === undefined && maxRecords === undefined) return { removed: 0, reason: 'no retention configured' };
  const first = await d.log.firstSeq();
  const head = await d.log.head();
  if (first === 0) return { removed: 0, reason: 'empty log' };

  // the highest seq that policy allows to drop
  let eligible = maxRecords !== undefined ? head.seq - maxRecords : 0;
  if (maxAgeMs !== undefined) {
    const cutoff = d.now.getTime() - maxAgeMs;
    for (let from = Math.max(first, eligible + 1); from <= head.seq; from += 1000) {
      const page = await d.log.rangeBySeq(from, from + 999);
      const young = page.findIndex((r) => Date.parse(r.time) >= cutoff);
      if (young >= 0) {
        eligible = Math.max(eligible, page[young]!.seq - 1);
        break;
      }
      if (page.length === 0) break;
      eligible = Math.max(eligible, page.at(-1)!.seq);
    }
  }
  if (eligible < first) return { removed: 0, reason: 'nothing old enough' };

  const cps = await d.store.list(first - 1, eligible);
  const anchor = [...cps].reverse().find((c) => c.seq >= first && (!d.ring || verifyCheckpoint(c, d.ring) === 'ok'));
  if (!anchor) return { removed: 0, reason: `no signed checkpoint between seq ${first} and ${eligible} to trim behind` };

  // never drop records whose chain does not verify: that would erase the evidence
  const before = first === 1 ? { seq: 0, hash: GENESIS_HASH } : cps.find((c) => c.seq === first - 1);
  const doomed = await d.log.rangeBySeq(first, anchor.seq);
  const check = verifyChain(doomed, undefined, before ?? { seq: first - 1, hash: doomed[0]?.prevHash ?? GENESIS_HASH }, new Map(cps.map((c) => [c.seq, c.hash])));
  if (!check.ok || check.verifiedUpTo !== anchor.seq) return { removed: 0, reason: `refusing to trim: ${check.problem?.message ?? 'records moved while reading'}` };

  const lock = `${d.keys.auditList}:trim-lock`;
  if ((await d.redis.set(lock, String(process.pid), 'PX', 60_000, 'NX')) !== 'OK') return { removed: 0, reason: 'another process is trimming' };
  try {
    const count = anchor.seq - first + 1;
    await d.log.append({
      actor: { type: 'system', name: 'audit' },
      action: 'audit.trimmed',
      target: 'audit log',
      outcome: 'info',
      details: { fromSeq: first, throughSeq: anchor.seq, removed: count, checkpointHash: anchor.hash, keyId: anchor.keyId, ...(maxAgeMs !== undefined ? { maxAgeMs } : {}), ...(maxRecords !== undefined ? { maxRecords } : {}) },
    });
    const removed = Number(await d.redis.eval(TRIM_LUA, 2, d.keys.auditList, d.keys.auditCheckpoints, String(first), String(count), String(anchor.seq)));
    if (removed < 0) return { removed: 0, reason: 'the log changed while trimming; will retry' };
    return { removed, trimmedThrough: anchor.seq };
  } finally {
    await d.redis.del(lock);
  }
}
