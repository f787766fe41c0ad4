// SPDX-License-Identifier: Apache-2.0
/**
 * Approval records: what a person is asked to decide, and the votes so far.
 * The id is derived from run, step and attempt, so the engine's approval hook
 * (called again whenever a run's effects are re-ensured) always names the same
 * record and creates it once.
 */
import { derivedId } from '../engine/alert-processor.ts';
import type { StepKind } from '../playbooks/model.ts';

export type ApprovalStatus = 'pending' | 'approved' | 'denied' | 'expired' | 'closed';
export type Decision = 'approved' | 'denied';
export type OnTimeout = 'deny' | 'approve' | 'continue';

/** Where an identity came from; the audit record's `actor.via`. */
export type IdentitySource = 'proxy-header' | 'personal-link' | 'cli-os-user' | 'slack-interactive' | 'login';

/** One step that runs if the approval is granted, in plain words. */
export interface NextStep {
  stepId: string;
  kind: StepKind;
  description: string;
  action?: string;
  destructive?: boolean;
  /** The step's `if`, when it has one. */
  condition?: string;
}

export interface ApprovalRecord {
  id: string;
  runId: string;
  stepId: string;
  attempt: number;
  incidentId: string;
  alertId: string;
  playbook: string;
  /** Step name, or what the next step does. */
  title: string;
  /** The step's rendered `approval.message`. */
  message?: string;
  next: NextStep[];
  /** True when steps after `next` wait for another approval. */
  moreAfter?: string;
  target: string;
  alert: { rule: string; priority: string; hostname: string; time: string; source: string; output: string };
  approvers: { users: string[]; groups: string[] };
  minApprovals: number;
  onTimeout: OnTimeout;
  /** Notifiers (channels) the request was posted to. */
  notify: string[];
  startedBy: string;
  dryRun: boolean;
  createdAt: string;
  expiresAt: string;
}

export interface Vote {
  person: string;
  decision: Decision;
  via: IdentitySource;
  comment?: string;
  at: string;
}

/** A record with its live state. */
export interface ApprovalView extends ApprovalRecord {
  status: ApprovalStatus;
  votes: Vote[];
  approvals: number;
  decidedAt?: string;
  /** Why it was closed without a decision (run cancelled, moved on). */
  closedReason?: string;
}

export function approvalId(runId: string, stepId: string, attempt: number): string {
  return derivedId('approval', runId, stepId, String(attempt));
}

export const APPROVAL_ID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Identities compare case-insensitively (e-mail addresses, user names). */
export const normIdentity = (s: string) => s.trim().toLowerCase();

export function onTimeoutText(o: OnTimeout): string {
  return o === 'deny' ? 'the request is denied and the run stops' : o === 'approve' ? 'the request is approved and the run goes on' : 'the run goes on without this step’s approval';
}
