// SPDX-License-Identifier: Apache-2.0
/**
 * Handlebars templates for step parameters, in an isolated instance (no global
 * helpers or partials leak in) and in strict mode: a missing variable is an
 * error naming the step. Rendering produces values, never shell strings:
 * actions take argument arrays and structured parameters.
 *
 * @example
 *   renderValue({ text: 'shell in {{field "container.id"}}' }, ctx, 'steps[0].with')
 */
import Handlebars from 'handlebars';

export const TEMPLATE_ROOTS = ['alert', 'steps', 'run', 'incident', 'playbook'] as const;

const hb = Handlebars.create();

function lookupField(fields: Record<string, unknown> | undefined, name: string): unknown {
  if (!fields) return undefined;
  return Object.hasOwn(fields, name) ? fields[name] : undefined;
}

hb.registerHelper('json', (value: unknown) => new hb.SafeString(JSON.stringify(value ?? null)));
hb.registerHelper('field', function (this: unknown, name: unknown, options: Handlebars.HelperOptions) {
  const root = options.data?.root as { alert?: { output_fields?: Record<string, unknown> } } | undefined;
  const v = lookupField(root?.alert?.output_fields, String(name));
  if (v === undefined || v === null) {
    if (options.hash && 'default' in options.hash) return options.hash.default;
    throw new Error(`alert field "${String(name)}" is not present in this alert (add default="…" to allow that)`);
  }
  return Array.isArray(v) ? v.join(',') : v;
});
hb.registerHelper('lower', (s: unknown) => String(s).toLowerCase());
hb.registerHelper('upper', (s: unknown) => String(s).toUpperCase());
hb.registerHelper('join', (list: unknown, sep: unknown) => (Array.isArray(list) ? list.join(typeof sep === 'string' ? sep : ', ') : String(list)));
hb.registerHelper('truncate', (s: unknown, n: unknown) => {
  const str = String(s);
  const max = typeof n === 'number' ? n : 200;
  return str.length > max ? `${str.slice(0, max - 1)}…` : str;
});
/** `{{dnslabel "x"}}`: lowercase, [a-z0-9-], at most 63 characters (Kubernetes names and labels). */
hb.registerHelper('dnslabel', (s: unknown) =>
  String(s)
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63),
);

export const HELPERS = ['json', 'field', 'lower', 'upper', 'join', 'truncate', 'dnslabel', 'if', 'unless', 'each', 'with', 'lookup'];

export class TemplateError extends Error {
  readonly where: string;
  constructor(where: string, message: string) {
    super(`${where}: ${message}`);
    this.name = 'TemplateError';
    this.where = where;
  }
}

const compiled = new Map<string, HandlebarsTemplateDelegate>();

function compile(text: string): HandlebarsTemplateDelegate {
  let fn = compiled.get(text);
  if (!fn) {
    fn = hb.compile(text, { strict: true, noEscape: true, knownHelpersOnly: false });
    if (compiled.size > 5000) compiled.clear();
    compiled.set(text, fn);
  }
  return fn;
}

export interface TemplateContext {
  alert: unknown;
  steps: Record<string, { output?: unknown; status?: string }>;
  run: { id: string; dryRun: boolean };
  incident: { id: string; count?: number };
  playbook: { name: string };
}

export function renderString(text: string, ctx: TemplateContext, where: string): string {
  if (!text.includes('{{')) return text;
  try {
    return compile(text)(ctx, { allowProtoPropertiesByDefault: false, allowProtoMethodsByDefault: false });
  } catch (err) {
    throw new TemplateError(where, (err as Error).message.split('\n')[0] ?? 'template error');
  }
}

/** Renders every string inside a JSON-like value. */
export function renderValue(value: unknown, ctx: TemplateContext, where: string): unknown {
  if (typeof value === 'string') return renderString(value, ctx, where);
  if (Array.isArray(value)) return value.map((v, i) => renderValue(v, ctx, `${where}[${i}]`));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, renderValue(v, ctx, `${where}.${k}`)]));
  }
  return value;
}

export interface TemplateProblem {
  message: string;
  /** 1-based line/column inside the template text. */
  line: number;
  col: number;
}

/**
 * Checks a template when the playbook loads: syntax, known helpers, and that
 * every variable starts at a known root; `steps.X` must name an earlier step.
 */
export function checkTemplate(text: string, earlierSteps: ReadonlySet<string>): TemplateProblem[] {
  if (!text.includes('{{')) return [];
  let ast: hbs.AST.Program;
  try {
    ast = hb.parse(text);
  } catch (err) {
    const msg = (err as Error).message;
    const m = /line (\d+)/.exec(msg);
    return [{ message: `template syntax: ${msg.split('\n').pop()?.trim() ?? msg}`, line: m ? Number(m[1]) : 1, col: 1 }];
  }
  const problems: TemplateProblem[] = [];
  const visit = (node: unknown, blockDepth: number): void => {
    if (!node || typeof node !== 'object') return;
    const n = node as { type?: string; loc?: { start: { line: number; column: number } } } & Record<string, unknown>;
    const pos = { line: n.loc?.start.line ?? 1, col: (n.loc?.start.column ?? 0) + 1 };
    if (n.type === 'MustacheStatement' || n.type === 'BlockStatement' || n.type === 'SubExpression') {
      const path = n.path as hbs.AST.PathExpression;
      const params = (n.params as unknown[]) ?? [];
      const isHelperCall = params.length > 0 || (n.hash as { pairs?: unknown[] } | undefined)?.pairs?.length || n.type !== 'MustacheStatement';
      if (path.type === 'PathExpression' && isHelperCall && !HELPERS.includes(path.original)) {
        problems.push({ message: `unknown template helper "${path.original}" (known: ${HELPERS.join(', ')})`, ...pos });
      } else if (path.type === 'PathExpression' && !isHelperCall) {
        checkPath(path, pos, blockDepth);
      }
      for (const p of params) visit(p, blockDepth);
      for (const pair of (n.hash as { pairs?: { value: unknown }[] } | undefined)?.pairs ?? []) visit(pair.value, blockDepth);
      if (n.type === 'BlockStatement') {
        const inner = ['each', 'with'].includes(path.original) ? blockDepth + 1 : blockDepth;
        visit(n.program, inner);
        visit(n.inverse, blockDepth);
      }
      return;
    }
    if (n.type === 'PathExpression') {
      checkPath(n as unknown as hbs.AST.PathExpression, pos, blockDepth);
      return;
    }
    if (n.type === 'Program') for (const s of (n.body as unknown[]) ?? []) visit(s, blockDepth);
  };
  const checkPath = (p: hbs.AST.PathExpression, pos: { line: number; col: number }, blockDepth: number) => {
    if (p.data || (p as { this?: boolean }).this || blockDepth > 0) return; // @root, this, or inside #each/#with: relative paths are fine
    const head = String(p.parts[0] ?? '');
    if (!(TEMPLATE_ROOTS as readonly string[]).includes(head)) {
      problems.push({ message: `unknown template variable "${p.original}": variables start with ${TEMPLATE_ROOTS.join(', ')}`, ...pos });
      return;
    }
    if (head === 'steps') {
      const id = String(p.parts[1] ?? '');
      if (!id) problems.push({ message: 'write steps.<id>.output…', ...pos });
      else if (!earlierSteps.has(id)) problems.push({ message: `template refers to step "${id}", which does not run before this step`, ...pos });
    }
  };
  visit(ast, 0);
  return problems;
}
