// SPDX-License-Identifier: Apache-2.0
/**
 * Parser of Falco's condition language (the libsinsp filter grammar).
 *
 * Grammar (EBNF). Keywords `and`, `or`, `not` must be followed by a blank or
 * `(`; blanks are space, tab, backspace, CR, LF, FF, VT.
 *
 *   Condition      ::= OrExpr EOF
 *   OrExpr         ::= AndExpr { 'or' AndExpr }
 *   AndExpr        ::= NotExpr { 'and' NotExpr }
 *   NotExpr        ::= { 'not' } Primary
 *   Primary        ::= '(' OrExpr ')'
 *                    | Check
 *                    | MacroRef
 *   Check          ::= FieldExpr UnaryOperator
 *                    | FieldExpr NumOperator ( Number | RhsField )
 *                    | FieldExpr StrOperator ( QuotedStr | BareStr | RhsField )
 *                    | FieldExpr ListOperator ( List | ListRef | RhsField )
 *   FieldExpr      ::= Field | Transformer '(' FieldExpr ')'
 *   RhsField       ::= 'val(' Field ')' | Transformer '(' FieldExpr ')'
 *   Field          ::= FieldName [ '[' FieldArg ']' ]       (no blank before '[')
 *   FieldArg       ::= QuotedStr | FieldArgBareStr
 *   List           ::= '(' [ ListItem { ',' ListItem } ] ')'
 *   ListItem       ::= QuotedStr | BareStr                 (bare items naming a list are expanded)
 *   ListRef        ::= Identifier
 *   MacroRef       ::= Identifier
 *
 *   UnaryOperator  ::= 'exists'
 *   NumOperator    ::= '<=' | '<' | '>=' | '>'
 *   StrOperator    ::= '==' | '=' | '!='
 *                    | ( 'glob' | 'iglob' | 'contains' | 'icontains' | 'bcontains'
 *                      | 'startswith' | 'bstartswith' | 'endswith' | 'regex' ) Blank
 *   ListOperator   ::= 'intersects' | 'in' | 'pmatch'
 *   Transformer    ::= 'tolower' | 'toupper' | 'basename' | 'len' | 'b64'
 *
 * Tokens (regular expressions):
 *   Identifier      ::= [a-zA-Z][a-zA-Z0-9_]*
 *   FieldName       ::= [a-zA-Z][a-zA-Z0-9_]*(\.[a-zA-Z][a-zA-Z0-9_]*)+
 *                     | Identifier   (a one-word field: only where an operator or '[' follows,
 *                                     or inside a transformer / val(); Falco's fields all have a dot)
 *   FieldArgBareStr ::= [^ \b\t\n\r\[\]"']+
 *   Number          ::= 0[xX][0-9a-fA-F]+ | [+-]?[0-9]+\.?[0-9]*([eE][+-]?[0-9]+)?
 *   QuotedStr       ::= "(\\.|[^"])*" | '(\\.|[^'])*'
 *   BareStr         ::= [^ \b\t\n\r(),="']+
 *
 * Nesting (parentheses, `not`, transformers) is limited to MAX_DEPTH levels.
 */
import {
  type Ast,
  type CheckNode,
  type FieldExpr,
  type FieldNode,
  LIST_OPERATORS,
  type ListNode,
  NUMERIC_OPERATORS,
  type Operand,
  type Pos,
  STRING_OPERATORS,
  TRANSFORMERS,
  type Transformer,
  type ValueNode,
} from './ast.ts';
import { ConditionError } from './errors.ts';
import { Lexer } from './lexer.ts';

export const MAX_DEPTH = 100;

const SYMBOL_STR_OPS = STRING_OPERATORS.filter((o) => !/^[a-z]/.test(o));
const WORD_STR_OPS = STRING_OPERATORS.filter((o) => /^[a-z]/.test(o));

class Parser {
  private readonly lx: Lexer;
  private depth = 0;

  constructor(text: string) {
    this.lx = new Lexer(text);
  }

  parse(): Ast {
    this.lx.blank();
    if (this.lx.atEnd()) throw this.lx.error('condition is empty');
    const ast = this.parseOr();
    this.lx.blank();
    if (!this.lx.atEnd()) throw this.lx.error(`unexpected ${this.lx.describe()}: expected 'and', 'or' or the end of the condition`);
    return ast;
  }

  private enter(): void {
    if (++this.depth > MAX_DEPTH) throw this.lx.error(`nesting deeper than ${MAX_DEPTH} levels`);
  }
  private leave(): void {
    this.depth--;
  }

  /** `and`/`or`/`not` followed by a blank or '('. */
  private keyword(w: string): boolean {
    const lx = this.lx;
    if (!lx.text.startsWith(w, lx.offset)) return false;
    const next = lx.text[lx.offset + w.length];
    // at the very end the keyword still counts, so the error names what is missing after it
    if (next !== undefined && next !== '(' && !lx.isBlankAt(lx.offset + w.length)) return false;
    lx.offset += w.length;
    return true;
  }

