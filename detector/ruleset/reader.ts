// SPDX-License-Identifier: Apache-2.0
/**
 * Reads Falco rules files into a collection of lists, macros and rules,
 * applying `override` (append/replace), the legacy `append: true`, enabled
 * toggles and redefinitions in load order, as Falco's rule_loader does.
 * Nothing is compiled here; every item keeps where it came from.
 */
import type { Priority } from '../../src/alerts/alert.ts';
import { parsePriority } from '../../src/alerts/alert.ts';
import { didYouMean } from '../../src/common/did-you-mean.ts';
import type { Diagnostic } from '../../src/common/errors.ts';
import type { PathSegment } from '../../src/common/paths.ts';
import { parseYamlSources, type YamlSource } from '../../src/common/yaml-source.ts';
import { type FilePos, scalarPositionMapper } from './position.ts';

/** The rules-file engine version Riposte implements (Falco's numbering). */
export const ENGINE_VERSION = '0.50.0';

/** A located YAML node: diagnostics are made from it. */
export interface Loc {
  src: YamlSource;
  path: PathSegment[];
  key?: boolean;
}

/** One contiguous piece of a condition (a definition, or one append). */
export interface Piece {
  text: string;
  loc: Loc;
  /** Value offset → file position. */
  map: (offset: number) => FilePos;
}

export interface ListInfo {
  name: string;
  items: unknown[];
  loc: Loc;
  order: number;
}

export interface MacroInfo {
  name: string;
  pieces: Piece[];
  loc: Loc;
  order: number;
}

export interface ExceptionInfo {
  name: string;
  fields?: string | string[];
  comps?: string | string[];
  values: unknown[];
  loc: Loc;
}

export interface RuleInfo {
  name: string;
  pieces: Piece[];
  output: string;
  outputLoc: Loc;
  desc: string;
  priority: Priority;
  tags: string[];
  source: string;
  enabled: boolean;
  warnEvttypes: boolean;
  exceptions: ExceptionInfo[];
  loc: Loc;
  order: number;
}

