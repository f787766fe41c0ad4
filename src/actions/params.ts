// SPDX-License-Identifier: Apache-2.0
/** Parameter-schema building blocks shared by action declarations. */
import { DURATION_PATTERN } from '../common/duration.ts';

export const durationParam = (description: string) => ({ type: 'string', pattern: DURATION_PATTERN, description: `${description} (a duration like 5m)` });
export const stringList = (description: string) => ({ type: 'array', items: { type: 'string', minLength: 1 }, description });
export const k8sName = (description: string) => ({ type: 'string', minLength: 1, maxLength: 253, description });

/** Reads a string field of the alert (`k8s.ns.name`, `container.id`, …), if present and non-empty. */
export function alertField(alert: { output_fields: Record<string, unknown> }, name: string): string | undefined {
  const v = alert.output_fields[name];
  return typeof v === 'string' && v !== '' && v !== '<NA>' ? v : undefined;
}
