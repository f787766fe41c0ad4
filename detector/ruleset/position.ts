// SPDX-License-Identifier: Apache-2.0
/**
 * Maps an offset inside a YAML scalar's *value* back to file line:col, so a
 * syntax error inside a condition points at the exact column in the rules
 * file. Plain, quoted and block scalars differ from their value only by
 * folding whitespace, indentation and escapes, so a greedy alignment that
 * skips those is exact for every non-blank character.
 */

export interface FilePos {
  line: number;
  col: number;
}

const WS = /[ \t\r\n]/;

function lineStartsOf(text: string): number[] {
  const starts = [0];
  for (let i = 0; i < text.length; i++) if (text[i] === '\n') starts.push(i + 1);
  return starts;
}

function escapeLength(src: string, i: number): number {
  const e = src[i + 1];
  if (e === 'x') return 4;
  if (e === 'u') return 6;
  if (e === 'U') return 10;
  return 2;
}

/**
 * @param text the whole file
 * @param start 1-based line/col of the scalar node (its first character: quote, block indicator or value)
 * @param value the parsed value of the scalar
 * @returns a function from a 0-based offset in `value` to the 1-based file position
 */
export function scalarPositionMapper(text: string, start: FilePos, value: string): (offset: number) => FilePos {
  const starts = lineStartsOf(text);
  let map: Int32Array | undefined;
  const toPos = (abs: number): FilePos => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= abs) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, col: abs - starts[lo]! + 1 };
  };
  const build = (): Int32Array => {
    const m = new Int32Array(value.length + 1);
    let i = (starts[start.line - 1] ?? 0) + start.col - 1;
    const c0 = text[i];
    const style = c0 === '"' ? 'double' : c0 === "'" ? 'single' : c0 === '|' || c0 === '>' ? 'block' : 'plain';
    if (style === 'double' || style === 'single') i++;
    if (style === 'block') {
      const nl = text.indexOf('\n', i);
      i = nl < 0 ? text.length : nl + 1;
    }
    for (let k = 0; k < value.length; k++) {
      const ch = value[k]!;
      // a double-quoted line continuation (backslash, newline, indentation) yields nothing
      while (style === 'double' && text[i] === '\\' && (text[i + 1] === '\n' || text[i + 1] === '\r')) {
        i += 2;
        while (i < text.length && WS.test(text[i]!)) i++;
      }
      if (WS.test(ch)) {
        if (style === 'double' && text[i] === '\\') {
          m[k] = i;
          i += escapeLength(text, i);
          continue;
        }
        m[k] = i;
        if (i < text.length && WS.test(text[i]!)) i++;
        continue;
      }
      while (i < text.length && WS.test(text[i]!)) i++;
      if (style === 'double' && text[i] === '\\') {
        m[k] = i;
        i += escapeLength(text, i);
      } else if (style === 'single' && text[i] === "'" && text[i + 1] === "'") {
        m[k] = i;
        i += 2;
      } else {
        // resynchronise when the source shows something else (a rare escape form)
        if (text[i] !== ch) {
          const j = text.indexOf(ch, i);
          if (j > i && j - i <= 8) i = j;
        }
        m[k] = i;
        i++;
      }
    }
    m[value.length] = Math.min(i, text.length);
    return m;
  };
  return (offset) => {
    map ??= build();
    const o = Math.max(0, Math.min(offset, value.length));
    return toPos(map[o]!);
  };
}
