// SPDX-License-Identifier: Apache-2.0
/**
 * Routing of node-local actions (`runsOn: node`): the engine puts the step on
 * the queue of the node that raised the alert; that node's agent executes it and
 * reports the outcome to the run itself. A node whose agent has no live
 * heartbeat gets a clear, non-retryable failure (the playbook's onError decides).
 */
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { nodeQueueName } from '../queue/queues.ts';
import { connectionOptions } from '../redis/connect.ts';
import type { Keys } from '../redis/keys.ts';

export interface NodeJob {
  runId: string;
  stepId: string;
  attempt: number;
  action: string;
  params: Record<string, unknown>;
  idempotencyKey: string;
  dryRun: boolean;
  /** Set for a durable follow-up (e.g. tracing switched off when its duration ends): no step result is reported. */
  followUp?: { index: number; reason: string };
}

export interface AgentHeartbeat {
  node: string;
  pid: number;
  version: string;
  startedAt: string;
  sensor: 'running' | 'off' | 'unavailable';
}

export class NodeDispatcher {
  private readonly queues = new Map<string, Queue>();
  private readonly redis: Redis;
  private readonly redisUrl: string;
  private readonly keys: Keys;
  constructor(redis: Redis, redisUrl: string, keys: Keys) {
    this.redis = redis;
    this.redisUrl = redisUrl;
    this.keys = keys;
  }

  async agentOf(node: string): Promise<AgentHeartbeat | undefined> {
    const raw = await this.redis.get(this.keys.agent(node));
    return raw ? (JSON.parse(raw) as AgentHeartbeat) : undefined;
  }

  /** Queues the step for the node's agent; throws when no agent is alive there. */
  async dispatch(node: string, job: NodeJob): Promise<void> {
    let q = this.queues.get(node);
    if (!q) {
      q = new Queue(nodeQueueName(node), { connection: connectionOptions(this.redisUrl), prefix: this.keys.bullPrefix });
      this.queues.set(node, q);
    }
    await q.add('action', job, { jobId: job.idempotencyKey.replace(/:/g, '|'), attempts: 3, backoff: { type: 'exponential', delay: 1000 }, removeOnComplete: { age: 3600 }, removeOnFail: { age: 7 * 86400 } });
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close()));
  }
}
