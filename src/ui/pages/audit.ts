// SPDX-License-Identifier: Apache-2.0
/**
 * The audit log: chain status first (is this record set trustworthy?), then a
 * filter form that works without JavaScript (a GET form, so a filtered view is
 * a link you can share), the table newest first, and an NDJSON export of
 * exactly what is filtered.
 */
import { filterFromQuery, type FilterQuery, OUTCOMES } from '../../audit/filter.ts';
import type { AuditRecord } from '../../audit/record.ts';
import { problemLabel, type VerifyResult } from '../../audit/verify.ts';
import { auditSummary, pre, short, time } from '../format.ts';
import { html, type SafeHtml } from '../html.ts';
import type { Page, PageContext } from './context.ts';
import { live } from './incidents.ts';

const LIMITS = [100, 200, 500, 2000];

function chainStatus(c: PageContext, r: VerifyResult, at: Date): SafeHtml {
  const cps = r.checkpoints;
  const sig = !cps || cps.total === 0 ? 'No signed checkpoints yet.' : cps.signatures === 'verified' ? `Signed checkpoints verified up to record ${r.signedUpTo} (key ${c.keyId ?? cps.keyIds.join(', ')}).` : 'Checkpoint signatures not checked: this server has no public key.';
  const trimmed = r.firstSeq && r.firstSeq > 1 ? ` Records before ${r.firstSeq} were removed by retention behind a signed checkpoint.` : '';
  const verifyLink = html`<a class="button" href="/ui/audit?verify=now" id="verify-now">Verify now</a>`;
  if (r.ok) {
    return html`<div class="chain ok" id="chain-status" role="status"><strong>Chain verified up to record ${r.verifiedUpTo}.</strong> ${sig}${trimmed} <span class="muted small">Checked ${time(at.toISOString())}.</span> ${verifyLink}</div>`;
  }
  const p = r.problem!;
  return html`<div class="chain broken" id="chain-status" role="alert"><strong>Chain BROKEN at record ${p.seq} (${problemLabel(p.kind)}).</strong> ${p.message}. Verified up to record ${r.verifiedUpTo}. <span class="muted small">Checked ${time(at.toISOString())}.</span> ${verifyLink}</div>`;
}

function row(r: AuditRecord, bad?: VerifyResult['problem']): SafeHtml {
  const flagged = bad && bad.seq === r.seq;
  return html`<tr class="outcome-${r.outcome}${flagged ? ' tampered' : ''}" data-seq="${r.seq}">
<td class="num">${r.seq}${flagged ? html`<div><span class="badge status-failed">${problemLabel(bad.kind)}</span></div>` : ''}</td>
<td>${time(r.time)}</td>
<td>${r.actor?.name ?? '?'}${r.actor?.via ? html`<div class="muted small">${r.actor.via}</div>` : ''}</td>
<td><code>${r.action}</code></td>
<td><span class="badge outcome-${r.outcome}">${r.outcome}</span></td>
<td>${r.target ?? ''}${r.stepId ? html`<div class="muted small">step ${r.stepId}</div>` : ''}</td>
<td>${r.incidentId ? html`<a href="/ui/incidents/${encodeURIComponent(r.incidentId)}">${short(r.incidentId)}</a>` : ''}${r.runId ? html`<div class="muted small">run ${short(r.runId)}</div>` : ''}</td>
<td>${auditSummary(r)}<details data-key="rec-${r.seq}"><summary>record</summary>${pre(r)}</details></td>
</tr>`;
}

export async function auditPage(c: PageContext, query: FilterQuery & { verify?: string }): Promise<Page> {
  const head = await c.rt.audit.head();
  const verified = await c.verify(query.verify === 'now');
  let error: string | undefined;
  let records: AuditRecord[] = [];
  const limit = Number(query.limit) || 200;
  try {
    records = (await c.rt.audit.list(filterFromQuery(query, { defaultLimit: 200, maxLimit: 5000 }))).reverse();
  } catch (err) {
    error = (err as Error).message;
  }
  const params = new URLSearchParams();
  for (const k of ['q', 'action', 'actor', 'outcome', 'incident', 'run', 'since', 'until'] as const) if (query[k]?.trim()) params.set(k, query[k]!.trim());
  const exportHref = `/api/audit/export${params.size ? `?${params}` : ''}`;
  const v = (k: keyof FilterQuery) => query[k] ?? '';
  const actions = [...new Set(records.map((r) => r.action))].sort();
  const form = html`<form class="filters" method="get" action="/ui/audit" role="search" aria-label="Filter audit records">
<div class="field wide"><label for="f-q">Search</label><input id="f-q" name="q" type="search" value="${v('q')}" placeholder="any text: pod, person, error…" data-filter-table="audit-table" autocomplete="off"></div>
<div class="field"><label for="f-action">Action</label><input id="f-action" name="action" value="${v('action')}" list="f-actions" placeholder="step.* or run.finished"><datalist id="f-actions">${actions.map((a) => html`<option value="${a}"></option>`)}</datalist></div>
<div class="field"><label for="f-actor">Actor</label><input id="f-actor" name="actor" value="${v('actor')}" placeholder="engine, alice@example.com"></div>
<div class="field"><label for="f-outcome">Outcome</label><select id="f-outcome" name="outcome"><option value="">any</option>${OUTCOMES.map((o) => html`<option value="${o}"${query.outcome === o ? html` selected` : ''}>${o}</option>`)}</select></div>
<div class="field"><label for="f-incident">Incident id</label><input id="f-incident" name="incident" value="${v('incident')}"></div>
<div class="field"><label for="f-since">Since</label><input id="f-since" name="since" value="${v('since')}" placeholder="2h or 2024-05-01T00:00Z" aria-describedby="f-time-help"></div>
<div class="field"><label for="f-until">Until</label><input id="f-until" name="until" value="${v('until')}" aria-describedby="f-time-help"></div>
<div class="field"><label for="f-limit">Show</label><select id="f-limit" name="limit">${LIMITS.map((n) => html`<option value="${n}"${limit === n ? html` selected` : ''}>${n} newest</option>`)}</select></div>
<p id="f-time-help" class="muted small">Times: ISO 8601 (UTC unless an offset is given) or a duration back from now, like 30m or 2d.</p>
<div class="actions"><button type="submit" class="primary">Filter</button><a class="button" href="/ui/audit">Clear</a><a class="button" href="${exportHref}" download>Export NDJSON</a></div>
</form>`;
  const table = error
    ? html`<p class="error-text" role="alert">${error}</p>`
    : records.length
      ? html`<p class="muted small" id="audit-count">${records.length} record(s), newest first.</p>
<table class="list audit" id="audit-table">
<caption class="sr-only">Audit records, newest first</caption>
<thead><tr><th scope="col" class="num">#</th><th scope="col">Time</th><th scope="col">Actor</th><th scope="col">Action</th><th scope="col">Outcome</th><th scope="col">Target</th><th scope="col">Incident</th><th scope="col">What</th></tr></thead>
<tbody>${records.map((r) => row(r, verified.result.problem))}</tbody>
</table>`
      : html`<p class="empty">No records match.</p>`;
  return {
    title: 'Audit log',
    nav: 'audit',
    body: html`<h1>Audit log</h1>
${live('audit-status-live', head.seq, 'Chain status', chainStatus(c, verified.result, verified.at))}
${form}
${live('audit-live', head.seq, 'Audit records', table)}`,
  };
}
