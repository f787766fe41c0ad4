// SPDX-License-Identifier: Apache-2.0
/**
 * Rule outputs: `%field` tokens (`%proc.name`, `%proc.aname[2]`,
 * `%evt.arg.flags`) compiled once into getters; text rendering and Falco's
 * `output_fields` both come from them. `%container.info` expands to
 * `container_id=%container.id container_name=%container.name`.
 */
import type { FieldValue } from '../../src/alerts/alert.ts';
import { fieldText } from '../condition/index.ts';
import type { DetectorEvent } from '../fields/index.ts';
import { lookupField } from '../fields/index.ts';

const TOKEN = /%([a-zA-Z][a-zA-Z0-9_]*(?:\.[a-zA-Z0-9_]+)+)(\[[^\]\s]*\])?/g;

type Part = string | { key: string; get: (ev: DetectorEvent) => unknown; format: (v: unknown) => string };

export interface CompiledOutput {
  format(ev: DetectorEvent): string;
  fields(ev: DetectorEvent): Record<string, FieldValue>;
  /** Output fields the sensor does not provide (rendered `<NA>`). */
  unsupported: string[];
}

function defaultFormat(v: unknown): string {
  if (Array.isArray(v)) return `(${v.map(defaultFormat).join(',')})`;
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('latin1');
  return String(v);
}

/** A JSON-safe value for output_fields (bigints beyond 2^53 become strings). */
export function jsonValue(v: unknown): FieldValue {
  if (v === undefined || v === null) return null;
  if (typeof v === 'bigint') return v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(v) : v.toString();
  if (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') return v;
  if (Array.isArray(v)) return v.map(jsonValue);
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('latin1');
  return String(v);
}

export function compileOutput(template: string): CompiledOutput {
  const text = template.replace(/%container\.info\b/g, 'container_id=%container.id container_name=%container.name');
  const parts: Part[] = [];
  const unsupported: string[] = [];
  let last = 0;
  for (const m of text.matchAll(TOKEN)) {
    const name = m[1]!;
    const arg = m[2] ? m[2].slice(1, -1) : undefined;
    const key = fieldText(arg === undefined ? { name } : { name, arg });
    if (m.index > last) parts.push(text.slice(last, m.index));
    last = m.index + m[0].length;
    const found = lookupField(arg === undefined ? { name } : { name, arg });
    if ('error' in found) {
      if (!unsupported.includes(key)) unsupported.push(key);
      parts.push({ key, get: () => undefined, format: defaultFormat });
      continue;
    }
    const g = found.def.getter(found.arg);
    const get = typeof g === 'function' ? g : () => undefined;
    parts.push({ key, get, format: found.def.format ?? defaultFormat });
  }
  if (last < text.length) parts.push(text.slice(last));
  const tokens = parts.filter((p): p is Exclude<Part, string> => typeof p !== 'string');
  return {
    unsupported,
    format(ev) {
      let out = '';
      for (const p of parts) {
        if (typeof p === 'string') out += p;
        else {
          const v = p.get(ev);
          out += v === undefined || v === null ? '<NA>' : p.format(v);
        }
      }
      return out;
    },
    fields(ev) {
      const o: Record<string, FieldValue> = {};
      for (const t of tokens) o[t.key] = jsonValue(t.get(ev));
      return o;
    },
  };
}
