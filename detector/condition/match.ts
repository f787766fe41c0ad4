// SPDX-License-Identifier: Apache-2.0
/**
 * Value matching used by compiled checks: literals prepared once at compile
 * time (number forms, lower-case form, compiled globs and regexes, prefix
 * sets), compared against whatever a getter returns at run time.
 */

export type Num = number | bigint;

/**
 * A field value with its own notion of equality, for types a plain string or
 * number cannot express (an IP address that equals a CIDR literal). `=`, `!=`,
 * `in` and `intersects` call `matchesLiteral`; other operators use `toString()`.
 */
export interface Comparable {
  matchesLiteral(text: string): boolean;
  toString(): string;
}

export function isComparable(v: unknown): v is Comparable {
  return typeof v === 'object' && v !== null && typeof (v as Partial<Comparable>).matchesLiteral === 'function';
}

/** A literal from the condition, in every form a comparison may need. */
export interface Literal {
  s: string;
  lower: string;
  /** Set when the text is a number (integers become bigints to keep precision). */
  num?: Num;
  /** Set for `true` / `false`. */
  bool?: boolean;
}

const INT = /^[+-]?[0-9]+$/;
const HEX = /^0[xX][0-9a-fA-F]+$/;
const FLOAT = /^[+-]?[0-9]+\.?[0-9]*(?:[eE][+-]?[0-9]+)?$/;

export function parseNum(s: string): Num | undefined {
  if (INT.test(s)) return BigInt(s.startsWith('+') ? s.slice(1) : s);
  if (HEX.test(s)) return BigInt(s);
  if (FLOAT.test(s)) return Number(s);
  return undefined;
}

export function literal(s: string): Literal {
  const lit: Literal = { s, lower: s.toLowerCase() };
  const n = parseNum(s);
  if (n !== undefined) lit.num = n;
  if (s === 'true') lit.bool = true;
  else if (s === 'false') lit.bool = false;
  return lit;
}

/** A literal made from a run-time value (right side `val(field)`). */
export function literalOf(v: unknown): Literal {
  if (typeof v === 'number' || typeof v === 'bigint') return { s: String(v), lower: String(v), num: v };
  if (typeof v === 'boolean') return { s: String(v), lower: String(v), bool: v };
  return literal(stringOf(v));
}

export function numEq(a: Num, b: Num): boolean {
  if (typeof a === typeof b) return a === b;
  // mixed number/bigint: equal only when the number is an exact integer
  if (typeof a === 'number') return Number.isInteger(a) && BigInt(a) === b;
  return Number.isInteger(b as number) && a === BigInt(b as number);
}

export function numCmp(a: Num, b: Num): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Canonical text of a value for string operators. */
export function stringOf(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('latin1');
  return String(v);
}

/** Equality of a run-time value with a literal, by the value's type. */
export function eqLiteral(v: unknown, lit: Literal): boolean {
  switch (typeof v) {
    case 'string':
      return v === lit.s;
    case 'number':
    case 'bigint':
      return lit.num !== undefined && numEq(v, lit.num);
    case 'boolean':
      return lit.bool !== undefined ? v === lit.bool : lit.num !== undefined && numEq(v ? 1 : 0, lit.num);
    default:
      return isComparable(v) ? v.matchesLiteral(lit.s) : stringOf(v) === lit.s;
  }
}

/** Ordering of a value against a literal; undefined when they do not compare. */
export function cmpLiteral(v: unknown, lit: Literal): number | undefined {
  if (typeof v === 'number' || typeof v === 'bigint') return lit.num === undefined ? undefined : numCmp(v, lit.num);
  if (typeof v === 'string') {
    if (lit.num !== undefined) {
      // a number only orders against a number
      const n = parseNum(v);
      return n === undefined ? undefined : numCmp(n, lit.num);
    }
    return v < lit.s ? -1 : v > lit.s ? 1 : 0;
  }
  return undefined;
}

/** The keys under which a value is looked up in a list set. */
export function setKey(v: unknown): string {
  return stringOf(v);
}

/** Builds the lookup set of a list: each item, plus the canonical text of numeric items. */
export function listSet(items: readonly string[]): Set<string> {
  const set = new Set<string>();
  for (const it of items) {
    set.add(it);
    const n = parseNum(it);
    if (n !== undefined) set.add(String(n));
  }
  return set;
}

/**
 * Compiles an fnmatch(3)-style pattern (no flags: `*` also matches `/`):
 * `*`, `?`, `[abc]`, `[a-z]`, `[!x]` / `[^x]`, and `\` escaping the next character.
 */
export function globToRegExp(pattern: string, ignoreCase: boolean): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else if (c === '\\' && i + 1 < pattern.length) re += escapeRe(pattern[++i]!);
    else if (c === '[') {
      const end = classEnd(pattern, i);
      if (end < 0) {
        re += '\\[';
        continue;
      }
      let body = pattern.slice(i + 1, end);
      let neg = false;
      if (body.startsWith('!') || body.startsWith('^')) {
        neg = true;
        body = body.slice(1);
      }
      re += `[${neg ? '^' : ''}${body.replace(/[\\\]^]/g, (m) => `\\${m}`)}]`;
      i = end;
    } else re += escapeRe(c);
  }
  return new RegExp(`^${re}$`, ignoreCase ? 'si' : 's');
}

function classEnd(p: string, start: number): number {
  let i = start + 1;
  if (p[i] === '!' || p[i] === '^') i++;
  if (p[i] === ']') i++; // a leading ']' is literal
  for (; i < p.length; i++) if (p[i] === ']') return i;
  return -1;
}

function escapeRe(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/**
 * Path-prefix matcher: true when the path equals one of the prefixes or lies
 * below it (`/usr/bin` matches `/usr/bin/ls`, not `/usr/binx`).
 */
export function prefixMatcher(prefixes: readonly string[]): (path: string) => boolean {
  const set = new Set<string>();
  let root = false;
  for (let p of prefixes) {
    while (p.length > 1 && p.endsWith('/')) p = p.slice(0, -1);
    if (p === '/') root = true;
    set.add(p);
  }
  return (path) => {
    if (path.length === 0) return false;
    if (root && path.startsWith('/')) return true;
    let p = path;
    for (;;) {
      if (set.has(p)) return true;
      const slash = p.lastIndexOf('/');
      if (slash <= 0) return false;
      p = p.slice(0, slash);
    }
  };
}

/** Bytes of a value for `bcontains` / `bstartswith`. */
export function bytesOf(v: unknown): Buffer {
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  return Buffer.from(stringOf(v), 'utf8');
}

export function hexBytes(hex: string): Buffer | undefined {
  if (hex.length === 0 || hex.length % 2 !== 0 || !/^[0-9a-fA-F]+$/.test(hex)) return undefined;
  return Buffer.from(hex, 'hex');
}

/** The basename transformer: last path component, `""` for a path ending in `/`. */
export function basename(s: string): string {
  const i = s.lastIndexOf('/');
  return i < 0 ? s : s.slice(i + 1);
}
