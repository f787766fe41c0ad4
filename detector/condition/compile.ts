// SPDX-License-Identifier: Apache-2.0
/**
 * Compiles a condition AST into closures, once: macros and lists are resolved,
 * literals prepared (numbers, lower case, globs, regexes, sets), and each
 * check becomes one `(ctx) => boolean`. Evaluating an event walks no AST.
 */
import { didYouMean } from '../../src/common/did-you-mean.ts';
import { type Ast, type CheckNode, type FieldExpr, type FieldNode, fieldText, type Operator, own, type ValueNode } from './ast.ts';
import { ConditionError } from './errors.ts';
import {
  basename,
  bytesOf,
  cmpLiteral,
  eqLiteral,
  globToRegExp,
  hexBytes,
  isComparable,
  type Literal,
  listSet,
  literal,
  literalOf,
  prefixMatcher,
  setKey,
  stringOf,
} from './match.ts';
import { parseCondition } from './parser.ts';

/** A field named in a condition: `{name: 'proc.aname', arg: '2'}`. */
export interface FieldRef {
  name: string;
  arg?: string;
}

/** Reads a field from the evaluation context; `undefined`/`null` = field absent. */
export type Getter<C> = (ctx: C) => unknown;

export interface CompileOptions<C> {
  /** Maps a field to its getter, or `{error}` when unknown/unsupported. */
  resolve(field: FieldRef): Getter<C> | { error: string };
  /** Macro name → condition text or parsed AST. */
  macros?: Record<string, string | Ast>;
  /** List name → items. */
  lists?: Record<string, unknown[]>;
}

export interface CompiledCondition<C> {
  evaluate(ctx: C): boolean;
  /** Every field the condition reads (macros included), once each. */
  fields: FieldRef[];
  /** Fields `resolve` refused; they read as absent. The caller decides what to do. */
  unsupported: { field: string; error: string }[];
}

type Pred<C> = (ctx: C) => boolean;
type Test = (v: unknown) => boolean;

const isAbsent = (v: unknown): boolean => v === undefined || v === null || (Array.isArray(v) && v.length === 0);

/**
 * Compiles a condition. Throws ConditionError for syntax errors, undefined
 * macros or lists, macro cycles, and malformed regexes, globs or hex strings.
 *
 * @example
 *   const c = compileCondition('proc.name in (bash, sh)', { resolve: (f) => (ev) => ev[f.name] });
 *   c.evaluate({ 'proc.name': 'bash' }) // true
 */
export function compileCondition<C>(textOrAst: string | Ast, opts: CompileOptions<C>): CompiledCondition<C> {
  const ast = typeof textOrAst === 'string' ? parseCondition(textOrAst) : textOrAst;
  const cx = new Compiler<C>(opts);
  const evaluate = cx.node(ast);
  return { evaluate, fields: [...cx.fields.values()], unsupported: [...cx.unsupported.values()] };
}

class Compiler<C> {
  readonly fields = new Map<string, FieldRef>();
  readonly unsupported = new Map<string, { field: string; error: string }>();
  private readonly getters = new Map<string, Getter<C>>();
  private readonly macroCache = new Map<string, Pred<C>>();
  private readonly macroStack: string[] = [];
  private readonly parsedMacros = new Map<string, Ast>();
  private readonly opts: CompileOptions<C>;

  constructor(opts: CompileOptions<C>) {
    this.opts = opts;
  }

  node(ast: Ast): Pred<C> {
    switch (ast.kind) {
      case 'and': {
        const cs = ast.children.map((c) => this.node(c));
        if (cs.length === 2) {
          const [a, b] = cs as [Pred<C>, Pred<C>];
          return (ctx) => a(ctx) && b(ctx);
        }
        return (ctx) => {
          for (const c of cs) if (!c(ctx)) return false;
          return true;
        };
      }
      case 'or': {
        const cs = ast.children.map((c) => this.node(c));
        if (cs.length === 2) {
          const [a, b] = cs as [Pred<C>, Pred<C>];
          return (ctx) => a(ctx) || b(ctx);
        }
        return (ctx) => {
          for (const c of cs) if (c(ctx)) return true;
          return false;
        };
      }
      case 'not': {
        const c = this.node(ast.child);
        return (ctx) => !c(ctx);
      }
      case 'ref':
        return this.macro(ast.name, ast.pos);
      case 'check':
        return this.check(ast);
    }
  }

