// SPDX-License-Identifier: Apache-2.0
/**
 * Builds a `KubeConfig` from a {@link KubeSource}: a kubeconfig file (optionally
 * one context of it) or the pod's ServiceAccount. Problems are configuration
 * errors that name the file, the context and what exists instead.
 *
 * @example
 *   const src = kubeSource(config.kubernetes);
 *   const kc = src ? loadKubeConfig(src) : undefined;
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { ErrorCodes, RiposteError } from '../common/errors.ts';
import type { KubeSource } from './source.ts';

export function loadKubeConfig(src: KubeSource, env: NodeJS.ProcessEnv = process.env): KubeConfig {
  const kc = new KubeConfig();
  if (src.kind === 'in-cluster') {
    if (!env.KUBERNETES_SERVICE_HOST || !existsSync(join(src.dir, 'token'))) {
      throw new RiposteError(ErrorCodes.CONFIG_INVALID, `kubernetes.inCluster is "always" but this process is not in a pod with a ServiceAccount token (KUBERNETES_SERVICE_HOST unset or ${join(src.dir, 'token')} missing)`);
    }
    kc.loadFromCluster();
    return kc;
  }
  let text: string;
  try {
    text = readFileSync(src.file, 'utf8');
  } catch (err) {
    throw new RiposteError(ErrorCodes.CONFIG_INVALID, `kubernetes.kubeconfig: cannot read ${src.file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  try {
    kc.loadFromString(text);
  } catch (err) {
    throw new RiposteError(ErrorCodes.CONFIG_INVALID, `kubernetes.kubeconfig: ${src.file} is not a valid kubeconfig: ${(err as Error).message}`);
  }
  if (src.context) {
    if (!kc.getContextObject(src.context)) {
      const known = kc.getContexts().map((c) => c.name);
      throw new RiposteError(ErrorCodes.CONFIG_INVALID, `kubernetes.context: no context "${src.context}" in ${src.file} (it has: ${known.join(', ') || 'none'})`);
    }
    kc.setCurrentContext(src.context);
  }
  if (!kc.getCurrentCluster()) {
    throw new RiposteError(ErrorCodes.CONFIG_INVALID, `kubernetes.kubeconfig: ${src.file} has no current context with a cluster; set kubernetes.context`);
  }
  return kc;
}

/** One line for logs: which server and as whom, never the credentials. */
export function describeKubeConfig(kc: KubeConfig): { server?: string; context: string; user?: string } {
  return { server: kc.getCurrentCluster()?.server, context: kc.getCurrentContext(), user: kc.getCurrentUser()?.name };
}
