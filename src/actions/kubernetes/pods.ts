// SPDX-License-Identifier: Apache-2.0
/**
 * Pod actions: label (strategic merge patch), annotate (JSON merge patch),
 * delete (with owner and healthy-replica guards) and evict (Eviction API, so
 * PodDisruptionBudgets apply). Delete and evict act only on the pod the alert
 * is about: when its uid is known and the pod of that name now has another uid
 * (a StatefulSet replacement, or an earlier attempt already succeeded), they
 * leave the new pod alone.
 */
import type { V1Pod } from '@kubernetes/client-node';
import { ActionError, type ActionContext, type ActionResult } from '../types.ts';
import { dryRunArg, dryRunBody, FIELD_MANAGER, type KubeApis, patchAs } from './client.ts';
import { kubeCall, kubeCallOrGone, kubeError, isConflict, kubeFailure, isNotFound } from './errors.ts';
import { belongsTo, controllerOf, isHealthy, selectorString, workloadOf } from './owners.ts';
import { type PodTarget, refuse, requirePod } from './target.ts';
import type { KubeParams } from './declarations.ts';

const ref = (t: PodTarget) => `${t.namespace}/${t.pod}`;

export async function podLabel(apis: KubeApis, p: KubeParams, ctx: ActionContext): Promise<ActionResult> {
  const action = 'kubernetes.pod.label';
  const t = requirePod(action, p, ctx.alert);
  const labels = p.labels as Record<string, string>;
  const pod = await kubeCall(action, { verb: 'patch', resource: 'pods', namespace: t.namespace, name: t.pod }, () =>
    apis.core.patchNamespacedPod({ name: t.pod, namespace: t.namespace, body: { metadata: { labels } }, fieldManager: FIELD_MANAGER, ...dryRunArg(ctx.dryRun) }, patchAs.strategicMerge()),
  );
  const shown = Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(', ');
  return {
    output: { namespace: t.namespace, pod: t.pod, labels },
    summary: `${ctx.dryRun ? '[dry run] ' : ''}labelled pod ${ref(t)} with ${shown}`,
    details: { namespace: t.namespace, pod: t.pod, uid: pod.metadata?.uid, labels, patch: 'strategic-merge', resourceVersion: pod.metadata?.resourceVersion, dryRun: ctx.dryRun },
  };
}

export async function podAnnotate(apis: KubeApis, p: KubeParams, ctx: ActionContext): Promise<ActionResult> {
  const action = 'kubernetes.pod.annotate';
  const t = requirePod(action, p, ctx.alert);
  const annotations = p.annotations as Record<string, string>;
  const pod = await kubeCall(action, { verb: 'patch', resource: 'pods', namespace: t.namespace, name: t.pod }, () =>
    apis.core.patchNamespacedPod({ name: t.pod, namespace: t.namespace, body: { metadata: { annotations } }, fieldManager: FIELD_MANAGER, ...dryRunArg(ctx.dryRun) }, patchAs.merge()),
  );
  return {
    output: { namespace: t.namespace, pod: t.pod, annotations },
    summary: `${ctx.dryRun ? '[dry run] ' : ''}annotated pod ${ref(t)} (${Object.keys(annotations).join(', ')})`,
    details: { namespace: t.namespace, pod: t.pod, uid: pod.metadata?.uid, annotations, patch: 'merge', resourceVersion: pod.metadata?.resourceVersion, dryRun: ctx.dryRun },
  };
}

/** Reads the target pod; undefined when it is gone or was replaced by another pod of that name. */
async function readTarget(apis: KubeApis, action: string, t: PodTarget): Promise<{ pod?: V1Pod; gone?: string }> {
  const pod = await kubeCallOrGone(action, { verb: 'get', resource: 'pods', namespace: t.namespace, name: t.pod }, () => apis.core.readNamespacedPod({ name: t.pod, namespace: t.namespace }));
  if (!pod) return { gone: 'not found (already gone)' };
  if (t.uid && pod.metadata?.uid !== t.uid) return { gone: `replaced: the pod now named ${t.pod} has uid ${pod.metadata?.uid}, not ${t.uid}; left alone` };
  return { pod };
}

const goneResult = (verb: string, t: PodTarget, why: string): ActionResult => ({
  output: { namespace: t.namespace, pod: t.pod, alreadyGone: true },
  summary: `pod ${ref(t)} not ${verb}: ${why}`,
  details: { namespace: t.namespace, pod: t.pod, uid: t.uid, alreadyGone: true, reason: why },
});