  private macro(name: string, pos: Ast['pos']): Pred<C> {
    const cached = this.macroCache.get(name);
    if (cached) return cached;
    const src = own(this.opts.macros, name);
    if (src === undefined) {
      const hint = didYouMean(name, Object.keys(this.opts.macros ?? {}));
      const isList = own(this.opts.lists, name) !== undefined;
      throw new ConditionError(
        isList ? `'${name}' is a list, not a macro: use it as 'field in (${name})'` : `undefined macro '${name}'${hint ? ` (did you mean '${hint}'?)` : ''}`,
        pos,
      );
    }
    if (this.macroStack.includes(name)) {
      throw new ConditionError(`macro '${name}' refers to itself (${[...this.macroStack, name].join(' -> ')})`, pos);
    }
    this.macroStack.push(name);
    try {
      let ast = typeof src === 'string' ? this.parsedMacros.get(name) : src;
      if (!ast) {
        ast = parseCondition(src as string);
        this.parsedMacros.set(name, ast);
      }
      const pred = this.node(ast);
      this.macroCache.set(name, pred);
      return pred;
    } catch (e) {
      throw e instanceof ConditionError ? e.inMacro(name) : e;
    } finally {
      this.macroStack.pop();
    }
  }

  private field(f: FieldNode): Getter<C> {
    const key = fieldText(f);
    const known = this.getters.get(key);
    if (known) return known;
    const ref: FieldRef = f.arg === undefined ? { name: f.name } : { name: f.name, arg: f.arg };
    this.fields.set(key, ref);
    const r = this.opts.resolve(ref);
    let g: Getter<C>;
    if (typeof r === 'function') g = r;
    else {
      this.unsupported.set(key, { field: key, error: r.error });
      g = () => undefined;
    }
    this.getters.set(key, g);
    return g;
  }

  private fieldExpr(e: FieldExpr): Getter<C> {
    if (e.kind === 'field') return this.field(e);
    const inner = this.fieldExpr(e.arg);
    const fn = TRANSFORM[e.fn];
    if (!fn) return inner; // val(): the field itself
    return (ctx) => {
      const v = inner(ctx);
      if (v === undefined || v === null) return undefined;
      return Array.isArray(v) && e.fn !== 'len' ? v.map(fn) : fn(v);
    };
  }

  private listItems(items: readonly ValueNode[]): string[] {
    const out: string[] = [];
    for (const it of items) {
      const named = it.quoted ? undefined : own(this.opts.lists, it.value);
      if (named) for (const x of named) out.push(stringOf(x));
      else out.push(it.value);
    }
    return out;
  }

  private check(node: CheckNode): Pred<C> {
    const get = this.fieldExpr(node.left);
    const op = node.op;
    const r = node.right;
    if (op === 'exists' || !r) return (ctx) => !isAbsent(get(ctx));

    if (r.kind === 'field' || r.kind === 'transform') {
      const rget = this.fieldExpr(r);
      return dynamicCheck(get, op, rget);
    }

    let test: Test;
    if (r.kind === 'value') {
      test = staticTest(op, r.value, r.pos);
    } else {
      let items: string[];
      if (r.kind === 'list') items = this.listItems(r.items);
      else {
        const named = own(this.opts.lists, r.name);
        if (!named) {
          const hint = didYouMean(r.name, Object.keys(this.opts.lists ?? {}));
          throw new ConditionError(`undefined list '${r.name}'${hint ? ` (did you mean '${hint}'?)` : ''}`, r.pos);
        }
        items = named.map(stringOf);
      }
      test = listTest(op, items, r.pos);
    }
    return withValue(get, op, test);
  }
}

const TRANSFORM: Record<string, ((v: unknown) => unknown) | undefined> = {
  tolower: (v) => stringOf(v).toLowerCase(),
  toupper: (v) => stringOf(v).toUpperCase(),
  basename: (v) => basename(stringOf(v)),
  len: (v) => (Array.isArray(v) ? v.length : v instanceof Uint8Array ? v.byteLength : Buffer.byteLength(stringOf(v))),
  b64: (v) => Buffer.from(stringOf(v), 'base64').toString('utf8'),
  val: undefined,
};

/** Applies a scalar test to a value, handling absent and list-valued fields. */
function withValue<C>(get: Getter<C>, op: Operator, test: Test): Pred<C> {
  if (op === '!=') {
    return (ctx) => {
      const v = get(ctx);
      if (isAbsent(v)) return false;
      return Array.isArray(v) ? !v.some(test) : !test(v);
    };
  }
  if (op === 'in') {
    return (ctx) => {
      const v = get(ctx);
      if (isAbsent(v)) return false;
      return Array.isArray(v) ? v.every(test) : test(v);
    };
  }
  return (ctx) => {
    const v = get(ctx);
    if (isAbsent(v)) return false;
    return Array.isArray(v) ? v.some(test) : test(v);
  };
}

