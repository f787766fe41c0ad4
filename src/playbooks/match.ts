// SPDX-License-Identifier: Apache-2.0
/** Trigger matching: which loaded playbooks an alert starts. */
import type { Alert } from '../alerts/alert.ts';
import { playbookCondition } from './conditions.ts';
import type { LoadedPlaybook } from './load.ts';
import { inRange } from './priority-range.ts';

const globCache = new Map<string, RegExp>();
function globToRegExp(glob: string): RegExp {
  let re = globCache.get(glob);
  if (!re) {
    re = new RegExp(`^${glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
    globCache.set(glob, re);
  }
  return re;
}

export function triggerMatches(pb: LoadedPlaybook, alert: Alert): boolean {
  const p = pb.playbook;
  if (!p.enabled) return false;
  const t = p.trigger;
  if (t.rules && !t.rules.some((r) => (/[*?]/.test(r) ? globToRegExp(r).test(alert.rule) : r === alert.rule))) return false;
  if (t.priority && !inRange(alert.priority, t.priority)) return false;
  if (t.source && !t.source.includes(alert.source)) return false;
  if (t.tags?.all && !t.tags.all.every((tag) => alert.tags.includes(tag))) return false;
  if (t.tags?.any && !t.tags.any.some((tag) => alert.tags.includes(tag))) return false;
  if (t.condition && !playbookCondition(t.condition)({ alert, steps: {} })) return false;
  return true;
}

export function matchPlaybooks(playbooks: readonly LoadedPlaybook[], alert: Alert): LoadedPlaybook[] {
  return playbooks.filter((pb) => triggerMatches(pb, alert));
}
