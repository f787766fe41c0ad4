// SPDX-License-Identifier: Apache-2.0
/**
 * The `notifications` queue: approval requests and reminders are posted from
 * here, not from the run's own job, so a slow or failing chat service never
 * holds a run worker, and a crash mid-post is redelivered to another engine.
 * Handlers are registered by name (`deliver` is built in; approvals add `reminder`).
 */
import { Queue, Worker, type JobsOptions } from 'bullmq';
import type { Logger } from '../common/log.ts';
import { connectionOptions } from '../redis/connect.ts';
import type { DeliveryContext, Deliverer } from './deliver.ts';
import type { NotificationMessage } from './message.ts';

export const NOTIFICATIONS_QUEUE = 'notifications';

export interface DeliverJob {
  notifier: string;
  message: NotificationMessage;
  ctx: DeliveryContext;
}

type Handler = (data: unknown) => Promise<void>;

export class NotificationQueue {
  readonly queue: Queue;
  private worker?: Worker;
  private readonly handlers = new Map<string, Handler>();
  private readonly redisUrl: string;
  private readonly prefix: string;

  constructor(redisUrl: string, prefix: string) {
    this.redisUrl = redisUrl;
    this.prefix = prefix;
    this.queue = new Queue(NOTIFICATIONS_QUEUE, { connection: connectionOptions(redisUrl), prefix });
  }

  on(name: string, handler: Handler): this {
    this.handlers.set(name, handler);
    return this;
  }

  /** Job ids make enqueueing idempotent: the same id while the job is kept is stored once. */
  async add(name: string, data: unknown, opts: JobsOptions & { jobId: string }): Promise<void> {
    // personal links travel in job data: drop finished jobs at once
    await this.queue.add(name, data, { attempts: 5, backoff: { type: 'exponential', delay: 2000 }, removeOnComplete: true, removeOnFail: { age: 86400 }, ...opts });
  }

  /** Starts the worker (engine processes only; CLI commands just enqueue). */
  start(deliverer: Deliverer, log: Logger, opts: { concurrency?: number; lockDurationMs?: number } = {}): void {
    this.on('deliver', async (data) => {
      const j = data as DeliverJob;
      await deliverer.deliver(j.notifier, j.message, j.ctx);
    });
    this.worker = new Worker(
      NOTIFICATIONS_QUEUE,
      async (job) => {
        const h = this.handlers.get(job.name);
        if (!h) throw new Error(`no handler for notification job ${job.name}`);
        await h(job.data);
      },
      {
        connection: connectionOptions(this.redisUrl),
        prefix: this.prefix,
        concurrency: opts.concurrency ?? 8,
        lockDuration: opts.lockDurationMs ?? 30_000,
        stalledInterval: Math.max(1000, Math.floor((opts.lockDurationMs ?? 30_000) / 2)),
        maxStalledCount: 10,
      },
    );
    this.worker.on('failed', (job, err) => log.error('notification job failed', { job: job?.id, name: job?.name, error: err.message }));
    this.worker.on('error', (err) => log.warn('notification worker error', { error: err.message }));
  }

  async close(): Promise<void> {
    await this.worker?.close();
    await this.queue.close();
  }
}
