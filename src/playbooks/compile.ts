// SPDX-License-Identifier: Apache-2.0
/**
 * Compiles a validated playbook into an XState machine. The machine is pure:
 * it decides what happens next and records outcomes in its context. It runs no
 * action, starts no timer and reads no clock; every state that needs the world
 * carries `meta.effect`, which the engine turns into queue jobs (execute a step,
 * fire a timer, open an approval). Every state has an explicit id (`step:<id>`,
 * `step:<id>:active`, `run:failed`, …) so persisted snapshots stay readable.
 *
 * Events: STEP_DONE / STEP_FAILED (from a step execution), TIMER (backoff, wait,
 * timeout, expiry), DECISION (approval outcome), CANCEL. Each carries the
 * attempt number it belongs to; stale events (an earlier attempt, a state left
 * already) match no transition and change nothing.
 */
import { assign, setup, type AnyStateMachine } from 'xstate';
import type { Alert } from '../alerts/alert.ts';
import { playbookCondition } from './conditions.ts';
import { stepKind, type Playbook, type Step } from './model.ts';

export interface StepRecord {
  status: 'succeeded' | 'failed' | 'skipped' | 'approved' | 'denied' | 'timedout';
  output?: unknown;
  error?: string;
}

export interface RunContext {
  alert: Alert;
  runId: string;
  incidentId: string;
  /** Monotonic per step: each entry into the step's active state increments it (idempotency keys use it). */
  attempts: Record<string, number>;
  /** Tries of the current visit (reset on entry), compared with `retry.attempts`. */
  tries: Record<string, number>;
  steps: Record<string, StepRecord>;
  /** Step ids in the order they were entered (for the UI's highlighted diagram). */
  visited: string[];
  error?: string;
}

export interface RunInput {
  alert: Alert;
  runId: string;
  incidentId: string;
}

export type RunEvent =
  | { type: 'STEP_DONE'; stepId: string; attempt: number; output: unknown }
  | { type: 'STEP_FAILED'; stepId: string; attempt: number; error: string; retryable?: boolean }
  | { type: 'TIMER'; stepId: string; attempt: number; timer: 'backoff' | 'wait' | 'timeout' | 'expiry' }
  | { type: 'DECISION'; stepId: string; attempt: number; decision: 'approved' | 'denied' }
  | { type: 'CANCEL'; reason: string };

export type EffectMeta =
  | { effect: 'execute'; stepId: string }
  | { effect: 'approval'; stepId: string }
  | { effect: 'timer'; timer: 'backoff' | 'wait'; stepId: string };

export const FINAL_STATES = ['succeeded', 'failed', 'denied', 'cancelled'] as const;
export type FinalState = (typeof FINAL_STATES)[number];

const MAX_VISITED = 500;

type StateConfig = Record<string, unknown>;

export function stepsById(pb: Playbook): Map<string, Step> {
  const m = new Map<string, Step>();
  const walk = (steps: Step[]) => {
    for (const s of steps) {
      m.set(s.id, s);
      if ('parallel' in s) for (const b of s.parallel.branches) walk(b.steps);
    }
  };
  walk(pb.steps);
  return m;
}

