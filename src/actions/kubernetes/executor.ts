// SPDX-License-Identifier: Apache-2.0
/**
 * The cluster side of the Kubernetes actions: what `ctx.services.kubernetes`
 * holds in an engine that has a cluster. The declarations (declarations.ts)
 * stay free of the client library, so commands that only read the registry
 * (`playbooks validate`, `rbac`) start fast; this module loads it.
 *
 * @example
 *   const kubernetes = createKubernetesExecutor(loadKubeConfig(kubeSource(cfg)!));
 *   startEngine({ ..., services: { kubernetes } });
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { reuseConnections } from '../../kube/connections.ts';
import { ActionError, type ActionContext, type ActionResult } from '../types.ts';
import { type KubeApis, kubeApis } from './client.ts';
import type { KubeExecutor, KubeParams } from './declarations.ts';
import { eventCreate } from './events.ts';
import { nodeCordon } from './nodes.ts';
import { podAnnotate, podDelete, podEvict, podLabel } from './pods.ts';
import { isolate, release } from './quarantine.ts';
import { workloadScale } from './scale.ts';

type Impl = (apis: KubeApis, p: KubeParams, ctx: ActionContext) => Promise<ActionResult>;

export const KUBERNETES_IMPLEMENTATIONS: Record<string, Impl> = {
  'kubernetes.pod.delete': podDelete,
  'kubernetes.pod.evict': podEvict,
  'kubernetes.pod.label': podLabel,
  'kubernetes.pod.annotate': podAnnotate,
  'kubernetes.networkpolicy.isolate': isolate,
  'kubernetes.networkpolicy.release': release,
  'kubernetes.node.cordon': nodeCordon,
  'kubernetes.workload.scale': workloadScale,
  'kubernetes.event.create': eventCreate,
};

/** Executes the named Kubernetes action with the credentials of `kc` (whose connections it makes reusable). */
export function createKubernetesExecutor(kc: KubeConfig): KubeExecutor {
  reuseConnections(kc);
  const apis = kubeApis(kc);
  return async (name, params, ctx) => {
    const impl = KUBERNETES_IMPLEMENTATIONS[name];
    if (!impl) throw new ActionError(`${name}: no implementation for this Kubernetes action`, { retryable: false });
    if (ctx.signal.aborted) throw new ActionError(`${name}: cancelled before it started`, { retryable: true });
    return impl(apis, params, ctx);
  };
}
