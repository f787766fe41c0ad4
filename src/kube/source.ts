// SPDX-License-Identifier: Apache-2.0
/**
 * Where the engine's Kubernetes credentials come from, decided without loading
 * the client library (so CLI commands that never talk to a cluster stay quick).
 *
 * Order: an explicit `kubernetes.kubeconfig` file wins; otherwise, with
 * `inCluster: auto`, the pod's ServiceAccount when running in a pod; otherwise
 * no cluster, and cluster actions fail with "no cluster configured". A
 * developer's ~/.kube/config is never picked up implicitly: automation that
 * deletes pods should act on a cluster someone named.
 *
 * @example
 *   kubeSource({ inCluster: 'auto' }, process.env) // { kind: 'in-cluster' } inside a pod, else undefined
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export interface KubernetesConfig {
  /** A kubeconfig file; relative paths are resolved against the config file. */
  kubeconfig?: string;
  /** Context in that file; default its current-context. */
  context?: string;
  /** `auto`: use the pod's ServiceAccount when running in a pod; `always`: require it; `never`: only a kubeconfig file. */
  inCluster: 'auto' | 'always' | 'never';
}

/** Where a pod's ServiceAccount token, CA and namespace are mounted. */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export type KubeSource = { kind: 'kubeconfig'; file: string; context?: string } | { kind: 'in-cluster'; dir: string };

/** True when this process runs in a pod with a mounted ServiceAccount token. */
export function runningInCluster(env: NodeJS.ProcessEnv, dir = SERVICE_ACCOUNT_DIR): boolean {
  return !!env.KUBERNETES_SERVICE_HOST && !!env.KUBERNETES_SERVICE_PORT && existsSync(join(dir, 'token'));
}

/** The credential source for `cfg`, or undefined when no cluster is configured. */
export function kubeSource(cfg: KubernetesConfig, env: NodeJS.ProcessEnv = process.env, dir = SERVICE_ACCOUNT_DIR): KubeSource | undefined {
  if (cfg.inCluster === 'always') return { kind: 'in-cluster', dir };
  if (cfg.kubeconfig) return { kind: 'kubeconfig', file: cfg.kubeconfig, ...(cfg.context ? { context: cfg.context } : {}) };
  if (cfg.inCluster === 'auto' && runningInCluster(env, dir)) return { kind: 'in-cluster', dir };
  return undefined;
}
