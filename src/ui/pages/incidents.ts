// SPDX-License-Identifier: Apache-2.0
/** Incidents list: newest first, with severity, status, alert counts and last seen. */
import { severity, status, time } from '../format.ts';
import { html, type SafeHtml } from '../html.ts';
import type { Page, PageContext } from './context.ts';

/**
 * A region app.js refreshes in place when the audit head moves past `seq`
 * (the head this page was rendered at).
 */
export function live(id: string, seq: number, label: string, content: SafeHtml): SafeHtml {
  return html`<section id="${id}" data-live data-seq="${seq}" aria-label="${label}">${content}</section>`;
}

export async function incidentsPage(c: PageContext): Promise<Page> {
  const head = await c.rt.audit.head();
  const incidents = await c.rt.incidents.list(200);
  const rows = incidents.map(
    (i) => html`<tr>
  <td>${severity(i.priority)}</td>
  <td><a href="/ui/incidents/${encodeURIComponent(i.id)}">${i.rule}</a><div class="muted small">${i.dedupeKey !== i.firstAlertId ? i.dedupeKey : ''}</div></td>
  <td><a href="/ui/playbooks/${encodeURIComponent(i.playbook)}">${i.playbook}</a></td>
  <td>${i.hostname}</td>
  <td>${status(i.status)}</td>
  <td class="num">${i.count}</td>
  <td>${time(i.firstSeen)}</td>
  <td>${time(i.lastSeen)}</td>
</tr>`,
  );
  const table = incidents.length
    ? html`<table class="list" id="incidents-table">
<caption class="sr-only">Incidents, newest first</caption>
<thead><tr><th scope="col">Severity</th><th scope="col">Incident</th><th scope="col">Playbook</th><th scope="col">Host</th><th scope="col">Status</th><th scope="col" class="num">Alerts</th><th scope="col">First seen</th><th scope="col">Last seen</th></tr></thead>
<tbody>${rows}</tbody>
</table>`
    : html`<p class="empty">No incidents yet. Alerts that match a playbook open one; send a test alert with <code>riposte alert send FILE</code>.</p>`;
  return {
    title: 'Incidents',
    nav: 'incidents',
    body: html`<h1>Incidents</h1>
<p class="muted">${incidents.length} most recent incidents · ${c.playbooks.length} playbooks loaded</p>
${live('incidents-live', head.seq, 'Incident list', table)}`,
  };
}
