// SPDX-License-Identifier: Apache-2.0
/**
 * The playbook state machine as inline SVG, rendered on the server (no
 * client-side layout library, nothing for the CSP to allow). The graph model
 * comes from `playbooks/graph.ts`, whose node ids are the machine's state ids,
 * so a run's persisted snapshot maps straight onto it: visited steps,
 * current states and each step's recorded status become CSS classes.
 *
 * Layout: steps top to bottom, parallel branches side by side between a fork
 * and a join; "next" edges go down the middle; edges to `failed`/`denied` run
 * down rails on the right; other jumps (goto, skip, continue) on lanes at the left.
 * No inline styles (the CSP forbids them): looks come from app.css classes.
 */
import { playbookGraph, type GraphEdge } from '../playbooks/graph.ts';
import type { Playbook, Step } from '../playbooks/model.ts';
import { html, raw, type SafeHtml } from './html.ts';

export interface RunHighlight {
  status: string;
  value: unknown;
  context: { visited?: string[]; steps?: Record<string, { status: string }> };
}

interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

const NW = 210;
const NH = 44;
const JH = 22;
const VG = 30;
const HG = 24;
const EW = 104;
const EH = 32;

interface Block {
  w: number;
  h: number;
  place(x: number, y: number, at: Map<string, Box>): void;
}

function stepBlock(s: Step): Block {
  if (!('parallel' in s)) return { w: NW, h: NH, place: (x, y, at) => void at.set(`step:${s.id}`, { x, y, w: NW, h: NH }) };
  const branches = s.parallel.branches.map((b) => seqBlock(b.steps));
  const inner = branches.reduce((a, b) => a + b.w, 0) + HG * (branches.length - 1);
  const w = Math.max(NW, inner + 2 * 10);
  const bh = Math.max(...branches.map((b) => b.h));
  return {
    w,
    h: NH + VG + bh + VG + JH,
    place(x, y, at) {
      at.set(`step:${s.id}`, { x: x + (w - NW) / 2, y, w: NW, h: NH });
      let bx = x + (w - inner) / 2;
      branches.forEach((b, i) => {
        b.place(bx, y + NH + VG, at);
        at.set(`frame:${s.id}:${i}`, { x: bx - 6, y: y + NH + VG - 8, w: b.w + 12, h: bh + 16 });
        bx += b.w + HG;
      });
      at.set(`step:${s.id}:join`, { x: x + (w - NW / 2) / 2, y: y + NH + VG + bh + VG, w: NW / 2, h: JH });
    },
  };
}

function seqBlock(steps: Step[]): Block {
  const blocks = steps.map(stepBlock);
  const w = Math.max(NW, ...blocks.map((b) => b.w));
  return {
    w,
    h: blocks.reduce((a, b) => a + b.h, 0) + VG * Math.max(0, blocks.length - 1),
    place(x, y, at) {
      let cy = y;
      for (const b of blocks) {
        b.place(x + (w - b.w) / 2, cy, at);
        cy += b.h + VG;
      }
    },
  };
}

/** Node ids the run is in now: steps waiting in `active`/`backoff`, or the final state. */
export function currentNodes(value: unknown): Set<string> {
  const out = new Set<string>();
  const walk = (v: unknown) => {
    if (!v || typeof v !== 'object') return;
    for (const [k, sub] of Object.entries(v)) {
      if (sub === 'active' || sub === 'backoff') out.add(`step:${k}`);
      else walk(sub);
    }
  };
  if (typeof value === 'string') out.add(`run:${value}`);
  else walk(value);
  return out;
}

const clip = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);
const mid = (b: Box) => ({ cx: b.x + b.w / 2, cy: b.y + b.h / 2 });

/**
 * Renders the diagram. `uid` keeps marker and title ids unique when a page
 * shows several diagrams.
 */
