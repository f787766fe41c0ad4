// SPDX-License-Identifier: Apache-2.0
/**
 * The `kubernetes` entry of the engine's action services: present when a
 * cluster is configured (kubeconfig file or in-cluster), absent otherwise, so
 * cluster actions then fail with "no cluster configured". The client library
 * is loaded only in the first case.
 *
 * @example
 *   startEngine({ ..., services: { ...(await kubernetesServices(config.kubernetes, log)) } });
 */
import type { KubeExecutor } from '../actions/kubernetes/declarations.ts';
import type { Logger } from '../common/log.ts';
import { type KubernetesConfig, kubeSource } from './source.ts';

export async function kubernetesServices(cfg: KubernetesConfig, log: Logger, env: NodeJS.ProcessEnv = process.env): Promise<{ kubernetes?: KubeExecutor }> {
  const src = kubeSource(cfg, env);
  if (!src) {
    log.info('no Kubernetes cluster configured: kubernetes.* actions will fail (set kubernetes.kubeconfig, or run in a pod)');
    return {};
  }
  const [{ loadKubeConfig, describeKubeConfig }, { createKubernetesExecutor }] = await Promise.all([import('./config.ts'), import('../actions/kubernetes/executor.ts')]);
  const kc = loadKubeConfig(src, env);
  log.info('kubernetes actions enabled', { source: src.kind, ...describeKubeConfig(kc) });
  return { kubernetes: createKubernetesExecutor(kc) };
}
