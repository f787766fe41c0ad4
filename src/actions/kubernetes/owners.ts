// SPDX-License-Identifier: Apache-2.0
/**
 * The owner chain of a pod: pod → ReplicaSet → Deployment, or pod →
 * StatefulSet / DaemonSet / ReplicaSet. Guards (pod.delete) and scaling
 * (workload.scale) act on the top of that chain.
 */
import type { V1LabelSelector, V1ObjectMeta, V1OwnerReference, V1Pod } from '@kubernetes/client-node';
import type { KubeApis } from './client.ts';
import { kubeCall } from './errors.ts';

export interface Workload {
  kind: string;
  name: string;
  namespace: string;
  uid?: string;
  /** Present when the workload object itself was read. */
  selector?: V1LabelSelector;
}

/** The owner reference with `controller: true`, if any. */
export function controllerOf(meta: V1ObjectMeta | undefined): V1OwnerReference | undefined {
  return meta?.ownerReferences?.find((o) => o.controller === true);
}

/**
 * The workload that manages `pod`, following a ReplicaSet up to its Deployment.
 * With `readSelector`, the top object is read for its selector (needed to count
 * its pods). Undefined for a pod without a controller.
 */
export async function workloadOf(apis: KubeApis, action: string, pod: V1Pod, readSelector: boolean): Promise<Workload | undefined> {
  const namespace = pod.metadata?.namespace ?? '';
  const ctrl = controllerOf(pod.metadata);
  if (!ctrl) return undefined;
  if (ctrl.kind === 'ReplicaSet' && ctrl.apiVersion === 'apps/v1') {
    const rs = await kubeCall(action, { verb: 'get', resource: 'replicasets.apps', namespace, name: ctrl.name }, () => apis.apps.readNamespacedReplicaSet({ name: ctrl.name, namespace }));
    const dep = controllerOf(rs.metadata);
    if (dep?.kind === 'Deployment' && dep.apiVersion === 'apps/v1') {
      if (!readSelector) return { kind: 'Deployment', name: dep.name, namespace, uid: dep.uid };
      const d = await kubeCall(action, { verb: 'get', resource: 'deployments.apps', namespace, name: dep.name }, () => apis.apps.readNamespacedDeployment({ name: dep.name, namespace }));
      return { kind: 'Deployment', name: dep.name, namespace, uid: d.metadata?.uid, selector: d.spec?.selector };
    }
    return { kind: 'ReplicaSet', name: ctrl.name, namespace, uid: rs.metadata?.uid, selector: rs.spec?.selector };
  }
  if (readSelector && ctrl.apiVersion === 'apps/v1' && ctrl.kind === 'StatefulSet') {
    const s = await kubeCall(action, { verb: 'get', resource: 'statefulsets.apps', namespace, name: ctrl.name }, () => apis.apps.readNamespacedStatefulSet({ name: ctrl.name, namespace }));
    return { kind: ctrl.kind, name: ctrl.name, namespace, uid: ctrl.uid, selector: s.spec?.selector };
  }
  if (readSelector && ctrl.apiVersion === 'apps/v1' && ctrl.kind === 'DaemonSet') {
    const s = await kubeCall(action, { verb: 'get', resource: 'daemonsets.apps', namespace, name: ctrl.name }, () => apis.apps.readNamespacedDaemonSet({ name: ctrl.name, namespace }));
    return { kind: ctrl.kind, name: ctrl.name, namespace, uid: ctrl.uid, selector: s.spec?.selector };
  }
  return { kind: ctrl.kind, name: ctrl.name, namespace, uid: ctrl.uid };
}

/** A label selector as the `labelSelector` query string (`app=api,tier in (a,b),!canary`). */
export function selectorString(sel: V1LabelSelector): string {
  const parts = Object.entries(sel.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const e of sel.matchExpressions ?? []) {
    const vals = `(${(e.values ?? []).join(',')})`;
    if (e.operator === 'In') parts.push(`${e.key} in ${vals}`);
    else if (e.operator === 'NotIn') parts.push(`${e.key} notin ${vals}`);
    else if (e.operator === 'Exists') parts.push(e.key);
    else if (e.operator === 'DoesNotExist') parts.push(`!${e.key}`);
  }
  return parts.join(',');
}

/** Running, Ready and not being deleted. */
export function isHealthy(pod: V1Pod): boolean {
  if (pod.metadata?.deletionTimestamp) return false;
  if (pod.status?.phase !== 'Running') return false;
  return pod.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

/** Whether `pod` belongs to `w` (a Deployment's pods are those of its ReplicaSets, named `<deployment>-<hash>`). */
export function belongsTo(pod: V1Pod, w: Workload): boolean {
  const c = controllerOf(pod.metadata);
  if (!c) return false;
  if (w.kind === 'Deployment') return c.kind === 'ReplicaSet' && c.name.startsWith(`${w.name}-`);
  return w.uid ? c.uid === w.uid : c.kind === w.kind && c.name === w.name;
}
