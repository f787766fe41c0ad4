// SPDX-License-Identifier: Apache-2.0
/**
 * Which opens a condition can match, as path prefixes: the analysis behind the
 * sensor's in-kernel open filter. The answer is a necessary condition — an open
 * the condition matches is a write or create (always reported), or a path that
 * starts with one of the prefixes — or `any` when no such bound follows from the
 * condition. Over-approximating is safe (the rules still decide); under-
 * approximating would lose alerts, so every unknown construct answers `any`.
 *
 *   and: the tightest bound of its children   or: the union of theirs
 *   not: any            evt.type = <not an open type>: no opens at all ([])
 *   fd.name = | in | pmatch | startswith X: [X…]    fd.directory = | in D: [D/…]
 *   evt.is_open_write = true: no read opens ([])
 */
import { type Ast, type Operand, own } from './ast.ts';
import { parseCondition } from './parser.ts';

export type OpenPaths = 'any' | string[];

const OPEN_TYPES = new Set(['open', 'openat', 'openat2', 'creat']);

export function openPathPrefixes(ast: Ast, opts: { macros?: Record<string, string | Ast>; lists?: Record<string, unknown[]> } = {}): OpenPaths {
  const visiting = new Set<string>();
  const values = (r: Operand | undefined): string[] | undefined => {
    if (!r) return undefined;
    if (r.kind === 'value') return [r.value];
    if (r.kind === 'list') {
      const out: string[] = [];
      for (const it of r.items) {
        const named = !it.quoted ? own(opts.lists, it.value) : undefined;
        if (named) out.push(...named.map(String));
        else out.push(it.value);
      }
      return out;
    }
    if (r.kind === 'listref') return own(opts.lists, r.name)?.map(String);
    return undefined; // a field on the right: unknown
  };
  const walk = (node: Ast): OpenPaths => {
    switch (node.kind) {
      case 'and': {
        let best: OpenPaths = 'any';
        for (const c of node.children) {
          const n = walk(c);
          if (n !== 'any' && (best === 'any' || n.length < best.length)) best = n;
        }
        return best;
      }
      case 'or': {
        const out = new Set<string>();
        for (const c of node.children) {
          const n = walk(c);
          if (n === 'any') return 'any';
          for (const p of n) out.add(p);
        }
        return [...out];
      }
      case 'not':
        return 'any';
      case 'ref': {
        const src = own(opts.macros, node.name);
        if (src === undefined || visiting.has(node.name)) return 'any';
        let ast: Ast;
        try {
          ast = typeof src === 'string' ? parseCondition(src) : src;
        } catch {
          return 'any';
        }
        visiting.add(node.name);
        try {
          return walk(ast);
        } finally {
          visiting.delete(node.name);
        }
      }
      case 'check': {
        if (node.left.kind !== 'field' || node.left.arg !== undefined) return 'any';
        const name = node.left.name;
        const vals = values(node.right);
        if (!vals) return 'any';
        if (name === 'evt.type' && (node.op === '=' || node.op === '==' || node.op === 'in')) return vals.some((v) => OPEN_TYPES.has(v)) ? 'any' : [];
        if (name === 'evt.is_open_write' && (node.op === '=' || node.op === '==') && vals[0] === 'true') return [];
        if (name === 'fd.name' && ['=', '==', 'in', 'pmatch', 'startswith'].includes(node.op)) return vals;
        if (name === 'fd.directory' && ['=', '==', 'in'].includes(node.op)) return vals.map((d) => (d.endsWith('/') ? d : `${d}/`));
        return 'any';
      }
    }
  };
  return walk(ast);
}
