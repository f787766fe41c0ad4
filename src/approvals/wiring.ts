// SPDX-License-Identifier: Apache-2.0
/**
 * Puts approvals and notifications together for an engine process: the
 * notifiers from the configuration, the `notifications` queue and its worker,
 * the approval service, the engine hooks (approval, notify step, expiry) and
 * the HTTP pages. `riposte start`/`engine` and the integration tests use this
 * one function, so what is tested is what runs.
 *
 * @example
 *   const ap = await startApprovals({ runtime, config, secrets, log, registry, publicUrl: () => url });
 *   const engine = startEngine({ ...options, ...ap.engineHooks });
 *   ap.attach(engine.driver);
 *   buildServer({ ...httpDeps, approvals: ap.http });
 */
import type { ActionRegistry } from '../actions/registry.ts';
import { parseDuration } from '../common/duration.ts';
import type { Logger } from '../common/log.ts';
import type { RiposteConfig, RiposteSecrets } from '../config/schema.ts';
import type { RunDriver } from '../engine/driver.ts';
import type { EngineOptions } from '../engine/engine.ts';
import type { ApprovalHttpDeps } from '../http/routes/approvals.ts';
import { Deliverer } from '../notify/deliver.ts';
import { loadNotifiers, type NotifierRuntime } from '../notify/notifiers.ts';
import { NotificationQueue } from '../notify/queue.ts';
import { notifyStepHook } from '../notify/step.ts';
import type { Runtime } from '../runtime.ts';
import { IdentityResolver } from './identity.ts';
import { ApprovalService, type ReminderJob } from './service.ts';
import { ApprovalStore } from './store.ts';
import { TokenStore } from './tokens.ts';

export interface ApprovalsSetup {
  service: ApprovalService;
  deliverer: Deliverer;
  notifications: NotificationQueue;
  engineHooks: Pick<EngineOptions, 'onApproval' | 'notify' | 'resolveEvent'>;
  http: ApprovalHttpDeps;
  attach(driver: RunDriver): void;
  close(): Promise<void>;
}

export interface StartApprovalsOptions {
  runtime: Runtime;
  config: RiposteConfig;
  secrets: RiposteSecrets;
  log: Logger;
  registry: ActionRegistry;
  /** Base URL of links in messages (server.publicUrl, or the address the server listens on). */
  publicUrl: () => string;
  env?: NodeJS.ProcessEnv;
  notifierRuntime?: NotifierRuntime;
}

export async function startApprovals(o: StartApprovalsOptions): Promise<ApprovalsSetup> {
  const rt = o.runtime;
  const notifiers = await loadNotifiers(o.config.notifiers, o.env ?? process.env, o.notifierRuntime);
  const identity = new IdentityResolver(o.config.server.trustedProxies, o.config.approvals.identityHeaders);
  const deliverer = new Deliverer({ redis: rt.redis, keys: rt.keys, audit: rt.audit, log: o.log, notifiers });
  const notifications = new NotificationQueue(rt.redisUrl, rt.keys.bullPrefix);
  const tokens = new TokenStore(rt.redis, rt.keys, rt.now);
  const service = new ApprovalService({
    store: new ApprovalStore(rt.redis, rt.keys),
    tokens,
    runs: rt.runs,
    audit: rt.audit,
    registry: o.registry,
    config: o.config.approvals,
    runsQueue: rt.queues.runs,
    log: o.log,
    now: rt.now,
    publicUrl: o.publicUrl,
    notifications,
    deliverer,
  });
  notifications.on('reminder', (data) => service.remind(data as ReminderJob));
  notifications.start(deliverer, o.log, { lockDurationMs: o.config.engine.lockDuration ? Math.max(2000, parseDuration(o.config.engine.lockDuration)) : undefined });
  return {
    service,
    deliverer,
    notifications,
    engineHooks: {
      onApproval: (_kind, runId, stepId, attempt) => service.open(runId, stepId, attempt),
      notify: notifyStepHook({ deliverer, now: rt.now }),
      resolveEvent: (runId, event) => service.resolveEvent(runId, event),
    },
    http: { service, tokens, identity, formTtlMs: parseDuration(o.config.approvals.formTtl), slackSigningSecret: o.secrets.slackSigningSecret, now: rt.now, log: o.log },
    attach: (driver) => service.attach(driver),
    close: () => notifications.close(),
  };
}
