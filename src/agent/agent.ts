// SPDX-License-Identifier: Apache-2.0
/**
 * The agent role's action side: one per node. It beats a heartbeat in Redis
 * (so the engine knows the node can take work), takes node-local steps from its
 * node's queue, runs them, audits them and reports the outcome to the run.
 * At least once: a job interrupted by a crash runs again with the same
 * idempotency key when the agent is back.
 */
import { hostname } from 'node:os';
import { Worker } from 'bullmq';
import type { ActionRegistry } from '../actions/registry.ts';
import { ActionError, type ActionServices } from '../actions/types.ts';
import type { AuditActor } from '../audit/record.ts';
import type { Logger } from '../common/log.ts';
import { RunDriver } from '../engine/driver.ts';
import { startDetection, type Detection } from './detection.ts';
import { type KubernetesConfig, kubeSource } from '../kube/source.ts';
import type { PodMetadata } from '../kube/pod-metadata.ts';
import type { AgentHeartbeat, NodeJob } from '../engine/node-dispatch.ts';
import { nodeQueueName } from '../queue/queues.ts';
import { connectionOptions } from '../redis/connect.ts';
import type { Runtime } from '../runtime.ts';
import { defaultStateDir } from '../config/load.ts';
import { NodeServices, type ExecDenied } from '../node/services.ts';

export const HEARTBEAT_EVERY_MS = 5000;
export const HEARTBEAT_TTL_MS = 15_000;

export interface AgentOptions {
  runtime: Runtime;
  registry: ActionRegistry;
  log: Logger;
  node?: string;
  concurrency?: number;
  services?: ActionServices;
  sensor?: () => AgentHeartbeat['sensor'];
  /** Run the eBPF sensor and detector and publish their alerts (needs root and bpf/ built). */
  detection?: { rulesPaths: string[]; required: boolean; matching?: 'all' | 'first'; throttle?: { windowMs: number; burst: number } };
  /** The cluster: with `podMetadata: auto` (the default) the detector learns pods, labels and images from it. */
  kubernetes?: KubernetesConfig & { podMetadata?: 'auto' | 'off' };
  /**
   * Node actions (container.kill, snapshot, tracing, isolation, exec blocking):
   * state dir for artifacts (default $RIPOSTE_STATE_DIR or the default state dir),
   * whether in-kernel containment outlives the agent (default: undone on stop,
   * $RIPOSTE_AGENT_PERSIST_CONTAINMENT=true to keep it), `false` to leave them off.
   */
  nodeActions?: false | { stateDir?: string; persist?: boolean; exec?: 'auto' | 'bpf-lsm' | 'fanotify'; pinDir?: string };
}

export interface Agent {
  node: string;
  detection?: Detection;
  /** This node's pods from the Kubernetes API, when a cluster is configured. */
  pods?: PodMetadata;
  nodeActions?: NodeServices;
  close(): Promise<void>;
}

export function nodeName(): string {
  return process.env.RIPOSTE_NODE_NAME || process.env.NODE_NAME || hostname();
}

