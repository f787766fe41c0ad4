// SPDX-License-Identifier: Apache-2.0
/**
 * JSON Schema (draft-07) validation whose errors are diagnostics with positions.
 * Unknown keys get a did-you-mean; every error of a document is reported at once.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { didYouMean } from './did-you-mean.ts';
import { DURATION_PATTERN } from './duration.ts';
import type { Diagnostic } from './errors.ts';
import { parsePointer, type PathSegment } from './paths.ts';
import type { YamlSource } from './yaml-source.ts';

const ajv = new Ajv({ allErrors: true, strict: false, allowUnionTypes: true, useDefaults: false, verbose: true });
ajv.addFormat('duration', /^\d+(ms|s|m|h|d)$/);
const cache = new WeakMap<object, ValidateFunction>();

export function compileSchema(schema: object): ValidateFunction {
  let fn = cache.get(schema);
  if (!fn) {
    fn = ajv.compile(schema);
    cache.set(schema, fn);
  }
  return fn;
}

function describe(e: ErrorObject): string {
  switch (e.keyword) {
    case 'type':
      return `expected ${String(e.params.type)}`;
    case 'enum':
      return `expected one of ${(e.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    case 'required':
      return `missing required key "${String(e.params.missingProperty)}"`;
    case 'pattern':
      if (e.params.pattern === DURATION_PATTERN) return 'expected a duration like 5m';
      return e.parentSchema && typeof e.parentSchema === 'object' && 'description' in e.parentSchema
        ? `expected ${String((e.parentSchema as { description: string }).description)}`
        : `does not match ${String(e.params.pattern)}`;
    case 'format':
      return e.params.format === 'duration' ? 'expected a duration like 5m' : `expected format ${String(e.params.format)}`;
    default:
      return e.message ?? e.keyword;
  }
}

/**
 * Validates `value` and returns diagnostics placed with `src`. Errors from
 * `oneOf`/`anyOf` branches are reduced to the most specific ones.
 */
export function schemaDiagnostics(schema: object, value: unknown, src: Pick<YamlSource, 'diag'>, opts: { ignore?: (e: ErrorObject) => boolean } = {}): Diagnostic[] {
  const validate = compileSchema(schema);
  if (validate(value)) return [];
  const errors = (validate.errors ?? []).filter((e) => e.keyword !== 'if' && e.keyword !== 'oneOf' && e.keyword !== 'anyOf' && !opts.ignore?.(e));
  const seen = new Set<string>();
  const out: Diagnostic[] = [];
  for (const e of errors) {
    const path: PathSegment[] = parsePointer(e.instancePath);
    let d: Diagnostic;
    if (e.keyword === 'additionalProperties') {
      const key = String(e.params.additionalProperty);
      const props = (e.parentSchema as { properties?: Record<string, unknown> } | undefined)?.properties ?? {};
      const hint = didYouMean(key, Object.keys(props));
      d = src.diag([...path, key], hint ? `unknown key "${key}" (did you mean "${hint}"?)` : `unknown key "${key}"`, { key: true });
    } else {
      d = src.diag(path, describe(e));
    }
    const k = `${d.line}:${d.col}:${d.message}`;
    if (!seen.has(k)) {
      seen.add(k);
      out.push(d);
    }
  }
  return out.sort((a, b) => a.line - b.line || a.col - b.col);
}
