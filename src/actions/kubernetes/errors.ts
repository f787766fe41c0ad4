// SPDX-License-Identifier: Apache-2.0
/**
 * Turns API server failures into ActionErrors that say what was refused and
 * whether a retry can help: 403 names the verb and resource the engine's
 * identity lacks (non-retryable), 404 names the object, 409/429/5xx and
 * network failures are retryable, 400/422 (the server rejected the request) are not.
 *
 * @example
 *   const pod = await kubeCall('kubernetes.pod.label', { verb: 'patch', resource: 'pods', namespace, name }, () => core.patchNamespacedPod(...));
 */
import { ApiException } from '@kubernetes/client-node';
import { ActionError } from '../types.ts';

/** The request an error belongs to, in RBAC words. */
export interface KubeOp {
  verb: string;
  /** `pods`, `pods/eviction`, `deployments.apps/scale`, … */
  resource: string;
  namespace?: string;
  name?: string;
}

/** The parts of a failed response an error message needs. */
export interface KubeFailure {
  code: number;
  message: string;
  reason?: string;
  causes: { reason?: string; message?: string }[];
}

/** HTTP status and the Status object's message of a client-node error; undefined for non-HTTP errors. */
export function kubeFailure(err: unknown): KubeFailure | undefined {
  if (!(err instanceof ApiException)) return undefined;
  const code = (err as ApiException<unknown>).code;
  let status: { message?: string; reason?: string; details?: { causes?: { reason?: string; message?: string }[] } } = {};
  const body = (err as ApiException<unknown>).body;
  if (typeof body === 'string') {
    try {
      status = JSON.parse(body);
    } catch {
      status = { message: body.slice(0, 300) };
    }
  } else if (body && typeof body === 'object') status = body as typeof status;
  return { code, message: status.message ?? `HTTP ${code}`, reason: status.reason, causes: status.details?.causes ?? [] };
}

export const isNotFound = (err: unknown) => kubeFailure(err)?.code === 404;
export const isConflict = (err: unknown) => kubeFailure(err)?.code === 409;

function where(op: KubeOp): string {
  const obj = op.name ? `${op.resource} ${op.namespace ? `${op.namespace}/` : ''}${op.name}` : op.resource;
  return op.namespace && !op.name ? `${obj} in namespace ${op.namespace}` : obj;
}

/** The ActionError for a failed call `op` made by `action`. */
export function kubeError(action: string, op: KubeOp, err: unknown): ActionError {
  if (err instanceof ActionError) return err;
  const f = kubeFailure(err);
  if (!f) {
    const msg = err instanceof Error ? err.message : String(err);
    return new ActionError(`${action}: cannot reach the Kubernetes API server (${op.verb} ${where(op)}): ${msg}`, { retryable: true });
  }
  const said = f.message;
  switch (true) {
    case f.code === 401:
      return new ActionError(`${action}: the Kubernetes API server rejected Riposte's credentials (401) on ${op.verb} ${where(op)}; check kubernetes.kubeconfig or the ServiceAccount token`, { retryable: false });
    case f.code === 403: {
      const scope = op.namespace ? ` in namespace ${op.namespace}` : '';
      return new ActionError(`${action}: forbidden: Riposte may not ${op.verb} ${op.resource}${scope} (RBAC). Grant it in the engine's ClusterRole ("riposte rbac" prints the rules the playbooks need). API server: ${said}`, { retryable: false });
    }
    case f.code === 404:
      return new ActionError(`${action}: ${where(op)} not found (${op.verb}): ${said}`, { retryable: false });
    case f.code === 409:
      return new ActionError(`${action}: conflict on ${op.verb} ${where(op)}, will retry: ${said}`, { retryable: true });
    case f.code === 429:
      return new ActionError(`${action}: ${op.verb} ${where(op)} refused for now (429), will retry: ${said}`, { retryable: true });
    case f.code >= 500:
      return new ActionError(`${action}: the API server failed on ${op.verb} ${where(op)} (${f.code}), will retry: ${said}`, { retryable: true });
    default:
      return new ActionError(`${action}: the API server rejected ${op.verb} ${where(op)} (${f.code}${f.reason ? ` ${f.reason}` : ''}): ${said}`, { retryable: false });
  }
}

/** Runs one API call and maps its failure with {@link kubeError}. */
export async function kubeCall<T>(action: string, op: KubeOp, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw kubeError(action, op, err);
  }
}

/** Like {@link kubeCall}, but a 404 resolves to undefined (the object is gone: often the goal). */
export async function kubeCallOrGone<T>(action: string, op: KubeOp, fn: () => Promise<T>): Promise<T | undefined> {
  try {
    return await fn();
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw kubeError(action, op, err);
  }
}