  private parseOr(): Ast {
    this.lx.blank();
    const pos = this.lx.pos();
    const children = [this.parseAnd()];
    for (;;) {
      this.lx.blank();
      if (!this.keyword('or')) break;
      children.push(this.parseAnd());
    }
    return children.length === 1 ? children[0]! : { kind: 'or', children, pos };
  }

  private parseAnd(): Ast {
    this.lx.blank();
    const pos = this.lx.pos();
    const children = [this.parseNot()];
    for (;;) {
      this.lx.blank();
      if (!this.keyword('and')) break;
      children.push(this.parseNot());
    }
    return children.length === 1 ? children[0]! : { kind: 'and', children, pos };
  }

  private parseNot(): Ast {
    this.lx.blank();
    const pos = this.lx.pos();
    if (this.keyword('not')) {
      this.enter();
      const child = this.parseNot();
      this.leave();
      return { kind: 'not', child, pos };
    }
    return this.parsePrimary();
  }

  private parsePrimary(): Ast {
    const lx = this.lx;
    lx.blank();
    if (lx.atEnd()) throw lx.error("unexpected end of condition: expected a field check, a macro name or '('");
    if (lx.literal('(')) {
      this.enter();
      const inner = this.parseOr();
      lx.blank();
      if (!lx.literal(')')) throw lx.error(`unexpected ${lx.describe()}: expected ')'`);
      this.leave();
      return inner;
    }
    const pos = lx.pos();
    const left = this.tryFieldExpr();
    if (left) return this.parseCondition(left, pos);
    const id = lx.identifier();
    if (id) {
      if (isKeyword(id.text)) throw lx.error(`unexpected '${id.text}': expected a field check, a macro name or '('`, id.pos.offset);
      // a one-word name is a field when an operator or '[' follows (`rule = x` in playbook
      // triggers), otherwise a macro reference; Falco's own fields always have a dot
      if (lx.text[lx.offset] === '[' || this.operatorAhead()) {
        lx.offset = id.pos.offset;
        const f = this.tryField(true);
        if (f) return this.parseCondition(f, pos);
      }
      return { kind: 'ref', name: id.text, pos: id.pos };
    }
    throw lx.error(`unexpected ${lx.describe()}: expected a field check, a macro name or '('`);
  }

  /** Field or transformer(field) on the left of a check; undefined if neither starts here. */
  private tryFieldExpr(plain = false): FieldExpr | undefined {
    const t = this.tryTransformer(false);
    if (t) return t;
    return this.tryField(plain);
  }

  /** True when an operator follows the cursor (blanks skipped); the cursor does not move. */
  private operatorAhead(): boolean {
    const lx = this.lx;
    const start = lx.offset;
    lx.blank();
    const found =
      lx.word('exists') !== undefined ||
      NUMERIC_OPERATORS.some((o) => lx.literal(o)) ||
      SYMBOL_STR_OPS.some((o) => lx.literal(o)) ||
      WORD_STR_OPS.some((o) => lx.wordBlank(o)) ||
      LIST_OPERATORS.some((o) => lx.word(o));
    lx.offset = start;
    return found;
  }

  /** A field: dotted name (or, with `plain`, also a one-word name), optional `[arg]`. */
  private tryField(plain = false): FieldNode | undefined {
    const lx = this.lx;
    let name = lx.fieldName();
    if (!name && plain) {
      const id = lx.identifier();
      if (id && isKeyword(id.text)) lx.offset = id.pos.offset;
      else name = id;
    }
    if (!name) return undefined;
    const node: FieldNode = { kind: 'field', name: name.text, pos: name.pos };
    if (lx.literal('[')) {
      const arg = lx.quoted() ?? lx.fieldArgBare();
      if (!arg) throw lx.error(`expected a field argument after '${name.text}['`);
      if (!lx.literal(']')) throw lx.error(`unexpected ${lx.describe()}: expected ']'`);
      node.arg = arg.text;
    }
    return node;
  }

  /** `tolower(...)` etc.; with `allowVal`, also `val(field)`. */
  private tryTransformer(allowVal: boolean): FieldExpr | undefined {
    const lx = this.lx;
    const names: readonly Transformer[] = allowVal ? ['val', ...TRANSFORMERS] : TRANSFORMERS;
    const pos = lx.pos();
    const fn = names.find((n) => lx.text.startsWith(`${n}(`, lx.offset));
    if (!fn) return undefined;
    lx.offset += fn.length + 1;
    this.enter();
    lx.blank();
    let arg: FieldExpr | undefined;
    if (fn === 'val') {
      arg = this.tryField(true);
      if (!arg) throw lx.error(`unexpected ${lx.describe()}: expected a field inside 'val('`);
    } else {
      arg = this.tryFieldExpr(true);
      if (!arg) throw lx.error(`unexpected ${lx.describe()}: expected a field or a transformer inside '${fn}('`);
    }
    lx.blank();
    if (!lx.literal(')')) throw lx.error(`unexpected ${lx.describe()}: expected ')' closing '${fn}('`);
    this.leave();
    return { kind: 'transform', fn, arg, pos };
  }

