// SPDX-License-Identifier: Apache-2.0
/**
 * Executes one step attempt: render its parameters, check them, apply
 * guardrails and dry-run, call the action with the idempotency key
 * `runId:stepId:attempt`, audit the outcome and report it to the run.
 * At-least-once: a worker that dies mid-step leaves the job to another worker,
 * which runs the same attempt again with the same key.
 */
import type { ActionRegistry } from '../actions/registry.ts';
import { ActionError, type ActionServices } from '../actions/types.ts';
import type { AuditLog } from '../audit/log.ts';
import type { Logger } from '../common/log.ts';
import { compileSchema } from '../common/schema-check.ts';
import type { StoredRun } from './run-store.ts';
import type { RunDriver } from './driver.ts';
import { jobId, type ExecuteJob, type FollowUpJob } from './effects.ts';
import { renderValue, TemplateError, type TemplateContext } from '../playbooks/template.ts';
import { stepKind, type Step } from '../playbooks/model.ts';
import type { Guardrails } from './guardrails.ts';

export interface ExecutorDeps {
  registry: ActionRegistry;
  audit: AuditLog;
  driver: RunDriver;
  runs: import('./run-store.ts').RunStore;
  log: Logger;
  services: ActionServices;
  guardrails: Guardrails;
  globalDryRun: () => boolean;
  /** Routes `runsOn: node` actions to the agent of the alert's node. */
  nodes?: import('./node-dispatch.ts').NodeDispatcher;
  /** Where follow-up jobs go (the `steps` queue). */
  followUpQueue?: import('bullmq').Queue;
  /** Runs a `notify` step (notifiers live outside the action registry). */
  notify?: (step: Extract<Step, { notify: unknown }>, message: string, run: StoredRun, key: string) => Promise<{ output: Record<string, unknown>; summary: string }>;
}

export function templateContext(run: StoredRun): TemplateContext {
  const steps: TemplateContext['steps'] = {};
  for (const [id, rec] of Object.entries(run.state.context.steps)) steps[id] = { output: rec.output ?? {}, status: rec.status };
  return {
    alert: run.state.context.alert,
    steps,
    run: { id: run.meta.id, dryRun: run.meta.dryRun },
    incident: { id: run.meta.incidentId },
    playbook: { name: run.meta.playbook },
  };
}

/** Coerces rendered strings to the types the parameter schema declares (`"0"` → 0 for an integer). */
function coerce(value: unknown, schema: Record<string, unknown> | undefined): unknown {
  if (!schema) return value;
  if (typeof value === 'string' && (schema.type === 'integer' || schema.type === 'number') && value.trim() !== '' && !Number.isNaN(Number(value))) return Number(value);
  if (typeof value === 'string' && schema.type === 'boolean' && (value === 'true' || value === 'false')) return value === 'true';
  if (value && typeof value === 'object' && !Array.isArray(value) && schema.properties) {
    const props = schema.properties as Record<string, Record<string, unknown>>;
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, coerce(v, props[k])]));
  }
  if (Array.isArray(value) && schema.items) return value.map((v) => coerce(v, schema.items as Record<string, unknown>));
  return value;
}

export class StepExecutor {
  private readonly d: ExecutorDeps;
  constructor(deps: ExecutorDeps) {
    this.d = deps;
  }

