// SPDX-License-Identifier: Apache-2.0
/**
 * Approval gates: the engine's approval hook opens a record and posts the
 * request; people vote from the page, the CLI or Slack buttons; the decision
 * goes to the run as a DECISION event. Every request, vote, refusal, decision,
 * reminder and expiry is an audit record.
 *
 * Exactly one outcome per approval: votes and expiry change the record only
 * in Lua (src/approvals/store.ts). The expiry timer passes through
 * `resolveEvent` first: if a decision was recorded but its delivery was cut
 * short (a crash between the vote and the event), the timer delivers the
 * decision instead of timing out; otherwise it marks the approval expired.
 */
import { createHash } from 'node:crypto';
import type { Queue } from 'bullmq';
import type { ActionRegistry } from '../actions/registry.ts';
import type { AuditLog } from '../audit/log.ts';
import type { AuditActor } from '../audit/record.ts';
import { parseDuration } from '../common/duration.ts';
import type { Logger } from '../common/log.ts';
import type { ApprovalsConfig } from '../config/schema.ts';
import type { RunDriver } from '../engine/driver.ts';
import { type EventJob, jobId } from '../engine/effects.ts';
import { templateContext } from '../engine/executor.ts';
import { activeEffects, machineFor } from '../engine/machines.ts';
import type { RunStore, StoredRun } from '../engine/run-store.ts';
import { stepsById, type RunEvent } from '../playbooks/compile.ts';
import type { ApprovalStep } from '../playbooks/model.ts';
import { renderString } from '../playbooks/template.ts';
import type { Deliverer } from '../notify/deliver.ts';
import { alertTarget } from '../notify/facts.ts';
import type { NotificationMessage } from '../notify/message.ts';
import type { NotificationQueue } from '../notify/queue.ts';
import { describeNext } from './describe.ts';
import { type ApprovalRecord, type ApprovalView, approvalId, type Decision, type IdentitySource, normIdentity, onTimeoutText, type Vote } from './model.ts';
import type { ApprovalStore } from './store.ts';
import type { TokenStore } from './tokens.ts';

/** Why a vote is not taken; `status` is the HTTP status the pages answer with. */
export class ApprovalRefusal extends Error {
  readonly code: string;
  readonly status: number;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.name = 'ApprovalRefusal';
    this.status = status;
    this.code = code;
  }
}

export interface ApprovalServiceDeps {
  store: ApprovalStore;
  tokens: TokenStore;
  runs: RunStore;
  audit: AuditLog;
  registry: ActionRegistry;
  config: ApprovalsConfig;
  /** The `runs` queue: decisions go there when no driver is at hand (CLI) or it failed. */
  runsQueue: Queue;
  log: Logger;
  now: () => Date;
  publicUrl: () => string;
  /** Engine processes only: where request notifications are enqueued, and who delivers reminders. */
  notifications?: NotificationQueue;
  deliverer?: Deliverer;
}

export interface VoteInput {
  id: string;
  person: string;
  via: IdentitySource;
  decision: Decision;
  comment?: string;
  /** Extra audit details (remote address, OS user, Slack user). */
  details?: Record<string, unknown>;
}

export interface VoteResult {
  approval: ApprovalView;
  decided: boolean;
}

export interface ReminderJob {
  approvalId: string;
  before: string;
}

const SYSTEM: AuditActor = { type: 'system', name: 'approvals' };
const MAX_COMMENT = 2000;

export class ApprovalService {
  private readonly d: ApprovalServiceDeps;
  private readonly groups: Map<string, string[]>;
  private readonly people: Map<string, { notify?: string; osUser?: string; slackUserId?: string }>;
  private driver?: RunDriver;

  constructor(deps: ApprovalServiceDeps) {
    this.d = deps;
    this.groups = new Map(Object.entries(deps.config.groups).map(([g, members]) => [g, members.map(normIdentity)]));
    this.people = new Map(Object.entries(deps.config.people).map(([p, v]) => [normIdentity(p), v]));
  }

