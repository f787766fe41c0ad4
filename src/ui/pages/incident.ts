// SPDX-License-Identifier: Apache-2.0
/**
 * One incident: its first alert and its newest alerts, and for each run the state-machine diagram with
 * where the run has been and is now, the steps with their outputs, approvals
 * and who voted, artifacts with their hashes, and the timeline from the audit
 * log (the record of what happened, not the run's own notes).
 */
import { approvalId, type ApprovalView } from '../../approvals/model.ts';
import type { AuditRecord } from '../../audit/record.ts';
import { KEEP_ALERTS, type KeptAlert } from '../../engine/incidents.ts';
import type { StoredRun } from '../../engine/run-store.ts';
import { stepKind, walkSteps, type Step } from '../../playbooks/model.ts';
import { renderDiagram, currentNodes } from '../diagram.ts';
import { auditSummary, findArtifacts, pre, severity, short, stateName, status, time, type Artifact } from '../format.ts';
import { html, type SafeHtml } from '../html.ts';
import type { Page, PageContext } from './context.ts';
import { live } from './incidents.ts';

function stepDetail(s: Step): string {
  if ('action' in s) return s.action;
  if ('approval' in s) return `approval, ${s.approval.minApprovals ?? 1} needed, expires after ${s.approval.timeout}`;
  if ('notify' in s) return `notify ${s.notify.to.join(', ')}`;
  if ('wait' in s) return `wait ${s.wait}`;
  return `parallel, ${s.parallel.branches.length} branches`;
}

function alertCard(alert: Record<string, unknown> | undefined): SafeHtml {
  if (!alert) return html`<p class="empty">The alert is not available (its run is gone).</p>`;
  const fields = (alert.output_fields ?? {}) as Record<string, unknown>;
  const tags = Array.isArray(alert.tags) ? (alert.tags as string[]) : [];
  return html`<div class="card">
<p class="alert-output">${String(alert.output ?? '')}</p>
<dl class="facts">
<dt>Rule</dt><dd>${String(alert.rule ?? '')}</dd>
<dt>Priority</dt><dd>${severity(String(alert.priority ?? ''))}</dd>
<dt>Time</dt><dd>${time(String(alert.time ?? ''))}</dd>
<dt>Source</dt><dd>${String(alert.source ?? '')}</dd>
<dt>Host</dt><dd>${String(alert.hostname ?? '')}</dd>
<dt>Alert id</dt><dd><code>${String(alert.id ?? '')}</code></dd>
${tags.length ? html`<dt>Tags</dt><dd>${tags.map((t) => html`<span class="tag">${t}</span> `)}</dd>` : ''}
</dl>
${
  Object.keys(fields).length
    ? html`<table class="kv"><caption>Output fields</caption><thead><tr><th scope="col">Field</th><th scope="col">Value</th></tr></thead><tbody>${Object.entries(fields).map(([k, v]) => html`<tr><th scope="row"><code>${k}</code></th><td>${typeof v === 'string' ? v : JSON.stringify(v)}</td></tr>`)}</tbody></table>`
    : ''
}
</div>`;
}

/** The incident's newest alerts (the store keeps KEEP_ALERTS of them; all are counted). */
function alertsTable(alerts: KeptAlert[], count: number): SafeHtml {
  if (count <= 1 && alerts.length <= 1) return html``;
  const caption = alerts.length < count ? `Newest ${alerts.length} of ${count} alerts (all are counted; the newest ${KEEP_ALERTS} are kept)` : `All ${count} alerts, newest first`;
  return html`<table class="list alerts"><caption>${caption}</caption>
<thead><tr><th scope="col">Time</th><th scope="col">Priority</th><th scope="col">Output</th><th scope="col">Alert id</th></tr></thead>
<tbody>${alerts.map(
    (a) => html`<tr data-alert="${a.id}"><td>${time(a.time)}</td><td>${severity(a.priority)}</td><td>${a.output}${a.truncated ? html` <span class="muted small">(shortened; output fields not kept)</span>` : ''}</td><td><code>${a.id}</code></td></tr>`,
  )}</tbody></table>`;
}

function stepsTable(run: StoredRun, current: Set<string>): SafeHtml {
  const ctx = run.state.context;
  const rows = walkSteps(run.meta.model.steps).map(({ step }) => {
    const rec = ctx.steps[step.id];
    const st = rec?.status ?? (current.has(`step:${step.id}`) ? (stepKind(step) === 'approval' ? 'waiting' : 'running') : ctx.visited.includes(step.id) ? 'running' : 'not reached');
    const attempts = ctx.attempts[step.id] ?? 0;
    const out = rec?.output !== undefined && !(typeof rec.output === 'object' && rec.output !== null && Object.keys(rec.output).length === 0);
    return html`<tr data-step="${step.id}">
  <th scope="row"><code>${step.id}</code>${step.name ? html`<div class="muted small">${step.name}</div>` : ''}</th>
  <td>${stepDetail(step)}</td>
  <td>${status(st)}</td>
  <td class="num">${attempts}</td>
  <td>${rec?.error ? html`<span class="error-text">${rec.error}</span>` : ''}${out ? html`<details data-key="out-${run.meta.id}-${step.id}"><summary>output</summary>${pre(rec!.output)}</details>` : ''}</td>
</tr>`;
  });
  return html`<table class="list steps"><caption>Steps</caption><thead><tr><th scope="col">Step</th><th scope="col">Does</th><th scope="col">Status</th><th scope="col" class="num">Attempts</th><th scope="col">Output / error</th></tr></thead><tbody>${rows}</tbody></table>`;
}