  private parseCondition(left: FieldExpr, pos: Pos): CheckNode {
    const lx = this.lx;
    lx.blank();
    if (lx.word('exists')) return { kind: 'check', left, op: 'exists', pos };
    const opPos = lx.offset;
    const numOp = NUMERIC_OPERATORS.find((o) => lx.literal(o));
    if (numOp) return { kind: 'check', left, op: numOp, right: this.parseNumOperand(numOp), pos };
    const strOp = SYMBOL_STR_OPS.find((o) => lx.literal(o)) ?? WORD_STR_OPS.find((o) => lx.wordBlank(o));
    if (strOp) return { kind: 'check', left, op: strOp, right: this.parseStrOperand(strOp), pos };
    const listOp = LIST_OPERATORS.find((o) => lx.word(o));
    if (listOp) return { kind: 'check', left, op: listOp, right: this.parseListOperand(listOp), pos };
    throw lx.error(`unexpected ${lx.describe()}: expected an operator (${['exists', ...NUMERIC_OPERATORS, ...STRING_OPERATORS, ...LIST_OPERATORS].join(' ')})`, opPos);
  }

  private parseNumOperand(op: string): Operand {
    const lx = this.lx;
    lx.blank();
    const f = this.tryTransformer(true);
    if (f) return f;
    const n = lx.number();
    if (n) return { kind: 'value', value: n.text, quoted: false, pos: n.pos };
    throw lx.error(`unexpected ${lx.describe()}: '${op}' expects a number or val(field)`);
  }

  private parseStrOperand(op: string): Operand {
    const lx = this.lx;
    lx.blank();
    const f = this.tryTransformer(true);
    if (f) return f;
    const v = this.tryStrValue();
    if (v) return v;
    throw lx.error(`unexpected ${lx.describe()}: '${op}' expects a value or val(field)`);
  }

  private tryStrValue(): ValueNode | undefined {
    const lx = this.lx;
    const q = lx.quoted();
    if (q) return { kind: 'value', value: q.text, quoted: true, pos: q.pos };
    const b = lx.bareString();
    if (b) return { kind: 'value', value: b.text, quoted: false, pos: b.pos };
    return undefined;
  }

  private parseListOperand(op: string): Operand {
    const lx = this.lx;
    lx.blank();
    const pos = lx.pos();
    if (lx.literal('(')) {
      const list: ListNode = { kind: 'list', items: [], pos };
      lx.blank();
      if (lx.literal(')')) return list;
      for (;;) {
        lx.blank();
        const item = this.tryStrValue();
        if (!item) throw lx.error(`unexpected ${lx.describe()}: expected a list item`);
        list.items.push(item);
        lx.blank();
        if (lx.literal(')')) return list;
        if (!lx.literal(',')) throw lx.error(`unexpected ${lx.describe()}: expected ',' or ')' in a list`);
      }
    }
    const f = this.tryTransformer(true);
    if (f) return f;
    const id = lx.identifier();
    if (id) return { kind: 'listref', name: id.text, pos: id.pos };
    throw lx.error(`unexpected ${lx.describe()}: '${op}' expects a list '(a, b)', a list name or val(field)`);
  }
}

function isKeyword(w: string): boolean {
  return w === 'and' || w === 'or' || w === 'not';
}

/**
 * Parses a condition into an AST. Throws ConditionError with the position of
 * the first syntax error.
 *
 * @example parseCondition('evt.type = execve and proc.name in (bash, sh)')
 */
export function parseCondition(text: string): Ast {
  return new Parser(text).parse();
}

/**
 * Parses a lone field reference (`proc.aname[2]`, `evt.arg.flags`), as used in
 * exception `fields:` and output `%field` tokens.
 */
export function parseFieldRef(text: string): FieldNode {
  const lx = new Lexer(text);
  const name = lx.fieldName() ?? lx.identifier();
  if (!name || isKeyword(name.text)) throw new ConditionError(`'${text}' is not a field name`, lx.pos(0));
  const node: FieldNode = { kind: 'field', name: name.text, pos: name.pos };
  if (lx.literal('[')) {
    const arg = lx.quoted() ?? lx.fieldArgBare();
    if (!arg || !lx.literal(']')) throw new ConditionError(`malformed field argument in '${text}'`, lx.pos());
    node.arg = arg.text;
  }
  if (!lx.atEnd()) throw new ConditionError(`unexpected ${lx.describe()} after field '${name.text}'`, lx.pos());
  return node;
}

export { ConditionError };
