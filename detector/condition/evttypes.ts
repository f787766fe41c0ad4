// SPDX-License-Identifier: Apache-2.0
/**
 * Which `evt.type` values can a condition match? Used to index rules by event
 * type and to enable only the syscalls the loaded rules need (Falco's adaptive
 * syscall selection). Negations are pushed down (De Morgan) so that
 * `not evt.type = open` is "everything but open" while `not proc.name = sh`
 * stays "any type".
 */
import { type Ast, own } from './ast.ts';
import { parseCondition } from './parser.ts';

/** A set of event types: exactly `set`, or (negated) every type except `set`. */
interface TypeSet {
  neg: boolean;
  set: Set<string>;
}

const ALL = (): TypeSet => ({ neg: true, set: new Set() });

function intersect(a: TypeSet, b: TypeSet): TypeSet {
  if (!a.neg && !b.neg) return { neg: false, set: new Set([...a.set].filter((x) => b.set.has(x))) };
  if (!a.neg && b.neg) return { neg: false, set: new Set([...a.set].filter((x) => !b.set.has(x))) };
  if (a.neg && !b.neg) return intersect(b, a);
  return { neg: true, set: new Set([...a.set, ...b.set]) };
}

function union(a: TypeSet, b: TypeSet): TypeSet {
  if (!a.neg && !b.neg) return { neg: false, set: new Set([...a.set, ...b.set]) };
  if (!a.neg && b.neg) return { neg: true, set: new Set([...b.set].filter((x) => !a.set.has(x))) };
  if (a.neg && !b.neg) return union(b, a);
  return { neg: true, set: new Set([...a.set].filter((x) => b.set.has(x))) };
}

export interface EventTypeOptions {
  macros?: Record<string, string | Ast>;
  lists?: Record<string, unknown[]>;
  /** The field holding the event type; `evt.type` by default. */
  field?: string;
}

/**
 * Returns the set of event types a condition can match, or `'any'` when it does
 * not restrict them. An empty set means the condition can never match.
 *
 * @example eventTypesOf(parseCondition('evt.type in (open, openat) and fd.num >= 0')) // Set {open, openat}
 */
export function eventTypesOf(ast: Ast, opts: EventTypeOptions = {}): Set<string> | 'any' {
  const field = opts.field ?? 'evt.type';
  const parsed = new Map<string, Ast>();
  const visiting = new Set<string>();

  const walk = (node: Ast, negated: boolean): TypeSet => {
    switch (node.kind) {
      case 'and':
      case 'or': {
        const useUnion = (node.kind === 'or') !== negated;
        let acc: TypeSet | undefined;
        for (const c of node.children) {
          const t = walk(c, negated);
          acc = acc === undefined ? t : useUnion ? union(acc, t) : intersect(acc, t);
        }
        return acc ?? ALL();
      }
      case 'not':
        return walk(node.child, !negated);
      case 'ref': {
        const src = own(opts.macros, node.name);
        if (src === undefined || visiting.has(node.name)) return ALL();
        let ast = typeof src === 'string' ? parsed.get(node.name) : src;
        if (!ast) {
          try {
            ast = parseCondition(src as string);
          } catch {
            return ALL();
          }
          parsed.set(node.name, ast);
        }
        visiting.add(node.name);
        try {
          return walk(ast, negated);
        } finally {
          visiting.delete(node.name);
        }
      }
      case 'check': {
        const l = node.left;
        if (l.kind !== 'field' || l.name !== field || l.arg !== undefined || !node.right) return ALL();
        const r = node.right;
        let values: string[] | undefined;
        let neg = false;
        if ((node.op === '=' || node.op === '==' || node.op === '!=') && r.kind === 'value') {
          values = [r.value];
          neg = node.op === '!=';
        } else if ((node.op === 'in' || node.op === 'intersects') && r.kind === 'list') {
          values = [];
          for (const it of r.items) {
            const named = it.quoted ? undefined : own(opts.lists, it.value);
            if (named) values.push(...named.map(String));
            else values.push(it.value);
          }
        } else if ((node.op === 'in' || node.op === 'intersects') && r.kind === 'listref') {
          const named = own(opts.lists, r.name);
          if (!named) return ALL();
          values = named.map(String);
        }
        if (!values) return ALL();
        return { neg: neg !== negated, set: new Set(values) };
      }
    }
  };

  const t = walk(ast, false);
  return t.neg ? 'any' : t.set;
}