export function compilePlaybook(pb: Playbook): AnyStateMachine {
  const byId = stepsById(pb);
  const matches = (e: RunEvent, ctx: RunContext, stepId: string) => 'stepId' in e && e.stepId === stepId && 'attempt' in e && e.attempt === ctx.attempts[stepId];

  const m = setup({
    types: {} as { context: RunContext; events: RunEvent; input: RunInput },
    guards: {
      skip: ({ context }, p: { stepId: string }) => {
        const cond = byId.get(p.stepId)?.if;
        if (!cond) return false;
        return !playbookCondition(cond)({ alert: context.alert, steps: context.steps });
      },
      is: ({ context, event }, p: { stepId: string; type: RunEvent['type']; timer?: string; decision?: string }) =>
        event.type === p.type &&
        matches(event, context, p.stepId) &&
        (p.timer === undefined || (event as { timer?: string }).timer === p.timer) &&
        (p.decision === undefined || (event as { decision?: string }).decision === p.decision),
      canRetry: ({ context, event }, p: { stepId: string }) => {
        const step = byId.get(p.stepId);
        if (!step?.retry || !matches(event, context, p.stepId)) return false;
        const isFailure = event.type === 'STEP_FAILED' ? event.retryable !== false : event.type === 'TIMER' && event.timer === 'timeout';
        return isFailure && (context.tries[p.stepId] ?? 0) < step.retry.attempts;
      },
      isFailure: ({ context, event }, p: { stepId: string }) =>
        matches(event, context, p.stepId) && (event.type === 'STEP_FAILED' || (event.type === 'TIMER' && event.timer === 'timeout')),
    },
    actions: {
      enter: assign(({ context }, p: { stepId: string }) => ({
        tries: { ...context.tries, [p.stepId]: 0 },
        visited: [...context.visited, p.stepId].slice(-MAX_VISITED),
      })),
      begin: assign(({ context }, p: { stepId: string }) => ({
        attempts: { ...context.attempts, [p.stepId]: (context.attempts[p.stepId] ?? 0) + 1 },
        tries: { ...context.tries, [p.stepId]: (context.tries[p.stepId] ?? 0) + 1 },
      })),
      record: assign(({ context, event }, p: { stepId: string; status: StepRecord['status'] }) => {
        const rec: StepRecord = { status: p.status };
        if (event.type === 'STEP_DONE') rec.output = event.output;
        if (event.type === 'STEP_FAILED') rec.error = event.error;
        if (event.type === 'TIMER' && event.timer === 'timeout') rec.error = 'timed out';
        return { steps: { ...context.steps, [p.stepId]: rec } };
      }),
      fail: assign(({ event }, p: { stepId: string }) => ({
        error: `step ${p.stepId} failed: ${event.type === 'STEP_FAILED' ? event.error : event.type === 'TIMER' ? 'timed out' : event.type}`,
      })),
      cancelled: assign(({ event }) => ({ error: event.type === 'CANCEL' ? `cancelled: ${event.reason}` : 'cancelled' })),
    },
  });

  const failureTransitions = (step: Step, next: string) => {
    const id = step.id;
    const list: unknown[] = [];
    if (step.retry) list.push({ guard: { type: 'canRetry', params: { stepId: id } }, target: `#step:${id}:backoff` });
    const onError = step.onError ?? 'fail';
    const record = { type: 'record', params: { stepId: id, status: 'failed' } };
    if (onError === 'continue') list.push({ guard: { type: 'isFailure', params: { stepId: id } }, target: next, actions: [record] });
    else if (typeof onError === 'object') list.push({ guard: { type: 'isFailure', params: { stepId: id } }, target: `#step:${onError.goto}`, reenter: true, actions: [record] });
    else list.push({ guard: { type: 'isFailure', params: { stepId: id } }, target: '#run:failed', actions: [record, { type: 'fail', params: { stepId: id } }] });
    return list;
  };

  const compileSequence = (steps: Step[], end: string): Record<string, StateConfig> => {
    const states: Record<string, StateConfig> = {};
    steps.forEach((step, i) => {
      const next = i + 1 < steps.length ? `#step:${steps[i + 1]!.id}` : end;
      states[step.id] = compileStep(step, next);
    });
    return states;
  };

  const compileStep = (step: Step, next: string): StateConfig => {
    const id = step.id;
    const p = { stepId: id };
    const kind = stepKind(step);
    const enter = {
      always: [
        { guard: { type: 'skip', params: p }, target: next, actions: [{ type: 'record', params: { stepId: id, status: 'skipped' } }] },
        { target: kind === 'parallel' ? `#step:${id}:branches` : `#step:${id}:active` },
      ],
    };
    const base = { id: `step:${id}`, initial: 'enter', entry: [{ type: 'enter', params: p }] };
    const backoff = {
      id: `step:${id}:backoff`,
      meta: { effect: 'timer', timer: 'backoff', stepId: id } satisfies EffectMeta,
      on: { TIMER: { guard: { type: 'is', params: { stepId: id, type: 'TIMER', timer: 'backoff' } }, target: `#step:${id}:active` } },
    };
    switch (kind) {
      case 'action':
      case 'notify':
        return {
          ...base,
          states: {
            enter,
            active: {
              id: `step:${id}:active`,
              entry: [{ type: 'begin', params: p }],
              meta: { effect: 'execute', stepId: id } satisfies EffectMeta,
              on: {
                STEP_DONE: { guard: { type: 'is', params: { stepId: id, type: 'STEP_DONE' } }, target: next, actions: [{ type: 'record', params: { stepId: id, status: 'succeeded' } }] },
                STEP_FAILED: failureTransitions(step, next),
                TIMER: failureTransitions(step, next),
              },
            },
            backoff,
          },
        };
      case 'wait':
        return {
          ...base,
          states: {
            enter,
            active: {
              id: `step:${id}:active`,
              entry: [{ type: 'begin', params: p }],
              meta: { effect: 'timer', timer: 'wait', stepId: id } satisfies EffectMeta,
              on: { TIMER: { guard: { type: 'is', params: { stepId: id, type: 'TIMER', timer: 'wait' } }, target: next, actions: [{ type: 'record', params: { stepId: id, status: 'succeeded' } }] } },
            },
          },
        };
      case 'approval': {
        const a = (step as Extract<Step, { approval: unknown }>).approval;
        const onTimeout = a.onTimeout ?? 'deny';
        const timeoutTarget = onTimeout === 'deny' ? '#run:denied' : next;
        const timeoutStatus = onTimeout === 'approve' ? 'approved' : onTimeout === 'deny' ? 'denied' : 'timedout';
        return {
          ...base,
          states: {
            enter,
            active: {
              id: `step:${id}:active`,
              entry: [{ type: 'begin', params: p }],
              meta: { effect: 'approval', stepId: id } satisfies EffectMeta,
              on: {
                DECISION: [
                  { guard: { type: 'is', params: { stepId: id, type: 'DECISION', decision: 'approved' } }, target: next, actions: [{ type: 'record', params: { stepId: id, status: 'approved' } }] },
                  { guard: { type: 'is', params: { stepId: id, type: 'DECISION', decision: 'denied' } }, target: '#run:denied', actions: [{ type: 'record', params: { stepId: id, status: 'denied' } }] },
                ],
                TIMER: { guard: { type: 'is', params: { stepId: id, type: 'TIMER', timer: 'expiry' } }, target: timeoutTarget, actions: [{ type: 'record', params: { stepId: id, status: timeoutStatus } }] },
              },
            },
          },
        };
      }
      case 'parallel': {
        const par = (step as Extract<Step, { parallel: unknown }>).parallel;
        const regions: Record<string, StateConfig> = {};
        par.branches.forEach((b, j) => {
          const rid = `step:${id}:b${j}`;
          regions[`b${j}`] = { id: rid, initial: b.steps[0]!.id, states: { ...compileSequence(b.steps, `#${rid}:done`), done: { id: `${rid}:done`, type: 'final' } } };
        });
        return {
          ...base,
          states: {
            enter,
            branches: { id: `step:${id}:branches`, type: 'parallel', states: regions, onDone: { target: next, actions: [{ type: 'record', params: { stepId: id, status: 'succeeded' } }] } },
          },
        };
      }
    }
  };

  const first = pb.steps[0]?.id;
  return m.createMachine({
    id: 'run',
    context: ({ input }: { input: RunInput }) => ({ alert: input.alert, runId: input.runId, incidentId: input.incidentId, attempts: {}, tries: {}, steps: {}, visited: [] }),
    initial: first ?? 'succeeded',
    on: { CANCEL: { target: '#run:cancelled', actions: ['cancelled'] } },
    states: {
      ...compileSequence(pb.steps, '#run:succeeded'),
      succeeded: { id: 'run:succeeded', type: 'final' },
      failed: { id: 'run:failed', type: 'final' },
      denied: { id: 'run:denied', type: 'final' },
      cancelled: { id: 'run:cancelled', type: 'final' },
    },
    // biome-ignore lint/suspicious/noExplicitAny: the state tree is built dynamically; ids are checked by tests
  } as any) as unknown as AnyStateMachine;
}
