// SPDX-License-Identifier: Apache-2.0
/**
 * A playbook as a graph of steps, for `riposte playbooks graph` and the UI:
 * one node per step plus the terminal states, edges for "next", skips (`if`),
 * error routes (`onError`), retries, approval outcomes and parallel branches.
 * Node ids equal the machine's state ids (`step:<id>`, `run:failed`), so a run's
 * visited and current states can be highlighted on the same picture.
 */
import { escapeHtml } from '../ui/html.ts';
import { stepKind, type Playbook, type Step } from './model.ts';

export interface GraphNode {
  id: string;
  label: string;
  kind: 'start' | 'action' | 'approval' | 'notify' | 'wait' | 'parallel' | 'end';
  detail?: string;
  /** Parallel step this node is a branch step of. */
  parent?: string;
}
export interface GraphEdge {
  from: string;
  to: string;
  label?: string;
  style: 'next' | 'skip' | 'error' | 'retry' | 'deny' | 'timeout' | 'branch';
}
export interface PlaybookGraph {
  nodes: GraphNode[];
  edges: GraphEdge[];
}

const END: Record<string, string> = { 'run:succeeded': 'succeeded', 'run:failed': 'failed', 'run:denied': 'denied' };

function detailOf(s: Step): string {
  if ('action' in s) return s.action;
  if ('approval' in s) return `approval · ${s.approval.timeout} · on timeout ${s.approval.onTimeout ?? 'deny'}`;
  if ('notify' in s) return `notify ${s.notify.to.join(', ')}`;
  if ('wait' in s) return `wait ${s.wait}`;
  return `parallel · ${s.parallel.branches.length} branches`;
}

export function playbookGraph(pb: Playbook): PlaybookGraph {
  const nodes: GraphNode[] = [{ id: 'start', label: pb.metadata.name, kind: 'start', detail: 'alert matched' }];
  const edges: GraphEdge[] = [];
  const usedEnds = new Set<string>();
  const addEnd = (id: string) => usedEnds.add(id);

  const seq = (steps: Step[], from: string, end: string, parent?: string) => {
    edges.push({ from, to: `step:${steps[0]!.id}`, style: parent && from === `step:${parent}` ? 'branch' : 'next' });
    steps.forEach((s, i) => {
      const id = `step:${s.id}`;
      const next = i + 1 < steps.length ? `step:${steps[i + 1]!.id}` : end;
      if (next.startsWith('run:')) addEnd(next);
      const kind = stepKind(s);
      nodes.push({ id, label: s.name ?? s.id, kind, detail: detailOf(s), ...(parent ? { parent } : {}) });
      if (s.if) edges.push({ from: id, to: next, style: 'skip', label: `skip unless ${s.if}` });
      if (kind === 'parallel' && 'parallel' in s) {
        for (const b of s.parallel.branches) seq(b.steps, id, `${id}:join`, s.id);
        nodes.push({ id: `${id}:join`, label: 'join', kind: 'parallel', parent: s.id });
        edges.push({ from: `${id}:join`, to: next, style: 'next' });
      } else {
        edges.push({ from: id, to: next, style: 'next', ...(kind === 'approval' ? { label: 'approved' } : {}) });
      }
      if (s.retry) edges.push({ from: id, to: id, style: 'retry', label: `retry ×${s.retry.attempts}` });
      if (kind === 'action' || kind === 'notify') {
        const onError = s.onError ?? 'fail';
        const target = onError === 'fail' ? 'run:failed' : onError === 'continue' ? next : `step:${onError.goto}`;
        if (target.startsWith('run:')) addEnd(target);
        edges.push({ from: id, to: target, style: 'error', label: onError === 'continue' ? 'on error: continue' : 'on error' });
      }
      if (kind === 'approval' && 'approval' in s) {
        addEnd('run:denied');
        edges.push({ from: id, to: 'run:denied', style: 'deny', label: 'denied' });
        const t = s.approval.onTimeout ?? 'deny';
        edges.push({ from: id, to: t === 'deny' ? 'run:denied' : next, style: 'timeout', label: `timeout → ${t}` });
      }
    });
  };
  seq(pb.steps, 'start', 'run:succeeded');
  for (const e of ['run:succeeded', 'run:failed', 'run:denied']) if (usedEnds.has(e)) nodes.push({ id: e, label: END[e]!, kind: 'end' });
  return { nodes, edges };
}

const mid = (id: string) => id.replace(/[^A-Za-z0-9_]/g, '_');

export function toMermaid(g: PlaybookGraph): string {
  const lines = ['flowchart TD'];
  for (const n of g.nodes) {
    const text = `${n.label}${n.detail ? `<br/><small>${n.detail}</small>` : ''}`.replace(/"/g, '#quot;');
    const shape = n.kind === 'end' || n.kind === 'start' ? `(["${text}"])` : n.kind === 'approval' ? `{{"${text}"}}` : `["${text}"]`;
    lines.push(`  ${mid(n.id)}${shape}`);
  }
  for (const e of g.edges) {
    const arrow = e.style === 'next' || e.style === 'branch' ? '-->' : '-.->';
    lines.push(`  ${mid(e.from)} ${arrow}${e.label ? `|"${e.label.replace(/"/g, '#quot;')}"|` : ''} ${mid(e.to)}`);
  }
  return `${lines.join('\n')}\n`;
}

