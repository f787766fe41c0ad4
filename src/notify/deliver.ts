// SPDX-License-Identifier: Apache-2.0
/**
 * Delivers one message through one notifier and audits the outcome. A failed
 * notification is an audit record (`notification.failed`), never an exception:
 * whether it should fail a run is the caller's decision. A marker per
 * message key and notifier makes a re-executed job skip what was already
 * posted (chat webhooks have no idempotency keys of their own); the window
 * between posting and writing the marker is the only place a duplicate can come from.
 */
import type { Redis } from 'ioredis';
import type { AuditLog } from '../audit/log.ts';
import type { Logger } from '../common/log.ts';
import type { Keys } from '../redis/keys.ts';
import type { NotificationMessage } from './message.ts';
import type { Notifier } from './notifiers.ts';

export interface DeliveryContext {
  runId?: string;
  incidentId?: string;
  stepId?: string;
  approvalId?: string;
  /** Who the message is for when it carries a personal link (the link itself is never audited). */
  recipient?: string;
}

export type DeliveryResult = { ok: true; notifier: string; status?: number; attempts: number; duplicate?: boolean } | { ok: false; notifier: string; error: string; attempts: number };

const MARKER_TTL_S = 7 * 86400;

export class Deliverer {
  private readonly redis: Redis;
  private readonly keys: Keys;
  private readonly audit: AuditLog;
  private readonly log: Logger;
  readonly notifiers: ReadonlyMap<string, Notifier>;

  constructor(o: { redis: Redis; keys: Keys; audit: AuditLog; log: Logger; notifiers: ReadonlyMap<string, Notifier> }) {
    this.redis = o.redis;
    this.keys = o.keys;
    this.audit = o.audit;
    this.log = o.log;
    this.notifiers = o.notifiers;
  }

  async deliver(name: string, msg: NotificationMessage, ctx: DeliveryContext = {}, signal?: AbortSignal): Promise<DeliveryResult> {
    const base = { incidentId: ctx.incidentId, runId: ctx.runId, stepId: ctx.stepId };
    const details = { notifier: name, kind: msg.kind, key: msg.key, ...(ctx.approvalId ? { approvalId: ctx.approvalId } : {}), ...(ctx.recipient ? { recipient: ctx.recipient } : {}) };
    const notifier = this.notifiers.get(name);
    if (!notifier) {
      const error = `no notifier "${name}" is configured (riposte.yaml notifiers:)`;
      await this.audit.append({ actor: { type: 'system', name: 'notifier' }, action: 'notification.failed', target: name, outcome: 'failure', ...base, details: { ...details, error } });
      return { ok: false, notifier: name, error, attempts: 0 };
    }
    const marker = this.keys.notified(`${msg.key}|${name}${ctx.recipient ? `|${ctx.recipient}` : ''}`);
    if (await this.redis.exists(marker)) {
      this.log.debug('notification already delivered', { notifier: name, key: msg.key });
      return { ok: true, notifier: name, attempts: 0, duplicate: true };
    }
    try {
      const r = await notifier.send(msg, signal);
      await this.redis.set(marker, '1', 'EX', MARKER_TTL_S);
      await this.audit.append({ actor: { type: 'system', name: 'notifier' }, action: 'notification.sent', target: name, outcome: 'success', ...base, details: { ...details, type: notifier.type, status: r.status, attempts: r.attempts } });
      return { ok: true, notifier: name, status: r.status, attempts: r.attempts };
    } catch (err) {
      const e = err as Error & { attempts?: number; status?: number };
      this.log.warn('notification failed', { notifier: name, kind: msg.kind, error: e.message });
      await this.audit.append({ actor: { type: 'system', name: 'notifier' }, action: 'notification.failed', target: name, outcome: 'failure', ...base, details: { ...details, type: notifier.type, error: e.message, attempts: e.attempts ?? 1, ...(e.status ? { status: e.status } : {}) } });
      return { ok: false, notifier: name, error: e.message, attempts: e.attempts ?? 1 };
    }
  }
}
