// SPDX-License-Identifier: Apache-2.0
/**
 * The BullMQ queues: `alerts` (ingested alerts, acknowledged only once stored
 * here), `runs` (events and durable timers of runs), `steps` (step executions).
 * Node-local actions get a queue per node (`node.<name>`).
 */
import { Queue, type JobsOptions } from 'bullmq';
import type { Alert } from '../alerts/alert.ts';
import { connectionOptions } from '../redis/connect.ts';

export const QUEUE_NAMES = { alerts: 'alerts', runs: 'runs', steps: 'steps' } as const;

export function nodeQueueName(node: string): string {
  return `node.${node.replace(/[^A-Za-z0-9_.-]/g, '_')}`;
}

export interface Queues {
  alerts: Queue;
  runs: Queue;
  steps: Queue;
  close(): Promise<void>;
}

export function openQueues(redisUrl: string, prefix: string): Queues {
  const opts = { connection: connectionOptions(redisUrl), prefix };
  const alerts = new Queue(QUEUE_NAMES.alerts, opts);
  const runs = new Queue(QUEUE_NAMES.runs, opts);
  const steps = new Queue(QUEUE_NAMES.steps, opts);
  return {
    alerts,
    runs,
    steps,
    async close() {
      await Promise.all([alerts.close(), runs.close(), steps.close()]);
    },
  };
}

const ALERT_JOB: JobsOptions = { attempts: 10, backoff: { type: 'exponential', delay: 1000 }, removeOnComplete: { age: 86400, count: 100_000 }, removeOnFail: { age: 7 * 86400 } };

/**
 * Persists alerts in the `alerts` queue; resolves only when Redis has them.
 * The alert id is the job id, so a re-sent alert (same Falcosidekick uuid) is stored once.
 */
export async function enqueueAlerts(queue: Queue, alerts: Alert[]): Promise<void> {
  if (alerts.length === 1) {
    await queue.add('alert', alerts[0], { ...ALERT_JOB, jobId: alerts[0]!.id.replace(/:/g, '_') });
    return;
  }
  await queue.addBulk(alerts.map((a) => ({ name: 'alert', data: a, opts: { ...ALERT_JOB, jobId: a.id.replace(/:/g, '_') } })));
}
