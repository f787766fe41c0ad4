// SPDX-License-Identifier: Apache-2.0
/**
 * Run admission: the kill switch (`riposte pause`), per-playbook
 * `options.maxConcurrentRuns` and the global rate limit on run starts. A run
 * that may not start now is held, never dropped: it is persisted, counted,
 * audited (`run.held`) and started, in arrival order per playbook, as soon as
 * it may (on resume, when a run of its playbook finishes, when the rate window
 * allows). Every decision is one Lua script, so several engines admit without
 * a leader and never over-admit.
 *
 * Crash safety: a run about to start is first moved to `starting` (with its
 * entry kept); only after `driver.create` succeeded is it forgotten. An engine
 * that died in between leaves it in `starting`, and any engine's reconcile
 * pass creates it (creation is idempotent by run id).
 */
import type { Redis } from 'ioredis';
import type { AuditLog } from '../audit/log.ts';
import { parseDuration } from '../common/duration.ts';
import type { Logger } from '../common/log.ts';
import type { RunInput } from '../playbooks/compile.ts';
import type { Keys } from '../redis/keys.ts';
import type { RunDriver } from './driver.ts';
import type { RunMeta, RunStore, StoredRun } from './run-store.ts';

export interface AdmissionLimits {
  /** At most `runs` run starts per `window` across all engines. */
  rateLimit?: { runs: number; window: string };
}

interface Entry {
  max: number;
  meta: RunMeta;
  input: RunInput;
}

export type HoldReason = 'paused' | 'queued' | 'maxConcurrentRuns' | 'rateLimit';

// shared gate: why a run may not start now (nil when it may). Needs KEYS 2 queue, 4 active, 6 rate, 7 control
const GATE = `
local function gate(max, now, rc, rw, checkQueue)
  if redis.call('HGET', KEYS[7], 'paused') == '1' then return 'paused' end
  if checkQueue and redis.call('LLEN', KEYS[2]) > 0 then return 'queued' end
  if max > 0 and redis.call('SCARD', KEYS[4]) >= max then return 'maxConcurrentRuns' end
  if rc > 0 then
    redis.call('ZREMRANGEBYSCORE', KEYS[6], '-inf', now - rw)
    if redis.call('ZCARD', KEYS[6]) >= rc then return 'rateLimit' end
  end
  return nil
end
local function reserve(id, max, now, rc)
  if max > 0 then redis.call('SADD', KEYS[4], id) end
  if rc > 0 then redis.call('ZADD', KEYS[6], now, id) end
  redis.call('ZADD', KEYS[5], now, id)
end
`;

// KEYS: 1 entries, 2 queue(pb), 3 playbooks, 4 active(pb), 5 starting, 6 rate, 7 control, 8 run, 9 limited
// ARGV: 1 id, 2 entry, 3 max, 4 now, 5 rate count, 6 rate window ms, 7 playbook
const ADMIT_LUA = `${GATE}
if redis.call('EXISTS', KEYS[8]) == 1 then return {'exists'} end
if redis.call('ZSCORE', KEYS[5], ARGV[1]) then return {'start'} end
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return {'held', 'already held', redis.call('LLEN', KEYS[2])} end
local max, now, rc, rw = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if max > 0 then redis.call('SADD', KEYS[9], ARGV[7]) end
local why = gate(max, now, rc, rw, true)
if why then
  redis.call('RPUSH', KEYS[2], ARGV[1])
  redis.call('SADD', KEYS[3], ARGV[7])
  return {'held', why, redis.call('LLEN', KEYS[2])}
end
reserve(ARGV[1], max, now, rc)
return {'start'}
`;

// KEYS as ADMIT (8 unused). ARGV: 1 now, 2 rate count, 3 rate window ms, 4 playbook
const RELEASE_LUA = `${GATE}
local id = redis.call('LINDEX', KEYS[2], 0)
if not id then redis.call('SREM', KEYS[3], ARGV[4]) return {'empty'} end
local entry = redis.call('HGET', KEYS[1], id)
if not entry then redis.call('LPOP', KEYS[2]) return {'skip'} end
local max = tonumber(cjson.decode(entry).max) or 0
local why = gate(max, tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), false)
if why then return {'wait', why} end
redis.call('LPOP', KEYS[2])
reserve(id, max, tonumber(ARGV[1]), tonumber(ARGV[2]))
return {'start', id, entry}
`;

const DONE_LUA = `
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return 1
`;

export interface AdmissionDeps {
  redis: Redis;
  keys: Keys;
  driver: RunDriver;
  runs: RunStore;
  audit: AuditLog;
  log: Logger;
  now: () => Date;
  limits?: AdmissionLimits;
  /** Called for each held run started later (the alert processor counts the ones it starts itself). */
  onStarted?: (meta: RunMeta) => void;
}

export class Admission {
  private readonly d: AdmissionDeps;
  private readonly rate: { count: number; windowMs: number };
  private timer?: NodeJS.Timeout;
  private lastReconcile = 0;
  private ticking = false;
  /** Cached kill-switch state, refreshed by every tick. */
  paused = false;

  constructor(deps: AdmissionDeps) {
    this.d = deps;
    const r = deps.limits?.rateLimit;
    this.rate = r ? { count: r.runs, windowMs: parseDuration(r.window) } : { count: 0, windowMs: 0 };
  }

  private keysFor(playbook: string, runId = ''): string[] {
    const a = this.d.keys.admission;
    return [a.entries, a.queue(playbook), a.playbooks, a.active(playbook), a.starting, a.rate, this.d.keys.control, this.d.keys.run(runId), a.limited];
  }

