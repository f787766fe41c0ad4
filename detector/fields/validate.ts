// SPDX-License-Identifier: Apache-2.0
/**
 * Type checks driven by the field table: a numeric field compared with a word
 * (`fd.sport = https`), a string operator on a number (`proc.pid contains 1`),
 * a bool compared with anything but true/false. Falco refuses such rules at
 * load time; so does Riposte, with the position of the offending value.
 */
import type { Ast, CheckNode, Pos } from '../condition/index.ts';
import { own, parseCondition } from '../condition/index.ts';
import { lookupField } from './lookup.ts';

export interface TypeIssue {
  message: string;
  pos: Pos;
  /** Set when the issue is inside this macro's condition. */
  macro?: string;
}

const NUMERIC = new Set(['uint64', 'int64', 'port']);
const NUMERIC_OPS = new Set(['=', '==', '!=', '<', '<=', '>', '>=', 'in', 'intersects', 'exists']);
const BOOL_OPS = new Set(['=', '==', '!=', 'exists', 'in']);
const NUM_RE = /^(?:[+-]?[0-9]+(?:\.[0-9]*)?(?:[eE][+-]?[0-9]+)?|0[xX][0-9a-fA-F]+)$/;

function checkNode(node: CheckNode, lists: Record<string, unknown[]>, out: (m: string, p: Pos) => void): void {
  if (node.left.kind !== 'field') return; // transformers change the type; leave them be
  const m = lookupField(node.left);
  if ('error' in m) return; // reported as unsupported elsewhere
  const t = m.def.type;
  const isNum = NUMERIC.has(t);
  const isBool = t === 'bool';
  if (!isNum && !isBool) return;
  const name = node.left.name;
  if (!(isNum ? NUMERIC_OPS : BOOL_OPS).has(node.op)) {
    out(`operator '${node.op}' does not apply to ${isNum ? 'numeric' : 'bool'} field '${name}'`, node.pos);
    return;
  }
  const r = node.right;
  if (!r) return;
  const values: { v: string; pos: Pos }[] = [];
  if (r.kind === 'value') values.push({ v: r.value, pos: r.pos });
  else if (r.kind === 'list') {
    for (const it of r.items) {
      const named = it.quoted ? undefined : own(lists, it.value);
      if (named) for (const x of named) values.push({ v: String(x), pos: it.pos });
      else values.push({ v: it.value, pos: it.pos });
    }
  } else if (r.kind === 'listref') {
    for (const x of own(lists, r.name) ?? []) values.push({ v: String(x), pos: r.pos });
  }
  for (const { v, pos } of values) {
    if (isNum && !NUM_RE.test(v)) out(`'${name}' is numeric: '${v}' is not a number`, pos);
    if (isBool && v !== 'true' && v !== 'false') out(`'${name}' is a bool: compare it with true or false, not '${v}'`, pos);
  }
}

/**
 * Lists type issues of a condition and of the macros it uses (each macro once).
 *
 * @example checkFieldTypes(parseCondition('fd.sport = https')) // [{ message: "'fd.sport' is numeric: ...", pos }]
 */
export function checkFieldTypes(ast: Ast, opts: { macros?: Record<string, string | Ast>; lists?: Record<string, unknown[]> } = {}): TypeIssue[] {
  const issues: TypeIssue[] = [];
  const seen = new Set<string>();
  const lists = opts.lists ?? {};
  const walk = (node: Ast, macro: string | undefined): void => {
    switch (node.kind) {
      case 'and':
      case 'or':
        for (const c of node.children) walk(c, macro);
        return;
      case 'not':
        walk(node.child, macro);
        return;
      case 'check':
        checkNode(node, lists, (message, pos) => issues.push(macro === undefined ? { message, pos } : { message, pos, macro }));
        return;
      case 'ref': {
        if (seen.has(node.name)) return;
        seen.add(node.name);
        const src = own(opts.macros, node.name);
        if (src === undefined) return;
        let sub: Ast;
        try {
          sub = typeof src === 'string' ? parseCondition(src) : src;
        } catch {
          return;
        }
        walk(sub, node.name);
      }
    }
  };
  walk(ast, undefined);
  return issues;
}
