// SPDX-License-Identifier: Apache-2.0
/**
 * The typed AST of a condition. Every node carries the position of its first
 * character in the condition text (offset 0-based, line/col 1-based), so any
 * later pass can point at the exact spot.
 */

export interface Pos {
  /** 0-based index into the condition text. */
  offset: number;
  /** 1-based line. */
  line: number;
  /** 1-based column. */
  col: number;
}

export const UNARY_OPERATORS = ['exists'] as const;
/** Operators whose right-hand side must be a number (or a field). */
export const NUMERIC_OPERATORS = ['<=', '<', '>=', '>'] as const;
/** Operators whose right-hand side is one string value (or a field). */
export const STRING_OPERATORS = [
  '==',
  '=',
  '!=',
  'glob',
  'iglob',
  'contains',
  'icontains',
  'bcontains',
  'startswith',
  'bstartswith',
  'endswith',
  'regex',
] as const;
/** Operators whose right-hand side is a list, a list name (or a field). */
export const LIST_OPERATORS = ['intersects', 'in', 'pmatch'] as const;

export type UnaryOperator = (typeof UNARY_OPERATORS)[number];
export type BinaryOperator = (typeof NUMERIC_OPERATORS)[number] | (typeof STRING_OPERATORS)[number] | (typeof LIST_OPERATORS)[number];
export type Operator = UnaryOperator | BinaryOperator;

export const OPERATORS: readonly Operator[] = [...UNARY_OPERATORS, ...NUMERIC_OPERATORS, ...STRING_OPERATORS, ...LIST_OPERATORS];

export function isOperator(text: string): text is Operator {
  return (OPERATORS as readonly string[]).includes(text);
}
export function isListOperator(op: string): op is (typeof LIST_OPERATORS)[number] {
  return (LIST_OPERATORS as readonly string[]).includes(op);
}

/** Field transformers usable on either side of a check; `val` only on the right. */
export const TRANSFORMERS = ['tolower', 'toupper', 'basename', 'len', 'b64'] as const;
export type Transformer = (typeof TRANSFORMERS)[number] | 'val';

export interface AndNode {
  kind: 'and';
  children: Ast[];
  pos: Pos;
}
export interface OrNode {
  kind: 'or';
  children: Ast[];
  pos: Pos;
}
export interface NotNode {
  kind: 'not';
  child: Ast;
  pos: Pos;
}
/** A bare identifier in check position: a macro reference. */
export interface RefNode {
  kind: 'ref';
  name: string;
  pos: Pos;
}
export interface CheckNode {
  kind: 'check';
  left: FieldExpr;
  op: Operator;
  /** Absent for unary operators (`exists`). */
  right?: Operand;
  pos: Pos;
}

/** `proc.aname[2]` → name `proc.aname`, arg `2`; `evt.arg.flags` stays one name. */
export interface FieldNode {
  kind: 'field';
  name: string;
  arg?: string;
  pos: Pos;
}
export interface TransformNode {
  kind: 'transform';
  fn: Transformer;
  arg: FieldExpr;
  pos: Pos;
}
export type FieldExpr = FieldNode | TransformNode;

/** A literal. `quoted` is false for bare words and numbers. */
export interface ValueNode {
  kind: 'value';
  value: string;
  quoted: boolean;
  pos: Pos;
}
/** `(a, "b c", 3)`: unquoted items naming a list are expanded at compile time. */
export interface ListNode {
  kind: 'list';
  items: ValueNode[];
  pos: Pos;
}
/** `proc.name in shell_binaries`: a list named without parentheses. */
export interface ListRefNode {
  kind: 'listref';
  name: string;
  pos: Pos;
}
export type Operand = ValueNode | ListNode | ListRefNode | FieldExpr;

export type Ast = AndNode | OrNode | NotNode | RefNode | CheckNode;

/**
 * A record's own entry (never an inherited one: a macro named `constructor`
 * must not find Object.prototype.constructor).
 */
export function own<T>(rec: Readonly<Record<string, T>> | undefined, key: string): T | undefined {
  return rec !== undefined && Object.hasOwn(rec, key) ? rec[key] : undefined;
}

/** The text form of a field reference: `proc.aname[2]`, `evt.arg.flags`. */
export function fieldText(f: { name: string; arg?: string }): string {
  return f.arg === undefined ? f.name : `${f.name}[${f.arg}]`;
}

function quote(s: string): string {
  return JSON.stringify(s);
}

function valueText(v: ValueNode): string {
  return v.quoted || v.value === '' || /[\s(),="']/.test(v.value) ? quote(v.value) : v.value;
}

function fieldExprText(f: FieldExpr): string {
  return f.kind === 'field' ? fieldText(f) : `${f.fn}(${fieldExprText(f.arg)})`;
}

/**
 * Prints an AST back as a condition, fully parenthesised, positions dropped.
 * Two conditions that differ only in whitespace print the same.
 *
 * @example stringifyAst(parseCondition('a and  b')) // '(a and b)'
 */
export function stringifyAst(ast: Ast): string {
  switch (ast.kind) {
    case 'and':
    case 'or':
      return `(${ast.children.map(stringifyAst).join(` ${ast.kind} `)})`;
    case 'not':
      return `not ${stringifyAst(ast.child)}`;
    case 'ref':
      return ast.name;
    case 'check': {
      const left = fieldExprText(ast.left);
      const r = ast.right;
      if (!r) return `${left} ${ast.op}`;
      let right: string;
      if (r.kind === 'value') right = valueText(r);
      else if (r.kind === 'list') right = `(${r.items.map(valueText).join(', ')})`;
      else if (r.kind === 'listref') right = r.name;
      else right = fieldExprText(r);
      return `${left} ${ast.op} ${right}`;
    }
  }
}