  /** Gives the service the engine's driver, so decisions reach the run without a queue hop. */
  attach(driver: RunDriver): void {
    this.driver = driver;
  }

  get store(): ApprovalStore {
    return this.d.store;
  }

  url(id: string, token?: string): string {
    return `${this.d.publicUrl().replace(/\/+$/, '')}/approvals/${id}${token ? `?t=${token}` : ''}`;
  }

  // ── the engine's hooks ────────────────────────────────────────────────

  /** The approval hook: idempotent, called whenever the run's effects are (re-)ensured. */
  async open(runId: string, stepId: string, attempt: number): Promise<void> {
    const id = approvalId(runId, stepId, attempt);
    const existing = await this.d.store.get(id);
    if (existing) {
      if (existing.status === 'approved' || existing.status === 'denied') await this.enqueueDecision(existing);
      else if (existing.status === 'pending' && !(await this.d.store.notifiedAt(id))) await this.sendRequest(existing);
      return;
    }
    const run = await this.d.runs.get(runId);
    if (!run || !waitingAt(run, stepId, attempt)) return;
    const step = stepsById(run.meta.model).get(stepId) as ApprovalStep | undefined;
    if (!step || !('approval' in step)) return;
    const a = step.approval;
    const now = this.d.now();
    const { next, moreAfter } = describeNext(run, stepId, this.d.registry);
    let message: string | undefined;
    if (a.message) {
      try {
        message = renderString(a.message, templateContext(run), `step ${stepId} approval.message`);
      } catch {
        message = a.message;
      }
    }
    const alert = run.state.context.alert;
    const first = next[0]?.description;
    const rec: ApprovalRecord = {
      id,
      runId,
      stepId,
      attempt,
      incidentId: run.meta.incidentId,
      alertId: run.meta.alertId,
      playbook: run.meta.playbook,
      title: step.name ?? (first ? first.charAt(0).toUpperCase() + first.slice(1) : `step ${stepId}`),
      ...(message ? { message } : {}),
      next,
      ...(moreAfter ? { moreAfter } : {}),
      target: alertTarget(alert),
      alert: { rule: alert.rule, priority: alert.priority, hostname: alert.hostname, time: alert.time, source: alert.source, output: alert.output },
      approvers: { users: (a.approvers?.users ?? []).map(normIdentity), groups: a.approvers?.groups ?? [] },
      minApprovals: a.minApprovals ?? 1,
      onTimeout: a.onTimeout ?? 'deny',
      notify: a.notify ?? [],
      startedBy: run.meta.startedBy,
      dryRun: run.meta.dryRun,
      createdAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + parseDuration(a.timeout)).toISOString(),
    };
    if (!(await this.d.store.create(rec))) return; // another engine opened it first
    const unknownGroups = rec.approvers.groups.filter((g) => !this.groups.has(g));
    await this.d.audit.append({
      actor: SYSTEM,
      action: 'approval.requested',
      target: rec.title,
      outcome: 'info',
      incidentId: rec.incidentId,
      runId,
      stepId,
      details: {
        approvalId: id,
        approvers: rec.approvers,
        minApprovals: rec.minApprovals,
        expiresAt: rec.expiresAt,
        onTimeout: rec.onTimeout,
        next: next.map((n) => n.description),
        notify: rec.notify,
        ...(unknownGroups.length ? { unknownGroups } : {}),
      },
    });
    await this.scheduleReminders(rec, now);
    await this.sendRequest({ ...rec, status: 'pending', votes: [], approvals: 0 });
  }

  /** Runs before the driver applies an approval's expiry timer (see the file comment). */
  async resolveEvent(runId: string, event: RunEvent): Promise<RunEvent> {
    if (event.type !== 'TIMER' || event.timer !== 'expiry') return event;
    const id = approvalId(runId, event.stepId, event.attempt);
    const r = await this.d.store.close(id, 'expired', 'no decision before the expiry', this.d.now());
    if (r.status === 'approved' || r.status === 'denied') return { type: 'DECISION', stepId: event.stepId, attempt: event.attempt, decision: r.status };
    if (r.changed) {
      const view = await this.d.store.get(id);
      if (view) {
        await this.d.audit.append({
          actor: SYSTEM,
          action: 'approval.expired',
          target: view.title,
          outcome: 'info',
          incidentId: view.incidentId,
          runId,
          stepId: view.stepId,
          details: { approvalId: id, onTimeout: view.onTimeout, approvals: view.approvals, minApprovals: view.minApprovals, votes: view.votes.map((v) => `${v.person}:${v.decision}`) },
        });
        await this.sendOutcome(view);
      }
    }
    return event;
  }

  // ── reading ────────────────────────────────────────────────────────────

  /** The record as it stands; a pending approval whose run no longer waits for it is closed here. */
  async current(id: string): Promise<ApprovalView | undefined> {
    const view = await this.d.store.get(id);
    if (view?.status !== 'pending') return view;
    const run = await this.d.runs.get(view.runId);
    if (run && waitingAt(run, view.stepId, view.attempt)) return view;
    const reason = !run ? 'the run no longer exists' : run.state.status !== 'running' ? `the run ended (${run.state.status})` : 'the run moved past this step';
    await this.d.store.close(id, 'closed', reason, this.d.now());
    return this.d.store.get(id);
  }

  async list(opts: { all?: boolean } = {}): Promise<ApprovalView[]> {
    const ids = opts.all ? await this.d.store.recentIds(200) : await this.d.store.pendingIds(500);
    const views = (await Promise.all(ids.map((id) => this.current(id)))).filter((v): v is ApprovalView => v !== undefined);
    return opts.all ? views : views.filter((v) => v.status === 'pending');
  }

  /** Everyone who may decide (listed users and current group members); empty means "anyone identified". */
  approverPeople(view: ApprovalRecord): string[] {
    const out = new Set(view.approvers.users.map(normIdentity));
    for (const g of view.approvers.groups) for (const m of this.groups.get(g) ?? []) out.add(m);
    return [...out];
  }

  /**
   * A personal link for one approver, for a person at the terminal of this machine
   * (`riposte approvals link`): the link carries that person's identity to the page,
   * where the vote is still checked like any other.
   */
  async personalLink(id: string, person: string): Promise<string> {
    const view = await this.current(id);
    if (!view) throw new ApprovalRefusal(404, 'NOT_FOUND', `no approval ${id}`);
    if (view.status !== 'pending') throw new ApprovalRefusal(409, 'CLOSED', `approval ${id} is ${view.status}`);
    if (!this.isApprover(view, person)) throw new ApprovalRefusal(403, 'NOT_AN_APPROVER', `${person} is not an approver of this step (approvers: ${describeApprovers(view)})`);
    const { token } = await this.d.tokens.issue('link', view.id, person, this.linkTtl(view));
    await this.d.audit.append({ actor: { type: 'person', name: person, via: 'cli-os-user' }, action: 'approval.link', target: view.title, outcome: 'info', incidentId: view.incidentId, runId: view.runId, stepId: view.stepId, details: { approvalId: view.id } });
    return this.url(view.id, token);
  }

  isApprover(view: ApprovalRecord, person: string): boolean {
    if (view.approvers.users.length === 0 && view.approvers.groups.length === 0) return true;
    return this.approverPeople(view).includes(normIdentity(person));
  }

  /** Why `person` cannot vote now, or undefined when they can. */
  refusal(view: ApprovalView, person: string, decision?: Decision): ApprovalRefusal | undefined {
    const p = normIdentity(person);
    if (view.status !== 'pending') return new ApprovalRefusal(409, 'APPROVAL_CLOSED', `this approval is already ${view.status}${view.closedReason ? ` (${view.closedReason})` : ''}`);
    if (Date.parse(view.expiresAt) <= this.d.now().getTime()) return new ApprovalRefusal(410, 'APPROVAL_EXPIRED', `this approval expired at ${view.expiresAt}`);
    if (!this.isApprover(view, p)) return new ApprovalRefusal(403, 'NOT_AN_APPROVER', `${p} is not an approver of this step (approvers: ${describeApprovers(view)})`);
    if (view.votes.some((v) => v.person === p)) return new ApprovalRefusal(409, 'ALREADY_VOTED', `${p} has already voted on this approval`);
    if (decision !== 'denied' && view.startedBy !== 'system' && normIdentity(view.startedBy) === p) {
      return new ApprovalRefusal(403, 'SELF_APPROVAL', `${p} started this run and cannot approve it; another approver must`);
    }
    return undefined;
  }

  /** The identity an OS user at a terminal counts as (approvals.people.<id>.osUser), else the OS user name. */
  personForOsUser(osUser: string): string {
    for (const [p, v] of this.people) if (v.osUser === osUser) return p;
    return normIdentity(osUser);
  }

  personForSlackUser(slackUserId: string): string | undefined {
    for (const [p, v] of this.people) if (v.slackUserId === slackUserId) return p;
    return undefined;
  }

  // ── voting ─────────────────────────────────────────────────────────────

  async vote(i: VoteInput): Promise<VoteResult> {
    const person = normIdentity(i.person);
    if (i.comment !== undefined && i.comment.length > MAX_COMMENT) throw new ApprovalRefusal(400, 'COMMENT_TOO_LONG', `comment is longer than ${MAX_COMMENT} characters`);
    const view = await this.current(i.id);
    if (!view) throw new ApprovalRefusal(404, 'NOT_FOUND', `no approval ${i.id}`);
    const actor: AuditActor = { type: 'person', name: person, via: i.via };
    const refused = this.refusal(view, person, i.decision);
    if (refused) {
      await this.auditRefusal(view, actor, refused.code, refused.message, i.details);
      throw refused;
    }
    const now = this.d.now();
    const vote: Vote = { person, decision: i.decision, via: i.via, at: now.toISOString(), ...(i.comment?.trim() ? { comment: i.comment.trim() } : {}) };
    const r = await this.d.store.vote(view, vote, now);
    if (r.outcome !== 'recorded' && r.outcome !== 'decided') {
      const refusal =
        r.outcome === 'duplicate'
          ? new ApprovalRefusal(409, 'ALREADY_VOTED', `${person} has already voted on this approval`)
          : r.outcome === 'expired'
            ? new ApprovalRefusal(410, 'APPROVAL_EXPIRED', `this approval expired at ${view.expiresAt}`)
            : r.outcome === 'missing'
              ? new ApprovalRefusal(404, 'NOT_FOUND', `no approval ${i.id}`)
              : new ApprovalRefusal(409, 'APPROVAL_CLOSED', `this approval is already ${r.status}`);
      await this.auditRefusal(view, actor, refusal.code, refusal.message, i.details);
      throw refusal;
    }
    const after = (await this.d.store.get(i.id)) ?? view;
    const base = { incidentId: view.incidentId, runId: view.runId, stepId: view.stepId };
    await this.d.audit.append({
      actor,
      action: 'approval.vote',
      target: view.title,
      outcome: 'info',
      ...base,
      details: { approvalId: view.id, decision: i.decision, ...(vote.comment ? { comment: vote.comment } : {}), approvals: after.approvals, minApprovals: view.minApprovals, ...(i.details ?? {}) },
    });
    if (r.outcome === 'decided') {
      await this.d.audit.append({
        actor,
        action: 'approval.decided',
        target: view.title,
        outcome: r.status === 'approved' ? 'success' : 'refused',
        ...base,
        details: { approvalId: view.id, decision: r.status, votes: after.votes.map((v) => ({ person: v.person, decision: v.decision, via: v.via })), minApprovals: view.minApprovals },
      });
      await this.deliverDecision(after);
      await this.sendOutcome(after);
    }
    return { approval: after, decided: r.outcome === 'decided' };
  }

  /** Audits a refused attempt to decide (forged or foreign tokens, non-approvers, self-approval). */
  async auditRefusal(view: ApprovalRecord, actor: AuditActor, code: string, message: string, details: Record<string, unknown> = {}): Promise<void> {
    await this.d.audit.append({ actor, action: 'approval.refused', target: view.title, outcome: 'refused', incidentId: view.incidentId, runId: view.runId, stepId: view.stepId, details: { approvalId: view.id, code, reason: message, ...details } });
  }

  private decisionEvent(view: ApprovalView): RunEvent {
    return { type: 'DECISION', stepId: view.stepId, attempt: view.attempt, decision: view.status === 'approved' ? 'approved' : 'denied' };
  }

  private async deliverDecision(view: ApprovalView): Promise<void> {
    if (this.driver) {
      try {
        await this.driver.send(view.runId, this.decisionEvent(view));
        return;
      } catch (err) {
        this.d.log.warn('decision could not be applied directly; queued', { approvalId: view.id, error: (err as Error).message });
      }
    }
    await this.enqueueDecision(view);
  }

  private async enqueueDecision(view: ApprovalView): Promise<void> {
    const data: EventJob = { runId: view.runId, event: this.decisionEvent(view) };
    await this.d.runsQueue.add('event', data, { jobId: jobId('d', view.id), attempts: 10, backoff: { type: 'exponential', delay: 500 }, removeOnComplete: { age: 3600 }, removeOnFail: { age: 7 * 86400 } });
  }

  // ── notifications ──────────────────────────────────────────────────────

  private message(view: ApprovalView, kind: NotificationMessage['kind'], link: string | undefined, key: string): NotificationMessage {
    const lines: string[] = [];
    if (view.message) lines.push(view.message);
    if (kind === 'decided') {
      const by = view.votes.filter((v) => v.decision === view.status).map((v) => v.person);
      lines.push(view.status === 'expired' ? `Nobody decided in time: ${onTimeoutText(view.onTimeout)}.` : view.status === 'closed' ? `Closed: ${view.closedReason ?? 'the run moved on'}.` : `${view.status === 'approved' ? 'Approved' : 'Denied'} by ${by.join(', ')}.`);
    } else {
      if (view.next.length) lines.push(`If approved: ${view.next.map((n) => n.description).join('; then ')}.`);
      lines.push(`If nobody decides by ${view.expiresAt}, ${onTimeoutText(view.onTimeout)}.`);
    }
    const title =
      kind === 'decided'
        ? `${view.status === 'approved' ? 'Approved' : view.status === 'denied' ? 'Denied' : view.status === 'expired' ? 'Expired' : 'Closed'}: ${view.title}`
        : `${kind === 'reminder' ? 'Reminder — approval needed' : 'Approval needed'}: ${view.title}`;
    return {
      kind,
      title,
      text: lines.join('\n'),
      severity: kind === 'decided' ? (view.status === 'denied' ? 'denied' : 'info') : view.alert.priority,
      facts: [
        { label: 'Target', value: view.target },
        { label: 'Alert', value: `${view.alert.rule} (${view.alert.priority})` },
        { label: 'Playbook', value: view.playbook },
        { label: 'Approvers', value: describeApprovers(view) },
        { label: 'Approvals', value: `${view.approvals} of ${view.minApprovals}` },
        { label: 'Expires', value: view.expiresAt },
      ],
      links: link ? [{ label: kind === 'decided' ? 'View' : 'Review and decide', url: link, style: 'primary' }] : [],
      ...(kind !== 'decided' ? { approvalId: view.id } : {}),
      key,
      time: this.d.now().toISOString(),
    };
  }

  /** Approvers who get personal links: listed people with a personal notifier configured. */
  private personalRecipients(view: ApprovalView): { person: string; notifier: string }[] {
    return this.approverPeople(view).flatMap((person) => {
      const n = this.people.get(person)?.notify;
      return n ? [{ person, notifier: n }] : [];
    });
  }

  private async sendRequest(view: ApprovalView): Promise<void> {
    const q = this.d.notifications;
    if (!q) return;
    const ctx = { runId: view.runId, incidentId: view.incidentId, stepId: view.stepId, approvalId: view.id };
    for (const channel of view.notify) {
      const message = this.message(view, 'approval', this.url(view.id), `approval:${view.id}:request`);
      await q.add('deliver', { notifier: channel, message, ctx }, { jobId: jobId('n', view.id, channel) });
    }
    for (const r of this.personalRecipients(view)) {
      const { token } = await this.d.tokens.issue('link', view.id, r.person, this.linkTtl(view));
      const message = this.message(view, 'approval', this.url(view.id, token), `approval:${view.id}:request`);
      await q.add('deliver', { notifier: r.notifier, message, ctx: { ...ctx, recipient: r.person } }, { jobId: jobId('n', view.id, r.notifier, shortHash(r.person)) });
    }
    await this.d.store.markNotified(view.id, this.d.now());
  }

  private linkTtl(view: ApprovalRecord): number {
    return Math.max(1000, Math.min(parseDuration(this.d.config.linkTtl), Date.parse(view.expiresAt) - this.d.now().getTime()));
  }

  private async scheduleReminders(rec: ApprovalRecord, now: Date): Promise<void> {
    const q = this.d.notifications;
    if (!q) return;
    for (const before of this.d.config.reminders) {
      const at = Date.parse(rec.expiresAt) - parseDuration(before);
      if (at <= now.getTime()) continue;
      await q.add('reminder', { approvalId: rec.id, before } satisfies ReminderJob, { jobId: jobId('r', rec.id, before), delay: at - now.getTime() });
    }
  }

  /** The `reminder` job: reminds channels and the approvers who have not voted, with fresh personal links. */
  async remind(job: ReminderJob): Promise<void> {
    const view = await this.current(job.approvalId);
    if (view?.status !== 'pending' || Date.parse(view.expiresAt) <= this.d.now().getTime()) return;
    const voted = new Set(view.votes.map((v) => v.person));
    const waiting = this.personalRecipients(view).filter((r) => !voted.has(r.person));
    await this.d.audit.append({
      actor: SYSTEM,
      action: 'approval.reminder',
      target: view.title,
      outcome: 'info',
      incidentId: view.incidentId,
      runId: view.runId,
      stepId: view.stepId,
      details: { approvalId: view.id, before: job.before, approvals: view.approvals, minApprovals: view.minApprovals, expiresAt: view.expiresAt },
    });
    const d = this.d.deliverer;
    if (!d) return;
    const ctx = { runId: view.runId, incidentId: view.incidentId, stepId: view.stepId, approvalId: view.id };
    const key = `approval:${view.id}:reminder:${job.before}`;
    for (const channel of view.notify) await d.deliver(channel, this.message(view, 'reminder', this.url(view.id), key), ctx);
    for (const r of waiting) {
      const { token } = await this.d.tokens.issue('link', view.id, r.person, this.linkTtl(view));
      await d.deliver(r.notifier, this.message(view, 'reminder', this.url(view.id, token), key), { ...ctx, recipient: r.person });
    }
  }

  /** Tells the request's channels how it ended. */
  private async sendOutcome(view: ApprovalView): Promise<void> {
    const q = this.d.notifications;
    if (!q) return;
    const ctx = { runId: view.runId, incidentId: view.incidentId, stepId: view.stepId, approvalId: view.id };
    for (const channel of view.notify) {
      await q.add('deliver', { notifier: channel, message: this.message(view, 'decided', this.url(view.id), `approval:${view.id}:outcome`), ctx }, { jobId: jobId('o', view.id, channel) });
    }
  }
}

/** True while the run's current state is this approval step at this attempt. */
export function waitingAt(run: StoredRun, stepId: string, attempt: number): boolean {
  const machine = machineFor(run.meta.playbookVersion, run.meta.model);
  return activeEffects(machine, run.state).some((e) => e.effect === 'approval' && e.stepId === stepId && e.attempt === attempt);
}

export function describeApprovers(view: ApprovalRecord): string {
  const parts = [...view.approvers.users, ...view.approvers.groups.map((g) => `group ${g}`)];
  return parts.length ? parts.join(', ') : 'anyone identified';
}

const shortHash = (s: string) => createHash('sha256').update(s).digest('hex').slice(0, 16);