export function renderDiagram(pb: Playbook, uid: string, run?: RunHighlight): SafeHtml {
  const g = playbookGraph(pb);
  const statusOf = (nodeId: string) => (nodeId.startsWith('step:') ? run?.context.steps?.[nodeId.slice(5)]?.status : undefined);
  const current = run ? currentNodes(run.value) : new Set<string>();
  const reached = new Set<string>(run ? ['start', ...(run.context.visited ?? []).map((s) => `step:${s}`), ...current] : []);
  if (run) for (const n of g.nodes) if (n.id.endsWith(':join') && statusOf(n.id.slice(0, -5)) === 'succeeded') reached.add(n.id);

  // left lanes for jumps that are not drawn down the middle or on a right rail
  const isRail = (e: GraphEdge) => e.to === 'run:failed' || e.to === 'run:denied';
  const leftEdges = g.edges.filter((e) => e.style !== 'retry' && e.style !== 'next' && e.style !== 'branch' && !isRail(e));
  const laneOf = new Map(leftEdges.map((e, i) => [e, i]));
  const left = 20 + leftEdges.length * 12;

  const at = new Map<string, Box>();
  const body = seqBlock(pb.steps);
  const top = 16;
  at.set('start', { x: left + (body.w - 150) / 2, y: top, w: 150, h: EH });
  body.place(left, top + EH + VG, at);
  const endY = top + EH + VG + body.h + VG + 10;
  const colCx = left + body.w / 2;
  const ends = g.nodes.filter((n) => n.kind === 'end');
  const railX = new Map<string, number>();
  let rx = left + body.w + 40 + EW / 2;
  for (const n of ends) {
    if (n.id === 'run:succeeded') at.set(n.id, { x: colCx - EW / 2, y: endY, w: EW, h: EH });
    else {
      at.set(n.id, { x: rx - EW / 2, y: endY, w: EW, h: EH });
      railX.set(n.id, rx);
      rx += EW + 20;
    }
  }
  const width = Math.max(left + body.w + 30, rx - EW / 2 + 10);
  const height = endY + EH + 16;

  const edgeSvg: string[] = [];
  for (const e of g.edges) {
    const a = at.get(e.from);
    const b = at.get(e.to);
    if (!a || !b) continue;
    let d: string;
    if (e.style === 'retry') {
      d = `M ${a.x + a.w - 24} ${a.y} C ${a.x + a.w - 24} ${a.y - 16}, ${a.x + a.w + 18} ${a.y - 4}, ${a.x + a.w} ${a.y + 12}`;
    } else if (isRail(e)) {
      const x = railX.get(e.to)!;
      d = `M ${a.x + a.w} ${mid(a).cy} H ${x} V ${b.y}`;
    } else if (e.style === 'next' || e.style === 'branch') {
      const x1 = mid(a).cx;
      const y1 = a.y + a.h;
      const x2 = mid(b).cx;
      const y2 = b.y;
      d = x1 === x2 ? `M ${x1} ${y1} V ${y2}` : `M ${x1} ${y1} C ${x1} ${y1 + VG / 2}, ${x2} ${y2 - VG / 2}, ${x2} ${y2}`;
    } else {
      const lane = left - 14 - (laneOf.get(e) ?? 0) * 12;
      d = `M ${a.x} ${mid(a).cy} H ${lane} V ${mid(b).cy} H ${b.x}`;
    }
    const fromStatus = statusOf(e.from);
    const traversed =
      run &&
      reached.has(e.to) &&
      (e.style === 'next' || e.style === 'branch'
        ? reached.has(e.from) && fromStatus !== 'skipped' && fromStatus !== 'failed' && fromStatus !== 'denied'
        : e.style === 'skip'
          ? fromStatus === 'skipped'
          : e.style === 'error'
            ? fromStatus === 'failed'
            : e.style === 'deny' || e.style === 'timeout'
              ? fromStatus === 'denied' || fromStatus === 'timedout'
              : false);
    edgeSvg.push(`<path class="edge ${e.style}${traversed ? ' traversed' : ''}" d="${d}" marker-end="url(#${uid}-arrow)"><title>${escapeText(`${e.from.replace(/^step:/, '')} → ${e.to.replace(/^step:/, '')}${e.label ? `: ${e.label}` : ''}`)}</title></path>`);
  }

  const frames: string[] = [];
  for (const [k, b] of at) if (k.startsWith('frame:')) frames.push(`<rect class="frame" x="${b.x}" y="${b.y}" width="${b.w}" height="${b.h}" rx="8"/>`);

  const nodeSvg: string[] = [];
  for (const n of g.nodes) {
    const b = at.get(n.id);
    if (!b) continue;
    const st = statusOf(n.id);
    const cls = ['node', `kind-${n.kind}`, n.id.endsWith(':join') ? 'join' : '', reached.has(n.id) ? 'visited' : '', current.has(n.id) ? 'current' : '', st ? `st-${st}` : '', n.kind === 'end' ? `end-${n.id.slice(4)}` : ''].filter(Boolean).join(' ');
    const rxv = n.kind === 'end' || n.kind === 'start' ? b.h / 2 : n.kind === 'approval' ? 12 : 6;
    const titleText = `${n.label}${n.detail ? ` — ${n.detail}` : ''}${st ? ` (${st})` : current.has(n.id) ? ' (current)' : ''}`;
    const label = n.id.endsWith(':join') ? 'join' : clip(n.label, 28);
    const { cx } = mid(b);
    const lines =
      n.detail && b.h >= NH
        ? `<text class="label" x="${cx}" y="${b.y + 18}">${escapeText(label)}</text><text class="detail" x="${cx}" y="${b.y + 34}">${escapeText(clip(`${n.detail}${st ? ` · ${st}` : ''}`, 36))}</text>`
        : `<text class="label" x="${cx}" y="${b.y + b.h / 2 + 4}">${escapeText(label)}</text>`;
    nodeSvg.push(`<g class="${cls}" data-node="${escapeText(n.id)}"><title>${escapeText(titleText)}</title><rect x="${b.x}" y="${b.y}" width="${b.w}" height="${b.h}" rx="${rxv}"/>${lines}</g>`);
  }

  const steps = g.nodes.filter((n) => n.id.startsWith('step:') && !n.id.endsWith(':join'));
  const desc = steps.map((n) => `${n.label}${statusOf(n.id) ? ` ${statusOf(n.id)}` : current.has(n.id) ? ' current' : ''}`).join(', ');
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" class="dg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-labelledby="${uid}-t ${uid}-d">
<title id="${uid}-t">State machine of playbook ${escapeText(pb.metadata.name)}${run ? ` (run ${escapeText(run.status)})` : ''}</title>
<desc id="${uid}-d">Steps: ${escapeText(desc)}</desc>
<defs><marker id="${uid}-arrow" class="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z"/></marker></defs>
${frames.join('\n')}
${edgeSvg.join('\n')}
${nodeSvg.join('\n')}
</svg>`;
  return html`<figure class="diagram">${raw(svg)}<figcaption class="legend"><span class="lg visited">visited</span> <span class="lg current">current</span> <span class="lg failed">failed / denied</span> <span class="lg line-next">next</span> <span class="lg line-error">on error / denied</span> <span class="lg line-skip">skip, goto, timeout</span></figcaption></figure>`;
}

function escapeText(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
