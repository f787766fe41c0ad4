// SPDX-License-Identifier: Apache-2.0
/**
 * Loads playbook files: YAML → schema → references → templates → conditions.
 * Every problem of a file is reported at once, each with file:line:col and path,
 * e.g. `playbooks/isolate.yaml:14:9 steps[2].with.duration: expected a duration like 5m`.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import type { ActionRegistry } from '../actions/registry.ts';
import { canonicalJson } from '../common/canonical-json.ts';
import { didYouMean } from '../common/did-you-mean.ts';
import type { Diagnostic } from '../common/errors.ts';
import type { PathSegment } from '../common/paths.ts';
import { compileSchema, schemaDiagnostics } from '../common/schema-check.ts';
import { parseYamlSource, type YamlSource } from '../common/yaml-source.ts';
import { checkConditionSyntax } from './conditions.ts';
import type { Playbook, Step, StepKind } from './model.ts';
import { parsePriorityRange } from './priority-range.ts';
import { playbookSchemas } from './schema.ts';
import { checkTemplate } from './template.ts';

/** Bump when compiled machines change shape in a way persisted runs would notice. */
export const COMPILER_VERSION = 1;

const KIND_KEYS: StepKind[] = ['action', 'approval', 'notify', 'wait', 'parallel'];

export interface LoadContext {
  registry: ActionRegistry;
  /** Notifier names from the configuration; when given, `notify.to` must name one. */
  notifiers?: ReadonlySet<string>;
  /** Approver groups from the configuration; when given, groups must exist. */
  groups?: ReadonlySet<string>;
}

export interface LoadedPlaybook {
  playbook: Playbook;
  file: string;
  /** Hash of the validated model and compiler version; stored with each run. */
  version: string;
}

export interface LoadResult {
  file: string;
  playbook?: LoadedPlaybook;
  diagnostics: Diagnostic[];
}

export function playbookVersion(pb: Playbook): string {
  const { source: _source, ...model } = pb;
  return createHash('sha256').update(`v${COMPILER_VERSION}:`).update(canonicalJson(model)).digest('hex').slice(0, 16);
}

export function loadPlaybookText(file: string, text: string, ctx: LoadContext): LoadResult {
  const src = parseYamlSource(file, text);
  const diags: Diagnostic[] = [...src.diagnostics];
  if (diags.length) return { file, diagnostics: diags };
  const value = src.value as Record<string, unknown> | null;
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    return { file, diagnostics: [src.diag([], 'expected a playbook: a mapping with apiVersion, kind, metadata, trigger and steps')] };
  }
  const schemas = playbookSchemas(ctx.registry);
  diags.push(...schemaDiagnostics(schemas.document, value, src));

  const trigger = value.trigger as Record<string, unknown> | undefined;
  if (trigger && typeof trigger.priority === 'string' && !parsePriorityRange(trigger.priority) && !diags.some((d) => d.path === 'trigger.priority')) {
    diags.push(src.diag(['trigger', 'priority'], 'empty priority range'));
  }
  if (trigger && typeof trigger.condition === 'string') diags.push(...conditionDiags(src, ['trigger', 'condition'], trigger.condition));
  const dedupe = (value.options as { dedupe?: { key?: unknown } } | undefined)?.dedupe;
  if (dedupe && typeof dedupe.key === 'string') diags.push(...templateDiags(src, ['options', 'dedupe', 'key'], dedupe.key, new Set()));

  const allIds = new Map<string, PathSegment[]>();
  if (Array.isArray(value.steps)) {
    collectIds(value.steps, ['steps'], allIds, src, diags);
    checkSteps(value.steps, ['steps'], new Set(), src, ctx, schemas.steps, diags);
  }
  const errors = diags.filter((d) => d.severity === 'error');
  if (errors.length) return { file, diagnostics: sortDiags(diags) };

  const pb = normalise(value, file);
  return { file, playbook: { playbook: pb, file, version: playbookVersion(pb) }, diagnostics: sortDiags(diags) };
}

function sortDiags(d: Diagnostic[]): Diagnostic[] {
  return d.sort((a, b) => a.line - b.line || a.col - b.col);
}

function normalise(v: Record<string, unknown>, file: string): Playbook {
  const trig = (v.trigger ?? {}) as Record<string, unknown>;
  const trigger: Playbook['trigger'] = {};
  if (Array.isArray(trig.rules)) trigger.rules = trig.rules as string[];
  if (typeof trig.priority === 'string') trigger.priority = parsePriorityRange(trig.priority)!;
  if (trig.tags) trigger.tags = trig.tags as Playbook['trigger']['tags'];
  if (trig.source !== undefined) trigger.source = Array.isArray(trig.source) ? (trig.source as string[]) : [trig.source as string];
  if (typeof trig.condition === 'string') trigger.condition = trig.condition;
  return {
    apiVersion: 'riposte.dev/v1',
    kind: 'Playbook',
    metadata: v.metadata as Playbook['metadata'],
    enabled: v.enabled !== false,
    trigger,
    options: (v.options ?? {}) as Playbook['options'],
    steps: v.steps as Step[],
    source: { file },
  };
}

