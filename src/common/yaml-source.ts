// SPDX-License-Identifier: Apache-2.0
/**
 * YAML parsing that keeps positions, so every later check (schema, references,
 * templates) can point at file:line:col.
 *
 * @example
 *   const src = parseYamlSource('riposte.yaml', text);
 *   src.positionOf(['server', 'port']) // { line: 3, col: 9 }
 */
import { isMap, isPair, isScalar, isSeq, LineCounter, parseAllDocuments, parseDocument, type Document, type Node } from 'yaml';
import type { Diagnostic } from './errors.ts';
import { formatPath, type PathSegment } from './paths.ts';

export interface YamlSource {
  file: string;
  value: unknown;
  /** Syntax errors and warnings of the YAML itself. */
  diagnostics: Diagnostic[];
  positionOf(path: readonly PathSegment[], opts?: { key?: boolean }): { line: number; col: number };
  diag(path: readonly PathSegment[], message: string, opts?: { key?: boolean; severity?: 'error' | 'warning' }): Diagnostic;
}

function makeSource(file: string, doc: Document, lc: LineCounter, extra: Diagnostic[]): YamlSource {
  const diagnostics: Diagnostic[] = [...extra];
  for (const e of doc.errors) {
    const [line, col] = e.linePos?.[0] ? [e.linePos[0].line, e.linePos[0].col] : [1, 1];
    const first = (e.message.split('\n')[0] ?? e.message).replace(/ at line \d+, column \d+:?$/, '');
    diagnostics.push({ file, line, col, path: '', message: `YAML: ${first}`, severity: 'error' });
  }
  const value = diagnostics.some((d) => d.severity === 'error') ? undefined : doc.toJS({ maxAliasCount: 100 });

  const positionOf = (path: readonly PathSegment[], opts: { key?: boolean } = {}) => {
    // walk as deep as the document goes; report the deepest node found
    let node: unknown = doc.contents;
    let keyNode: unknown;
    for (const seg of path) {
      if (isMap(node)) {
        const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg));
        if (!pair) break;
        keyNode = pair.key;
        node = pair.value ?? pair.key;
      } else if (isSeq(node) && typeof seg === 'number' && node.items[seg] !== undefined) {
        keyNode = undefined;
        node = node.items[seg];
      } else break;
    }
    const target = (opts.key && keyNode ? keyNode : node) as Node | undefined;
    const offset = target?.range?.[0] ?? 0;
    const p = lc.linePos(offset);
    return { line: p.line, col: p.col };
  };

  return {
    file,
    value,
    diagnostics,
    positionOf,
    diag(path, message, opts = {}) {
      const { line, col } = positionOf(path, opts);
      return { file, line, col, path: formatPath(path), message, severity: opts.severity ?? 'error' };
    },
  };
}

/** Parses one YAML document. */
export function parseYamlSource(file: string, text: string): YamlSource {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: true, uniqueKeys: true });
  return makeSource(file, doc, lc, []);
}

/** Parses a YAML stream (Falco rules files may hold several documents). */
export function parseYamlSources(file: string, text: string): YamlSource[] {
  const lc = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lc, prettyErrors: true, uniqueKeys: true });
  if (!Array.isArray(docs)) return [makeSource(file, docs as unknown as Document, lc, [])];
  return docs.map((d) => makeSource(file, d, lc, []));
}
