// SPDX-License-Identifier: Apache-2.0
/** Loaded playbooks (what the engine runs now), files that failed validation and why, and each playbook's diagram. */
import { formatDiagnostic } from '../../common/errors.ts';
import type { LoadedPlaybook } from '../../playbooks/load.ts';
import { walkSteps, type Playbook } from '../../playbooks/model.ts';
import { renderDiagram } from '../diagram.ts';
import { status } from '../format.ts';
import { html, type SafeHtml } from '../html.ts';
import type { Page, PageContext } from './context.ts';

function trigger(pb: Playbook): string {
  const t = pb.trigger;
  const parts: string[] = [];
  if (t.rules?.length) parts.push(`rules ${t.rules.join(', ')}`);
  if (t.priority) parts.push(t.priority.min === t.priority.max ? `priority ${t.priority.min}` : `priority ${t.priority.min}..${t.priority.max}`);
  if (t.tags?.all?.length) parts.push(`tags all of ${t.tags.all.join(', ')}`);
  if (t.tags?.any?.length) parts.push(`tags any of ${t.tags.any.join(', ')}`);
  if (t.source?.length) parts.push(`source ${t.source.join(', ')}`);
  if (t.condition) parts.push(`if ${t.condition}`);
  return parts.join('; ') || 'every alert';
}

function validity(lp: LoadedPlaybook): SafeHtml {
  if (!lp.playbook.enabled) return status('disabled');
  return html`<span class="badge status-succeeded">valid</span>`;
}

export function playbooksPage(c: PageContext): Page {
  const loaded = [...c.playbooks].sort((a, b) => a.playbook.metadata.name.localeCompare(b.playbook.metadata.name));
  const rejected = c.playbookProblems.filter((r) => !r.playbook);
  const rows = loaded.map(
    (lp) => html`<tr>
<th scope="row"><a href="/ui/playbooks/${encodeURIComponent(lp.playbook.metadata.name)}">${lp.playbook.metadata.name}</a>${lp.playbook.metadata.description ? html`<div class="muted small">${lp.playbook.metadata.description}</div>` : ''}</th>
<td>${validity(lp)}${lp.playbook.options.dryRun ? html` <span class="badge">dry run</span>` : ''}</td>
<td>${trigger(lp.playbook)}</td>
<td class="num">${walkSteps(lp.playbook.steps).length}</td>
<td><code>${lp.file}</code></td>
<td><code>${lp.version}</code></td>
</tr>`,
  );
  const body = html`<h1>Playbooks</h1>
${
  loaded.length
    ? html`<table class="list" id="playbooks-table"><caption class="sr-only">Loaded playbooks</caption><thead><tr><th scope="col">Playbook</th><th scope="col">Status</th><th scope="col">Trigger</th><th scope="col" class="num">Steps</th><th scope="col">File</th><th scope="col">Version</th></tr></thead><tbody>${rows}</tbody></table>`
    : html`<p class="empty">No playbooks are loaded. Put playbook files in a directory listed in <code>playbooks.paths</code> and send the engine SIGHUP.</p>`
}
<h2>Files that failed validation</h2>
${
  rejected.length
    ? html`<table class="list" id="rejected-table"><caption class="sr-only">Playbook files that failed validation</caption><thead><tr><th scope="col">File</th><th scope="col">Problems</th></tr></thead><tbody>${rejected.map(
        (r) => html`<tr><th scope="row"><code>${r.file}</code></th><td><ul class="diags">${r.diagnostics.map((d) => html`<li class="${d.severity}"><code>${formatDiagnostic(d)}</code></li>`)}</ul></td></tr>`,
      )}</tbody></table>`
    : html`<p class="muted">None: every playbook file the engine found is valid.</p>`
}
<p class="muted small">Check files before shipping them with <code>riposte playbooks validate</code>.</p>`;
  return { title: 'Playbooks', nav: 'playbooks', body };
}

export function playbookPage(c: PageContext, name: string): Page | undefined {
  const lp = c.playbooks.find((p) => p.playbook.metadata.name === name);
  if (!lp) return undefined;
  const pb = lp.playbook;
  const steps = walkSteps(pb.steps).map(({ step, path }) => {
    const does = 'action' in step ? `action ${step.action}` : 'approval' in step ? `approval (timeout ${step.approval.timeout}, on timeout ${step.approval.onTimeout ?? 'deny'})` : 'notify' in step ? `notify ${step.notify.to.join(', ')}` : 'wait' in step ? `wait ${step.wait}` : `parallel (${step.parallel.branches.length} branches)`;
    const extra = [step.if ? `if ${step.if}` : '', step.retry ? `retry ×${step.retry.attempts}` : '', step.timeout ? `timeout ${step.timeout}` : '', step.onError ? `on error ${typeof step.onError === 'string' ? step.onError : `goto ${step.onError.goto}`}` : ''].filter(Boolean).join(' · ');
    return html`<tr><th scope="row"><code>${step.id}</code></th><td>${does}</td><td>${extra}</td><td class="muted small"><code>${path.join('.')}</code></td></tr>`;
  });
  const body = html`<p class="crumbs"><a href="/ui/playbooks">Playbooks</a> /</p>
<h1>${pb.metadata.name}</h1>
${pb.metadata.description ? html`<p>${pb.metadata.description}</p>` : ''}
<dl class="facts">
<dt>Status</dt><dd>${validity(lp)}</dd>
<dt>Trigger</dt><dd>${trigger(pb)}</dd>
${pb.options.dedupe ? html`<dt>Dedupe</dt><dd><code>${pb.options.dedupe.key}</code> within ${pb.options.dedupe.window}</dd>` : ''}
<dt>Mode</dt><dd>${pb.options.dryRun ? 'dry run' : 'live'}</dd>
<dt>File</dt><dd><code>${lp.file}</code></dd>
<dt>Version</dt><dd><code>${lp.version}</code></dd>
</dl>
<h2>State machine</h2>
${renderDiagram(pb, 'dg-pb')}
<table class="list"><caption>Steps</caption><thead><tr><th scope="col">Step</th><th scope="col">Does</th><th scope="col">Options</th><th scope="col">Path</th></tr></thead><tbody>${steps}</tbody></table>`;
  return { title: pb.metadata.name, nav: 'playbooks', body };
}
