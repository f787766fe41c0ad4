// SPDX-License-Identifier: Apache-2.0
/**
 * Approval records in Redis. The record is written once; status and votes
 * change only inside Lua scripts, so two people voting at the same moment, or
 * a vote racing the expiry timer, always end in one consistent outcome: a vote
 * is counted once per person, deny wins, quorum counts distinct people, and
 * whichever of "decided" and "expired" happens first is final.
 *
 * Layout: `approval:<id>` hash {record, status, approvals, expiresAt, decidedAt,
 * notifiedAt, closedReason}, `approval:<id>:votes` hash person → vote JSON,
 * `approvals:pending` (by expiry) and `approvals:all` (by creation) sorted sets.
 */
import type { Redis } from 'ioredis';
import type { Keys } from '../redis/keys.ts';
import type { ApprovalRecord, ApprovalStatus, ApprovalView, Decision, Vote } from './model.ts';

const RETENTION_MS = 30 * 86_400_000;

// KEYS: approval, pending, all. ARGV: record, expiresAt ms, createdAt ms, id, retention ms
const CREATE_LUA = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'record', ARGV[1], 'status', 'pending', 'approvals', 0, 'expiresAt', ARGV[2])
redis.call('PEXPIREAT', KEYS[1], tonumber(ARGV[2]) + tonumber(ARGV[5]))
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[4])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', tonumber(ARGV[3]) - tonumber(ARGV[5]))
return 1
`;

// KEYS: approval, votes, pending. ARGV: person, vote json, decision, minApprovals, now ms, id, now iso
const VOTE_LUA = `
local st = redis.call('HGET', KEYS[1], 'status')
if not st then return {'missing', ''} end
if st ~= 'pending' then return {'closed', st} end
if tonumber(redis.call('HGET', KEYS[1], 'expiresAt')) <= tonumber(ARGV[5]) then return {'expired', st} end
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then return {'duplicate', st} end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('PEXPIRE', KEYS[2], redis.call('PTTL', KEYS[1]))
if ARGV[3] == 'denied' then
  redis.call('HSET', KEYS[1], 'status', 'denied', 'decidedAt', ARGV[7])
  redis.call('ZREM', KEYS[3], ARGV[6])
  return {'decided', 'denied'}
end
local n = redis.call('HINCRBY', KEYS[1], 'approvals', 1)
if n >= tonumber(ARGV[4]) then
  redis.call('HSET', KEYS[1], 'status', 'approved', 'decidedAt', ARGV[7])
  redis.call('ZREM', KEYS[3], ARGV[6])
  return {'decided', 'approved'}
end
return {'recorded', 'pending'}
`;

// KEYS: approval, pending. ARGV: new status, id, now iso, reason
const CLOSE_LUA = `
local st = redis.call('HGET', KEYS[1], 'status')
if not st then return {0, ''} end
if st ~= 'pending' then return {0, st} end
redis.call('HSET', KEYS[1], 'status', ARGV[1], 'decidedAt', ARGV[3], 'closedReason', ARGV[4])
redis.call('ZREM', KEYS[2], ARGV[2])
return {1, ARGV[1]}
`;

export type VoteOutcome = 'recorded' | 'decided' | 'duplicate' | 'closed' | 'expired' | 'missing';

export class ApprovalStore {
  private readonly redis: Redis;
  private readonly keys: Keys;
  constructor(redis: Redis, keys: Keys) {
    this.redis = redis;
    this.keys = keys;
  }

  /** Creates the record once; false when it already exists. */
  async create(rec: ApprovalRecord): Promise<boolean> {
    const r = await this.redis.eval(CREATE_LUA, 3, this.keys.approval(rec.id), this.keys.approvalsPending, this.keys.approvalsAll, JSON.stringify(rec), String(Date.parse(rec.expiresAt)), String(Date.parse(rec.createdAt)), rec.id, String(RETENTION_MS));
    return r === 1;
  }

  async get(id: string): Promise<ApprovalView | undefined> {
    const [h, votes] = await Promise.all([this.redis.hgetall(this.keys.approval(id)), this.redis.hvals(this.keys.approvalVotes(id))]);
    if (!h.record) return undefined;
    const rec = JSON.parse(h.record) as ApprovalRecord;
    return {
      ...rec,
      status: h.status as ApprovalStatus,
      approvals: Number(h.approvals ?? 0),
      votes: votes.map((v) => JSON.parse(v) as Vote).sort((a, b) => a.at.localeCompare(b.at)),
      ...(h.decidedAt ? { decidedAt: h.decidedAt } : {}),
      ...(h.closedReason ? { closedReason: h.closedReason } : {}),
    };
  }

  async vote(view: ApprovalRecord, vote: Vote, now: Date): Promise<{ outcome: VoteOutcome; status: string }> {
    const r = (await this.redis.eval(VOTE_LUA, 3, this.keys.approval(view.id), this.keys.approvalVotes(view.id), this.keys.approvalsPending, vote.person, JSON.stringify(vote), vote.decision, String(view.minApprovals), String(now.getTime()), view.id, now.toISOString())) as [VoteOutcome, string];
    return { outcome: r[0], status: r[1] };
  }

  /** Ends a pending approval without a decision (`expired`, `closed`); returns whether this call did it and the status after. */
  async close(id: string, status: 'expired' | 'closed', reason: string, now: Date): Promise<{ changed: boolean; status: string }> {
    const r = (await this.redis.eval(CLOSE_LUA, 2, this.keys.approval(id), this.keys.approvalsPending, status, id, now.toISOString(), reason)) as [number, string];
    return { changed: r[0] === 1, status: r[1] };
  }

  async markNotified(id: string, now: Date): Promise<void> {
    await this.redis.hset(this.keys.approval(id), 'notifiedAt', now.toISOString());
  }

  async notifiedAt(id: string): Promise<string | null> {
    return this.redis.hget(this.keys.approval(id), 'notifiedAt');
  }

  async pendingIds(limit = 500): Promise<string[]> {
    return this.redis.zrange(this.keys.approvalsPending, '0', String(limit - 1));
  }

  async recentIds(limit = 200): Promise<string[]> {
    return this.redis.zrevrange(this.keys.approvalsAll, 0, limit - 1);
  }

  /** Ids starting with `prefix` among recent approvals (the CLI accepts unique prefixes). */
  async findByPrefix(prefix: string): Promise<string[]> {
    const ids = await this.redis.zrevrange(this.keys.approvalsAll, 0, 4999);
    return ids.filter((id) => id.startsWith(prefix));
  }
}

export function isDecision(s: string): s is Decision {
  return s === 'approved' || s === 'denied';
}
