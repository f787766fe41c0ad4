// SPDX-License-Identifier: Apache-2.0
/**
 * Rule exceptions compiled into the condition as Falco does:
 *   (condition) and not (ex1) and not (ex2) ...
 * where each exception is an OR over its value tuples and each tuple an AND
 * of `field comp value` checks. The AST is built directly (no text
 * re-parsing), so values need no quoting.
 *
 *   fields: [proc.name, fd.name]  comps: [=, startswith]  values: [[nginx, /etc/nginx]]
 *     → not ((proc.name = nginx and fd.name startswith /etc/nginx))
 *   fields: proc.name  comps: in (default)  values: [a, b]
 *     → not (proc.name in (a, b))
 */
import { type Ast, type CheckNode, type FieldNode, isOperator, LIST_OPERATORS, type Operand, type Pos } from '../condition/index.ts';
import { ConditionError, parseFieldRef } from '../condition/index.ts';
import type { ExceptionInfo } from './reader.ts';

const NOWHERE: Pos = { offset: 0, line: 1, col: 1 };
const isListOp = (op: string): boolean => (LIST_OPERATORS as readonly string[]).includes(op);
const scalar = (v: unknown): v is string | number | boolean => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';

export class ExceptionError extends Error {}

function field(text: string): FieldNode {
  try {
    return parseFieldRef(text.trim());
  } catch (e) {
    throw new ExceptionError(e instanceof ConditionError ? e.reason : String(e));
  }
}

function comp(op: string): CheckNode['op'] {
  const o = op.trim();
  if (!isOperator(o) || o === 'exists') throw new ExceptionError(`'${op}' is not a comparison operator usable in exceptions`);
  return o;
}

function operand(op: string, v: unknown): Operand {
  if (Array.isArray(v)) {
    if (!v.every(scalar)) throw new ExceptionError('exception values must be scalars or lists of scalars');
    // unquoted, as in Falco: an item naming a list is expanded
    return { kind: 'list', items: v.map((x) => ({ kind: 'value', value: String(x), quoted: false, pos: NOWHERE })), pos: NOWHERE };
  }
  if (!scalar(v)) throw new ExceptionError('exception values must be scalars or lists of scalars');
  // a lone value for a list operator is a one-item list, and may name a list (Falco's "(value)")
  if (isListOp(op)) return { kind: 'list', items: [{ kind: 'value', value: String(v), quoted: false, pos: NOWHERE }], pos: NOWHERE };
  return { kind: 'value', value: String(v), quoted: true, pos: NOWHERE };
}

/** The AST matching an exception (the part to negate), or undefined when it has no values. */
export function exceptionAst(ex: ExceptionInfo): Ast | undefined {
  if (ex.fields === undefined) throw new ExceptionError("missing 'fields'");
  if (typeof ex.fields === 'string') {
    if (Array.isArray(ex.comps)) throw new ExceptionError("'fields' and 'comps' must both be strings or both be sequences");
    const op = comp(ex.comps ?? 'in');
    if (!isListOp(op)) throw new ExceptionError(`when 'fields' is a single field, 'comps' must be one of in, pmatch, intersects (got '${op}')`);
    if (ex.values.length === 0) return undefined;
    const items = ex.values.map((v) => {
      if (!scalar(v)) throw new ExceptionError("with a single field, 'values' must be a sequence of scalars");
      return { kind: 'value' as const, value: String(v), quoted: false, pos: NOWHERE };
    });
    return { kind: 'check', left: field(ex.fields), op, right: { kind: 'list', items, pos: NOWHERE }, pos: NOWHERE };
  }
  const fields = ex.fields.map(field);
  if (typeof ex.comps === 'string') throw new ExceptionError("'fields' and 'comps' must both be strings or both be sequences");
  const comps = (ex.comps ?? fields.map(() => '=')).map(comp);
  if (comps.length !== fields.length) throw new ExceptionError(`'fields' has ${fields.length} entries but 'comps' has ${comps.length}`);
  if (ex.values.length === 0) return undefined;
  const tuples: Ast[] = ex.values.map((tuple, t) => {
    if (!Array.isArray(tuple)) throw new ExceptionError(`values[${t}] must be a sequence of ${fields.length} values (one per field)`);
    if (tuple.length !== fields.length) throw new ExceptionError(`values[${t}] has ${tuple.length} values but there are ${fields.length} fields`);
    const checks: Ast[] = fields.map((f, k) => ({ kind: 'check', left: f, op: comps[k]!, right: operand(comps[k]!, tuple[k]), pos: NOWHERE }));
    return checks.length === 1 ? checks[0]! : { kind: 'and', children: checks, pos: NOWHERE };
  });
  return tuples.length === 1 ? tuples[0]! : { kind: 'or', children: tuples, pos: NOWHERE };
}

/** `cond and not ex1 and not ex2 ...` */
export function withExceptions(cond: Ast, exceptions: readonly Ast[]): Ast {
  if (exceptions.length === 0) return cond;
  return { kind: 'and', children: [cond, ...exceptions.map((e): Ast => ({ kind: 'not', child: e, pos: NOWHERE }))], pos: cond.pos };
}