export async function startAgent(o: AgentOptions): Promise<Agent> {
  const rt = o.runtime;
  const node = o.node ?? nodeName();
  let detection: Detection | undefined;
  let sensorState: AgentHeartbeat['sensor'] = 'off';
  const pods = o.detection ? await startPods(o.kubernetes, node, o.log) : undefined;
  if (o.detection) {
    try {
      detection = await startDetection({ runtime: rt, log: o.log, rulesPaths: o.detection.rulesPaths, matching: o.detection.matching, throttle: o.detection.throttle, node, ...(pods ? { metadataSource: pods } : {}) });
      sensorState = 'running';
      detection.sensor.exited.then(() => {
        sensorState = 'unavailable';
        o.log.error('the eBPF sensor stopped', { stderr: detection?.sensor.stderrTail.slice(-5).join(' | ') });
      });
    } catch (err) {
      await pods?.stop();
      if (o.detection.required) throw err;
      sensorState = 'unavailable';
      o.log.warn('built-in detection is off', { reason: (err as Error).message });
    }
  }
  const actor: AuditActor = { type: 'system', name: `agent@${node}` };
  let nodeActions: NodeServices | undefined;
  if (o.nodeActions !== false) {
    const na = o.nodeActions ?? {};
    try {
      nodeActions = await NodeServices.create({
        stateDir: na.stateDir ?? process.env.RIPOSTE_STATE_DIR ?? defaultStateDir(process.env),
        node,
        log: o.log.child({ part: 'node-actions' }),
        persist: na.persist ?? /^(1|true|yes|on)$/i.test(process.env.RIPOSTE_AGENT_PERSIST_CONTAINMENT ?? ''),
        sensor: () => detection?.sensor,
        ...(na.exec ? { exec: na.exec } : {}),
        ...(na.pinDir ? { pinDir: na.pinDir } : {}),
      });
      // a refused exec is a security event of its own: audited, with its container
      nodeActions.on('exec-denied', (d: ExecDenied) => {
        void rt.audit.append({ actor, action: 'exec.denied', target: d.container, outcome: 'info', details: { ...d, node } }).catch((err: Error) => o.log.warn('auditing a denied exec failed', { error: err.message }));
      });
    } catch (err) {
      o.log.warn('node actions are off on this agent', { reason: (err as Error).message });
    }
  }
  const driver = new RunDriver({ runs: rt.runs, audit: rt.audit, queues: { steps: rt.queues.steps, runs: rt.queues.runs }, now: rt.now });
  const startedAt = rt.now().toISOString();
  const beat = async () => {
    const hb: AgentHeartbeat = { node, pid: process.pid, version: '0.1.0', startedAt, sensor: o.sensor?.() ?? sensorState };
    await rt.redis.set(rt.keys.agent(node), JSON.stringify(hb), 'PX', HEARTBEAT_TTL_MS);
  };
  await beat();
  const timer = setInterval(() => void beat().catch((err: Error) => o.log.warn('heartbeat failed', { error: err.message })), HEARTBEAT_EVERY_MS);
  timer.unref();

  const worker = new Worker<NodeJob>(
    nodeQueueName(node),
    async (job, _token, signal) => {
      const j = job.data;
      const run = await rt.runs.get(j.runId);
      if (!run) return;
      const isFollowUp = j.followUp !== undefined;
      if (!isFollowUp && (run.state.status !== 'running' || run.state.context.attempts[j.stepId] !== j.attempt)) return; // stale
      const def = o.registry.get(j.action);
      const base = { incidentId: run.meta.incidentId, runId: run.meta.id, stepId: j.stepId };
      const report = async (ok: boolean, detail: Record<string, unknown>, output?: Record<string, unknown>, retryable = false) => {
        const action = isFollowUp ? (ok ? 'followup.succeeded' : 'followup.failed') : ok ? 'step.succeeded' : 'step.failed';
        await rt.audit.append({ actor, action, target: isFollowUp ? j.action : j.stepId, outcome: ok ? 'success' : 'failure', ...base, details: { attempt: j.attempt, action: j.action, node, ...detail } });
        if (isFollowUp) return;
        if (ok) await driver.send(j.runId, { type: 'STEP_DONE', stepId: j.stepId, attempt: j.attempt, output: output ?? {} });
        else await driver.send(j.runId, { type: 'STEP_FAILED', stepId: j.stepId, attempt: j.attempt, error: String(detail.error), retryable });
      };
      if (def?.runsOn !== 'node') return report(false, { error: `agent on ${node} has no node action "${j.action}"` });
      try {
        const result = await def.execute(j.params, {
          idempotencyKey: j.idempotencyKey,
          runId: j.runId,
          stepId: j.stepId,
          incidentId: run.meta.incidentId,
          attempt: j.attempt,
          alert: run.state.context.alert,
          dryRun: j.dryRun,
          log: o.log.child({ runId: j.runId, stepId: j.stepId }),
          signal: signal ?? new AbortController().signal,
          services: { node, ...(nodeActions ? { nodeActions } : {}), ...(o.services ?? {}) },
        });
        for (const [index, f] of (result.followUps ?? []).entries()) {
          await rt.queues.steps.add('followup', { runId: j.runId, stepId: j.stepId, key: j.idempotencyKey, index, action: f.action, params: f.params, reason: f.reason }, { jobId: `f|${j.idempotencyKey.replace(/:/g, '|')}|${index}`, delay: f.delayMs, attempts: 10, backoff: { type: 'exponential', delay: 2000 }, removeOnComplete: { age: 86400 } });
        }
        await report(true, { summary: result.summary, ...(result.details ?? {}) }, result.output);
      } catch (err) {
        const retryable = err instanceof ActionError ? err.retryable : false;
        await report(false, { error: (err as Error).message, retryable }, undefined, retryable);
      }
    },
    { connection: connectionOptions(rt.redisUrl), prefix: rt.keys.bullPrefix, concurrency: o.concurrency ?? 4, lockDuration: 10_000, stalledInterval: 5000, maxStalledCount: 20 },
  );
  worker.on('error', (err) => o.log.warn('agent worker error', { error: err.message }));
  o.log.info('agent ready', { node, queue: nodeQueueName(node) });
  return {
    node,
    detection,
    ...(pods ? { pods } : {}),
    nodeActions,
    async close() {
      clearInterval(timer);
      await worker.close();
      // undo this agent's containment (unless persisting) while the sensor still runs
      await nodeActions?.close().catch((err: Error) => o.log.error('undoing node containment failed', { error: err.message }));
      await detection?.stop();
      await pods?.stop();
      await rt.redis.del(rt.keys.agent(node));
    },
  };
}

/** Watches this node's pods when a cluster is configured and pod metadata is not switched off; never stops the agent from starting. */
async function startPods(cfg: AgentOptions['kubernetes'], node: string, log: Logger): Promise<PodMetadata | undefined> {
  if (!cfg || cfg.podMetadata === 'off') return undefined;
  const src = kubeSource(cfg);
  if (!src) return undefined;
  try {
    const [{ loadKubeConfig, describeKubeConfig }, { startPodMetadata }] = await Promise.all([import('../kube/config.ts'), import('../kube/pod-metadata.ts')]);
    const kc = loadKubeConfig(src);
    log.info("pod metadata: watching this node's pods", { node, source: src.kind, ...describeKubeConfig(kc) });
    return startPodMetadata(kc, node, log.child({ part: 'pods' }));
  } catch (err) {
    log.warn('pod metadata is off', { reason: (err as Error).message });
    return undefined;
  }
}