function conditionDiags(src: YamlSource, path: PathSegment[], text: string): Diagnostic[] {
  const problem = checkConditionSyntax(text);
  if (!problem) return [];
  const base = src.positionOf(path);
  // place the error inside the scalar when it is on the first line of a plain scalar
  const line = base.line + problem.line - 1;
  const col = problem.line === 1 ? base.col + problem.col - 1 : problem.col;
  return [{ file: src.file, line, col, path: pathString(src, path), message: `condition: ${problem.message}`, severity: 'error' }];
}

function templateDiags(src: YamlSource, path: PathSegment[], text: string, earlier: ReadonlySet<string>): Diagnostic[] {
  const base = src.positionOf(path);
  return checkTemplate(text, earlier).map((p) => ({
    file: src.file,
    line: base.line + p.line - 1,
    col: p.line === 1 ? base.col + p.col - 1 : p.col,
    path: pathString(src, path),
    message: p.message,
    severity: 'error' as const,
  }));
}

function pathString(src: YamlSource, path: PathSegment[]): string {
  return src.diag(path, '').path;
}

function collectIds(steps: unknown[], path: PathSegment[], ids: Map<string, PathSegment[]>, src: YamlSource, diags: Diagnostic[]): void {
  steps.forEach((s, i) => {
    if (!s || typeof s !== 'object') return;
    const step = s as Record<string, unknown>;
    const p = [...path, i];
    if (typeof step.id === 'string') {
      if (ids.has(step.id)) diags.push(src.diag([...p, 'id'], `duplicate step id "${step.id}" (first used at ${src.diag(ids.get(step.id)!, '').line}:${src.diag(ids.get(step.id)!, '').col})`));
      else ids.set(step.id, [...p, 'id']);
    }
    const branches = (step.parallel as { branches?: unknown } | undefined)?.branches;
    if (Array.isArray(branches)) {
      branches.forEach((b, j) => {
        const bs = (b as { steps?: unknown })?.steps;
        if (Array.isArray(bs)) collectIds(bs, [...p, 'parallel', 'branches', j, 'steps'], ids, src, diags);
      });
    }
  });
}