function approvalsSection(c: PageContext, run: StoredRun, views: Map<string, ApprovalView>, current: Set<string>, records: AuditRecord[]): SafeHtml {
  const steps = walkSteps(run.meta.model.steps).filter(({ step }) => stepKind(step) === 'approval');
  if (!steps.length) return html``;
  const items = steps.map(({ step }) => {
    const view = views.get(step.id);
    const rec = run.state.context.steps[step.id];
    const waiting = current.has(`step:${step.id}`);
    const state = view?.status ?? rec?.status ?? (waiting ? 'pending' : 'not reached');
    // votes from the approval record when there is one, else from the audit log
    const voteRecords = records.filter((r) => r.stepId === step.id && r.actor?.type === 'person' && /^approval\./.test(r.action));
    const votes = view
      ? view.votes.map((v) => ({ who: v.person, via: v.via, decision: v.decision, at: v.at, comment: v.comment }))
      : voteRecords.map((r) => ({ who: r.actor.name, via: r.actor.via, decision: String((r.details as { decision?: string } | undefined)?.decision ?? r.outcome), at: r.time, comment: (r.details as { comment?: string } | undefined)?.comment }));
    const link = view && view.status === 'pending' ? `/approvals/${encodeURIComponent(view.id)}` : undefined;
    return html`<div class="card approval" data-approval-step="${step.id}">
<h4><code>${step.id}</code> ${status(state)}</h4>
${view ? html`<p>${view.title}${view.message ? html` — ${view.message}` : ''}</p><p class="muted small">${view.approvals} of ${view.minApprovals} approvals · ${view.status === 'pending' ? html`expires ${time(view.expiresAt)}` : view.decidedAt ? html`decided ${time(view.decidedAt)}` : ''}${view.approvers.users.length || view.approvers.groups.length ? ` · approvers: ${[...view.approvers.users, ...view.approvers.groups.map((g) => `group ${g}`)].join(', ')}` : ''}</p>` : ''}
${
  votes.length
    ? html`<table class="list votes"><caption class="sr-only">Votes</caption><thead><tr><th scope="col">Who</th><th scope="col">Decision</th><th scope="col">Via</th><th scope="col">When</th><th scope="col">Comment</th></tr></thead><tbody>${votes.map((v) => html`<tr><td>${v.who}</td><td>${status(v.decision)}</td><td>${v.via ?? ''}</td><td>${time(v.at)}</td><td>${v.comment ?? ''}</td></tr>`)}</tbody></table>`
    : html`<p class="muted">No votes yet.</p>`
}
${link ? (c.identity.role === 'approver' ? html`<p><a class="button primary" href="${link}">Review and decide</a></p>` : html`<p class="muted">Waiting for an approver. <a href="${link}">Open the approval page</a></p>`) : ''}
</div>`;
  });
  return html`<h3>Approvals</h3>${items}`;
}

function artifactsSection(artifacts: Artifact[]): SafeHtml {
  if (!artifacts.length) return html``;
  return html`<h3>Artifacts</h3><table class="list artifacts"><caption class="sr-only">Artifacts with content hashes</caption><thead><tr><th scope="col">From</th><th scope="col">Artifact</th><th scope="col">Hash</th><th scope="col">Size</th></tr></thead><tbody>${artifacts.map(
    (a) => html`<tr><td>${a.where}</td><td>${a.name ? html`<code>${a.name}</code>` : ''}<div class="muted small">${a.path}</div></td><td><code class="hash">${a.hash}</code></td><td>${a.size === undefined ? '' : String(a.size)}</td></tr>`,
  )}</tbody></table>`;
}

export function timeline(records: AuditRecord[], label: string): SafeHtml {
  if (!records.length) return html`<p class="empty">No audit records yet.</p>`;
  return html`<ol class="timeline" aria-label="${label}">${records.map(
    (r) => html`<li class="outcome-${r.outcome}" data-seq="${r.seq}" data-action="${r.action}">
  ${time(r.time)} <span class="action">${r.action}</span> ${r.stepId ? html`<code>${r.stepId}</code>` : ''} <span class="badge outcome-${r.outcome}">${r.outcome}</span>
  <span class="summary">${auditSummary(r)}</span> <span class="muted small">by ${r.actor?.name ?? '?'}${r.actor?.via ? ` (${r.actor.via})` : ''} · <a href="/ui/audit?q=${encodeURIComponent(r.id)}">#${r.seq}</a></span>
</li>`,
  )}</ol>`;
}

