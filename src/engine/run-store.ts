// SPDX-License-Identifier: Apache-2.0
/**
 * Runs in Redis. A run keeps the playbook model it started with (so a changed
 * playbook file never changes a run in flight), the machine version, and its
 * XState snapshot `{value, context}`, saved after every transition with a
 * compare-and-set on `rev` so concurrent writers never lose an update.
 */
import type { Redis } from 'ioredis';
import type { Keys } from '../redis/keys.ts';
import type { Playbook } from '../playbooks/model.ts';
import type { RunContext } from '../playbooks/compile.ts';

export type RunStatus = 'running' | 'succeeded' | 'failed' | 'denied' | 'cancelled';

export interface RunMeta {
  id: string;
  playbook: string;
  playbookVersion: string;
  machineVersion: number;
  model: Playbook;
  incidentId: string;
  alertId: string;
  dryRun: boolean;
  createdAt: string;
  /** Who started it: `system` for alerts, a person for manual runs. */
  startedBy: string;
}

export interface RunState {
  status: RunStatus;
  value: unknown;
  context: RunContext;
  updatedAt: string;
}

export interface StoredRun {
  meta: RunMeta;
  state: RunState;
  rev: number;
}

const CREATE_LUA = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'meta', ARGV[1], 'state', ARGV[2], 'rev', 1)
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[4])
redis.call('SADD', KEYS[3], ARGV[4])
return 1
`;
const SAVE_LUA = `
if redis.call('HGET', KEYS[1], 'rev') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'state', ARGV[2], 'rev', tonumber(ARGV[1]) + 1)
return 1
`;

export class RunStore {
  private readonly redis: Redis;
  private readonly keys: Keys;
  constructor(redis: Redis, keys: Keys) {
    this.redis = redis;
    this.keys = keys;
  }

  /** Creates the run once; returns false when it already exists (an alert processed twice). */
  async create(meta: RunMeta, state: RunState): Promise<boolean> {
    const r = await this.redis.eval(CREATE_LUA, 3, this.keys.run(meta.id), this.keys.runIndex, this.keys.runsByIncident(meta.incidentId), JSON.stringify(meta), JSON.stringify(state), String(Date.parse(meta.createdAt)), meta.id);
    return r === 1;
  }

  async get(id: string): Promise<StoredRun | undefined> {
    const [meta, state, rev] = await this.redis.hmget(this.keys.run(id), 'meta', 'state', 'rev');
    if (!meta || !state || !rev) return undefined;
    return { meta: JSON.parse(meta) as RunMeta, state: JSON.parse(state) as RunState, rev: Number(rev) };
  }

  /** Saves when nobody saved since `rev`; false means reload and retry. */
  async save(id: string, rev: number, state: RunState): Promise<boolean> {
    return (await this.redis.eval(SAVE_LUA, 1, this.keys.run(id), String(rev), JSON.stringify(state))) === 1;
  }

  async list(opts: { limit?: number } = {}): Promise<StoredRun[]> {
    const ids = await this.redis.zrevrange(this.keys.runIndex, 0, (opts.limit ?? 100) - 1);
    const runs = await Promise.all(ids.map((id) => this.get(id)));
    return runs.filter((r): r is StoredRun => r !== undefined);
  }

  async byIncident(incidentId: string): Promise<StoredRun[]> {
    const ids = await this.redis.smembers(this.keys.runsByIncident(incidentId));
    const runs = await Promise.all(ids.map((id) => this.get(id)));
    return runs.filter((r): r is StoredRun => r !== undefined);
  }
}
