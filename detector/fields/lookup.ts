// SPDX-License-Identifier: Apache-2.0
/** Finding a field in the table, and the resolver the condition compiler calls. */
import { didYouMean } from '../../src/common/did-you-mean.ts';
import { type FieldRef, fieldText, type Getter } from '../condition/index.ts';
import type { DetectorEvent } from './event.ts';
import { type FieldDef, FIELDS } from './table.ts';

const BY_NAME = new Map(FIELDS.map((f) => [f.name, f]));
const DOT_ARG = FIELDS.filter((f) => f.dotArg);

export interface FieldMatch {
  def: FieldDef;
  arg?: string;
}

/**
 * Finds a field: exact name, or `name.ARG` for fields that accept it.
 * Returns `{error}` for unknown fields or a misused argument.
 *
 * @example lookupField({ name: 'evt.arg.flags' }) // { def: <evt.arg>, arg: 'flags' }
 */
export function lookupField(ref: FieldRef): FieldMatch | { error: string } {
  const text = fieldText(ref);
  let def = BY_NAME.get(ref.name);
  let arg = ref.arg;
  if (!def) {
    for (const d of DOT_ARG) {
      if (ref.name.startsWith(`${d.name}.`) && ref.arg === undefined) {
        def = d;
        arg = ref.name.slice(d.name.length + 1);
        break;
      }
    }
  }
  if (!def) {
    // suggest only names of the same shape: fd.sip.name is a real Falco field, not a typo of fd.filename
    const dots = ref.name.split('.').length;
    const hint = didYouMean(
      ref.name,
      [...BY_NAME.keys()].filter((n) => n.split('.').length === dots),
    );
    return { error: `field '${text}' is not provided by the Riposte sensor${hint ? ` (did you mean '${hint}'?)` : ''}` };
  }
  if (def.arg === 'none' && arg !== undefined) return { error: `field '${def.name}' takes no argument, got '${text}'` };
  if (def.arg === 'required' && arg === undefined) return { error: `field '${def.name}' needs an argument: ${def.name}[${def.argHelp ?? 'arg'}]` };
  return arg === undefined ? { def } : { def, arg };
}

/**
 * The `resolve` callback for compileCondition over DetectorEvents.
 *
 * @example compileCondition('proc.name = bash', { resolve: resolveEventField })
 */
export function resolveEventField(ref: FieldRef): Getter<DetectorEvent> | { error: string } {
  const m = lookupField(ref);
  if ('error' in m) return m;
  return m.def.getter(m.arg);
}
