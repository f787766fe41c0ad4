// SPDX-License-Identifier: Apache-2.0
/** The one error type of the condition language. */
import type { Pos } from './ast.ts';

/**
 * A syntax or reference error in a condition. `line`/`col` are 1-based and
 * relative to the condition text (or to the macro's text when `macro` is set);
 * `offset` is the 0-based index of the same spot.
 *
 * @example
 *   try { parseCondition('proc.name =') } catch (e) {
 *     if (e instanceof ConditionError) console.log(e.line, e.col, e.reason);
 *   }
 */
export class ConditionError extends Error {
  line: number;
  col: number;
  offset: number;
  /** The message without the position prefix. */
  reason: string;
  /** Set when the error lies inside a macro's condition: positions are relative to that macro. */
  macro?: string;

  constructor(reason: string, pos: Pos, macro?: string) {
    super(`${macro ? `in macro '${macro}' ` : ''}at ${pos.line}:${pos.col}: ${reason}`);
    this.name = 'ConditionError';
    this.reason = reason;
    this.line = pos.line;
    this.col = pos.col;
    this.offset = pos.offset;
    if (macro !== undefined) this.macro = macro;
  }

  /** Returns a copy attributed to a macro (the innermost one wins). */
  inMacro(name: string): ConditionError {
    if (this.macro !== undefined) return this;
    return new ConditionError(this.reason, { offset: this.offset, line: this.line, col: this.col }, name);
  }
}
