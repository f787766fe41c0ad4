// SPDX-License-Identifier: Apache-2.0
/**
 * The lexer of the condition language. Falco's grammar is context-sensitive
 * (`a.b` is a field on the left and a bare string on the right), so the parser
 * asks for the token kind it expects at each point, as libsinsp does; every
 * method either consumes one token and returns it or leaves the cursor alone.
 */
import type { Pos } from './ast.ts';
import { ConditionError } from './errors.ts';

const BLANK = new Set([' ', '\t', '\b', '\r', '\n', '\f', '\v']);
const FIELD_NAME = /[a-zA-Z][a-zA-Z0-9_]*(?:\.[a-zA-Z][a-zA-Z0-9_]*)+/y;
const IDENTIFIER = /[a-zA-Z][a-zA-Z0-9_]*/y;
const FIELD_ARG_BARE = /[^\s\b[\]"']+/y;
const HEX_NUMBER = /0[xX][0-9a-fA-F]+/y;
const NUMBER = /[+-]?[0-9]+\.?[0-9]*(?:[eE][+-]?[0-9]+)?/y;
const BARE_STRING = /[^\s\b(),="']+/y;
const WORD_CHAR = /[a-zA-Z0-9_]/;

export interface Token {
  text: string;
  pos: Pos;
}

export class Lexer {
  readonly text: string;
  offset = 0;
  private readonly lineStarts: number[];

  constructor(text: string) {
    this.text = text;
    this.lineStarts = [0];
    for (let i = 0; i < text.length; i++) {
      const c = text[i];
      if (c === '\n' || (c === '\r' && text[i + 1] !== '\n')) this.lineStarts.push(i + 1);
    }
  }

  /** Position of an offset (defaults to the cursor). */
  pos(offset = this.offset): Pos {
    let lo = 0;
    let hi = this.lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.lineStarts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { offset, line: lo + 1, col: offset - this.lineStarts[lo]! + 1 };
  }

  error(message: string, offset = this.offset): ConditionError {
    return new ConditionError(message, this.pos(offset));
  }

  atEnd(): boolean {
    return this.offset >= this.text.length;
  }

  /** What the cursor is looking at, for error messages. */
  describe(): string {
    if (this.atEnd()) return 'end of condition';
    const m = /^(?:[a-zA-Z0-9_.]+|\S)/.exec(this.text.slice(this.offset, this.offset + 40));
    return `'${m ? m[0] : this.text[this.offset]}'`;
  }

  /** Skips blanks; true when at least one was skipped. */
  blank(): boolean {
    const start = this.offset;
    while (this.offset < this.text.length && BLANK.has(this.text[this.offset]!)) this.offset++;
    return this.offset > start;
  }

  isBlankAt(offset: number): boolean {
    const c = this.text[offset];
    return c !== undefined && BLANK.has(c);
  }

  /** Consumes an exact string. */
  literal(s: string): Token | undefined {
    if (!this.text.startsWith(s, this.offset)) return undefined;
    const pos = this.pos();
    this.offset += s.length;
    return { text: s, pos };
  }

  /** Consumes a keyword not followed by a word character (`in` does not match `inx`). */
  word(w: string): Token | undefined {
    if (!this.text.startsWith(w, this.offset)) return undefined;
    const next = this.text[this.offset + w.length];
    if (next !== undefined && WORD_CHAR.test(next)) return undefined;
    return this.literal(w);
  }

  /** Consumes a keyword that must be followed by a blank or the end (`glob `, as in libsinsp). */
  wordBlank(w: string): Token | undefined {
    if (!this.text.startsWith(w, this.offset)) return undefined;
    const end = this.offset + w.length;
    if (end < this.text.length && !this.isBlankAt(end)) return undefined;
    return this.literal(w);
  }

  private regex(re: RegExp): Token | undefined {
    re.lastIndex = this.offset;
    const m = re.exec(this.text);
    if (!m || m[0].length === 0) return undefined;
    const pos = this.pos();
    this.offset += m[0].length;
    return { text: m[0], pos };
  }

  fieldName(): Token | undefined {
    return this.regex(FIELD_NAME);
  }
  identifier(): Token | undefined {
    return this.regex(IDENTIFIER);
  }
  fieldArgBare(): Token | undefined {
    return this.regex(FIELD_ARG_BARE);
  }
  number(): Token | undefined {
    const t = this.regex(HEX_NUMBER) ?? this.regex(NUMBER);
    if (!t) return undefined;
    // a number glued to letters ("12ab") is not a number
    const next = this.text[this.offset];
    if (next !== undefined && /[a-zA-Z_]/.test(next)) {
      this.offset = t.pos.offset;
      return undefined;
    }
    return t;
  }
  bareString(): Token | undefined {
    return this.regex(BARE_STRING);
  }

  /**
   * Consumes a single- or double-quoted string and returns it unescaped.
   * Escapes: \b \f \n \r \t \\ \/ \<space> and the string's own quote.
   */
  quoted(): Token | undefined {
    const q = this.text[this.offset];
    if (q !== '"' && q !== "'") return undefined;
    const start = this.offset;
    let out = '';
    let i = start + 1;
    for (;;) {
      if (i >= this.text.length) throw this.error('unterminated quoted string', start);
      const c = this.text[i]!;
      if (c === q) break;
      if (c !== '\\') {
        out += c;
        i++;
        continue;
      }
      const e = this.text[i + 1];
      switch (e) {
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case '\\':
          out += '\\';
          break;
        case '/':
          out += '/';
          break;
        case ' ':
          out += ' ';
          break;
        case '"':
        case "'":
          if (e !== q) throw this.error(`invalid \\${e} escape in a ${q}-quoted string`, i);
          out += e;
          break;
        default:
          throw this.error(`unsupported escape sequence \\${e ?? ''}`, i);
      }
      i += 2;
    }
    const pos = this.pos(start);
    this.offset = i + 1;
    return { text: out, pos };
  }
}
