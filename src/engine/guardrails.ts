// SPDX-License-Identifier: Apache-2.0
/**
 * Guardrails checked before any action runs: protected namespaces and limits on
 * destructive actions per time window (per playbook and global). A refusal says why.
 */
import type { Redis } from 'ioredis';
import type { ActionDefinition } from '../actions/types.ts';
import { parseDuration } from '../common/duration.ts';
import type { Keys } from '../redis/keys.ts';
import type { StoredRun } from './run-store.ts';

export interface GuardrailConfig {
  protectedNamespaces: string[];
  maxDestructiveActions?: { count: number; window: string };
}

export interface Guardrails {
  check(opts: { action: ActionDefinition; params: Record<string, unknown>; run: StoredRun; dryRun: boolean; stepId: string }): Promise<string | undefined>;
}

// KEYS[1] sorted set of recent destructive actions; ARGV: now, window ms, limit, member
const LIMIT_LUA = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', tonumber(ARGV[1]) - tonumber(ARGV[2]))
if redis.call('ZSCORE', KEYS[1], ARGV[4]) then return 1 end
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
`;

export function namespaceOf(params: Record<string, unknown>, alert: { output_fields: Record<string, unknown> }): string | undefined {
  if (typeof params.namespace === 'string') return params.namespace;
  const ns = alert.output_fields['k8s.ns.name'];
  return typeof ns === 'string' && ns ? ns : undefined;
}

export function createGuardrails(redis: Redis, keys: Keys, global: GuardrailConfig, now: () => Date = () => new Date()): Guardrails {
  return {
    async check({ action, params, run, dryRun, stepId }) {
      if (!action.destructive && action.runsOn === 'engine') return undefined;
      const pbRails = run.meta.model.options.guardrails ?? {};
      const protectedNs = new Set([...global.protectedNamespaces, ...(pbRails.protectedNamespaces ?? [])]);
      const ns = namespaceOf(params, run.state.context.alert);
      if (ns && protectedNs.has(ns)) return `namespace "${ns}" is protected (guardrails.protectedNamespaces)`;
      if (!action.destructive || dryRun) return undefined;
      const member = `${run.meta.id}:${stepId}`;
      for (const [scope, limit] of [
        [`playbook:${run.meta.playbook}`, pbRails.maxDestructiveActions],
        ['global', global.maxDestructiveActions],
      ] as const) {
        if (!limit) continue;
        const ok = await redis.eval(LIMIT_LUA, 1, keys.idempotency(`destructive:${scope}`), String(now().getTime()), String(parseDuration(limit.window)), String(limit.count), member);
        if (ok !== 1) return `more than ${limit.count} destructive actions in ${limit.window} (${scope === 'global' ? 'global' : 'playbook'} guardrail)`;
      }
      return undefined;
    },
  };
}
