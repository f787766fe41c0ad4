// SPDX-License-Identifier: Apache-2.0
/**
 * The run driver: load a run, apply one event to its machine, save the new
 * snapshot (compare-and-set, retried on conflict), audit what changed, and
 * schedule what the new state asks for. Applying the same event twice is
 * harmless: the second finds no transition and only re-ensures the effects,
 * which is also how a run whose worker died after saving gets going again.
 */
import type { AuditLog } from '../audit/log.ts';
import type { AuditActor } from '../audit/record.ts';
import type { RunEvent } from '../playbooks/compile.ts';
import { stepsById } from '../playbooks/compile.ts';
import type { Step } from '../playbooks/model.ts';
import { type EffectHook, type EffectQueues, scheduleEffects } from './effects.ts';
import { activeEffects, applyEvent, machineFor, startRun } from './machines.ts';
import type { RunMeta, RunState, RunStore, StoredRun } from './run-store.ts';

export interface DriverDeps {
  runs: RunStore;
  audit: AuditLog;
  queues: EffectQueues;
  now: () => Date;
  onApproval?: EffectHook;
  onFinished?: (run: StoredRun) => void | Promise<void>;
  /**
   * Looks at an approval's expiry timer before it is applied (src/approvals/service.ts):
   * returns the DECISION recorded before the timer when there is one, else the timer.
   */
  resolveEvent?: (runId: string, event: RunEvent) => Promise<RunEvent>;
}

const ENGINE: AuditActor = { type: 'system', name: 'engine' };

export class RunDriver {
  private readonly d: DriverDeps;
  constructor(deps: DriverDeps) {
    this.d = deps;
  }

  stepOf(meta: RunMeta): (id: string) => Step {
    const map = stepsById(meta.model);
    return (id) => {
      const s = map.get(id);
      if (!s) throw new Error(`run ${meta.id}: no step ${id} in playbook ${meta.playbook}`);
      return s;
    };
  }

  /** Creates the run from its first snapshot, audits it, and schedules its first effects. */
  async create(meta: RunMeta, input: Parameters<typeof startRun>[1]): Promise<boolean> {
    const machine = machineFor(meta.playbookVersion, meta.model);
    const state = startRun(machine, input, this.d.now());
    const created = await this.d.runs.create(meta, state);
    const run = created ? { meta, state, rev: 1 } : await this.d.runs.get(meta.id);
    if (!run) throw new Error(`run ${meta.id} vanished`);
    if (created) {
      await this.d.audit.append({
        actor: meta.startedBy === 'system' ? ENGINE : { type: 'person', name: meta.startedBy },
        action: 'run.started',
        target: meta.playbook,
        outcome: 'info',
        incidentId: meta.incidentId,
        runId: meta.id,
        details: { playbookVersion: meta.playbookVersion, alertId: meta.alertId, dryRun: meta.dryRun, state: state.value },
      });
      await this.afterTransition(run, undefined);
    }
    await this.schedule(run);
    return created;
  }

  /** Applies an event to a run; returns the run after it (or undefined when unknown). */
  async send(runId: string, event: RunEvent): Promise<StoredRun | undefined> {
    if (event.type === 'TIMER' && event.timer === 'expiry' && this.d.resolveEvent) event = await this.d.resolveEvent(runId, event);
    for (let attempt = 0; attempt < 100; attempt++) {
      const run = await this.d.runs.get(runId);
      if (!run) return undefined;
      const machine = machineFor(run.meta.playbookVersion, run.meta.model);
      const { state, changed } = applyEvent(machine, run.state, event, this.d.now());
      if (!changed) {
        await this.schedule(run);
        return run;
      }
      if (!(await this.d.runs.save(runId, run.rev, state))) continue; // someone else moved it: reload and re-apply
      const next: StoredRun = { meta: run.meta, state, rev: run.rev + 1 };
      await this.d.audit.append({
        actor: ENGINE,
        action: 'run.transition',
        target: run.meta.playbook,
        outcome: 'info',
        incidentId: run.meta.incidentId,
        runId,
        ...('stepId' in event ? { stepId: event.stepId } : {}),
        details: { event: event.type, ...(event.type === 'TIMER' ? { timer: event.timer } : {}), ...(event.type === 'DECISION' ? { decision: event.decision } : {}), from: run.state.value, to: state.value },
      });
      await this.afterTransition(next, run.state);
      await this.schedule(next);
      return next;
    }
    throw new Error(`run ${runId}: too much contention applying ${event.type}`);
  }

  private async afterTransition(run: StoredRun, before: RunState | undefined): Promise<void> {
    const now = run.state;
    // steps skipped by `if` are recorded in context: audit them
    for (const [id, rec] of Object.entries(now.context.steps)) {
      if (rec.status === 'skipped' && before?.context.steps[id]?.status !== 'skipped') {
        await this.d.audit.append({ actor: ENGINE, action: 'step.skipped', target: id, outcome: 'skipped', incidentId: run.meta.incidentId, runId: run.meta.id, stepId: id, details: { reason: 'if condition false' } });
      }
    }
    if (now.status !== 'running' && before?.status !== now.status) {
      await this.d.audit.append({
        actor: ENGINE,
        action: 'run.finished',
        target: run.meta.playbook,
        outcome: now.status === 'succeeded' ? 'success' : now.status === 'failed' ? 'failure' : 'info',
        incidentId: run.meta.incidentId,
        runId: run.meta.id,
        details: { status: now.status, ...(now.context.error ? { error: now.context.error } : {}) },
      });
      await this.d.onFinished?.(run);
    }
  }

  async schedule(run: StoredRun): Promise<void> {
    const machine = machineFor(run.meta.playbookVersion, run.meta.model);
    await scheduleEffects(this.d.queues, run.meta.id, activeEffects(machine, run.state), this.stepOf(run.meta), this.d.onApproval);
  }
}
