// SPDX-License-Identifier: Apache-2.0
/**
 * Falco-compatible rules files for the detector: load, validate, match.
 *
 * @example
 *   const rs = loadRulesFiles(['detector/rules/riposte_rules.yaml', '/etc/riposte/rules.d']);
 *   for (const d of [...rs.errors, ...rs.warnings]) console.error(formatDiagnostic(d));
 *   const matched = matchEvent(rs, event); // CompiledRule[]
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Diagnostic } from '../../src/common/errors.ts';
import { errorMessage } from '../../src/common/errors.ts';
import type { DetectorEvent } from '../fields/index.ts';
import { loadRules } from './compiler.ts';
import type { CompiledRule, LoadOptions, Ruleset, RulesSource } from './types.ts';

export { loadRules } from './compiler.ts';
export { jsonValue } from './output.ts';
export { ENGINE_VERSION } from './reader.ts';
export type { CompiledRule, ForeignRule, LoadOptions, RuleMatching, Ruleset, RulesSource } from './types.ts';

/** The default ruleset shipped with Riposte. */
export const DEFAULT_RULES_FILE = fileURLToPath(new URL('../rules/riposte_rules.yaml', import.meta.url));

/**
 * Reads rules files in order; a directory contributes its *.yaml / *.yml files
 * sorted by name (like Falco's rules.d). Unreadable paths become diagnostics.
 */
export function readRulesSources(paths: readonly string[]): { sources: RulesSource[]; diagnostics: Diagnostic[] } {
  const sources: RulesSource[] = [];
  const diagnostics: Diagnostic[] = [];
  const fail = (file: string, err: unknown) => diagnostics.push({ file, line: 1, col: 1, path: '', message: `cannot read rules: ${errorMessage(err)}`, severity: 'error' });
  for (const p of paths) {
    try {
      if (statSync(p).isDirectory()) {
        const files = readdirSync(p)
          .filter((f) => /\.ya?ml$/.test(f))
          .sort();
        for (const f of files) {
          const file = join(p, f);
          try {
            sources.push({ file, text: readFileSync(file, 'utf8') });
          } catch (e) {
            fail(file, e);
          }
        }
      } else sources.push({ file: p, text: readFileSync(p, 'utf8') });
    } catch (e) {
      fail(p, e);
    }
  }
  return { sources, diagnostics };
}

/** Loads rules files (see readRulesSources for directories). */
export function loadRulesFiles(paths: readonly string[], opts: LoadOptions = {}): Ruleset {
  const { sources, diagnostics } = readRulesSources(paths);
  const rs = loadRules(sources, opts);
  rs.errors.unshift(...diagnostics);
  return rs;
}

/**
 * For `riposte rules validate FILES`: every error and warning, in file order.
 * The files are valid when no diagnostic has severity `error`.
 */
export function validateRulesFiles(paths: readonly string[]): Diagnostic[] {
  const rs = loadRulesFiles(paths);
  return [...rs.errors, ...rs.warnings].sort((a, b) => (a.file === b.file ? a.line - b.line || a.col - b.col : 0));
}

/** Counts evaluation failures (a malformed event must not stop the detector). */
export const matchStats = { evaluationErrors: 0, lastError: '' };

/**
 * The rules an event raises: only rules indexed under its event type are
 * evaluated; with rule_matching `first`, at most one (the earliest loaded).
 */
export function matchEvent(rs: Ruleset, ev: DetectorEvent): CompiledRule[] {
  const candidates = rs.byEventType.get(ev.type) ?? rs.anyTypeRules;
  const out: CompiledRule[] = [];
  for (const r of candidates) {
    let hit: boolean;
    try {
      hit = r.evaluate(ev);
    } catch (e) {
      matchStats.evaluationErrors++;
      matchStats.lastError = `${r.name}: ${errorMessage(e)}`;
      continue;
    }
    if (!hit) continue;
    out.push(r);
    if (rs.ruleMatching === 'first') break;
  }
  return out;
}

const OPEN_TYPES = ['open', 'openat', 'openat2', 'creat'];

/**
 * The in-kernel open filter the loaded rules allow: the union of the path
 * prefixes of every rule that can see an open, or `undefined` (report every
 * open) when a rule has no bound or the union is too large for the sensor.
 */
export function openFilterFor(rs: Ruleset, limits = { max: 16, len: 63 }): string[] | undefined {
  const out = new Set<string>();
  for (const r of rs.rules) {
    if (r.eventTypes !== 'any' && !OPEN_TYPES.some((t) => (r.eventTypes as Set<string>).has(t))) continue;
    if (r.openPaths === 'any') return undefined;
    for (const p of r.openPaths) out.add(p);
  }
  // a prefix that starts with another one adds nothing
  const list = [...out].filter((p) => ![...out].some((q) => q !== p && p.startsWith(q)));
  if (list.length > limits.max || list.some((p) => !p.startsWith('/') || p.length > limits.len || p.includes(','))) return undefined;
  return list;
}