/** The positive test of a string or numeric operator against one literal (`!=` yields equality). */
function staticTest(op: Operator, text: string, pos: Ast['pos']): Test {
  const lit = literal(text);
  switch (op) {
    case '=':
    case '==':
    case '!=':
      return (v) => eqLiteral(v, lit);
    case '<':
      return (v) => (cmpLiteral(v, lit) ?? 0) < 0;
    case '<=':
      return (v) => (cmpLiteral(v, lit) ?? 1) <= 0;
    case '>':
      return (v) => (cmpLiteral(v, lit) ?? 0) > 0;
    case '>=':
      return (v) => (cmpLiteral(v, lit) ?? -1) >= 0;
    default:
      return stringTest(op, lit, pos);
  }
}

function stringTest(op: Operator, lit: Literal, pos: Ast['pos']): Test {
  const s = lit.s;
  switch (op) {
    case 'contains':
      return (v) => stringOf(v).includes(s);
    case 'icontains':
      return (v) => stringOf(v).toLowerCase().includes(lit.lower);
    case 'startswith':
      return (v) => stringOf(v).startsWith(s);
    case 'endswith':
      return (v) => stringOf(v).endsWith(s);
    case 'bcontains':
    case 'bstartswith': {
      const needle = hexBytes(s);
      if (!needle) throw new ConditionError(`'${op}' expects an even-length hex string, got '${s}'`, pos);
      return op === 'bcontains' ? (v) => bytesOf(v).includes(needle) : (v) => bytesOf(v).subarray(0, needle.length).equals(needle);
    }
    case 'glob':
    case 'iglob': {
      const re = globToRegExp(s, op === 'iglob');
      return (v) => re.test(stringOf(v));
    }
    case 'regex': {
      let re: RegExp;
      try {
        re = new RegExp(`^(?:${s})$`, 'su');
      } catch (e) {
        throw new ConditionError(`invalid regex '${s}': ${(e as Error).message}`, pos);
      }
      return (v) => re.test(stringOf(v));
    }
    default:
      throw new ConditionError(`operator '${op}' does not take a single value`, pos);
  }
}

function listTest(op: Operator, items: string[], pos: Ast['pos']): Test {
  switch (op) {
    case 'in':
    case 'intersects': {
      const set = listSet(items);
      return (v) => (isComparable(v) ? items.some((it) => v.matchesLiteral(it)) : set.has(setKey(v)));
    }
    case 'pmatch': {
      const m = prefixMatcher(items);
      return (v) => m(stringOf(v));
    }
    default:
      throw new ConditionError(`operator '${op}' does not take a list`, pos);
  }
}

/** `field op val(other)` / `field op tolower(other)`: the right side is read per event. */
function dynamicCheck<C>(get: Getter<C>, op: Operator, rget: Getter<C>): Pred<C> {
  const pos = { offset: 0, line: 1, col: 1 };
  let lastKey: string | undefined;
  let lastTest: Test | undefined;
  const testFor = (rv: unknown): Test | undefined => {
    const list = op === 'in' || op === 'intersects' || op === 'pmatch';
    const key = list && Array.isArray(rv) ? `L${rv.map(stringOf).join('\0')}` : `S${stringOf(rv)}`;
    if (key === lastKey && lastTest) return lastTest;
    let t: Test;
    try {
      if (list) t = listTest(op, Array.isArray(rv) ? rv.map(stringOf) : [stringOf(rv)], pos);
      else if (op === '=' || op === '==' || op === '!=') {
        const lit = literalOf(rv);
        t = (v) => eqLiteral(v, lit);
      } else if (op === '<' || op === '<=' || op === '>' || op === '>=') t = staticTest(op, literalOf(rv).s, pos);
      else t = stringTest(op, literalOf(rv), pos);
    } catch {
      return undefined; // e.g. a field value that is not a valid regex: no match
    }
    lastKey = key;
    lastTest = t;
    return t;
  };
  return (ctx) => {
    const v = get(ctx);
    if (isAbsent(v)) return false;
    const rv = rget(ctx);
    if (isAbsent(rv)) return false;
    const t = testFor(rv);
    if (!t) return false;
    if (op === '!=') return Array.isArray(v) ? !v.some(t) : !t(v);
    if (op === 'in') return Array.isArray(v) ? v.every(t) : t(v);
    return Array.isArray(v) ? v.some(t) : t(v);
  };
}
