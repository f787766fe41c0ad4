// SPDX-License-Identifier: Apache-2.0
/**
 * The API clients the cluster actions use, and the request options for each
 * patch type. @kubernetes/client-node 2.x sends `application/json-patch+json`
 * unless told otherwise, so every patch names its content type explicitly.
 */
import { AppsV1Api, CoreV1Api, EventsV1Api, type KubeConfig, NetworkingV1Api, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';

export interface KubeApis {
  core: CoreV1Api;
  apps: AppsV1Api;
  net: NetworkingV1Api;
  events: EventsV1Api;
}

export function kubeApis(kc: KubeConfig): KubeApis {
  return { core: kc.makeApiClient(CoreV1Api), apps: kc.makeApiClient(AppsV1Api), net: kc.makeApiClient(NetworkingV1Api), events: kc.makeApiClient(EventsV1Api) };
}

/** `managedFields` name of every write Riposte makes. */
export const FIELD_MANAGER = 'riposte';

/** Request options per patch type; pass as the second argument of a generated `patch*` method. */
export const patchAs = {
  /** Maps merge by key, lists by their patch merge key: the kubectl default for built-in kinds. */
  strategicMerge: () => setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
  /** RFC 7386: maps merge, `null` deletes a key, lists are replaced. Works on subresources like scale. */
  merge: () => setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  /** RFC 6902 operations; a `test` op makes the patch conditional on the current value. */
  json: () => setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
  /** Server-side apply: create-or-update of the fields this manager owns. */
  apply: () => setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply),
};

/** `dryRun` argument of a write: server-side dry run when the step is a dry run. */
export const dryRunArg = (dryRun: boolean): { dryRun?: string } => (dryRun ? { dryRun: 'All' } : {});

/**
 * The same for DeleteOptions bodies and Eviction `deleteOptions`: a DELETE with
 * a body takes its options from the body only and ignores `?dryRun=All`.
 */
export const dryRunBody = (dryRun: boolean): { dryRun?: string[] } => (dryRun ? { dryRun: ['All'] } : {});