  async execute(job: ExecuteJob, signal: AbortSignal): Promise<void> {
    const run = await this.d.runs.get(job.runId);
    if (!run) return;
    if (run.state.status !== 'running' || run.state.context.attempts[job.stepId] !== job.attempt) return; // stale: the run moved on
    const step = this.d.driver.stepOf(run.meta)(job.stepId);
    const key = `${run.meta.id}:${job.stepId}:${job.attempt}`;
    const base = { incidentId: run.meta.incidentId, runId: run.meta.id, stepId: job.stepId };
    const actor = { type: 'system', name: 'engine' } as const;
    const where = `playbook ${run.meta.playbook} step ${job.stepId}`;
    const fail = async (error: string, retryable: boolean, details: Record<string, unknown> = {}) => {
      await this.d.audit.append({ actor, action: 'step.failed', target: job.stepId, outcome: 'failure', ...base, details: { attempt: job.attempt, error, retryable, ...details } });
      await this.d.driver.send(run.meta.id, { type: 'STEP_FAILED', stepId: job.stepId, attempt: job.attempt, error, retryable });
    };

    const kind = stepKind(step);
    const ctx = templateContext(run);
    if (kind === 'notify' && 'notify' in step) {
      let message: string;
      try {
        message = renderValue(step.notify.message, ctx, `${where} notify.message`) as string;
      } catch (err) {
        return fail((err as Error).message, false);
      }
      await this.d.audit.append({ actor, action: 'step.started', target: job.stepId, outcome: 'info', ...base, details: { attempt: job.attempt, kind: 'notify', to: step.notify.to } });
      if (!this.d.notify) return fail('no notifiers are configured', false);
      try {
        const r = await this.d.notify(step, message, run, key);
        await this.d.audit.append({ actor, action: 'step.succeeded', target: job.stepId, outcome: 'success', ...base, details: { attempt: job.attempt, summary: r.summary } });
        await this.d.driver.send(run.meta.id, { type: 'STEP_DONE', stepId: job.stepId, attempt: job.attempt, output: r.output });
      } catch (err) {
        return fail((err as Error).message, err instanceof ActionError ? err.retryable : true);
      }
      return;
    }
    if (!('action' in step)) throw new Error(`${where}: not an executable step`);
    const def = this.d.registry.get(step.action);
    if (!def) return fail(`unknown action ${step.action}`, false);

    let params: Record<string, unknown>;
    try {
      params = coerce(renderValue(step.with ?? {}, ctx, `${where} with`), def.params) as Record<string, unknown>;
    } catch (err) {
      return fail(err instanceof TemplateError ? err.message : `${where}: ${(err as Error).message}`, false);
    }
    const validate = compileSchema(def.params);
    if (!validate(params)) {
      const e = validate.errors?.[0];
      return fail(`${where} with${e?.instancePath.replace(/\//g, '.') ?? ''}: ${e?.message ?? 'invalid'} (after rendering)`, false);
    }
    const description = def.describe(params, run.state.context.alert);
    const dryRun = this.d.globalDryRun() || run.meta.dryRun;
    await this.d.audit.append({ actor, action: 'step.started', target: job.stepId, outcome: 'info', ...base, details: { attempt: job.attempt, action: def.name, description, dryRun, idempotencyKey: key } });

    const refusal = await this.d.guardrails.check({ action: def, params, run, dryRun, stepId: job.stepId });
    if (refusal) {
      await this.d.audit.append({ actor, action: 'action.refused', target: def.name, outcome: 'refused', ...base, details: { reason: refusal } });
      await this.d.driver.send(run.meta.id, { type: 'STEP_FAILED', stepId: job.stepId, attempt: job.attempt, error: `refused: ${refusal}`, retryable: false });
      return;
    }
    if (dryRun && def.runsOn !== 'engine') {
      const output = { dryRun: true, description };
      await this.d.audit.append({ actor, action: 'step.succeeded', target: job.stepId, outcome: 'skipped', ...base, details: { attempt: job.attempt, dryRun: true, description } });
      await this.d.driver.send(run.meta.id, { type: 'STEP_DONE', stepId: job.stepId, attempt: job.attempt, output });
      return;
    }
    if (def.runsOn === 'node') return this.dispatchToNode(run, job, def.name, params, key, dryRun, fail);
    try {
      const result = await def.execute(params, {
        idempotencyKey: key,
        runId: run.meta.id,
        stepId: job.stepId,
        incidentId: run.meta.incidentId,
        attempt: job.attempt,
        alert: run.state.context.alert,
        dryRun,
        log: this.d.log.child({ runId: run.meta.id, stepId: job.stepId }),
        signal,
        services: this.d.services,
      });
      await this.d.audit.append({ actor, action: 'step.succeeded', target: job.stepId, outcome: 'success', ...base, details: { attempt: job.attempt, action: def.name, summary: result.summary, ...(result.details ?? {}) } });
      await this.scheduleFollowUps(run, job.stepId, key, result.followUps ?? []);
      await this.d.driver.send(run.meta.id, { type: 'STEP_DONE', stepId: job.stepId, attempt: job.attempt, output: result.output });
    } catch (err) {
      const retryable = err instanceof ActionError ? err.retryable : false;
      await fail((err as Error).message, retryable, { action: def.name });
    }
  }

