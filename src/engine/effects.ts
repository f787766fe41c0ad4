// SPDX-License-Identifier: Apache-2.0
/**
 * Turns the effects a run's state asks for into BullMQ jobs, idempotently: each
 * job id is derived from run, step, attempt and kind, so calling this twice (a
 * retried event, a worker that died after saving) never doubles an effect.
 * Waiting holds no worker: timers are delayed jobs.
 */
import { Job, type Queue } from 'bullmq';
import { parseDuration } from '../common/duration.ts';
import { type Step, walkSteps } from '../playbooks/model.ts';
import type { RunStore } from './run-store.ts';
import type { EffectMeta } from '../playbooks/compile.ts';

export interface ExecuteJob {
  runId: string;
  stepId: string;
  attempt: number;
  /** Set when the kill switch held this step (its timeout then counts from when it starts). */
  held?: boolean;
}
/** A durable follow-up action (see ActionResult.followUps), run after its delay. */
export interface FollowUpJob {
  runId: string;
  stepId: string;
  key: string;
  index: number;
  action: string;
  params: Record<string, unknown>;
  reason: string;
}
export interface EventJob {
  runId: string;
  event: import('../playbooks/compile.ts').RunEvent;
}

export function backoffDelay(step: Step, tries: number): number {
  const r = step.retry;
  if (!r) return 0;
  const base = parseDuration(r.backoff ?? '1s');
  const delay = base * (r.factor ?? 2) ** Math.max(0, tries - 1);
  return Math.min(delay, r.maxBackoff ? parseDuration(r.maxBackoff) : 3_600_000);
}

export interface EffectQueues {
  steps: Queue;
  runs: Queue;
}

/** Job ids may not contain ':' in BullMQ; '|' separates parts. */
export const jobId = (...parts: (string | number)[]) => parts.join('|');

export type EffectHook = (kind: 'approval', runId: string, stepId: string, attempt: number) => Promise<void>;

export async function scheduleEffects(
  q: EffectQueues,
  runId: string,
  effects: (EffectMeta & { attempt: number; tries: number })[],
  stepOf: (id: string) => Step,
  onApproval?: EffectHook,
): Promise<void> {
  for (const e of effects) {
    const step = stepOf(e.stepId);
    const keep = { removeOnComplete: { age: 3600 }, removeOnFail: { age: 7 * 86400 } };
    if (e.effect === 'execute') {
      await q.steps.add('execute', { runId, stepId: e.stepId, attempt: e.attempt } satisfies ExecuteJob, { jobId: jobId('x', runId, e.stepId, e.attempt), attempts: 5, backoff: { type: 'exponential', delay: 1000 }, ...keep });
      if (step.timeout) {
        const event = { type: 'TIMER', stepId: e.stepId, attempt: e.attempt, timer: 'timeout' } as const;
        await q.runs.add('event', { runId, event } satisfies EventJob, { jobId: jobId('t', runId, e.stepId, e.attempt, 'timeout'), delay: parseDuration(step.timeout), attempts: 10, backoff: { type: 'exponential', delay: 500 }, ...keep });
      }
    } else if (e.effect === 'timer') {
      const delay = e.timer === 'wait' ? parseDuration((step as { wait: string }).wait) : backoffDelay(step, e.tries);
      const event = { type: 'TIMER', stepId: e.stepId, attempt: e.attempt, timer: e.timer } as const;
      await q.runs.add('event', { runId, event } satisfies EventJob, { jobId: jobId('t', runId, e.stepId, e.attempt, e.timer), delay, attempts: 10, backoff: { type: 'exponential', delay: 500 }, ...keep });
    } else if (e.effect === 'approval') {
      const a = (step as { approval: { timeout: string } }).approval;
      const event = { type: 'TIMER', stepId: e.stepId, attempt: e.attempt, timer: 'expiry' } as const;
      await q.runs.add('event', { runId, event } satisfies EventJob, { jobId: jobId('t', runId, e.stepId, e.attempt, 'expiry'), delay: parseDuration(a.timeout), attempts: 10, backoff: { type: 'exponential', delay: 500 }, ...keep });
      await onApproval?.('approval', runId, e.stepId, e.attempt);
    }
  }
}

/**
 * The kill switch and step timeouts: a step held by `riposte pause` has not
 * started, so its timeout must not run out meanwhile. While the step is held its
 * timeout timer is pushed to `timeout + slackMs` from now (the hold repeats
 * every second, so it never fires while held); when the step finally starts it
 * is set to `timeout` from then. No timer, or one that already fired: nothing to do.
 */
export async function deferStepTimeout(runsQueue: Queue, runs: RunStore, job: ExecuteJob, slackMs: number): Promise<void> {
  const run = await runs.get(job.runId);
  const step = run && walkSteps(run.meta.model.steps).find((s) => s.step.id === job.stepId)?.step;
  if (!step?.timeout) return;
  const timer = await Job.fromId(runsQueue, jobId('t', job.runId, job.stepId, job.attempt, 'timeout'));
  if (timer && (await timer.isDelayed())) await timer.changeDelay(parseDuration(step.timeout) + slackMs);
}
