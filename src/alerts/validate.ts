// SPDX-License-Identifier: Apache-2.0
/**
 * Validation of posted alerts. Each problem names the JSON field, e.g.
 * `[3].priority: expected a Falco priority (emergency, alert, …)`.
 */
import { randomUUID } from 'node:crypto';
import { formatPath, type PathSegment } from '../common/paths.ts';
import { PRIORITIES, parsePriority, type Alert, type FieldValue } from './alert.ts';

export interface AlertProblem {
  field: string;
  message: string;
}

const KNOWN = new Set(['uuid', 'id', 'time', 'rule', 'priority', 'source', 'hostname', 'output', 'output_fields', 'tags']);
const UUIDISH = /^[A-Za-z0-9._:-]{1,128}$/;

function isFieldValue(v: unknown, depth = 0): v is FieldValue {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return true;
  if (typeof v === 'number') return Number.isFinite(v);
  if (Array.isArray(v) && depth < 2) return v.every((x) => isFieldValue(x, depth + 1));
  return false;
}

/** Validates one Falco/Falcosidekick alert object; returns the alert or the problems. */
export function validateAlert(input: unknown, at: PathSegment[] = [], now: () => Date = () => new Date()): { alert?: Alert; problems: AlertProblem[] } {
  const problems: AlertProblem[] = [];
  const p = (field: PathSegment[], message: string) => problems.push({ field: formatPath([...at, ...field]) || '(body)', message });
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    p([], 'expected a JSON object (a Falco alert)');
    return { problems };
  }
  const o = input as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!KNOWN.has(k)) p([k], `unknown field "${k}"`);
  if (typeof o.rule !== 'string' || !o.rule.trim()) p(['rule'], 'required: the name of the rule that fired');
  else if (o.rule.length > 512) p(['rule'], 'longer than 512 characters');
  let priority: Alert['priority'] | undefined;
  if (typeof o.priority !== 'string') p(['priority'], `required: a Falco priority (${PRIORITIES.join(', ')})`);
  else {
    priority = parsePriority(o.priority);
    if (!priority) p(['priority'], `expected a Falco priority (${PRIORITIES.join(', ')}), got ${JSON.stringify(o.priority)}`);
  }
  let time = now().toISOString();
  if (o.time !== undefined) {
    if (typeof o.time !== 'string' || Number.isNaN(Date.parse(o.time))) p(['time'], 'expected an RFC 3339 time like 2024-05-01T12:00:00.000000000Z');
    else time = o.time;
  }
  for (const k of ['source', 'hostname', 'output'] as const) {
    if (o[k] !== undefined && typeof o[k] !== 'string') p([k], 'expected a string');
  }
  const id = o.uuid ?? o.id;
  if (id !== undefined && (typeof id !== 'string' || !UUIDISH.test(id))) p([o.uuid !== undefined ? 'uuid' : 'id'], 'expected an id of 1-128 letters, digits or ._:-');
  let fields: Record<string, FieldValue> = {};
  if (o.output_fields !== undefined && o.output_fields !== null) {
    if (typeof o.output_fields !== 'object' || Array.isArray(o.output_fields)) p(['output_fields'], 'expected an object of field name to value');
    else {
      fields = o.output_fields as Record<string, FieldValue>;
      for (const [k, v] of Object.entries(fields)) if (!isFieldValue(v)) p(['output_fields', k], 'expected a string, number, boolean, null or a list of those');
    }
  }
  let tags: string[] = [];
  if (o.tags !== undefined && o.tags !== null) {
    if (!Array.isArray(o.tags) || !o.tags.every((t) => typeof t === 'string')) p(['tags'], 'expected a list of strings');
    else tags = o.tags as string[];
  }
  if (problems.length) return { problems };
  return {
    problems,
    alert: {
      id: (id as string | undefined) ?? randomUUID(),
      time,
      rule: (o.rule as string).trim(),
      priority: priority!,
      source: (o.source as string | undefined) ?? 'syscall',
      hostname: (o.hostname as string | undefined) ?? '',
      output: (o.output as string | undefined) ?? '',
      output_fields: fields,
      tags,
    },
  };
}

/** A body is one alert or an array of alerts (Falco http_output posts one; batches post many). */
export function validateAlertBody(body: unknown, max: number): { alerts: Alert[]; problems: AlertProblem[] } {
  if (Array.isArray(body)) {
    if (body.length === 0) return { alerts: [], problems: [{ field: '(body)', message: 'empty array: send at least one alert' }] };
    if (body.length > max) return { alerts: [], problems: [{ field: '(body)', message: `too many alerts in one request (${body.length} > ${max})` }] };
    const alerts: Alert[] = [];
    const problems: AlertProblem[] = [];
    body.forEach((item, i) => {
      const r = validateAlert(item, [i]);
      problems.push(...r.problems);
      if (r.alert) alerts.push(r.alert);
    });
    return problems.length ? { alerts: [], problems } : { alerts, problems };
  }
  const r = validateAlert(body);
  return r.alert ? { alerts: [r.alert], problems: [] } : { alerts: [], problems: r.problems };
}
