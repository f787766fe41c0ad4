// SPDX-License-Identifier: Apache-2.0
/**
 * Audit records and their hash chain. `hash = sha256(prevHash + canonicalJson(record without hash))`,
 * so editing, deleting or reordering any record breaks every later link.
 */
import { createHash } from 'node:crypto';
import { canonicalJson } from '../common/canonical-json.ts';

export const GENESIS_HASH = '0'.repeat(64);

export interface AuditActor {
  /** `system` for Riposte's own components, `person` for a human. */
  type: 'system' | 'person';
  /** Component name (`engine`, `ingest`, `agent@node-1`) or the person's identity. */
  name: string;
  /** Where a person's identity came from: `proxy-header`, `personal-link`, `cli-os-user`, `login`. */
  via?: string;
}

export type AuditOutcome = 'success' | 'failure' | 'info' | 'refused' | 'skipped';

/** What callers hand to `append`; the log adds id, seq, time and the chain. */
export interface AuditEntry {
  actor: AuditActor;
  action: string;
  target?: string;
  outcome: AuditOutcome;
  incidentId?: string;
  runId?: string;
  stepId?: string;
  details?: Record<string, unknown>;
}

export interface AuditRecord extends AuditEntry {
  id: string;
  seq: number;
  time: string;
  prevHash: string;
  hash: string;
}

export function hashRecord(rec: Omit<AuditRecord, 'hash'>): string {
  return createHash('sha256').update(rec.prevHash).update(canonicalJson(rec)).digest('hex');
}
