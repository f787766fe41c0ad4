// SPDX-License-Identifier: Apache-2.0
/**
 * Turns the collected lists, macros and rules into compiled rules indexed by
 * event type. Errors (syntax, undefined macro or list, type mismatch) name the
 * file:line:col of the offending text; a rule that needs a field or an event
 * type the sensor does not provide is skipped with one warning.
 */
import type { Diagnostic } from '../../src/common/errors.ts';
import { formatPath } from '../../src/common/paths.ts';
import { type Ast, ConditionError, compileCondition, eventTypesOf, own, parseCondition } from '../condition/index.ts';
import { openPathPrefixes } from '../condition/openpaths.ts';
import { checkFieldTypes, type DetectorEvent, KNOWN_EVENT_TYPES, resolveEventField } from '../fields/index.ts';
import { ExceptionError, exceptionAst, withExceptions } from './exceptions.ts';
import { compileOutput } from './output.ts';
import type { FilePos } from './position.ts';
import { Collector, type Loc, type Piece, type RuleInfo } from './reader.ts';
import type { CompiledRule, ForeignRule, LoadOptions, Ruleset, RulesSource } from './types.ts';

interface Joined {
  text: string;
  locate(offset: number): { loc: Loc; pos: FilePos };
}

/** Appended pieces are joined with a space, as Falco does. */
function join(pieces: readonly Piece[]): Joined {
  const starts: number[] = [];
  let text = '';
  for (const p of pieces) {
    if (text) text += ' ';
    starts.push(text.length);
    text += p.text;
  }
  return {
    text,
    locate(offset) {
      // "unexpected end": point just after the last non-blank character
      const end = text.trimEnd().length;
      const atEnd = offset >= end && end > 0;
      const o = atEnd ? end - 1 : offset;
      let k = 0;
      while (k + 1 < starts.length && starts[k + 1]! <= o) k++;
      const p = pieces[k]!;
      const pos = p.map(o - starts[k]!);
      return { loc: p.loc, pos: atEnd ? { line: pos.line, col: pos.col + 1 } : pos };
    },
  };
}

const permissive = { resolve: () => () => undefined };

/**
 * Falco pastes list items into the condition text, so an item written with its
 * own quotes (`'"(systemd)"'`, `'"10.0.0.0/8"'`) stands for the unquoted string.
 */
function unquoteItem(it: unknown): unknown {
  if (typeof it !== 'string' || it.length < 2) return it;
  const q = it[0];
  if ((q !== '"' && q !== "'") || it[it.length - 1] !== q) return it;
  return it.slice(1, -1).replace(/\\(.)/g, '$1');
}

class RulesCompiler {
  readonly col: Collector;
  readonly diags: Diagnostic[] = [];
  private readonly seen = new Set<string>();
  // null-prototype records: a list named __proto__ is just a list
  readonly lists: Record<string, unknown[]> = Object.create(null);
  readonly macros: Record<string, Ast> = Object.create(null);
  private readonly brokenMacros = new Set<string>();

  constructor(col: Collector) {
    this.col = col;
    for (const d of col.diagnostics) this.push(d);
  }

