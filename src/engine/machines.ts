// SPDX-License-Identifier: Apache-2.0
/**
 * Pure run transitions: build (and cache) the machine for a run's stored
 * playbook model, restore its snapshot, apply one event. No I/O here.
 */
import { initialTransition, transition, type AnyMachineSnapshot, type AnyStateMachine } from 'xstate';
import { compilePlaybook, FINAL_STATES, type EffectMeta, type RunContext, type RunEvent, type RunInput } from '../playbooks/compile.ts';
import type { Playbook } from '../playbooks/model.ts';
import type { RunState, RunStatus } from './run-store.ts';

const machines = new Map<string, AnyStateMachine>();

export function machineFor(version: string, model: Playbook): AnyStateMachine {
  let m = machines.get(version);
  if (!m) {
    m = compilePlaybook(model);
    if (machines.size > 500) machines.clear();
    machines.set(version, m);
  }
  return m;
}

function statusOf(snap: AnyMachineSnapshot): RunStatus {
  const v = snap.value;
  if (typeof v === 'string' && (FINAL_STATES as readonly string[]).includes(v)) return v as RunStatus;
  return 'running';
}

function toState(snap: AnyMachineSnapshot, now: Date): RunState {
  return { status: statusOf(snap), value: snap.value, context: snap.context as RunContext, updatedAt: now.toISOString() };
}

export function startRun(machine: AnyStateMachine, input: RunInput, now: Date): RunState {
  const [snap] = initialTransition(machine, input);
  return toState(snap, now);
}

/** Applies one event; `changed` is false when the event matched no transition (stale or duplicate). */
export function applyEvent(machine: AnyStateMachine, state: RunState, event: RunEvent, now: Date): { state: RunState; changed: boolean } {
  const snap = machine.resolveState({ value: state.value as never, context: state.context });
  const [next] = transition(machine, snap, event as never);
  const changed = JSON.stringify(next.value) !== JSON.stringify(state.value) || JSON.stringify(next.context) !== JSON.stringify(state.context);
  return { state: changed ? toState(next, now) : state, changed };
}

/** The effects the current state asks for (execute a step, a timer, an approval). */
export function activeEffects(machine: AnyStateMachine, state: RunState): (EffectMeta & { attempt: number; tries: number })[] {
  if (state.status !== 'running') return [];
  const snap = machine.resolveState({ value: state.value as never, context: state.context });
  const metas = Object.values(snap.getMeta() as Record<string, EffectMeta | undefined>).filter((m): m is EffectMeta => !!m && 'effect' in m);
  return metas.map((m) => ({ ...m, attempt: state.context.attempts[m.stepId] ?? 0, tries: state.context.tries[m.stepId] ?? 0 }));
}
