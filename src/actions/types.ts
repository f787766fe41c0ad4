// SPDX-License-Identifier: Apache-2.0
/**
 * The action contract. Each action declares its name, parameter schema, where
 * it runs, whether it is destructive, the RBAC it needs, and `execute()`.
 * Playbook validation, `riposte rbac`, the docs and the UI read these declarations.
 * Actions know nothing of HTTP or queues: they get parameters and a context, and
 * return a result or throw.
 */
import type { Alert } from '../alerts/alert.ts';
import type { Logger } from '../common/log.ts';

export interface RbacRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

export interface ActionContext {
  /** `runId:stepId:attempt`-derived key: the same on every re-execution of one attempt. */
  idempotencyKey: string;
  runId: string;
  stepId: string;
  incidentId: string;
  attempt: number;
  alert: Alert;
  dryRun: boolean;
  log: Logger;
  signal: AbortSignal;
  /** Services an action may use; each action checks for what it needs. */
  services: ActionServices;
}

/** Side-effect ports an action can use; filled in by the process that runs it. */
export interface ActionServices {
  fetch?: typeof fetch;
  [name: string]: unknown;
}

export interface ActionResult {
  /** Exposed to later steps as `steps.<id>.output`. */
  output: Record<string, unknown>;
  /** One line for the audit log and the UI. */
  summary: string;
  /** Extra facts for the audit record (hashes, object names, …). */
  details?: Record<string, unknown>;
  /**
   * Durable follow-ups, e.g. lifting a quarantine when its expiry passes: the
   * engine stores each as a delayed job and runs the named action then, audited,
   * with an idempotency key derived from this step's.
   */
  followUps?: FollowUp[];
}

export interface FollowUp {
  action: string;
  params: Record<string, unknown>;
  delayMs: number;
  reason: string;
}

export interface ActionDefinition<P = Record<string, unknown>> {
  name: string;
  description: string;
  /** JSON Schema (draft-07) of `with:`. */
  params: Record<string, unknown>;
  runsOn: 'cluster' | 'node' | 'engine';
  destructive: boolean;
  /** Safe to run twice with the same idempotency key: the effect happens once. */
  idempotent: boolean;
  rbac: RbacRule[];
  /** Plain words for dry runs and approval pages. */
  describe(params: P, alert: Alert): string;
  execute(params: P, ctx: ActionContext): Promise<ActionResult>;
}

export class ActionError extends Error {
  readonly retryable: boolean;
  constructor(message: string, opts: { retryable?: boolean } = {}) {
    super(message);
    this.name = 'ActionError';
    this.retryable = opts.retryable ?? true;
  }
}