  private push(d: Diagnostic): void {
    const key = `${d.severity} ${d.file}:${d.line}:${d.col} ${d.message}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.diags.push(d);
  }

  private at(loc: Loc, message: string, severity: 'error' | 'warning' = 'error'): void {
    this.push(loc.src.diag(loc.path, message, { key: loc.key ?? false, severity }));
  }

  private atPos(loc: Loc, pos: FilePos, message: string): void {
    this.push({ file: loc.src.file, line: pos.line, col: pos.col, path: formatPath(loc.path), message, severity: 'error' });
  }

  /** Reports a ConditionError raised in a rule (or in a macro it uses). */
  private conditionError(e: ConditionError, where: Joined, what: string): void {
    if (e.macro !== undefined) {
      const m = this.col.macros.get(e.macro);
      if (m) {
        const { loc, pos } = join(m.pieces).locate(e.offset);
        this.atPos(loc, pos, `macro '${e.macro}': ${e.reason}`);
        return;
      }
    }
    const { loc, pos } = where.locate(e.offset);
    this.atPos(loc, pos, `${what}: ${e.reason}`);
  }

  compileLists(): void {
    const defs = [...this.col.lists.values()].sort((a, b) => a.order - b.order);
    for (const l of defs) {
      const items: unknown[] = [];
      for (const it of l.items) {
        // an item naming an earlier list is replaced by that list's items
        const ref = typeof it === 'string' && it !== l.name ? own(this.lists, it) : undefined;
        if (ref) items.push(...ref);
        else items.push(unquoteItem(it));
      }
      this.lists[l.name] = items;
    }
  }

  compileMacros(): void {
    const defs = [...this.col.macros.values()].sort((a, b) => a.order - b.order);
    for (const m of defs) {
      const j = join(m.pieces);
      try {
        this.macros[m.name] = parseCondition(j.text);
      } catch (e) {
        if (!(e instanceof ConditionError)) throw e;
        this.brokenMacros.add(m.name);
        this.conditionError(e, j, `macro '${m.name}'`);
      }
    }
    // every macro must reference only defined macros and lists, used or not
    for (const m of defs) {
      const ast = own(this.macros, m.name);
      if (!ast) continue;
      try {
        compileCondition(ast, { ...permissive, macros: this.macros, lists: this.lists });
      } catch (e) {
        if (!(e instanceof ConditionError)) throw e;
        if (this.isBrokenMacroRef(e)) continue;
        this.conditionError(e.macro === undefined ? e.inMacro(m.name) : e, join(m.pieces), `macro '${m.name}'`);
      }
    }
  }

  /** An "undefined macro" error about a macro that failed to parse: already reported. */
  private isBrokenMacroRef(e: ConditionError): boolean {
    const m = /^undefined macro '([^']+)'/.exec(e.reason);
    return m !== null && this.brokenMacros.has(m[1]!);
  }

  compileRule(r: RuleInfo): CompiledRule | undefined {
    const what = `rule '${r.name}'`;
    const j = join(r.pieces);
    let ast: Ast;
    try {
      ast = parseCondition(j.text);
    } catch (e) {
      if (!(e instanceof ConditionError)) throw e;
      this.conditionError(e, j, what);
      return undefined;
    }

    const exAsts: Ast[] = [];
    let broken = false;
    for (const ex of r.exceptions) {
      try {
        const a = exceptionAst(ex);
        if (!a) continue;
        compileCondition(a, { ...permissive, lists: this.lists });
        for (const issue of checkFieldTypes(a, { lists: this.lists })) this.at(ex.loc, `${what}: exception '${ex.name}': ${issue.message}`);
        exAsts.push(a);
      } catch (e) {
        if (!(e instanceof ExceptionError || e instanceof ConditionError)) throw e;
        this.at(ex.loc, `${what}: exception '${ex.name}': ${e instanceof ConditionError ? e.reason : e.message}`);
        broken = true;
      }
    }
    if (broken) return undefined;

    const full = withExceptions(ast, exAsts);
    let compiled: ReturnType<typeof compileCondition<DetectorEvent>>;
    try {
      compiled = compileCondition(full, { resolve: resolveEventField, macros: this.macros, lists: this.lists });
    } catch (e) {
      if (!(e instanceof ConditionError)) throw e;
      if (!this.isBrokenMacroRef(e)) this.conditionError(e, j, what);
      return undefined;
    }

    const issues = checkFieldTypes(ast, { macros: this.macros, lists: this.lists });
    for (const issue of issues) {
      const e = new ConditionError(issue.message, issue.pos, issue.macro);
      this.conditionError(e, j, what);
    }
    if (issues.length) return undefined;

    if (!r.enabled) return undefined;

    if (compiled.unsupported.length) {
      this.at(r.loc, `${what} skipped: ${compiled.unsupported.map((u) => u.error).join('; ')}`, 'warning');
      return undefined;
    }

    let eventTypes = eventTypesOf(full, { macros: this.macros, lists: this.lists });
    if (eventTypes !== 'any') {
      const known = new Set([...eventTypes].filter((t) => KNOWN_EVENT_TYPES.has(t)));
      if (eventTypes.size === 0) {
        this.at(r.loc, `${what} skipped: its evt.type conditions contradict each other, it can never match`, 'warning');
        return undefined;
      }
      if (known.size === 0) {
        this.at(r.loc, `${what} skipped: it needs event type${eventTypes.size > 1 ? 's' : ''} ${[...eventTypes].join(', ')}, which the Riposte sensor does not produce`, 'warning');
        return undefined;
      }
      eventTypes = known;
    } else if (r.warnEvttypes) {
      this.at(r.loc, `${what} does not restrict evt.type: it is evaluated for every event (add an evt.type condition, or warn_evttypes: false)`, 'warning');
    }

    const out = compileOutput(r.output);
    if (out.unsupported.length) {
      this.at(r.outputLoc, `${what}: output field${out.unsupported.length > 1 ? 's' : ''} ${out.unsupported.join(', ')} not provided by the Riposte sensor, shown as <NA>`, 'warning');
    }

    const evaluate = compiled.evaluate;
    return {
      name: r.name,
      desc: r.desc,
      priority: r.priority,
      tags: [...r.tags],
      source: r.source,
      output: r.output,
      condition: j.text,
      file: r.loc.src.file,
      line: r.loc.src.positionOf(r.loc.path).line,
      index: r.order,
      eventTypes,
      fields: compiled.fields,
      openPaths: openPathPrefixes(full, { macros: this.macros, lists: this.lists }),
      evaluate,
      formatOutput: out.format,
      outputFields: out.fields,
    };
  }
}

function buildIndex(rules: CompiledRule[]): Pick<Ruleset, 'byEventType' | 'anyTypeRules' | 'eventTypes'> {
  const byEventType = new Map<string, CompiledRule[]>();
  const anyTypeRules = rules.filter((r) => r.eventTypes === 'any');
  for (const r of rules) {
    if (r.eventTypes === 'any') continue;
    for (const t of r.eventTypes) {
      const list = byEventType.get(t);
      if (list) list.push(r);
      else byEventType.set(t, [r]);
    }
  }
  for (const [t, list] of byEventType) byEventType.set(t, [...list, ...anyTypeRules].sort((a, b) => a.index - b.index));
  const eventTypes: Set<string> | 'any' = anyTypeRules.length ? 'any' : new Set(byEventType.keys());
  return { byEventType, anyTypeRules, eventTypes };
}

/**
 * Loads rules from texts, in order (later files override earlier ones).
 *
 * @example
 *   const rs = loadRules([{ file: 'riposte_rules.yaml', text }]);
 *   if (rs.errors.length) throw ...;
 *   for (const rule of matchEvent(rs, ev)) emit(rule.formatOutput(ev));
 */
export function loadRules(sources: readonly RulesSource[], opts: LoadOptions = {}): Ruleset {
  const col = new Collector();
  for (const s of sources) col.read(s.file, s.text);
  const rc = new RulesCompiler(col);
  rc.compileLists();
  rc.compileMacros();
  const rules: CompiledRule[] = [];
  const foreign: ForeignRule[] = [];
  const disabled: string[] = [];
  const foreignCount = new Map<string, { n: number; loc: Loc; source: string }>();
  for (const r of [...col.rules.values()].sort((a, b) => a.order - b.order)) {
    if (r.source !== 'syscall') {
      foreign.push({ name: r.name, source: r.source, file: r.loc.src.file, line: r.loc.src.positionOf(r.loc.path).line });
      const key = `${r.loc.src.file}\0${r.source}`;
      const c = foreignCount.get(key);
      if (c) c.n++;
      else foreignCount.set(key, { n: 1, loc: r.loc, source: r.source });
      continue;
    }
    const compiled = rc.compileRule(r);
    if (compiled) rules.push(compiled);
    else if (!r.enabled) disabled.push(r.name);
  }
  for (const { n, loc, source } of foreignCount.values()) {
    rc.diags.push(loc.src.diag(loc.path, `${n} rule(s) with source '${source}' kept aside: the detector loads only syscall rules`, { severity: 'warning' }));
  }
  return {
    rules,
    warnings: rc.diags.filter((d) => d.severity === 'warning'),
    errors: rc.diags.filter((d) => d.severity === 'error'),
    ...buildIndex(rules),
    ruleMatching: opts.ruleMatching ?? 'all',
    foreign,
    disabled,
  };
}