export async function incidentPage(c: PageContext, id: string): Promise<Page | undefined> {
  const head = await c.rt.audit.head();
  const incident = await c.rt.incidents.get(id);
  if (!incident) return undefined;
  const runs = (await c.rt.runs.byIncident(id)).sort((a, b) => a.meta.createdAt.localeCompare(b.meta.createdAt));
  const records = await c.rt.audit.list({ incidentId: id });
  const kept = await c.rt.incidents.alerts(id);

  const runSections = await Promise.all(
    runs.map(async (run, i) => {
      const current = currentNodes(run.state.value);
      const views = new Map<string, ApprovalView>();
      for (const { step } of walkSteps(run.meta.model.steps)) {
        if (stepKind(step) !== 'approval') continue;
        const attempt = run.state.context.attempts[step.id];
        if (!attempt) continue;
        try {
          const v = await c.approvals.get(approvalId(run.meta.id, step.id, attempt));
          if (v) views.set(step.id, v);
        } catch {
          // an approval record we cannot read is shown from the run and the audit log instead
        }
      }
      const runRecords = records.filter((r) => r.runId === run.meta.id);
      const artifacts: Artifact[] = [];
      for (const [sid, rec] of Object.entries(run.state.context.steps)) findArtifacts(`step ${sid} output`, rec.output, '', artifacts);
      for (const r of runRecords) if (r.details) findArtifacts(`audit #${r.seq} ${r.action}`, r.details, '', artifacts);
      const seen = new Set<string>();
      const unique = artifacts.filter((a) => !seen.has(a.hash) && seen.add(a.hash));
      return html`<article class="run" id="run-${run.meta.id}" aria-labelledby="run-h-${i}">
<h2 id="run-h-${i}">Run <code>${short(run.meta.id)}</code> · playbook <a href="/ui/playbooks/${encodeURIComponent(run.meta.playbook)}">${run.meta.playbook}</a> ${status(run.state.status)}</h2>
<dl class="facts">
<dt>State</dt><dd class="run-state" data-status="${run.state.status}">${stateName(run.state.value)}</dd>
<dt>Started</dt><dd>${time(run.meta.createdAt)} by ${run.meta.startedBy}</dd>
<dt>Updated</dt><dd>${time(run.state.updatedAt)}</dd>
${run.meta.dryRun ? html`<dt>Mode</dt><dd>dry run: actions describe what they would do</dd>` : ''}
${run.state.context.error ? html`<dt>Error</dt><dd class="error-text">${run.state.context.error}</dd>` : ''}
<dt>Playbook version</dt><dd><code>${run.meta.playbookVersion}</code></dd>
</dl>
<h3>State machine</h3>
${renderDiagram(run.meta.model, `dg-${short(run.meta.id)}`, { status: run.state.status, value: run.state.value, context: run.state.context })}
${stepsTable(run, current)}
${approvalsSection(c, run, views, current, runRecords)}
${artifactsSection(unique)}
<h3>Timeline</h3>
${timeline(runRecords, `Audit records of run ${short(run.meta.id)}`)}
</article>`;
    }),
  );
  const other = records.filter((r) => !r.runId);
  const alert = runs[0]?.state.context.alert as unknown as Record<string, unknown> | undefined;
  const body = html`<p class="crumbs"><a href="/">Incidents</a> /</p>
<h1>${incident.rule}</h1>
${live(
  'incident-live',
  head.seq,
  'Incident details',
  html`<dl class="facts summary">
<dt>Severity</dt><dd>${severity(incident.priority)}</dd>
<dt>Status</dt><dd class="incident-status">${status(incident.status)}</dd>
<dt>Playbook</dt><dd><a href="/ui/playbooks/${encodeURIComponent(incident.playbook)}">${incident.playbook}</a></dd>
<dt>Host</dt><dd>${incident.hostname}</dd>
<dt>Alerts</dt><dd class="alert-count">${incident.count}</dd>
<dt>First seen</dt><dd>${time(incident.firstSeen)}</dd>
<dt>Last seen</dt><dd>${time(incident.lastSeen)}</dd>
<dt>Dedupe key</dt><dd><code>${incident.dedupeKey}</code></dd>
<dt>Incident id</dt><dd><code>${incident.id}</code></dd>
</dl>
<h2>${incident.count > 1 ? 'First alert' : 'Alert'}</h2>
${alertCard(alert ?? (kept.length && kept.length >= incident.count ? (kept.at(-1) as unknown as Record<string, unknown>) : undefined))}
${alertsTable(kept, incident.count)}
${runSections.length ? runSections : html`<p class="empty">No run yet.</p>`}
${other.length ? html`<h2>Other records</h2>${timeline(other, 'Other audit records of this incident')}` : ''}
<p><a href="/ui/audit?incident=${encodeURIComponent(incident.id)}">All audit records of this incident</a></p>`,
)}`;
  return { title: incident.rule, nav: 'incidents', body };
}