export async function podDelete(apis: KubeApis, p: KubeParams, ctx: ActionContext): Promise<ActionResult> {
  const action = 'kubernetes.pod.delete';
  const t = requirePod(action, p, ctx.alert);
  const { pod, gone } = await readTarget(apis, action, t);
  if (!pod) return goneResult('deleted', t, gone ?? '');

  const ctrl = controllerOf(pod.metadata);
  if (!ctrl && p.allowStandalone !== true) {
    throw refuse(action, `pod ${ref(t)} has no controller, so nothing would recreate it (set allowStandalone: true to delete it anyway)`);
  }
  if (ctrl?.kind === 'DaemonSet' && p.allowDaemonSet !== true) {
    throw refuse(action, `pod ${ref(t)} belongs to DaemonSet ${ctrl.name}: it would be recreated on the same node at once and is usually node infrastructure (set allowDaemonSet: true to delete it anyway)`);
  }
  if (ctrl?.kind === 'StatefulSet' && p.allowStatefulSet !== true) {
    throw refuse(action, `pod ${ref(t)} belongs to StatefulSet ${ctrl.name}: it would come back with the same name and volumes (set allowStatefulSet: true to delete it anyway)`);
  }
  const min = typeof p.minHealthyReplicas === 'number' ? p.minHealthyReplicas : 0;
  let healthyOthers: number | undefined;
  if (min > 0) {
    const w = await workloadOf(apis, action, pod, true);
    if (!w?.selector) throw refuse(action, `minHealthyReplicas is ${min} but pod ${ref(t)} has no workload whose replicas could be counted`);
    const list = await kubeCall(action, { verb: 'list', resource: 'pods', namespace: t.namespace }, () => apis.core.listNamespacedPod({ namespace: t.namespace, labelSelector: selectorString(w.selector!) }));
    healthyOthers = list.items.filter((o) => o.metadata?.uid !== pod.metadata?.uid && belongsTo(o, w) && isHealthy(o)).length;
    if (healthyOthers < min) {
      throw refuse(action, `deleting pod ${ref(t)} would leave ${healthyOthers} healthy replica(s) of ${w.kind} ${w.name}; minHealthyReplicas is ${min}`);
    }
  }

  const grace = typeof p.gracePeriodSeconds === 'number' ? p.gracePeriodSeconds : 0;
  const op = { verb: 'delete', resource: 'pods', namespace: t.namespace, name: t.pod };
  try {
    // With a body, the server takes every option from it and ignores the query: dryRun goes in the body.
    await apis.core.deleteNamespacedPod({ name: t.pod, namespace: t.namespace, body: { gracePeriodSeconds: grace, preconditions: { uid: pod.metadata?.uid }, ...dryRunBody(ctx.dryRun) } });
  } catch (err) {
    if (isNotFound(err)) return goneResult('deleted', t, 'deleted meanwhile');
    if (isConflict(err)) return goneResult('deleted', t, `replaced meanwhile by another pod named ${t.pod}; left alone`);
    throw kubeError(action, op, err);
  }
  return {
    output: { namespace: t.namespace, pod: t.pod, deleted: true },
    summary: `${ctx.dryRun ? '[dry run] ' : ''}deleted pod ${ref(t)} (grace period ${grace}s)`,
    details: { namespace: t.namespace, pod: t.pod, uid: pod.metadata?.uid, node: pod.spec?.nodeName, owner: ctrl ? `${ctrl.kind}/${ctrl.name}` : null, gracePeriodSeconds: grace, healthyOthers, dryRun: ctx.dryRun },
  };
}

export async function podEvict(apis: KubeApis, p: KubeParams, ctx: ActionContext): Promise<ActionResult> {
  const action = 'kubernetes.pod.evict';
  const t = requirePod(action, p, ctx.alert);
  const { pod, gone } = await readTarget(apis, action, t);
  if (!pod) return goneResult('evicted', t, gone ?? '');
  const grace = typeof p.gracePeriodSeconds === 'number' ? p.gracePeriodSeconds : undefined;
  const deleteOptions = { ...(grace === undefined ? {} : { gracePeriodSeconds: grace }), preconditions: { uid: pod.metadata?.uid }, ...dryRunBody(ctx.dryRun) };
  try {
    await apis.core.createNamespacedPodEviction({
      name: t.pod,
      namespace: t.namespace,
      body: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: t.pod, namespace: t.namespace }, deleteOptions },
      ...dryRunArg(ctx.dryRun),
    });
  } catch (err) {
    const f = kubeFailure(err);
    if (f?.code === 404) return goneResult('evicted', t, 'deleted meanwhile');
    if (f?.code === 429) {
      const causes = f.causes.map((c) => c.message).filter(Boolean).join('; ');
      throw new ActionError(`${action}: eviction of pod ${ref(t)} is blocked by a PodDisruptionBudget, will retry: ${f.message}${causes ? ` (${causes})` : ''}`, { retryable: true });
    }
    throw kubeError(action, { verb: 'create', resource: 'pods/eviction', namespace: t.namespace, name: t.pod }, err);
  }
  return {
    output: { namespace: t.namespace, pod: t.pod, evicted: true },
    summary: `${ctx.dryRun ? '[dry run] ' : ''}evicted pod ${ref(t)}${grace === undefined ? '' : ` (grace period ${grace}s)`}`,
    details: { namespace: t.namespace, pod: t.pod, uid: pod.metadata?.uid, node: pod.spec?.nodeName, gracePeriodSeconds: grace ?? null, dryRun: ctx.dryRun },
  };
}
