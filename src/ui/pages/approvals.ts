// SPDX-License-Identifier: Apache-2.0
/** Pending approvals (soonest expiry first) and recent decisions, read from the approvals store. */
import type { ApprovalView } from '../../approvals/model.ts';
import { short, status, time } from '../format.ts';
import { html } from '../html.ts';
import type { Page, PageContext } from './context.ts';
import { live } from './incidents.ts';

async function views(c: PageContext, ids: string[]): Promise<ApprovalView[]> {
  return (await Promise.all(ids.map((id) => c.approvals.get(id)))).filter((v): v is ApprovalView => v !== undefined);
}

export async function approvalsPage(c: PageContext): Promise<Page> {
  const head = await c.rt.audit.head();
  const pending = await views(c, await c.approvals.pendingIds(200));
  const recent = (await views(c, await c.approvals.recentIds(50))).filter((v) => v.status !== 'pending');
  const link = (v: ApprovalView) => `/approvals/${encodeURIComponent(v.id)}`;
  const pendingTable = pending.length
    ? html`<table class="list" id="pending-table"><caption class="sr-only">Pending approvals, soonest expiry first</caption><thead><tr><th scope="col">Request</th><th scope="col">Target</th><th scope="col">Playbook</th><th scope="col">Incident</th><th scope="col">Votes</th><th scope="col">Expires</th></tr></thead><tbody>${pending.map(
        (v) => html`<tr><th scope="row"><a href="${link(v)}">${v.title}</a>${v.dryRun ? html` <span class="badge">dry run</span>` : ''}<div class="muted small">${v.alert.rule}</div></th><td>${v.target}</td><td>${v.playbook}</td><td><a href="/ui/incidents/${encodeURIComponent(v.incidentId)}">${short(v.incidentId)}</a></td><td class="num">${v.approvals}/${v.minApprovals}</td><td>${time(v.expiresAt)}</td></tr>`,
      )}</tbody></table>`
    : html`<p class="empty">Nothing is waiting for approval.</p>`;
  const recentTable = recent.length
    ? html`<table class="list" id="decided-table"><caption class="sr-only">Recent decisions</caption><thead><tr><th scope="col">Request</th><th scope="col">Outcome</th><th scope="col">Who voted</th><th scope="col">Decided</th></tr></thead><tbody>${recent.map(
        (v) => html`<tr><th scope="row"><a href="/ui/incidents/${encodeURIComponent(v.incidentId)}">${v.title}</a><div class="muted small">${v.playbook} · ${v.target}</div></th><td>${status(v.status)}${v.closedReason ? html`<div class="muted small">${v.closedReason}</div>` : ''}</td><td>${v.votes.map((vote) => html`<div>${vote.person}: ${vote.decision} <span class="muted small">(${vote.via})</span></div>`)}</td><td>${time(v.decidedAt)}</td></tr>`,
      )}</tbody></table>`
    : html`<p class="muted">No decisions yet.</p>`;
  return {
    title: 'Approvals',
    nav: 'approvals',
    body: html`<h1>Approvals</h1>
${live('approvals-live', head.seq, 'Approvals', html`<h2>Pending</h2>${pendingTable}<h2>Recently decided</h2>${recentTable}`)}`,
  };
}
