// SPDX-License-Identifier: Apache-2.0
/**
 * The alert: Falco's JSON shape plus an id. Alerts from Falco's http_output,
 * Falcosidekick's webhook and Riposte's own detector all normalise to this.
 */

export const PRIORITIES = ['emergency', 'alert', 'critical', 'error', 'warning', 'notice', 'informational', 'debug'] as const;
export type Priority = (typeof PRIORITIES)[number];
/** Higher is more severe: emergency = 7, debug = 0. */
export function priorityRank(p: Priority): number {
  return PRIORITIES.length - 1 - PRIORITIES.indexOf(p);
}
const ALIASES: Record<string, Priority> = { info: 'informational', warn: 'warning', crit: 'critical', err: 'error', emerg: 'emergency' };

export function parsePriority(text: string): Priority | undefined {
  const t = text.trim().toLowerCase();
  if ((PRIORITIES as readonly string[]).includes(t)) return t as Priority;
  return ALIASES[t];
}

export type FieldValue = string | number | boolean | null | FieldValue[];

export interface Alert {
  id: string;
  /** RFC 3339 time the event happened. */
  time: string;
  rule: string;
  priority: Priority;
  source: string;
  hostname: string;
  output: string;
  output_fields: Record<string, FieldValue>;
  tags: string[];
}