export function toDot(g: PlaybookGraph): string {
  const q = (s: string) => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
  const lines = ['digraph playbook {', '  rankdir=TB; node [fontname="Helvetica", fontsize=11]; edge [fontname="Helvetica", fontsize=9];'];
  for (const n of g.nodes) {
    const shape = n.kind === 'end' || n.kind === 'start' ? 'oval' : n.kind === 'approval' ? 'hexagon' : 'box';
    lines.push(`  ${q(n.id)} [label=${q(n.detail ? `${n.label}\n${n.detail}` : n.label)}, shape=${shape}];`);
  }
  for (const e of g.edges) lines.push(`  ${q(e.from)} -> ${q(e.to)}${e.label ? ` [label=${q(e.label)}${e.style === 'next' ? '' : ', style=dashed'}]` : e.style === 'next' ? '' : ' [style=dashed]'};`);
  lines.push('}');
  return `${lines.join('\n')}\n`;
}

/**
 * A self-contained SVG (no scripts, no external fonts): steps top to bottom,
 * parallel branches side by side. `highlight` marks visited and current node ids.
 */
export function toSvg(g: PlaybookGraph, highlight: { visited?: Iterable<string>; current?: Iterable<string> } = {}): string {
  const visited = new Set(highlight.visited ?? []);
  const current = new Set(highlight.current ?? []);
  const W = 220;
  const H = 46;
  const GAP = 34;
  const pos = new Map<string, { x: number; y: number }>();
  // rows: top-level nodes in order; branch nodes share rows side by side
  let row = 0;
  const branchCol = new Map<string, number>();
  const branchRow = new Map<string, number>();
  for (const n of g.nodes) {
    if (n.kind === 'end') continue;
    if (n.parent && !n.id.endsWith(':join')) {
      const firstEdge = g.edges.find((e) => e.to === n.id && e.style === 'branch');
      const key = n.parent;
      if (firstEdge) {
        branchCol.set(key, (branchCol.get(key) ?? -1) + 1);
        branchRow.set(`${key}:${branchCol.get(key)}`, row);
      }
      const col = branchCol.get(key) ?? 0;
      const r = branchRow.get(`${key}:${col}`) ?? row;
      pos.set(n.id, { x: 20 + col * (W + 30), y: 20 + r * (H + GAP) });
      branchRow.set(`${key}:${col}`, r + 1);
      continue;
    }
    if (n.id.endsWith(':join')) {
      const key = n.parent!;
      let maxRow = row;
      for (const [k, v] of branchRow) if (k.startsWith(`${key}:`)) maxRow = Math.max(maxRow, v);
      row = maxRow;
    }
    pos.set(n.id, { x: 20, y: 20 + row * (H + GAP) });
    row++;
  }
  const ends = g.nodes.filter((n) => n.kind === 'end');
  for (const [i, n] of ends.entries()) pos.set(n.id, { x: 20 + i * (W + 30), y: 20 + row * (H + GAP) });
  const width = Math.max(...[...pos.values()].map((p) => p.x + W + 20), W + 40);
  const height = 20 + (row + 1) * (H + GAP);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="playbook state machine" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
    '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#6b7280"/></marker></defs>',
  ];
  const colour = { next: '#6b7280', branch: '#6b7280', skip: '#9ca3af', error: '#b42318', retry: '#b54708', deny: '#b42318', timeout: '#b54708' };
  for (const e of g.edges) {
    const a = pos.get(e.from);
    const b = pos.get(e.to);
    if (!a || !b || e.style === 'retry') continue;
    const x1 = a.x + W / 2;
    const y1 = a.y + H;
    const x2 = b.x + W / 2 + (e.style === 'next' || e.style === 'branch' ? 0 : 12);
    const y2 = b.y;
    const dash = e.style === 'next' || e.style === 'branch' ? '' : ' stroke-dasharray="4 3"';
    const path = y2 > y1 ? `M ${x1} ${y1} C ${x1} ${y1 + 20}, ${x2} ${y2 - 20}, ${x2} ${y2}` : `M ${a.x + W} ${a.y + H / 2} C ${a.x + W + 40} ${a.y}, ${b.x + W + 40} ${b.y + H}, ${b.x + W} ${b.y + H / 2}`;
    out.push(`<path d="${path}" fill="none" stroke="${colour[e.style]}"${dash} marker-end="url(#arrow)"><title>${escapeHtml(e.label ?? e.style)}</title></path>`);
  }
  for (const n of g.nodes) {
    const p = pos.get(n.id);
    if (!p) continue;
    const isCurrent = current.has(n.id);
    const wasVisited = visited.has(n.id);
    const fill = isCurrent ? '#dbeafe' : wasVisited ? '#dcfce7' : n.kind === 'end' ? '#f3f4f6' : '#ffffff';
    const stroke = isCurrent ? '#1d4ed8' : wasVisited ? '#15803d' : '#9ca3af';
    const rx = n.kind === 'end' || n.kind === 'start' ? 23 : n.kind === 'approval' ? 12 : 6;
    const retry = g.edges.find((e) => e.from === n.id && e.style === 'retry');
    out.push(
      `<g class="node ${n.kind}${isCurrent ? ' current' : ''}${wasVisited ? ' visited' : ''}" data-id="${escapeHtml(n.id)}">` +
        `<rect x="${p.x}" y="${p.y}" width="${W}" height="${H}" rx="${rx}" fill="${fill}" stroke="${stroke}" stroke-width="${isCurrent ? 3 : 1.5}"/>` +
        `<text x="${p.x + W / 2}" y="${p.y + 19}" text-anchor="middle" font-weight="600">${escapeHtml(n.label)}</text>` +
        (n.detail ? `<text x="${p.x + W / 2}" y="${p.y + 35}" text-anchor="middle" fill="#4b5563" font-size="10">${escapeHtml(n.detail.slice(0, 40))}${retry ? ` · ${escapeHtml(retry.label ?? '')}` : ''}</text>` : '') +
        '</g>',
    );
  }
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
