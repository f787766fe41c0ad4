// SPDX-License-Identifier: Apache-2.0
/**
 * `kubernetes.event.create`: an events.k8s.io/v1 Event on the pod saying what
 * Riposte did and why, shown by `kubectl describe pod` and `kubectl events`.
 * Its name derives from the idempotency key, so a re-executed attempt finds
 * its Event already there (409) instead of writing a second one.
 */
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import type { ActionContext, ActionResult } from '../types.ts';
import { dryRunArg, FIELD_MANAGER, type KubeApis } from './client.ts';
import type { KubeParams } from './declarations.ts';
import { isConflict, kubeCallOrGone, kubeError } from './errors.ts';
import { ANNOTATION, MANAGED_BY, objectName, REPORTING_CONTROLLER, requirePod } from './target.ts';

/**
 * RFC 3339 with exactly six fractional digits. The API server parses MicroTime
 * only in that width, and client-node sends a Date as toISOString() (three),
 * which the server rejects (kubernetes/kubernetes#141204); a string goes out as is.
 */
export function microTime(d: Date): Date {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z') as unknown as Date;
}

export async function eventCreate(apis: KubeApis, p: KubeParams, ctx: ActionContext, instance = hostname()): Promise<ActionResult> {
  const action = 'kubernetes.event.create';
  const t = requirePod(action, p, ctx.alert);
  // The pod may already be gone (an Event after a kill): the Event is still worth writing.
  const pod = await kubeCallOrGone(action, { verb: 'get', resource: 'pods', namespace: t.namespace, name: t.pod }, () => apis.core.readNamespacedPod({ name: t.pod, namespace: t.namespace }));
  const name = objectName(`${t.pod.slice(0, 200)}.`, `riposte-${createHash('sha256').update(ctx.idempotencyKey).digest('hex').slice(0, 16)}`);
  const type = p.type === 'Normal' ? 'Normal' : 'Warning';
  const reason = String(p.reason);
  const note = String(p.message);
  const evAction = typeof p.action === 'string' && p.action ? p.action : 'Respond';
  const op = { verb: 'create', resource: 'events.events.k8s.io', namespace: t.namespace, name };
  let existed = false;
  try {
    await apis.events.createNamespacedEvent({
      namespace: t.namespace,
      fieldManager: FIELD_MANAGER,
      ...dryRunArg(ctx.dryRun),
      body: {
        metadata: { name, namespace: t.namespace, labels: { ...MANAGED_BY }, annotations: { [ANNOTATION.incident]: ctx.incidentId, [ANNOTATION.run]: ctx.runId } },
        eventTime: microTime(new Date()),
        reportingController: REPORTING_CONTROLLER,
        reportingInstance: instance.slice(0, 128),
        action: evAction.slice(0, 128),
        reason,
        note,
        type,
        regarding: { apiVersion: 'v1', kind: 'Pod', namespace: t.namespace, name: t.pod, ...(pod?.metadata?.uid ? { uid: pod.metadata.uid } : {}) },
      },
    });
  } catch (err) {
    if (!isConflict(err)) throw kubeError(action, op, err);
    existed = true; // this attempt's Event was written by an earlier execution
  }
  return {
    output: { namespace: t.namespace, pod: t.pod, event: name },
    summary: `${ctx.dryRun ? '[dry run] ' : ''}${existed ? 'found' : 'recorded'} ${type} Event ${reason} on pod ${t.namespace}/${t.pod}${pod ? '' : ' (the pod is gone)'}`,
    details: { namespace: t.namespace, pod: t.pod, event: name, reason, type, podUid: pod?.metadata?.uid ?? null, alreadyExisted: existed, dryRun: ctx.dryRun },
  };
}
