// SPDX-License-Identifier: Apache-2.0
/**
 * "What happens if you approve", in plain words: the steps after the approval
 * step up to the next approval, each described by its action's `describe()`
 * with the parameters rendered from the alert now. A parameter that depends on
 * an earlier step's output cannot be known yet; the description says so
 * instead of guessing.
 */
import type { ActionRegistry } from '../actions/registry.ts';
import { templateContext } from '../engine/executor.ts';
import type { StoredRun } from '../engine/run-store.ts';
import { stepKind, type Step } from '../playbooks/model.ts';
import { renderValue } from '../playbooks/template.ts';
import type { NextStep } from './model.ts';

/** The sequence (top level or a parallel branch) that holds `stepId`, and its index there. */
function findSequence(steps: Step[], stepId: string): { seq: Step[]; index: number } | undefined {
  const i = steps.findIndex((s) => s.id === stepId);
  if (i >= 0) return { seq: steps, index: i };
  for (const s of steps) {
    if ('parallel' in s) {
      for (const b of s.parallel.branches) {
        const r = findSequence(b.steps, stepId);
        if (r) return r;
      }
    }
  }
  return undefined;
}

export function describeStep(step: Step, run: StoredRun, registry: ActionRegistry): NextStep {
  const kind = stepKind(step);
  const base = { stepId: step.id, kind, ...(step.if ? { condition: step.if } : {}) };
  const ctx = templateContext(run);
  if ('action' in step) {
    const def = registry.get(step.action);
    if (!def) return { ...base, action: step.action, description: `run ${step.action} (an action this Riposte does not know)` };
    let description: string;
    try {
      const params = renderValue(step.with ?? {}, ctx, `step ${step.id} with`) as Record<string, unknown>;
      description = def.describe(params, run.state.context.alert);
    } catch {
      description = `${def.description.replace(/\.$/, '')} (${step.action}; some parameters come from earlier steps' output and are filled in when it runs)`;
    }
    return { ...base, action: step.action, destructive: def.destructive, description: run.meta.dryRun ? `${description} (dry run: described, not done)` : description };
  }
  if ('notify' in step) return { ...base, description: `send a notification to ${step.notify.to.join(', ')}` };
  if ('wait' in step) return { ...base, description: `wait ${step.wait}` };
  if ('approval' in step) return { ...base, description: 'ask for another approval' };
  const branches = step.parallel.branches.map((b, i) => `${b.name ?? `branch ${i + 1}`}: ${b.steps.map((s) => describeStep(s, run, registry).description).join(', then ')}`);
  return { ...base, description: `in parallel — ${branches.join('; ')}` };
}

/** The steps that run after `stepId` if it is approved, up to (not including) the next approval step. */
export function describeNext(run: StoredRun, stepId: string, registry: ActionRegistry): { next: NextStep[]; moreAfter?: string } {
  const found = findSequence(run.meta.model.steps, stepId);
  if (!found) return { next: [] };
  const next: NextStep[] = [];
  for (const s of found.seq.slice(found.index + 1)) {
    if ('approval' in s) return { next, moreAfter: s.id };
    next.push(describeStep(s, run, registry));
  }
  return { next };
}
