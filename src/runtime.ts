// SPDX-License-Identifier: Apache-2.0
/**
 * The shared services of one Riposte process: Redis, the queues, the audit log,
 * run and incident stores. The engine workers and the HTTP server both use them.
 */
import type { Redis } from 'ioredis';
import { CheckpointStore } from './audit/checkpoints.ts';
import { AuditLog } from './audit/log.ts';
import type { RiposteConfig } from './config/schema.ts';
import { IncidentStore } from './engine/incidents.ts';
import { RunStore } from './engine/run-store.ts';
import { createMetrics, type Metrics } from './metrics.ts';
import { openQueues, type Queues } from './queue/queues.ts';
import { createRedis } from './redis/connect.ts';
import { makeKeys, type Keys } from './redis/keys.ts';

export interface Runtime {
  redisUrl: string;
  redis: Redis;
  keys: Keys;
  queues: Queues;
  audit: AuditLog;
  /** Signed checkpoints over the audit chain (written by the checkpointer, read by verify). */
  checkpoints: CheckpointStore;
  runs: RunStore;
  incidents: IncidentStore;
  metrics: Metrics;
  now: () => Date;
  close(): Promise<void>;
}

export function openRuntime(config: RiposteConfig, redisUrl: string, opts: { now?: () => Date; metrics?: Metrics } = {}): Runtime {
  const keys = makeKeys(config.redis.prefix);
  const redis = createRedis(redisUrl);
  redis.on('error', () => {}); // surfaced through /readyz and failing calls, not as crashes
  const queues = openQueues(redisUrl, keys.bullPrefix);
  const now = opts.now ?? (() => new Date());
  const metrics = opts.metrics ?? createMetrics();
  const audit = new AuditLog(redis, keys, { now });
  audit.onAppend = () => metrics.auditRecords.inc();
  return {
    redisUrl,
    redis,
    keys,
    queues,
    audit,
    checkpoints: new CheckpointStore(redis, keys),
    runs: new RunStore(redis, keys),
    incidents: new IncidentStore(redis, keys),
    metrics,
    now,
    async close() {
      await queues.close();
      redis.disconnect();
    },
  };
}
