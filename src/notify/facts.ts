// SPDX-License-Identifier: Apache-2.0
/** What an alert is about, in the few words a chat message and an approval page show. */
import type { Alert } from '../alerts/alert.ts';

const str = (v: unknown) => (v === undefined || v === null || v === '' ? undefined : String(v));

/** `payments/api-7f9c (container abc123) on node-1`, or as much of it as the alert carries. */
export function alertTarget(alert: Alert): string {
  const f = alert.output_fields;
  const ns = str(f['k8s.ns.name']);
  const pod = str(f['k8s.pod.name']);
  const container = str(f['container.name']) ?? str(f['container.id']);
  const parts: string[] = [];
  if (ns && pod) parts.push(`${ns}/${pod}`);
  else if (pod) parts.push(pod);
  if (container && container !== 'host') parts.push(parts.length ? `(container ${container})` : `container ${container}`);
  if (alert.hostname) parts.push(parts.length ? `on ${alert.hostname}` : `host ${alert.hostname}`);
  return parts.join(' ') || 'unknown target';
}

export function alertFacts(alert: Alert, extra: { playbook?: string; runId?: string } = {}): { label: string; value: string }[] {
  return [
    { label: 'Target', value: alertTarget(alert) },
    { label: 'Alert', value: `${alert.rule} (${alert.priority})` },
    ...(extra.playbook ? [{ label: 'Playbook', value: extra.playbook }] : []),
    ...(extra.runId ? [{ label: 'Run', value: extra.runId }] : []),
  ];
}