function checkSteps(
  steps: unknown[],
  path: PathSegment[],
  earlierOuter: ReadonlySet<string>,
  src: YamlSource,
  ctx: LoadContext,
  kindSchemas: Record<StepKind, Record<string, unknown>>,
  diags: Diagnostic[],
): Set<string> {
  const earlier = new Set(earlierOuter);
  const seqIds = steps.map((s) => (s && typeof s === 'object' ? (s as { id?: unknown }).id : undefined));
  steps.forEach((s, i) => {
    const p = [...path, i];
    if (!s || typeof s !== 'object' || Array.isArray(s)) {
      diags.push(src.diag(p, 'expected a step: a mapping with id and one of action, approval, notify, wait, parallel'));
      return;
    }
    const step = s as Record<string, unknown>;
    const kinds = KIND_KEYS.filter((k) => k in step);
    if (kinds.length === 0) {
      const allowed = new Set(Object.keys((kindSchemas.action as { properties: object }).properties).concat(KIND_KEYS));
      const unknown = Object.keys(step).filter((k) => !allowed.has(k));
      for (const k of unknown) {
        const hint = didYouMean(k, [...KIND_KEYS, 'id', 'if', 'retry', 'timeout', 'onError', 'with', 'name']);
        diags.push(src.diag([...p, k], hint ? `unknown key "${k}" (did you mean "${hint}"?)` : `unknown key "${k}"`, { key: true }));
      }
      if (unknown.length === 0) diags.push(src.diag(p, 'a step needs one of action, approval, notify, wait, parallel'));
      return;
    }
    if (kinds.length > 1) {
      diags.push(src.diag([...p, kinds[1]!], `a step has exactly one of action, approval, notify, wait, parallel (found ${kinds.join(' and ')})`, { key: true }));
      return;
    }
    const kind = kinds[0]!;
    const schemaDiags = schemaDiagnostics(kindSchemas[kind], step, { diag: (sub, msg, o) => src.diag([...p, ...sub], msg, o) });
    diags.push(...schemaDiags);

    // per-step checks that need the rest of the document
    if (typeof step.if === 'string') diags.push(...conditionDiags(src, [...p, 'if'], step.if));
    const onError = step.onError as { goto?: unknown } | undefined;
    if (onError && typeof onError === 'object' && typeof onError.goto === 'string') {
      const target = seqIds.indexOf(onError.goto);
      if (target < 0) {
        const hint = didYouMean(onError.goto, seqIds.filter((x): x is string => typeof x === 'string'));
        diags.push(src.diag([...p, 'onError', 'goto'], `no step "${onError.goto}" in this step list${hint ? ` (did you mean "${hint}"?)` : ''}`));
      } else if (target <= i) {
        const loop = steps.slice(target, i + 1) as Record<string, unknown>[];
        if (!loop.some((x) => x && ('wait' in x || 'approval' in x))) {
          diags.push(src.diag([...p, 'onError', 'goto'], `goto "${onError.goto}" makes a loop with no wait or approval step in it; add a wait step to the loop`));
        }
      }
    }
    if (kind === 'action' && typeof step.action === 'string') {
      const def = ctx.registry.get(step.action);
      if (!def) {
        const hint = didYouMean(step.action, ctx.registry.names());
        if (!schemaDiags.some((d) => d.path.endsWith('.action'))) diags.push(src.diag([...p, 'action'], `unknown action "${step.action}"${hint ? ` (did you mean "${hint}"?)` : ''}`));
      } else {
        const withValue = (step.with ?? {}) as Record<string, unknown>;
        // a template string stands for a value known only at run time: its type is checked after rendering
        const isTemplate = (e: { instancePath: string; data?: unknown }) => typeof e.data === 'string' && e.data.includes('{{');
        diags.push(...schemaDiagnostics(def.params, withValue, { diag: (sub, msg, o) => src.diag([...p, 'with', ...sub], msg, o) }, { ignore: isTemplate }));
        walkStrings(withValue, [...p, 'with'], (text, sp) => diags.push(...templateDiags(src, sp, text, earlier)));
      }
    }
    if (kind === 'notify') {
      const n = step.notify as { to?: unknown; message?: unknown };
      if (typeof n.message === 'string') diags.push(...templateDiags(src, [...p, 'notify', 'message'], n.message, earlier));
      if (ctx.notifiers && Array.isArray(n.to)) {
        n.to.forEach((t, j) => {
          if (typeof t === 'string' && !ctx.notifiers!.has(t)) {
            const hint = didYouMean(t, ctx.notifiers!);
            diags.push(src.diag([...p, 'notify', 'to', j], `unknown notifier "${t}"${hint ? ` (did you mean "${hint}"?)` : ''}; notifiers are defined in riposte.yaml`));
          }
        });
      }
    }
    if (kind === 'approval') {
      const a = step.approval as { message?: unknown; approvers?: { groups?: unknown }; notify?: unknown };
      if (typeof a.message === 'string') diags.push(...templateDiags(src, [...p, 'approval', 'message'], a.message, earlier));
      if (ctx.groups && Array.isArray(a.approvers?.groups)) {
        a.approvers.groups.forEach((g, j) => {
          if (typeof g === 'string' && !ctx.groups!.has(g)) diags.push(src.diag([...p, 'approval', 'approvers', 'groups', j], `unknown approver group "${g}"; groups are defined in riposte.yaml`));
        });
      }
      if (ctx.notifiers && Array.isArray(a.notify)) {
        a.notify.forEach((t, j) => {
          if (typeof t === 'string' && !ctx.notifiers!.has(t)) diags.push(src.diag([...p, 'approval', 'notify', j], `unknown notifier "${t}"; notifiers are defined in riposte.yaml`));
        });
      }
    }
    if (kind === 'parallel') {
      const branches = (step.parallel as { branches?: unknown }).branches;
      if (Array.isArray(branches)) {
        branches.forEach((b, j) => {
          const bs = (b as { steps?: unknown })?.steps;
          if (Array.isArray(bs)) for (const id of checkSteps(bs, [...p, 'parallel', 'branches', j, 'steps'], earlier, src, ctx, kindSchemas, diags)) earlier.add(id);
        });
      }
    }
    if (typeof step.id === 'string') earlier.add(step.id);
  });
  return earlier;
}

function walkStrings(v: unknown, path: PathSegment[], fn: (text: string, path: PathSegment[]) => void): void {
  if (typeof v === 'string') fn(v, path);
  else if (Array.isArray(v)) {
    v.forEach((x, i) => {
      walkStrings(x, [...path, i], fn);
    });
  }
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walkStrings(x, [...path, k], fn);
}

/** Loads every `*.yaml`/`*.yml` file under the given paths (files or directories). */
export async function loadPlaybookPaths(paths: string[], ctx: LoadContext): Promise<LoadResult[]> {
  const files: string[] = [];
  for (const p of paths) {
    let st: Awaited<ReturnType<typeof stat>>;
    try {
      st = await stat(p);
    } catch {
      files.push(p);
      continue;
    }
    if (st.isDirectory()) {
      for (const name of (await readdir(p)).sort()) if (['.yaml', '.yml'].includes(extname(name))) files.push(join(p, name));
    } else files.push(p);
  }
  const out: LoadResult[] = [];
  for (const f of files) {
    let text: string;
    try {
      text = await readFile(f, 'utf8');
    } catch (err) {
      out.push({ file: f, diagnostics: [{ file: f, line: 1, col: 1, path: '', message: `cannot read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, severity: 'error' }] });
      continue;
    }
    out.push(loadPlaybookText(f, text, ctx));
  }
  // names must be unique across files
  const seen = new Map<string, string>();
  for (const r of out) {
    const name = r.playbook?.playbook.metadata.name;
    if (!name) continue;
    if (seen.has(name)) {
      r.diagnostics.push({ file: r.file, line: 1, col: 1, path: 'metadata.name', message: `playbook name "${name}" is also used by ${seen.get(name)}`, severity: 'error' });
      delete r.playbook;
    } else seen.set(name, r.file);
  }
  return out;
}

export { compileSchema };