  private async scheduleFollowUps(run: StoredRun, stepId: string, key: string, followUps: NonNullable<import('../actions/types.ts').ActionResult['followUps']>): Promise<void> {
    if (!followUps.length) return;
    if (!this.d.followUpQueue) throw new Error('follow-up actions need the steps queue');
    for (const [index, f] of followUps.entries()) {
      const data: FollowUpJob = { runId: run.meta.id, stepId, key, index, action: f.action, params: f.params, reason: f.reason };
      await this.d.followUpQueue.add('followup', data, { jobId: jobId('f', key.replace(/:/g, '|'), index), delay: Math.max(0, f.delayMs), attempts: 10, backoff: { type: 'exponential', delay: 2000 }, removeOnComplete: { age: 86400 }, removeOnFail: { age: 7 * 86400 } });
      await this.d.audit.append({ actor: { type: 'system', name: 'engine' }, action: 'followup.scheduled', target: f.action, outcome: 'info', incidentId: run.meta.incidentId, runId: run.meta.id, stepId, details: { reason: f.reason, delayMs: f.delayMs, at: new Date(Date.now() + f.delayMs).toISOString() } });
    }
  }

  /** Runs a follow-up action when its delay has passed (at least once, same idempotency key each time). */
  async followUp(job: FollowUpJob, signal: AbortSignal): Promise<void> {
    const run = await this.d.runs.get(job.runId);
    if (!run) return;
    const def = this.d.registry.get(job.action);
    const base = { incidentId: run.meta.incidentId, runId: run.meta.id, stepId: job.stepId };
    const actor = { type: 'system', name: 'engine' } as const;
    if (!def) {
      await this.d.audit.append({ actor, action: 'followup.failed', target: job.action, outcome: 'failure', ...base, details: { error: 'unknown action' } });
      return;
    }
    if (def.runsOn === 'node') {
      const node = typeof job.params.node === 'string' ? job.params.node : run.state.context.alert.hostname;
      if (!this.d.nodes || !(await this.d.nodes.agentOf(node))) throw new Error(`follow-up ${job.action}: no live agent on node "${node}" yet; retrying`);
      await this.d.nodes.dispatch(node, { runId: run.meta.id, stepId: job.stepId, attempt: 0, action: job.action, params: job.params, idempotencyKey: `${job.key}:followup:${job.index}`, dryRun: this.d.globalDryRun() || run.meta.dryRun, followUp: { index: job.index, reason: job.reason } });
      await this.d.audit.append({ actor, action: 'followup.dispatched', target: job.action, outcome: 'info', ...base, details: { reason: job.reason, node } });
      return;
    }
    try {
      const result = await def.execute(job.params, {
        idempotencyKey: `${job.key}:followup:${job.index}`,
        runId: run.meta.id,
        stepId: job.stepId,
        incidentId: run.meta.incidentId,
        attempt: 1,
        alert: run.state.context.alert,
        dryRun: this.d.globalDryRun() || run.meta.dryRun,
        log: this.d.log.child({ runId: run.meta.id, followUp: job.action }),
        signal,
        services: this.d.services,
      });
      await this.d.audit.append({ actor, action: 'followup.succeeded', target: job.action, outcome: 'success', ...base, details: { reason: job.reason, summary: result.summary, ...(result.details ?? {}) } });
    } catch (err) {
      await this.d.audit.append({ actor, action: 'followup.failed', target: job.action, outcome: 'failure', ...base, details: { reason: job.reason, error: (err as Error).message } });
      if (!(err instanceof ActionError) || err.retryable) throw err; // BullMQ retries it
    }
  }

  private async dispatchToNode(run: StoredRun, job: ExecuteJob, action: string, params: Record<string, unknown>, key: string, dryRun: boolean, fail: (error: string, retryable: boolean) => Promise<void>): Promise<void> {
    const node = typeof params.node === 'string' ? params.node : run.state.context.alert.hostname;
    if (!node) return fail(`${action} runs on the node that raised the alert, and this alert names no hostname`, false);
    if (!this.d.nodes) return fail(`${action} runs on a node agent, and this engine has no node routing configured`, false);
    const agent = await this.d.nodes.agentOf(node);
    if (!agent) return fail(`no live Riposte agent on node "${node}" (no heartbeat): ${action} cannot run there`, false);
    await this.d.nodes.dispatch(node, { runId: run.meta.id, stepId: job.stepId, attempt: job.attempt, action, params, idempotencyKey: key, dryRun });
    await this.d.audit.append({ actor: { type: 'system', name: 'engine' }, action: 'step.dispatched', target: job.stepId, outcome: 'info', incidentId: run.meta.incidentId, runId: run.meta.id, stepId: job.stepId, details: { attempt: job.attempt, action, node, agentPid: agent.pid } });
  }
}