  /** Starts the run now, or holds it; returns true when this call created it. */
  async admit(meta: RunMeta, input: RunInput): Promise<boolean> {
    const max = meta.model.options.maxConcurrentRuns ?? 0;
    const entry: Entry = { max, meta, input };
    const now = this.d.now().getTime();
    const r = (await this.d.redis.eval(ADMIT_LUA, 9, ...this.keysFor(meta.playbook, meta.id), meta.id, JSON.stringify(entry), String(max), String(now), String(this.rate.count), String(this.rate.windowMs), meta.playbook)) as [string, string?, number?];
    if (r[0] === 'held') {
      if (r[1] !== 'already held') {
        await this.d.audit.append({
          actor: { type: 'system', name: 'engine' },
          action: 'run.held',
          target: meta.playbook,
          outcome: 'info',
          incidentId: meta.incidentId,
          runId: meta.id,
          details: { reason: r[1], waiting: r[2], alertId: meta.alertId, ...(r[1] === 'maxConcurrentRuns' ? { maxConcurrentRuns: max } : {}), ...(r[1] === 'rateLimit' ? { rateLimit: this.rate } : {}) },
        });
      }
      return false;
    }
    // 'start' (reserved for us, or claimed by an engine that died) or 'exists' (create re-ensures its effects)
    const created = await this.d.driver.create(meta, input);
    if (r[0] !== 'exists') await this.done(meta.id);
    return created;
  }

  private async done(runId: string): Promise<void> {
    await this.d.redis.eval(DONE_LUA, 2, this.d.keys.admission.entries, this.d.keys.admission.starting, runId);
  }

  /** Starts the held runs of one playbook that may start now. */
  async release(playbook: string): Promise<number> {
    let started = 0;
    for (let i = 0; i < 10_000; i++) {
      const r = (await this.d.redis.eval(RELEASE_LUA, 9, ...this.keysFor(playbook), String(this.d.now().getTime()), String(this.rate.count), String(this.rate.windowMs), playbook)) as [string, string?, string?];
      if (r[0] === 'skip') continue;
      if (r[0] !== 'start') break;
      const entry = JSON.parse(r[2]!) as Entry;
      if (await this.d.driver.create(entry.meta, entry.input)) {
        started++;
        this.d.onStarted?.(entry.meta);
      }
      await this.done(r[1]!);
    }
    return started;
  }

  /** A run ended: free its concurrency slot and start the next held run of its playbook. */
  async finished(run: StoredRun): Promise<void> {
    if (!(run.meta.model.options.maxConcurrentRuns ?? 0)) return;
    await this.d.redis.srem(this.d.keys.admission.active(run.meta.playbook), run.meta.id);
    await this.release(run.meta.playbook);
  }

  /** One pass: refresh the pause flag, release what may start, and (every few seconds) repair after crashes. */
  async tick(): Promise<void> {
    if (this.ticking) return;
    this.ticking = true;
    try {
      this.paused = (await this.d.redis.hget(this.d.keys.control, 'paused')) === '1';
      if (!this.paused) for (const pb of await this.d.redis.smembers(this.d.keys.admission.playbooks)) await this.release(pb);
      const now = this.d.now().getTime();
      if (now - this.lastReconcile > 5000) {
        this.lastReconcile = now;
        await this.reconcile(now);
      }
    } catch (err) {
      this.d.log.warn('admission tick failed', { error: (err as Error).message });
    } finally {
      this.ticking = false;
    }
  }

  private async reconcile(now: number): Promise<void> {
    const a = this.d.keys.admission;
    // runs an engine reserved but did not get to create (it died): create them
    for (const id of await this.d.redis.zrangebyscore(a.starting, '-inf', String(now - 15_000))) {
      const raw = await this.d.redis.hget(a.entries, id);
      if (raw) {
        const entry = JSON.parse(raw) as Entry;
        if (await this.d.driver.create(entry.meta, entry.input)) this.d.onStarted?.(entry.meta);
      }
      await this.done(id);
    }
    // concurrency slots of runs that ended while their engine died before freeing them
    for (const pb of await this.d.redis.smembers(a.limited)) {
      for (const id of await this.d.redis.smembers(a.active(pb))) {
        if (await this.d.redis.zscore(a.starting, id)) continue;
        const run = await this.d.runs.get(id);
        if (run?.state.status !== 'running') {
          await this.d.redis.srem(a.active(pb), id);
          await this.release(pb);
        }
      }
    }
  }

  start(everyMs = 500): void {
    this.timer = setInterval(() => void this.tick(), everyMs);
    this.timer.unref();
    void this.tick();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }
}

/** Pause state and held-run counts, for `riposte pause|resume` and the API. */
export async function admissionStatus(redis: Redis, keys: Keys): Promise<{ paused: boolean; pausedBy?: string; pausedAt?: string; reason?: string; held: number; byPlaybook: Record<string, number> }> {
  const c = await redis.hgetall(keys.control);
  const byPlaybook: Record<string, number> = {};
  let held = 0;
  for (const pb of await redis.smembers(keys.admission.playbooks)) {
    const n = await redis.llen(keys.admission.queue(pb));
    if (n) byPlaybook[pb] = n;
    held += n;
  }
  return { paused: c.paused === '1', ...(c.pausedBy ? { pausedBy: c.pausedBy } : {}), ...(c.pausedAt ? { pausedAt: c.pausedAt } : {}), ...(c.reason ? { reason: c.reason } : {}), held, byPlaybook };
}

/** Sets or clears the kill switch. */
export async function setPaused(redis: Redis, keys: Keys, paused: boolean, by: string, reason?: string, now: Date = new Date()): Promise<void> {
  if (paused) await redis.hset(keys.control, 'paused', '1', 'pausedBy', by, 'pausedAt', now.toISOString(), 'reason', reason ?? '');
  else await redis.hdel(keys.control, 'paused', 'pausedBy', 'pausedAt', 'reason');
}
