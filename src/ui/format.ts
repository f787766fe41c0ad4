// SPDX-License-Identifier: Apache-2.0
/** Small rendering helpers shared by the pages: times, badges, JSON, ids. */
import type { AuditRecord } from '../audit/record.ts';
import { html, type SafeHtml } from './html.ts';

/** A machine-readable time that app.js may show in the viewer's time zone; readable (UTC) without it. */
export function time(iso: string | undefined): SafeHtml {
  if (!iso) return html`<span class="muted">—</span>`;
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return html`${iso}`;
  return html`<time datetime="${d.toISOString()}">${d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z')}</time>`;
}

const SEVERITY: Record<string, string> = { emergency: 'critical', alert: 'critical', critical: 'critical', error: 'error', warning: 'warning', notice: 'notice', informational: 'info', info: 'info', debug: 'info' };

export function severity(priority: string | undefined): SafeHtml {
  const p = (priority ?? '').toLowerCase();
  return html`<span class="badge sev-${SEVERITY[p] ?? 'info'}">${p || 'unknown'}</span>`;
}

export function status(s: string | undefined): SafeHtml {
  const v = s ?? 'unknown';
  return html`<span class="badge status-${v.replace(/[^a-z]/gi, '')}">${v}</span>`;
}

export function pre(value: unknown): SafeHtml {
  return html`<pre>${JSON.stringify(value, null, 2)}</pre>`;
}

export const short = (id: string | undefined) => (id ? id.slice(0, 8) : '');

/** One line saying what an audit record is about, from the details each action records. */
export function auditSummary(r: AuditRecord): string {
  const d = (r.details ?? {}) as Record<string, unknown>;
  const s = (v: unknown) => (typeof v === 'string' ? v : v === undefined ? '' : JSON.stringify(v));
  switch (r.action) {
    case 'run.transition':
      return `${s(d.event)}${d.decision ? ` (${s(d.decision)})` : ''}${d.timer ? ` (${s(d.timer)})` : ''} → ${stateName(d.to)}`;
    case 'run.started':
      return `playbook ${r.target ?? ''}${d.dryRun ? ' (dry run)' : ''}`;
    case 'run.finished':
      return `${s(d.status)}${d.error ? `: ${s(d.error)}` : ''}`;
    case 'step.started':
      return s(d.description) || s(d.kind) || `attempt ${s(d.attempt)}`;
    case 'step.succeeded':
      return s(d.summary) || s(d.description) || 'done';
    case 'step.failed':
      return s(d.error);
    case 'action.refused':
      return s(d.reason);
    case 'alert.processed':
      return `${s(d.priority)} alert on ${s(d.hostname)} → ${Array.isArray(d.playbooks) && d.playbooks.length ? d.playbooks.join(', ') : 'no playbook'}`;
    case 'audit.trimmed':
      return `retention removed seq ${s(d.fromSeq)}..${s(d.throughSeq)}`;
    default:
      return s(d.summary ?? d.decision ?? d.reason ?? d.message ?? d.error ?? '');
  }
}

/** A state value as people read it: `pause` for `{pause: 'active'}`, `succeeded` for a final state. */
export function stateName(v: unknown): string {
  if (typeof v === 'string') return v;
  if (!v || typeof v !== 'object') return '';
  return Object.entries(v)
    .map(([k, sub]) => (typeof sub === 'string' ? (sub === 'active' || sub === 'enter' ? k : `${k} (${sub})`) : k === 'branches' || /^b\d+$/.test(k) ? stateName(sub) : `${k}: ${stateName(sub)}`))
    .join(', ');
}

export interface Artifact {
  where: string;
  path: string;
  hash: string;
  name?: string;
  size?: unknown;
}

const HASH_KEY = /(sha256|sha512|sha1|digest|hash|checksum)$/i;
const HEX_OR_DIGEST = /^(sha\d+:)?[0-9a-f]{32,128}$/i;

/** Things a step produced that carry a content hash (snapshots, captures): found anywhere in outputs or details. */
export function findArtifacts(where: string, value: unknown, path = '', out: Artifact[] = [], depth = 0): Artifact[] {
  if (depth > 6 || !value || typeof value !== 'object') return out;
  const obj = value as Record<string, unknown>;
  for (const [k, v] of Object.entries(obj)) {
    const p = path ? `${path}.${k}` : k;
    if (typeof v === 'string' && HASH_KEY.test(k) && HEX_OR_DIGEST.test(v) && k !== 'prevHash' && k !== 'checkpointHash') {
      const name = [obj.path, obj.file, obj.uri, obj.location, obj.name, obj.artifact].find((x) => typeof x === 'string') as string | undefined;
      out.push({ where, path: p, hash: v, ...(name ? { name } : {}), ...(obj.size !== undefined ? { size: obj.size } : obj.bytes !== undefined ? { size: obj.bytes } : {}) });
    } else if (typeof v === 'object') findArtifacts(where, v, p, out, depth + 1);
  }
  return out;
}
