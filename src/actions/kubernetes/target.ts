// SPDX-License-Identifier: Apache-2.0
/**
 * Labels, names, targets and refusals shared by the cluster actions. Free of
 * the client library: the declarations use it too.
 */
import { createHash } from 'node:crypto';
import type { Alert } from '../../alerts/alert.ts';
import { alertField } from '../params.ts';
import { ActionError } from '../types.ts';

/** A refusal decided by the action itself (a guard): never retried, says why. */
export function refuse(action: string, why: string): ActionError {
  return new ActionError(`${action}: refused: ${why}`, { retryable: false });
}

/** On a quarantined pod, the incident id; the NetworkPolicy selects exactly this label. */
export const QUARANTINE_LABEL = 'riposte.io/quarantine';
/** Marks objects Riposte created (NetworkPolicies, Events). */
export const MANAGED_BY: Record<string, string> = { 'app.kubernetes.io/managed-by': 'riposte' };
export const ANNOTATION = {
  incident: 'riposte.io/incident',
  run: 'riposte.io/run',
  pod: 'riposte.io/pod',
  rule: 'riposte.io/rule',
  expiry: 'riposte.io/expiry',
  cordonedBy: 'riposte.io/cordoned-by',
} as const;
/** reportingController of Riposte's Events. */
export const REPORTING_CONTROLLER = 'riposte.io/engine';

const hash = (s: string, n: number) => createHash('sha256').update(s).digest('hex').slice(0, n);

/** `s` when it is a valid label value, else a stable 63-character stand-in. */
export function labelValue(s: string): string {
  return /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/.test(s) && s.length <= 63 ? s : `${s.replace(/[^A-Za-z0-9]/g, '').slice(0, 46)}-${hash(s, 16)}`;
}

/** A DNS-subdomain object name `prefix + base`, shortened with a hash when too long. */
export function objectName(prefix: string, base: string, max = 253): string {
  const full = `${prefix}${base}`;
  if (full.length <= max) return full;
  return `${full.slice(0, max - 17).replace(/[-.]+$/, '')}-${hash(full, 16)}`;
}

/** Name of the quarantine NetworkPolicy of a pod. */
export const policyName = (pod: string) => objectName('riposte-quarantine-', pod);

export interface PodTarget {
  namespace: string;
  pod: string;
  /** The uid of the pod the alert is about (param `uid` or alert field k8s.pod.uid), when known. */
  uid?: string;
}

/** Namespace and pod from the parameters or the alert; refuses clearly when either is missing. */
export function requirePod(action: string, p: { namespace?: string; pod?: string; uid?: unknown }, alert: Alert): PodTarget {
  const namespace = p.namespace ?? alertField(alert, 'k8s.ns.name');
  const pod = p.pod ?? alertField(alert, 'k8s.pod.name');
  if (!namespace || !pod) {
    const missing = [!namespace && 'namespace (alert field k8s.ns.name)', !pod && 'pod (alert field k8s.pod.name)'].filter(Boolean).join(' and ');
    throw refuse(action, `no target pod: the step sets no ${missing} and the alert does not carry it`);
  }
  const uid = typeof p.uid === 'string' && p.uid ? p.uid : alertField(alert, 'k8s.pod.uid');
  return { namespace, pod, ...(uid ? { uid } : {}) };
}

/** The node: param `node`, else the alert's k8s.node.name, else its hostname (Falco reports the node name there). */
export function targetNode(p: Record<string, unknown>, alert: Pick<Alert, 'hostname' | 'output_fields'>): string | undefined {
  const n = typeof p.node === 'string' && p.node ? p.node : (alertField(alert, 'k8s.node.name') ?? alert.hostname);
  return n || undefined;
}
