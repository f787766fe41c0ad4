// SPDX-License-Identifier: Apache-2.0
/**
 * Playbook conditions (`trigger.condition`, step `if`) use the detector's Falco
 * condition language, evaluated over an alert and earlier step outputs:
 * `k8s.ns.name` reads `output_fields["k8s.ns.name"]`; `rule`, `priority`,
 * `source`, `hostname`, `tags` read the alert; `steps.<id>.output.<path>` and
 * `steps.<id>.status` read earlier steps.
 */
import { ConditionError, compileCondition, parseCondition, type FieldRef, type Getter } from '../../detector/condition/index.ts';
import type { Alert } from '../alerts/alert.ts';

export interface ConditionContext {
  alert: Alert;
  steps: Record<string, { output?: unknown; status?: string }>;
}

const ALERT_KEYS = new Set(['rule', 'priority', 'source', 'hostname', 'tags', 'output', 'time']);

function getPath(v: unknown, parts: string[]): unknown {
  let cur = v;
  for (const p of parts) {
    if (cur === null || typeof cur !== 'object' || !Object.hasOwn(cur, p)) return undefined;
    cur = (cur as Record<string, unknown>)[p];
  }
  return cur;
}

function resolve(field: FieldRef): Getter<ConditionContext> {
  const name = field.name;
  if (name.startsWith('steps.')) {
    const parts = name.split('.').slice(1);
    if (field.arg !== undefined) parts.push(field.arg);
    return (ctx) => getPath(ctx.steps, parts);
  }
  if (ALERT_KEYS.has(name) && field.arg === undefined) return (ctx) => (ctx.alert as unknown as Record<string, unknown>)[name];
  const key = field.arg !== undefined ? `${name}[${field.arg}]` : name;
  return (ctx) => {
    const f = ctx.alert.output_fields;
    return Object.hasOwn(f, key) ? f[key] : undefined;
  };
}

export type Predicate = (ctx: ConditionContext) => boolean;
const cache = new Map<string, Predicate>();

/** Compiles (once) a playbook condition into a predicate. Throws ConditionError on bad syntax. */
export function playbookCondition(text: string): Predicate {
  let p = cache.get(text);
  if (!p) {
    const compiled = compileCondition<ConditionContext>(text, { resolve });
    p = (ctx) => compiled.evaluate(ctx);
    cache.set(text, p);
  }
  return p;
}

/** Syntax problem of a condition, positions relative to the text (1-based). */
export function checkConditionSyntax(text: string): { message: string; line: number; col: number } | undefined {
  try {
    parseCondition(text);
    playbookCondition(text);
    return undefined;
  } catch (err) {
    if (err instanceof ConditionError) return { message: err.reason, line: err.line, col: err.col };
    return { message: (err as Error).message, line: 1, col: 1 };
  }
}
