// SPDX-License-Identifier: Apache-2.0
/** `kubernetes.node.cordon`: mark the node unschedulable (strategic merge patch), noting the incident. */
import type { ActionContext, ActionResult } from '../types.ts';
import { dryRunArg, FIELD_MANAGER, type KubeApis, patchAs } from './client.ts';
import type { KubeParams } from './declarations.ts';
import { kubeCall } from './errors.ts';
import { ANNOTATION, refuse, targetNode } from './target.ts';

export async function nodeCordon(apis: KubeApis, p: KubeParams, ctx: ActionContext): Promise<ActionResult> {
  const action = 'kubernetes.node.cordon';
  const name = targetNode(p, ctx.alert);
  if (!name) throw refuse(action, 'no target node: the step sets no node and the alert has neither k8s.node.name nor a hostname');
  const op = { verb: 'get', resource: 'nodes', name };
  const node = await kubeCall(action, op, () => apis.core.readNode({ name }));
  const was = node.spec?.unschedulable === true;
  // Only the first cordon records who did it; a node someone else cordoned keeps its story.
  const body = was ? { spec: { unschedulable: true } } : { metadata: { annotations: { [ANNOTATION.cordonedBy]: `riposte incident ${ctx.incidentId}` } }, spec: { unschedulable: true } };
  const patched = await kubeCall(action, { ...op, verb: 'patch' }, () => apis.core.patchNode({ name, body, fieldManager: FIELD_MANAGER, ...dryRunArg(ctx.dryRun) }, patchAs.strategicMerge()));
  return {
    output: { node: name, cordoned: true, wasCordoned: was },
    summary: `${ctx.dryRun ? '[dry run] ' : ''}${was ? `node ${name} was already cordoned` : `cordoned node ${name}`}`,
    details: { node: name, uid: patched.metadata?.uid, wasUnschedulable: was, patch: 'strategic-merge', dryRun: ctx.dryRun },
  };
}
