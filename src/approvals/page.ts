// SPDX-License-Identifier: Apache-2.0
/**
 * The approval pages, in the shared page frame (src/ui/layout.ts, strict CSP,
 * no inline script or style). The confirmation page states what will happen,
 * to what, why, until when, and who voted; it decides nothing. Only its form,
 * posted with the page's single-use token, records a vote.
 */
import { html, type SafeHtml } from '../ui/html.ts';
import { layout } from '../ui/layout.ts';
import { type ApprovalView, onTimeoutText } from './model.ts';
import { describeApprovers } from './service.ts';

export interface PageViewer {
  person?: string;
  via?: string;
  /** Set when this viewer may vote now: the form's token, and the personal link token to carry along. */
  form?: { csrf: string; link?: string; denyOnly?: boolean };
  /** Why this viewer cannot vote (shown instead of the form). */
  reason?: string;
}

const STATUS_TEXT: Record<ApprovalView['status'], string> = {
  pending: 'Waiting for a decision',
  approved: 'Approved',
  denied: 'Denied',
  expired: 'Expired',
  closed: 'Closed',
};

function facts(rows: [string, unknown][]): SafeHtml {
  return html`<dl class="facts">${rows.filter(([, v]) => v !== undefined && v !== '').map(([k, v]) => html`<dt>${k}</dt><dd>${v}</dd>`)}</dl>`;
}

export function approvalPage(v: ApprovalView, viewer: PageViewer, now: Date): string {
  const expired = v.status === 'pending' && Date.parse(v.expiresAt) <= now.getTime();
  const left = Math.max(0, Math.round((Date.parse(v.expiresAt) - now.getTime()) / 60_000));
  const body = html`
<h1>Approval needed: ${v.title}</h1>
<p><span class="badge ${v.status}">${STATUS_TEXT[v.status]}</span>
  ${v.approvals} of ${v.minApprovals} approval${v.minApprovals === 1 ? '' : 's'} ·
  ${v.status === 'pending' ? (expired ? html`expired at <time datetime="${v.expiresAt}">${v.expiresAt}</time>` : html`expires <time datetime="${v.expiresAt}">${v.expiresAt}</time> (in about ${left} min)`) : v.decidedAt ? html`decided <time datetime="${v.decidedAt}">${v.decidedAt}</time>` : ''}
  ${v.closedReason ? html` · ${v.closedReason}` : ''}
</p>
${v.dryRun ? html`<p class="card">This playbook runs in <strong>dry-run</strong> mode: actions are described, not done.</p>` : ''}
${v.message ? html`<section class="card"><h2>Message</h2><p>${v.message}</p></section>` : ''}
<section class="card" aria-labelledby="next">
  <h2 id="next">What happens if you approve</h2>
  ${
    v.next.length
      ? html`<ol>${v.next.map((n) => html`<li>${n.condition ? html`<span class="muted">if ${n.condition}:</span> ` : ''}${n.description}${n.destructive ? html` <span class="badge critical">destructive</span>` : ''}</li>`)}</ol>`
      : html`<p>The run finishes; no further steps.</p>`
  }
  ${v.moreAfter ? html`<p class="muted">After these steps the run waits for another approval (step ${v.moreAfter}).</p>` : ''}
  <p>If you deny, the run stops here and none of the steps above happen.</p>
  <p>If nobody decides by <time datetime="${v.expiresAt}">${v.expiresAt}</time>, ${onTimeoutText(v.onTimeout)}.</p>
</section>
<section class="card" aria-labelledby="why">
  <h2 id="why">Why</h2>
  ${facts([
    ['Target', v.target],
    ['Alert', `${v.alert.rule} (${v.alert.priority})`],
    ['Output', v.alert.output],
    ['Host', v.alert.hostname],
    ['Alert time', v.alert.time],
    ['Playbook', v.playbook],
    ['Run', v.runId],
    ['Incident', v.incidentId],
    ['Requested', v.createdAt],
    ['Started by', v.startedBy === 'system' ? 'an alert' : v.startedBy],
  ])}
</section>
<section class="card" aria-labelledby="votes">
  <h2 id="votes">Approvers and votes</h2>
  <p>Approvers: ${describeApprovers(v)}. ${v.minApprovals > 1 ? `${v.minApprovals} different people must approve; ` : ''}one denial denies.</p>
  ${
    v.votes.length
      ? html`<table><thead><tr><th scope="col">Who</th><th scope="col">Decision</th><th scope="col">How</th><th scope="col">When</th><th scope="col">Comment</th></tr></thead>
<tbody>${v.votes.map((x) => html`<tr><td>${x.person}</td><td><span class="badge ${x.decision}">${x.decision}</span></td><td>${x.via}</td><td>${x.at}</td><td>${x.comment ?? ''}</td></tr>`)}</tbody></table>`
      : html`<p class="muted">No votes yet.</p>`
  }
</section>
${decisionSection(v, viewer)}
`;
  return layout({ title: `Approval: ${v.title}`, body, user: viewer.person, nav: 'approvals' });
}

function decisionSection(v: ApprovalView, viewer: PageViewer): SafeHtml {
  if (viewer.form) {
    return html`<section class="card" aria-labelledby="decide">
  <h2 id="decide">Your decision</h2>
  ${viewer.reason ? html`<p>${viewer.reason}</p>` : ''}
  <form method="post" action="/approvals/${v.id}/decision">
    <input type="hidden" name="csrf" value="${viewer.form.csrf}">
    ${viewer.form.link ? html`<input type="hidden" name="t" value="${viewer.form.link}">` : ''}
    <label for="comment">Comment (optional)</label>
    <textarea id="comment" name="comment" rows="3" maxlength="2000"></textarea>
    <div class="actions">
      ${viewer.form.denyOnly ? '' : html`<button type="submit" class="primary" name="decision" value="approve">Approve</button>`}
      <button type="submit" class="danger" name="decision" value="deny">Deny</button>
    </div>
    <p class="muted">You are deciding as ${viewer.person} (${viewer.via}). This form works once and expires.</p>
  </form>
</section>`;
  }
  return html`<section class="card" aria-labelledby="decide"><h2 id="decide">Your decision</h2><p>${viewer.reason ?? 'Nothing to decide.'}</p></section>`;
}

export function resultPage(v: ApprovalView, person: string, decision: string, decided: boolean, backLink: string): string {
  const body = html`
<h1>${decision === 'approved' ? 'You approved' : 'You denied'}: ${v.title}</h1>
<p role="status">${
    decided
      ? html`The request is now <span class="badge ${v.status}">${v.status}</span>; the run has been told.`
      : html`Your vote is recorded: ${v.approvals} of ${v.minApprovals} approvals so far. The run waits for more approvers.`
  }</p>
<p><a href="${backLink}">Back to the approval</a></p>`;
  return layout({ title: 'Vote recorded', body, user: person, nav: 'approvals' });
}

export function errorPage(status: number, code: string, message: string, user?: string): string {
  const body = html`<h1>${status === 404 ? 'Not found' : 'Your request was not accepted'}</h1><p role="alert">${message}</p><p class="muted">Error ${status} ${code}</p>`;
  return layout({ title: 'Error', body, user, nav: 'approvals' });
}
