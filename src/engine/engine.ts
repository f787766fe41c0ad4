// SPDX-License-Identifier: Apache-2.0
/**
 * The engine role: BullMQ workers for alerts, run events and step executions.
 * Any number of engine processes can run against one Redis; there is no leader.
 */
import { DelayedError, Worker } from 'bullmq';
import type { ActionRegistry } from '../actions/registry.ts';
import type { ActionServices } from '../actions/types.ts';
import type { Alert } from '../alerts/alert.ts';
import type { Logger } from '../common/log.ts';
import type { LoadedPlaybook } from '../playbooks/load.ts';
import { QUEUE_NAMES } from '../queue/queues.ts';
import { connectionOptions } from '../redis/connect.ts';
import type { Runtime } from '../runtime.ts';
import { Admission, type AdmissionLimits } from './admission.ts';
import { AlertProcessor } from './alert-processor.ts';
import { RunDriver } from './driver.ts';
import { deferStepTimeout, type EventJob, type ExecuteJob, type FollowUpJob } from './effects.ts';
import { StepExecutor } from './executor.ts';
import { NodeDispatcher } from './node-dispatch.ts';
import { createGuardrails, type GuardrailConfig } from './guardrails.ts';

export interface EngineOptions {
  runtime: Runtime;
  registry: ActionRegistry;
  playbooks: () => readonly LoadedPlaybook[];
  log: Logger;
  concurrency: number;
  dryRun: () => boolean;
  guardrails: GuardrailConfig;
  services?: ActionServices;
  notify?: ConstructorParameters<typeof StepExecutor>[0]['notify'];
  onApproval?: ConstructorParameters<typeof RunDriver>[0]['onApproval'];
  /** How long a dead worker's job stays locked before another takes it (default 10s). */
  lockDurationMs?: number;
  /** Approval expiry timers pass through this first (src/approvals/service.ts). */
  resolveEvent?: ConstructorParameters<typeof RunDriver>[0]['resolveEvent'];
  /** Global limit on run starts (engine.rateLimit); runs over it are held, not dropped. */
  limits?: AdmissionLimits;
}

export interface Engine {
  driver: RunDriver;
  processor: AlertProcessor;
  executor: StepExecutor;
  /** Kill switch, maxConcurrentRuns and rate limit: held runs start from here. */
  admission: Admission;
  close(): Promise<void>;
}

export function startEngine(o: EngineOptions): Engine {
  const rt = o.runtime;
  const driver = new RunDriver({
    runs: rt.runs,
    audit: rt.audit,
    queues: { steps: rt.queues.steps, runs: rt.queues.runs },
    now: rt.now,
    onApproval: o.onApproval,
    resolveEvent: o.resolveEvent,
    onFinished: async (run) => {
      rt.metrics.runsFinished.inc({ playbook: run.meta.playbook, status: run.state.status });
      await rt.incidents.setStatus(run.meta.incidentId, run.state.status);
      await admission.finished(run);
    },
  });
  const admission = new Admission({
    redis: rt.redis,
    keys: rt.keys,
    driver,
    runs: rt.runs,
    audit: rt.audit,
    log: o.log,
    now: rt.now,
    limits: o.limits,
    onStarted: (meta) => rt.metrics.runsStarted.inc({ playbook: meta.playbook }),
  });
  const processor = new AlertProcessor({
    playbooks: o.playbooks,
    incidents: rt.incidents,
    driver,
    audit: rt.audit,
    log: o.log,
    now: rt.now,
    metrics: { runsStarted: (p) => rt.metrics.runsStarted.inc({ playbook: p }), alertsDeduped: (p) => rt.metrics.alertsDeduped.inc({ playbook: p }) },
    admit: (meta, input) => admission.admit(meta, input),
  });
  const nodes = new NodeDispatcher(rt.redis, rt.redisUrl, rt.keys);
  const executor = new StepExecutor({
    registry: o.registry,
    audit: rt.audit,
    driver,
    runs: rt.runs,
    log: o.log,
    services: { fetch, ...(o.services ?? {}) },
    guardrails: createGuardrails(rt.redis, rt.keys, o.guardrails, rt.now),
    globalDryRun: o.dryRun,
    notify: o.notify,
    followUpQueue: rt.queues.steps,
    nodes,
  });

  // A worker killed mid-job (kill -9, node lost) holds its job's lock until it expires; then another
  // worker takes the job again. Short locks (renewed every lockDuration/2 while alive) make that quick;
  // a generous maxStalledCount keeps a job that was interrupted a few times from being failed.
  const common = {
    connection: connectionOptions(rt.redisUrl),
    prefix: rt.keys.bullPrefix,
    concurrency: o.concurrency,
    lockDuration: o.lockDurationMs ?? 10_000,
    stalledInterval: Math.max(1000, Math.floor((o.lockDurationMs ?? 10_000) / 2)),
    maxStalledCount: 20,
  };
  const onFailed = (queue: string) => (job: { id?: string } | undefined, err: Error) => o.log.error('job failed', { queue, job: job?.id, error: err.message });
  const alertsWorker = new Worker<Alert>(QUEUE_NAMES.alerts, async (job) => {
    rt.metrics.alertsProcessed.inc();
    await processor.process(job.data);
  }, common);
  const runsWorker = new Worker<EventJob>(QUEUE_NAMES.runs, async (job) => {
    await driver.send(job.data.runId, job.data.event);
  }, common);
  const stepsWorker = new Worker<ExecuteJob | FollowUpJob>(QUEUE_NAMES.steps, async (job, token, signal) => {
    // kill switch: runs in flight start no new step while paused; the job waits and is tried again
    if (admission.paused && job.name !== 'followup') {
      // a held step has not started: its timeout waits too (pushed past the next hold, reset when it starts)
      const data = job.data as ExecuteJob;
      await deferStepTimeout(rt.queues.runs, rt.runs, data, 10_000).catch((err: Error) => o.log.warn('deferring a held step\'s timeout failed', { run: data.runId, step: data.stepId, error: err.message }));
      if (!data.held) await job.updateData({ ...data, held: true });
      await job.moveToDelayed(Date.now() + 1000, token);
      throw new DelayedError();
    }
    if (job.name === 'execute' && (job.data as ExecuteJob).held) {
      // the step starts now: its timeout counts from here
      const data = job.data as ExecuteJob;
      await deferStepTimeout(rt.queues.runs, rt.runs, data, 0).catch((err: Error) => o.log.warn("restarting a held step's timeout failed", { run: data.runId, step: data.stepId, error: err.message }));
      await job.updateData({ ...data, held: false });
    }
    const end = rt.metrics.stepDuration.startTimer({ kind: job.name });
    try {
      if (job.name === 'followup') await executor.followUp(job.data as FollowUpJob, signal ?? new AbortController().signal);
      else await executor.execute(job.data as ExecuteJob, signal ?? new AbortController().signal);
    } finally {
      end();
    }
  }, common);
  admission.start();
  for (const [name, w] of [['alerts', alertsWorker], ['runs', runsWorker], ['steps', stepsWorker]] as const) {
    w.on('failed', onFailed(name));
    w.on('error', (err) => o.log.warn('worker error', { queue: name, error: err.message }));
  }
  return {
    driver,
    processor,
    executor,
    admission,
    async close() {
      admission.stop();
      await Promise.all([alertsWorker.close(), runsWorker.close(), stepsWorker.close()]);
      await nodes.close();
    },
  };
}
