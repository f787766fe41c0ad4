// SPDX-License-Identifier: Apache-2.0
/**
 * Falco's condition language as a small compiler, shared by the detector's
 * rules and by playbook triggers. It knows nothing of syscalls: fields are
 * resolved by the caller (`CompileOptions.resolve`).
 *
 * @example
 *   const c = compileCondition('rule = "Shell in container" and priority in (critical, error)', {
 *     resolve: (f) => (alert) => alert[f.name],
 *   });
 *   if (c.unsupported.length) throw new Error(`unsupported field ${c.unsupported[0].field}`);
 *   c.evaluate(alert);
 */
export type {
  AndNode,
  Ast,
  CheckNode,
  FieldExpr,
  FieldNode,
  ListNode,
  ListRefNode,
  NotNode,
  Operand,
  Operator,
  OrNode,
  Pos,
  RefNode,
  TransformNode,
  Transformer,
  ValueNode,
} from './ast.ts';
export { fieldText, isOperator, own, LIST_OPERATORS, NUMERIC_OPERATORS, OPERATORS, STRING_OPERATORS, stringifyAst, TRANSFORMERS, UNARY_OPERATORS } from './ast.ts';
export type { CompileOptions, CompiledCondition, FieldRef, Getter } from './compile.ts';
export { compileCondition } from './compile.ts';
export { ConditionError } from './errors.ts';
export { type Comparable, isComparable } from './match.ts';
export { type EventTypeOptions, eventTypesOf } from './evttypes.ts';
export { MAX_DEPTH, parseCondition, parseFieldRef } from './parser.ts';
