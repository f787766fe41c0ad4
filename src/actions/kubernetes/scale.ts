// SPDX-License-Identifier: Apache-2.0
/**
 * `kubernetes.workload.scale`: set the replicas of the pod's workload (found
 * through pod → ReplicaSet → Deployment, or a StatefulSet / bare ReplicaSet),
 * or of a named one, through the scale subresource (JSON merge patch). The
 * previous count is in the output, so a later step can restore it.
 */
import type { V1Scale } from '@kubernetes/client-node';
import type { ActionContext, ActionResult } from '../types.ts';
import { dryRunArg, FIELD_MANAGER, type KubeApis, patchAs } from './client.ts';
import type { KubeParams } from './declarations.ts';
import { kubeCall } from './errors.ts';
import { workloadOf } from './owners.ts';
import { alertField } from '../params.ts';
import { refuse, requirePod } from './target.ts';

const SCALABLE = ['Deployment', 'StatefulSet', 'ReplicaSet'] as const;
type Scalable = (typeof SCALABLE)[number];

function scaleApi(apis: KubeApis, kind: Scalable) {
  const a = apis.apps;
  switch (kind) {
    case 'Deployment':
      return { resource: 'deployments.apps/scale', read: a.readNamespacedDeploymentScale.bind(a), patch: a.patchNamespacedDeploymentScale.bind(a) };
    case 'StatefulSet':
      return { resource: 'statefulsets.apps/scale', read: a.readNamespacedStatefulSetScale.bind(a), patch: a.patchNamespacedStatefulSetScale.bind(a) };
    case 'ReplicaSet':
      return { resource: 'replicasets.apps/scale', read: a.readNamespacedReplicaSetScale.bind(a), patch: a.patchNamespacedReplicaSetScale.bind(a) };
  }
}

export async function workloadScale(apis: KubeApis, p: KubeParams, ctx: ActionContext): Promise<ActionResult> {
  const action = 'kubernetes.workload.scale';
  const replicas = p.replicas as number;
  let kind: string;
  let name: string;
  let namespace: string;
  let via = '';
  if (typeof p.name === 'string') {
    namespace = p.namespace ?? alertField(ctx.alert, 'k8s.ns.name') ?? '';
    if (!namespace) throw refuse(action, `workload ${p.name}: no namespace in the step or the alert (k8s.ns.name)`);
    kind = String(p.kind);
    name = p.name;
  } else {
    const t = requirePod(action, p, ctx.alert);
    namespace = t.namespace;
    const pod = await kubeCall(action, { verb: 'get', resource: 'pods', namespace, name: t.pod }, () => apis.core.readNamespacedPod({ name: t.pod, namespace }));
    const w = await workloadOf(apis, action, pod, false);
    if (!w) throw refuse(action, `pod ${namespace}/${t.pod} has no controller, so there is no workload to scale`);
    if (p.kind && p.kind !== w.kind) throw refuse(action, `pod ${namespace}/${t.pod} belongs to ${w.kind} ${w.name}, not a ${String(p.kind)}`);
    kind = w.kind;
    name = w.name;
    via = ` (owner of pod ${t.pod})`;
  }
  if (!(SCALABLE as readonly string[]).includes(kind)) {
    throw refuse(action, `${kind} ${namespace}/${name} cannot be scaled by Riposte (${kind === 'DaemonSet' ? 'a DaemonSet runs one pod per node; cordon the node or delete the pod instead' : `supported kinds: ${SCALABLE.join(', ')}`})`);
  }
  const api = scaleApi(apis, kind as Scalable);
  const op = { verb: 'get', resource: api.resource, namespace, name };
  const before: V1Scale = await kubeCall(action, op, () => api.read({ name, namespace }));
  const from = before.spec?.replicas ?? 0;
  const after: V1Scale = await kubeCall(action, { ...op, verb: 'patch' }, () => api.patch({ name, namespace, body: { spec: { replicas } }, fieldManager: FIELD_MANAGER, ...dryRunArg(ctx.dryRun) }, patchAs.merge()));
  return {
    output: { kind, namespace, name, previousReplicas: from, replicas: after.spec?.replicas ?? replicas },
    summary: `${ctx.dryRun ? '[dry run] ' : ''}scaled ${kind} ${namespace}/${name}${via} from ${from} to ${replicas} replicas`,
    details: { kind, namespace, name, previousReplicas: from, replicas, patch: 'merge (scale subresource)', dryRun: ctx.dryRun },
  };
}
