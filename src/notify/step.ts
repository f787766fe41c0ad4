// SPDX-License-Identifier: Apache-2.0
/**
 * The engine's hook for `notify` steps. Each notifier in `to` gets the rendered
 * message; each delivery is audited. A failed notification does not fail the
 * run unless the playbook says so: only a step that sets `onError` or `retry`
 * turns a failed delivery into a step failure (retries then go only to the
 * notifiers that have not received this visit's message).
 */
import { ActionError } from '../actions/types.ts';
import type { ExecutorDeps } from '../engine/executor.ts';
import type { Deliverer } from './deliver.ts';
import { alertFacts } from './facts.ts';
import type { NotificationMessage } from './message.ts';

export function notifyStepHook(d: { deliverer: Deliverer; now?: () => Date }): NonNullable<ExecutorDeps['notify']> {
  return async (step, message, run) => {
    const alert = run.state.context.alert;
    const ctx = run.state.context;
    // one key per visit of the step: retries of the visit share it (so delivered notifiers are skipped), a goto loop's next visit gets a new one
    const attempt = ctx.attempts[step.id] ?? 1;
    const visit = attempt - Math.max(1, ctx.tries[step.id] ?? 1) + 1;
    const msg: NotificationMessage = {
      kind: 'notify',
      title: `${alert.rule} · ${run.meta.playbook}`,
      text: message,
      severity: step.notify.severity ?? alert.priority,
      facts: alertFacts(alert, { playbook: run.meta.playbook, runId: run.meta.id }),
      links: [],
      key: `${run.meta.id}:${step.id}:v${visit}`,
      time: (d.now?.() ?? new Date()).toISOString(),
    };
    const results = await Promise.all(step.notify.to.map((n) => d.deliverer.deliver(n, msg, { runId: run.meta.id, incidentId: run.meta.incidentId, stepId: step.id })));
    const delivered = results.filter((r) => r.ok).map((r) => r.notifier);
    const failed = results.flatMap((r) => (r.ok ? [] : [{ notifier: r.notifier, error: r.error }]));
    const strict = step.onError !== undefined || step.retry !== undefined;
    if (failed.length && strict) throw new ActionError(`notification failed: ${failed.map((f) => f.error).join('; ')}`, { retryable: true });
    const summary = failed.length ? `notified ${delivered.join(', ') || 'nobody'}; failed: ${failed.map((f) => f.notifier).join(', ')}` : `notified ${delivered.join(', ')}`;
    return { output: { delivered, failed }, summary };
  };
}
