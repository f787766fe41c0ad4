// SPDX-License-Identifier: Apache-2.0
/**
 * A dry-run walk of a playbook against an alert, on the real compiled machine:
 * which steps run, their rendered parameters, where it stops for approval, what
 * happens on each outcome. Nothing is executed; timers fire at once.
 */
import type { ActionRegistry } from '../actions/registry.ts';
import type { Alert } from '../alerts/alert.ts';
import { activeEffects, applyEvent, machineFor, startRun } from '../engine/machines.ts';
import type { RunState } from '../engine/run-store.ts';
import type { RunEvent } from './compile.ts';
import { stepsById } from './compile.ts';
import type { LoadedPlaybook } from './load.ts';
import { renderValue, type TemplateContext } from './template.ts';

export interface SimulationOptions {
  decide?: 'approve' | 'deny' | 'timeout';
  /** Step ids whose every attempt fails. */
  fail?: string[];
  maxEvents?: number;
}

export interface SimulationEntry {
  step?: string;
  kind: 'execute' | 'notify' | 'approval' | 'timer' | 'skip' | 'end' | 'error';
  text: string;
  params?: unknown;
}

export interface SimulationResult {
  status: RunState['status'];
  entries: SimulationEntry[];
  state: RunState;
}

export function simulate(lp: LoadedPlaybook, alert: Alert, registry: ActionRegistry, opts: SimulationOptions = {}): SimulationResult {
  const machine = machineFor(lp.version, lp.playbook);
  const steps = stepsById(lp.playbook);
  const runId = 'dry-run';
  let state = startRun(machine, { alert, runId, incidentId: 'dry-run' }, new Date(0));
  const entries: SimulationEntry[] = [];
  const seenSkips = new Set<string>();
  const noteSkips = () => {
    for (const [id, rec] of Object.entries(state.context.steps)) {
      if (rec.status === 'skipped' && !seenSkips.has(id)) {
        seenSkips.add(id);
        entries.push({ step: id, kind: 'skip', text: `skip ${id}: "if: ${steps.get(id)?.if}" is false` });
      } else if (rec.status !== 'skipped') seenSkips.delete(id);
    }
  };
  const send = (e: RunEvent) => {
    state = applyEvent(machine, state, e, new Date(0)).state;
    noteSkips();
  };
  const ctx = (): TemplateContext => ({
    alert,
    steps: Object.fromEntries(Object.entries(state.context.steps).map(([k, v]) => [k, { output: v.output ?? {}, status: v.status }])),
    run: { id: runId, dryRun: true },
    incident: { id: 'dry-run' },
    playbook: { name: lp.playbook.metadata.name },
  });
  noteSkips();
  const max = opts.maxEvents ?? 500;
  for (let i = 0; i < max && state.status === 'running'; i++) {
    const effects = activeEffects(machine, state);
    if (!effects.length) break;
    const e = effects[0]!;
    const step = steps.get(e.stepId)!;
    if (e.effect === 'execute') {
      const failing = opts.fail?.includes(e.stepId);
      if ('action' in step) {
        const def = registry.get(step.action);
        let params: unknown;
        try {
          params = renderValue(step.with ?? {}, ctx(), `step ${e.stepId} with`);
        } catch (err) {
          entries.push({ step: e.stepId, kind: 'error', text: `${e.stepId}: ${(err as Error).message}` });
          send({ type: 'STEP_FAILED', stepId: e.stepId, attempt: e.attempt, error: (err as Error).message, retryable: false });
          continue;
        }
        const what = def ? def.describe(params as Record<string, unknown>, alert) : step.action;
        entries.push({ step: e.stepId, kind: 'execute', text: `${failing ? 'FAIL' : 'run '} ${e.stepId} (attempt ${e.attempt}): ${step.action} — ${what}`, params });
      } else if ('notify' in step) {
        let message: string;
        try {
          message = renderValue(step.notify.message, ctx(), `step ${e.stepId} notify.message`) as string;
        } catch (err) {
          entries.push({ step: e.stepId, kind: 'error', text: `${e.stepId}: ${(err as Error).message}` });
          send({ type: 'STEP_FAILED', stepId: e.stepId, attempt: e.attempt, error: (err as Error).message, retryable: false });
          continue;
        }
        entries.push({ step: e.stepId, kind: 'notify', text: `${failing ? 'FAIL' : 'notify'} ${e.stepId} → ${step.notify.to.join(', ')}: ${message}` });
      }
      send(failing ? { type: 'STEP_FAILED', stepId: e.stepId, attempt: e.attempt, error: 'simulated failure (--fail)', retryable: true } : { type: 'STEP_DONE', stepId: e.stepId, attempt: e.attempt, output: { dryRun: true } });
    } else if (e.effect === 'timer') {
      entries.push({ step: e.stepId, kind: 'timer', text: e.timer === 'wait' ? `wait ${e.stepId}: ${(step as { wait: string }).wait}` : `backoff before retry of ${e.stepId}` });
      send({ type: 'TIMER', stepId: e.stepId, attempt: e.attempt, timer: e.timer });
    } else {
      const a = (step as { approval: { message?: string; timeout: string; onTimeout?: string } }).approval;
      let message = a.message ?? '';
      try {
        message = renderValue(message, ctx(), `step ${e.stepId} approval.message`) as string;
      } catch (err) {
        message = `(template error: ${(err as Error).message})`;
      }
      const decide = opts.decide ?? 'approve';
      entries.push({ step: e.stepId, kind: 'approval', text: `approval ${e.stepId}: "${message}" (expires after ${a.timeout}, on timeout ${a.onTimeout ?? 'deny'}) → ${decide}` });
      if (decide === 'timeout') send({ type: 'TIMER', stepId: e.stepId, attempt: e.attempt, timer: 'expiry' });
      else send({ type: 'DECISION', stepId: e.stepId, attempt: e.attempt, decision: decide === 'approve' ? 'approved' : 'denied' });
    }
  }
  entries.push({ kind: 'end', text: `run ${state.status}${state.context.error ? `: ${state.context.error}` : ''}` });
  return { status: state.status, entries, state };
}