const LIST_KEYS = ['list', 'items', 'append', 'override'];
const MACRO_KEYS = ['macro', 'condition', 'append', 'override'];
const RULE_KEYS = [
  'rule',
  'desc',
  'condition',
  'output',
  'priority',
  'tags',
  'enabled',
  'exceptions',
  'source',
  'append',
  'override',
  'warn_evttypes',
  'skip-if-unknown-filter',
  'capture',
  'capture_duration',
];
const RULE_APPENDABLE = new Set(['condition', 'output', 'desc', 'tags', 'exceptions']);
const RULE_REPLACEABLE = new Set(['condition', 'output', 'desc', 'priority', 'tags', 'exceptions', 'enabled', 'warn_evttypes', 'skip-if-unknown-filter']);
const IDENTIFIER = /^[a-zA-Z][a-zA-Z0-9_]*$/;
const BARE_STRING = /^[^\s(),="']+$/;

type Item = Record<string, unknown>;

/** Thrown inside one item's reading; the item is dropped, reading goes on. */
class ItemError extends Error {
  readonly loc: Loc;
  constructor(message: string, loc: Loc) {
    super(message);
    this.loc = loc;
  }
}

const isMap = (v: unknown): v is Item => typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
const isScalar = (v: unknown): v is string | number | boolean => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';

function compareVersions(a: number[], b: number[]): number {
  for (let i = 0; i < 3; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

export class Collector {
  readonly lists = new Map<string, ListInfo>();
  readonly macros = new Map<string, MacroInfo>();
  readonly rules = new Map<string, RuleInfo>();
  readonly diagnostics: Diagnostic[] = [];
  private order = 0;

  diag(loc: Loc, message: string, severity: 'error' | 'warning' = 'error'): void {
    this.diagnostics.push(loc.src.diag(loc.path, message, { key: loc.key ?? false, severity }));
  }

  /** Reads one file (all its YAML documents) into the collection. */
  read(file: string, text: string): void {
    const docs = parseYamlSources(file, text);
    for (const src of docs) {
      this.diagnostics.push(...src.diagnostics);
      if (src.diagnostics.some((d) => d.severity === 'error')) continue;
      const v = src.value;
      if (v === null || v === undefined) continue;
      if (!Array.isArray(v)) {
        this.diag({ src, path: [] }, 'rules content must be a YAML sequence of list, macro and rule items');
        continue;
      }
      v.forEach((item, i) => {
        if (item === null) return;
        try {
          this.readItem(src, text, item, i);
        } catch (e) {
          if (e instanceof ItemError) this.diag(e.loc, e.message);
          else throw e;
        }
      });
    }
  }

  private piece(src: YamlSource, text: string, path: PathSegment[], value: string): Piece {
    const start = src.positionOf(path);
    return { text: value, loc: { src, path }, map: scalarPositionMapper(text, start, value) };
  }

  private readItem(src: YamlSource, text: string, item: unknown, i: number): void {
    const here: Loc = { src, path: [i] };
    if (!isMap(item)) throw new ItemError('each item must be a mapping (list, macro, rule, required_engine_version, ...)', here);
    if ('required_engine_version' in item) this.readEngineVersion(src, item, i);
    else if ('required_plugin_versions' in item) {
      this.diag({ src, path: [i, 'required_plugin_versions'], key: true }, 'required_plugin_versions ignored: the Riposte detector runs no plugins', 'warning');
    } else if ('list' in item) this.readList(src, item, i);
    else if ('macro' in item) this.readMacro(src, text, item, i);
    else if ('rule' in item) this.readRule(src, text, item, i);
    else this.unknownItem(src, item, i);
  }

  private unknownItem(src: YamlSource, item: Item, i: number): void {
    const key = Object.keys(item)[0] ?? '';
    const hint = didYouMean(key, ['list', 'macro', 'rule', 'required_engine_version', 'required_plugin_versions']);
    this.diag({ src, path: [i, key], key: true }, `unknown top-level item '${key}'${hint ? ` (did you mean '${hint}'?)` : ''}: ignored`, 'warning');
  }

  private readEngineVersion(src: YamlSource, item: Item, i: number): void {
    const loc: Loc = { src, path: [i, 'required_engine_version'] };
    const v = item.required_engine_version;
    let parts: number[];
    if (typeof v === 'number' && Number.isInteger(v) && v >= 0) parts = [0, v, 0];
    else if (typeof v === 'string' && /^\d+\.\d+\.\d+$/.test(v.trim())) parts = v.trim().split('.').map(Number);
    else if (typeof v === 'string' && /^\d+$/.test(v.trim())) parts = [0, Number(v), 0];
    else throw new ItemError(`required_engine_version must be an integer or an x.y.z version, got ${JSON.stringify(v)}`, loc);
    const ours = ENGINE_VERSION.split('.').map(Number);
    if (compareVersions(parts, ours) > 0) {
      this.diag(loc, `rules require engine version ${parts.join('.')}, Riposte implements ${ENGINE_VERSION}: rules using newer features may be skipped`, 'warning');
    }
  }

  private checkKeys(src: YamlSource, item: Item, i: number, allowed: string[], what: string): void {
    for (const k of Object.keys(item)) {
      if (allowed.includes(k)) continue;
      const hint = didYouMean(k, allowed);
      this.diag({ src, path: [i, k], key: true }, `unknown key '${k}' in ${what}${hint ? ` (did you mean '${hint}'?)` : ''}: ignored`, 'warning');
    }
  }

  private str(src: YamlSource, item: Item, i: number, key: string, required: true): string;
  private str(src: YamlSource, item: Item, i: number, key: string, required: false): string | undefined;
  private str(src: YamlSource, item: Item, i: number, key: string, required: boolean): string | undefined {
    const v = item[key];
    if (v === undefined) {
      if (required) throw new ItemError(`missing required key '${key}'`, { src, path: [i] });
      return undefined;
    }
    if (v === null) throw new ItemError(`'${key}' is empty`, { src, path: [i, key], key: true });
    if (!isScalar(v)) throw new ItemError(`'${key}' must be a string`, { src, path: [i, key] });
    return String(v);
  }

  private bool(src: YamlSource, item: Item, i: number, key: string): boolean | undefined {
    const v = item[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'boolean') throw new ItemError(`'${key}' must be true or false`, { src, path: [i, key] });
    return v;
  }

  /** Reads `override:`; returns the key → operation map (empty when absent). */
  private overrides(src: YamlSource, item: Item, i: number, appendable: Set<string>, replaceable: Set<string>): Map<string, 'append' | 'replace'> {
    const out = new Map<string, 'append' | 'replace'>();
    const o = item.override;
    if (o === undefined) return out;
    if (!isMap(o)) throw new ItemError("'override' must be a mapping of key: append | replace", { src, path: [i, 'override'] });
    for (const [k, op] of Object.entries(o)) {
      const loc: Loc = { src, path: [i, 'override', k] };
      if (op === 'append') {
        if (!appendable.has(k)) throw new ItemError(`key '${k}' cannot be appended to${replaceable.has(k) ? ", use 'replace'" : ''}`, { ...loc, key: true });
      } else if (op === 'replace') {
        if (!replaceable.has(k)) throw new ItemError(`key '${k}' cannot be replaced`, { ...loc, key: true });
      } else {
        const allowed = [appendable.has(k) ? 'append' : '', replaceable.has(k) ? 'replace' : ''].filter(Boolean).join(' or ');
        throw new ItemError(`invalid override operation '${String(op)}' for '${k}': expected ${allowed || 'nothing, the key cannot be overridden'}`, loc);
      }
      out.set(k, op);
    }
    return out;
  }

  private legacyAppend(src: YamlSource, item: Item, i: number, overrides: Map<string, unknown>): boolean {
    const append = this.bool(src, item, i, 'append') ?? false;
    if (append && overrides.size > 0) throw new ItemError("'append' and 'override' cannot be used together", { src, path: [i, 'append'], key: true });
    return append;
  }

  private readList(src: YamlSource, item: Item, i: number): void {
    this.checkKeys(src, item, i, LIST_KEYS, 'a list');
    const name = this.str(src, item, i, 'list', true);
    if (!BARE_STRING.test(name)) throw new ItemError(`invalid list name '${name}': it must be a bare word (no blanks, quotes, parentheses, commas or '=')`, { src, path: [i, 'list'] });
    const itemsLoc: Loc = { src, path: [i, 'items'] };
    const raw = item.items;
    if (raw === undefined) throw new ItemError(`list '${name}': missing required key 'items'`, { src, path: [i] });
    const items = raw === null ? [] : raw;
    if (!Array.isArray(items)) throw new ItemError(`list '${name}': 'items' must be a sequence`, itemsLoc);
    items.forEach((x, k) => {
      if (!isScalar(x)) throw new ItemError(`list '${name}': items must be scalars`, { src, path: [i, 'items', k] });
    });
    const ov = this.overrides(src, item, i, new Set(['items']), new Set(['items']));
    const append = this.legacyAppend(src, item, i, ov) || ov.get('items') === 'append';
    const loc: Loc = { src, path: [i, 'list'] };
    const prev = this.lists.get(name);
    if (append || ov.get('items') === 'replace') {
      if (!prev) throw new ItemError(`list '${name}': no previous list to ${append ? 'append to' : 'replace'}`, loc);
      if (append) prev.items.push(...items);
      else prev.items = [...items];
      return;
    }
    this.lists.set(name, { name, items: [...items], loc, order: prev?.order ?? this.order++ });
  }

  private readMacro(src: YamlSource, text: string, item: Item, i: number): void {
    this.checkKeys(src, item, i, MACRO_KEYS, 'a macro');
    const name = this.str(src, item, i, 'macro', true);
    if (!IDENTIFIER.test(name)) throw new ItemError(`invalid macro name '${name}': it must match [a-zA-Z][a-zA-Z0-9_]*`, { src, path: [i, 'macro'] });
    const cond = this.str(src, item, i, 'condition', true);
    const ov = this.overrides(src, item, i, new Set(['condition']), new Set(['condition']));
    const append = this.legacyAppend(src, item, i, ov) || ov.get('condition') === 'append';
    const piece = this.piece(src, text, [i, 'condition'], cond);
    const loc: Loc = { src, path: [i, 'macro'] };
    const prev = this.macros.get(name);
    if (append || ov.get('condition') === 'replace') {
      if (!prev) throw new ItemError(`macro '${name}': no previous macro to ${append ? 'append to' : 'replace'}`, loc);
      if (append) prev.pieces.push(piece);
      else prev.pieces = [piece];
      return;
    }
    this.macros.set(name, { name, pieces: [piece], loc, order: prev?.order ?? this.order++ });
  }

  private readTags(src: YamlSource, item: Item, i: number): string[] | undefined {
    const v = item.tags;
    if (v === undefined) return undefined;
    if (v === null) return [];
    if (!Array.isArray(v) || !v.every(isScalar)) throw new ItemError("'tags' must be a sequence of strings", { src, path: [i, 'tags'] });
    return v.map(String);
  }

  private readPriority(src: YamlSource, item: Item, i: number, required: boolean): Priority | undefined {
    const p = required ? this.str(src, item, i, 'priority', true) : this.str(src, item, i, 'priority', false);
    if (p === undefined) return undefined;
    const parsed = parsePriority(p);
    if (!parsed) throw new ItemError(`invalid priority '${p}': expected emergency, alert, critical, error, warning, notice, informational or debug`, { src, path: [i, 'priority'] });
    return parsed;
  }

  private readExceptions(src: YamlSource, item: Item, i: number): ExceptionInfo[] | undefined {
    const v = item.exceptions;
    if (v === undefined) return undefined;
    if (v === null) return [];
    if (!Array.isArray(v)) throw new ItemError("'exceptions' must be a sequence", { src, path: [i, 'exceptions'] });
    const out: ExceptionInfo[] = [];
    v.forEach((ex, k) => {
      const loc: Loc = { src, path: [i, 'exceptions', k] };
      if (!isMap(ex)) throw new ItemError('each exception must be a mapping with name, fields, comps and values', loc);
      const name = ex.name;
      if (typeof name !== 'string' || name === '') throw new ItemError("exception without a 'name'", loc);
      if (out.some((o) => o.name === name)) throw new ItemError(`exception names must be unique: '${name}' repeated`, loc);
      for (const key of Object.keys(ex)) {
        if (!['name', 'fields', 'comps', 'values'].includes(key)) this.diag({ src, path: [i, 'exceptions', k, key], key: true }, `unknown key '${key}' in an exception: ignored`, 'warning');
      }
      const info: ExceptionInfo = { name, values: [], loc: { src, path: [i, 'exceptions', k, 'name'] } };
      for (const key of ['fields', 'comps'] as const) {
        const f = ex[key];
        if (f === undefined || f === null) continue;
        if (typeof f === 'string') info[key] = f;
        else if (Array.isArray(f) && f.every((x) => typeof x === 'string')) info[key] = f as string[];
        else throw new ItemError(`exception '${name}': '${key}' must be a string or a sequence of strings`, { src, path: [i, 'exceptions', k, key] });
      }
      const vals = ex.values;
      if (vals !== undefined && vals !== null) {
        if (!Array.isArray(vals)) throw new ItemError(`exception '${name}': 'values' must be a sequence`, { src, path: [i, 'exceptions', k, 'values'] });
        info.values = vals;
      }
      out.push(info);
    });
    return out;
  }

  private readRule(src: YamlSource, text: string, item: Item, i: number): void {
    this.checkKeys(src, item, i, RULE_KEYS, 'a rule');
    const name = this.str(src, item, i, 'rule', true);
    const loc: Loc = { src, path: [i, 'rule'] };
    const prev = this.rules.get(name);
    const ov = this.overrides(src, item, i, RULE_APPENDABLE, RULE_REPLACEABLE);
    const append = this.legacyAppend(src, item, i, ov);

    if (ov.size > 0) {
      // every overridden key must be present, and every present overridable key overridden
      for (const k of ov.keys()) {
        if (!(k in item)) throw new ItemError(`rule '${name}': an override for '${k}' is given but '${k}' is not defined`, { src, path: [i, 'override', k], key: true });
      }
      for (const k of Object.keys(item)) {
        if ((RULE_APPENDABLE.has(k) || RULE_REPLACEABLE.has(k)) && !ov.has(k)) {
          throw new ItemError(`rule '${name}': unexpected key '${k}': no corresponding entry under 'override'`, { src, path: [i, k], key: true });
        }
      }
      if (!prev) throw new ItemError(`rule '${name}': no previous rule to override`, loc);
      this.applyOverrides(src, text, item, i, name, prev, ov);
      return;
    }

    if (append) {
      if (!prev) throw new ItemError(`rule '${name}': no previous rule to append to`, loc);
      const cond = this.str(src, item, i, 'condition', false);
      const exs = this.readExceptions(src, item, i);
      if (cond === undefined && exs === undefined) throw new ItemError(`rule '${name}': an appended rule must have a condition or exceptions`, loc);
      if (cond !== undefined) prev.pieces.push(this.piece(src, text, [i, 'condition'], cond));
      if (exs) this.appendExceptions(name, prev, exs);
      return;
    }

    if (!('condition' in item) && !('output' in item) && !('desc' in item) && !('priority' in item)) {
      // `- rule: X / enabled: false` toggles an earlier rule
      const enabled = this.bool(src, item, i, 'enabled');
      if (enabled === undefined) throw new ItemError(`rule '${name}': missing required key 'condition'`, { src, path: [i] });
      if (!prev) throw new ItemError(`rule '${name}' has 'enabled' but no rule by that name was defined before`, loc);
      prev.enabled = enabled;
      return;
    }

    const cond = this.str(src, item, i, 'condition', true);
    const output = this.str(src, item, i, 'output', true);
    const desc = this.str(src, item, i, 'desc', true);
    const priority = this.readPriority(src, item, i, true)!;
    const source = this.str(src, item, i, 'source', false) ?? 'syscall';
    if (prev && prev.source !== source) throw new ItemError(`rule '${name}' redefined with a different source ('${prev.source}' before, '${source}' now)`, { src, path: [i, 'source'] });
    const exceptions = this.readExceptions(src, item, i) ?? [];
    for (const ex of exceptions) {
      if (ex.fields === undefined) throw new ItemError(`rule '${name}': exception '${ex.name}' must have 'fields'`, ex.loc);
    }
    this.rules.set(name, {
      name,
      pieces: [this.piece(src, text, [i, 'condition'], cond)],
      output: output.trim(),
      outputLoc: { src, path: [i, 'output'] },
      desc,
      priority,
      tags: this.readTags(src, item, i) ?? [],
      source,
      enabled: this.bool(src, item, i, 'enabled') ?? true,
      warnEvttypes: this.bool(src, item, i, 'warn_evttypes') ?? true,
      exceptions,
      loc,
      order: prev?.order ?? this.order++,
    });
  }

  private appendExceptions(name: string, rule: RuleInfo, exs: ExceptionInfo[]): void {
    for (const ex of exs) {
      const prev = rule.exceptions.find((e) => e.name === ex.name);
      if (!prev) {
        if (ex.fields === undefined) throw new ItemError(`rule '${name}': new exception '${ex.name}' must have 'fields'`, ex.loc);
        if (ex.values.length === 0) throw new ItemError(`rule '${name}': new exception '${ex.name}' must have 'values'`, ex.loc);
        rule.exceptions.push(ex);
        continue;
      }
      if (ex.fields !== undefined || ex.comps !== undefined) {
        throw new ItemError(`rule '${name}': exception '${ex.name}' exists: only its values can be appended, not fields or comps`, ex.loc);
      }
      prev.values = [...prev.values, ...ex.values];
    }
  }

  private applyOverrides(src: YamlSource, text: string, item: Item, i: number, name: string, rule: RuleInfo, ov: Map<string, 'append' | 'replace'>): void {
    for (const [k, op] of ov) {
      const replace = op === 'replace';
      switch (k) {
        case 'condition': {
          const piece = this.piece(src, text, [i, 'condition'], this.str(src, item, i, 'condition', true));
          if (replace) rule.pieces = [piece];
          else rule.pieces.push(piece);
          break;
        }
        case 'output': {
          const out = this.str(src, item, i, 'output', true).trim();
          rule.output = replace ? out : `${rule.output} ${out}`;
          rule.outputLoc = { src, path: [i, 'output'] };
          break;
        }
        case 'desc': {
          const d = this.str(src, item, i, 'desc', true);
          rule.desc = replace ? d : `${rule.desc} ${d}`;
          break;
        }
        case 'tags': {
          const tags = this.readTags(src, item, i) ?? [];
          rule.tags = replace ? tags : [...new Set([...rule.tags, ...tags])];
          break;
        }
        case 'exceptions': {
          const exs = this.readExceptions(src, item, i) ?? [];
          if (replace) {
            for (const ex of exs) if (ex.fields === undefined) throw new ItemError(`rule '${name}': exception '${ex.name}' must have 'fields'`, ex.loc);
            rule.exceptions = exs;
          } else this.appendExceptions(name, rule, exs);
          break;
        }
        case 'priority':
          rule.priority = this.readPriority(src, item, i, true)!;
          break;
        case 'enabled':
          rule.enabled = this.bool(src, item, i, 'enabled') ?? rule.enabled;
          break;
        case 'warn_evttypes':
          rule.warnEvttypes = this.bool(src, item, i, 'warn_evttypes') ?? rule.warnEvttypes;
          break;
        default:
          break; // skip-if-unknown-filter: Riposte always skips rules with unsupported fields
      }
    }
  }
}
