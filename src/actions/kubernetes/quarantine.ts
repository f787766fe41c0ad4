// SPDX-License-Identifier: Apache-2.0
/**
 * Network quarantine of exactly one pod. `isolate` labels the pod
 * `riposte.io/quarantine: <incident>` and applies (server-side apply, so a
 * second run changes nothing) a NetworkPolicy `riposte-quarantine-<pod>` that
 * selects that label and denies all ingress and egress except an optional
 * allow-list. `release` deletes that policy and removes the label (a JSON
 * patch with a `test` op, so a label another incident wrote meanwhile stays).
 * An `expiry` returns a follow-up: the engine runs `release` later, durably.
 */
import type { V1NetworkPolicy, V1NetworkPolicyPeer, V1NetworkPolicyPort, V1ObjectMeta, V1Pod } from '@kubernetes/client-node';
import { parseDuration } from '../../common/duration.ts';
import type { ActionContext, ActionResult } from '../types.ts';
import { ActionError } from '../types.ts';
import { dryRunArg, dryRunBody, FIELD_MANAGER, type KubeApis, patchAs } from './client.ts';
import type { KubeParams } from './declarations.ts';
import { kubeCall, kubeCallOrGone, kubeError, kubeFailure } from './errors.ts';
import { ANNOTATION, labelValue, MANAGED_BY, policyName, QUARANTINE_LABEL, refuse, requirePod } from './target.ts';

/** Where the cluster DNS runs (kube-dns and CoreDNS both carry `k8s-app: kube-dns`). */
export const CLUSTER_DNS: V1NetworkPolicyPeer = {
  namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } },
  podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
};

export interface QuarantineSpec {
  namespace: string;
  pod: string;
  podUid?: string;
  incident: string;
  runId: string;
  rule: string;
  allowDNS: boolean;
  allowCIDRs: string[];
  allowNamespaces: string[];
  expiry?: string;
}

/**
 * The NetworkPolicy as wire JSON. Patch bodies go out untyped (client-node
 * serialises them as `any`), so rules say `from`, not the model's `_from`.
 */
export interface PolicyManifest {
  apiVersion: 'networking.k8s.io/v1';
  kind: 'NetworkPolicy';
  metadata: V1ObjectMeta;
  spec: {
    podSelector: { matchLabels: Record<string, string> };
    policyTypes: ('Ingress' | 'Egress')[];
    ingress: { from: V1NetworkPolicyPeer[] }[];
    egress: { to: V1NetworkPolicyPeer[]; ports?: V1NetworkPolicyPort[] }[];
  };
}

/** The quarantine NetworkPolicy, as applied (apiVersion and kind included for server-side apply). */
export function quarantinePolicy(s: QuarantineSpec): PolicyManifest {
  const incident = labelValue(s.incident);
  const nsPeers: V1NetworkPolicyPeer[] = s.allowNamespaces.map((ns) => ({ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': ns } } }));
  const ingress: PolicyManifest['spec']['ingress'] = nsPeers.length ? [{ from: nsPeers }] : [];
  const egress: PolicyManifest['spec']['egress'] = [];
  if (s.allowDNS) egress.push({ to: [CLUSTER_DNS], ports: [{ protocol: 'UDP', port: 53 }, { protocol: 'TCP', port: 53 }] });
  if (s.allowCIDRs.length) egress.push({ to: s.allowCIDRs.map((cidr) => ({ ipBlock: { cidr } })) });
  if (nsPeers.length) egress.push({ to: nsPeers });
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: {
      name: policyName(s.pod),
      namespace: s.namespace,
      labels: { ...MANAGED_BY, [QUARANTINE_LABEL]: incident },
      annotations: {
        [ANNOTATION.incident]: s.incident,
        [ANNOTATION.run]: s.runId,
        [ANNOTATION.pod]: s.pod,
        [ANNOTATION.rule]: s.rule,
        ...(s.expiry ? { [ANNOTATION.expiry]: s.expiry } : {}),
      },
      // Owned by the pod: when the pod goes, the garbage collector takes its quarantine along.
      ...(s.podUid ? { ownerReferences: [{ apiVersion: 'v1', kind: 'Pod', name: s.pod, uid: s.podUid, controller: false, blockOwnerDeletion: false }] } : {}),
    },
    spec: { podSelector: { matchLabels: { [QUARANTINE_LABEL]: incident } }, policyTypes: ['Ingress', 'Egress'], ingress, egress },
  };
}

const isRipostes = (np: V1NetworkPolicy) => np.metadata?.labels?.['app.kubernetes.io/managed-by'] === 'riposte';
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

export async function isolate(apis: KubeApis, p: KubeParams, ctx: ActionContext): Promise<ActionResult> {
  const action = 'kubernetes.networkpolicy.isolate';
  const t = requirePod(action, p, ctx.alert);
  const pod: V1Pod = await kubeCall(action, { verb: 'get', resource: 'pods', namespace: t.namespace, name: t.pod }, () => apis.core.readNamespacedPod({ name: t.pod, namespace: t.namespace }));
  if (pod.spec?.hostNetwork) {
    throw refuse(action, `pod ${t.namespace}/${t.pod} uses the host network, and NetworkPolicies do not apply to host-network pods; use a node action or kubernetes.pod.delete`);
  }
  const name = policyName(t.pod);
  const existing = await kubeCallOrGone(action, { verb: 'get', resource: 'networkpolicies.networking.k8s.io', namespace: t.namespace, name }, () => apis.net.readNamespacedNetworkPolicy({ name, namespace: t.namespace }));
  if (existing && !isRipostes(existing)) {
    throw refuse(action, `NetworkPolicy ${t.namespace}/${name} exists and is not Riposte's (no app.kubernetes.io/managed-by=riposte label); not overwriting it`);
  }
  const expiry = typeof p.expiry === 'string' ? p.expiry : undefined;
  const policy = quarantinePolicy({
    namespace: t.namespace,
    pod: t.pod,
    podUid: pod.metadata?.uid,
    incident: ctx.incidentId,
    runId: ctx.runId,
    rule: ctx.alert.rule,
    allowDNS: p.allowDNS !== false,
    allowCIDRs: strings(p.allowCIDRs),
    allowNamespaces: strings(p.allowNamespaces),
    expiry,
  });
  const incident = labelValue(ctx.incidentId);
  const previous = pod.metadata?.labels?.[QUARANTINE_LABEL];
  // Policy first: it selects nothing until the label lands, and from then on the pod is cut off.
  const applied = await kubeCall(action, { verb: 'patch', resource: 'networkpolicies.networking.k8s.io', namespace: t.namespace, name }, () =>
    apis.net.patchNamespacedNetworkPolicy({ name, namespace: t.namespace, body: policy, fieldManager: FIELD_MANAGER, force: true, ...dryRunArg(ctx.dryRun) }, patchAs.apply()),
  );
  // metadata.uid in a patch is a precondition: never label a different pod that took this name meanwhile.
  await kubeCall(action, { verb: 'patch', resource: 'pods', namespace: t.namespace, name: t.pod }, () =>
    apis.core.patchNamespacedPod({ name: t.pod, namespace: t.namespace, body: { metadata: { uid: pod.metadata?.uid, labels: { [QUARANTINE_LABEL]: incident } } }, fieldManager: FIELD_MANAGER, ...dryRunArg(ctx.dryRun) }, patchAs.strategicMerge()),
  );
  const delayMs = expiry ? parseDuration(expiry) : undefined;
  const expiresAt = delayMs === undefined ? undefined : new Date(Date.now() + delayMs).toISOString();
  const allow = [p.allowDNS !== false && 'cluster DNS', ...strings(p.allowCIDRs), ...strings(p.allowNamespaces).map((n) => `namespace ${n}`)].filter(Boolean);
  return {
    output: { namespace: t.namespace, pod: t.pod, policy: name, incident, ...(expiresAt ? { expiresAt } : {}) },
    summary: `${ctx.dryRun ? '[dry run] ' : ''}isolated pod ${t.namespace}/${t.pod} with NetworkPolicy ${name} (deny all${allow.length ? `, allow ${allow.join(', ')}` : ''})${expiry ? `, lifted after ${expiry}` : ''}`,
    details: {
      namespace: t.namespace,
      pod: t.pod,
      uid: pod.metadata?.uid,
      policy: name,
      policyUid: applied.metadata?.uid,
      created: !existing,
      label: `${QUARANTINE_LABEL}=${incident}`,
      previousQuarantine: previous ?? null,
      allow,
      expiresAt: expiresAt ?? null,
      patch: 'apply (policy), strategic-merge (label)',
      dryRun: ctx.dryRun,
    },
    ...(delayMs !== undefined && !ctx.dryRun
      ? { followUps: [{ action: 'kubernetes.networkpolicy.release', params: { namespace: t.namespace, pod: t.pod, incident: ctx.incidentId }, delayMs, reason: `quarantine expiry ${expiry}` }] }
      : {}),
  };
}

export async function release(apis: KubeApis, p: KubeParams, ctx: ActionContext): Promise<ActionResult> {
  const action = 'kubernetes.networkpolicy.release';
  const t = requirePod(action, p, ctx.alert);
  const only = typeof p.incident === 'string' ? labelValue(p.incident) : undefined;
  const name = policyName(t.pod);
  const npOp = { verb: 'get', resource: 'networkpolicies.networking.k8s.io', namespace: t.namespace, name };
  const np = await kubeCallOrGone(action, npOp, () => apis.net.readNamespacedNetworkPolicy({ name, namespace: t.namespace }));
  const kept: string[] = [];
  let policyDeleted = false;
  if (np && !isRipostes(np)) throw refuse(action, `NetworkPolicy ${t.namespace}/${name} is not Riposte's (no app.kubernetes.io/managed-by=riposte label); not deleting it`);
  if (np) {
    const owner = np.metadata?.labels?.[QUARANTINE_LABEL];
    if (only && owner !== only) kept.push(`NetworkPolicy ${name} (it belongs to incident ${owner})`);
    else {
      const deleted = await kubeCallOrGone(action, { ...npOp, verb: 'delete' }, () =>
        apis.net.deleteNamespacedNetworkPolicy({ name, namespace: t.namespace, body: { preconditions: { uid: np.metadata?.uid }, ...dryRunBody(ctx.dryRun) } }),
      );
      policyDeleted = deleted !== undefined;
    }
  }
  const podOp = { verb: 'get', resource: 'pods', namespace: t.namespace, name: t.pod };
  const pod = await kubeCallOrGone(action, podOp, () => apis.core.readNamespacedPod({ name: t.pod, namespace: t.namespace }));
  const label = pod?.metadata?.labels?.[QUARANTINE_LABEL];
  let labelRemoved = false;
  if (label !== undefined && only && label !== only) kept.push(`label ${QUARANTINE_LABEL}=${label}`);
  else if (label !== undefined) {
    const path = `/metadata/labels/${QUARANTINE_LABEL.replace(/~/g, '~0').replace(/\//g, '~1')}`;
    try {
      await apis.core.patchNamespacedPod(
        { name: t.pod, namespace: t.namespace, body: [{ op: 'test', path, value: label }, { op: 'remove', path }], fieldManager: FIELD_MANAGER, ...dryRunArg(ctx.dryRun) },
        patchAs.json(),
      );
      labelRemoved = true;
    } catch (err) {
      const f = kubeFailure(err);
      if (f?.code === 404) {
        // the pod went meanwhile: nothing left to unlabel
      } else if (f?.code === 422 || f?.code === 409) {
        throw new ActionError(`${action}: the quarantine label of pod ${t.namespace}/${t.pod} changed meanwhile, will retry: ${f.message}`, { retryable: true });
      } else throw kubeError(action, { ...podOp, verb: 'patch' }, err);
    }
  }
  const did = [policyDeleted && `deleted NetworkPolicy ${name}`, labelRemoved && `removed label ${QUARANTINE_LABEL}`].filter(Boolean);
  const summary = did.length ? `released pod ${t.namespace}/${t.pod}: ${did.join(', ')}` : `pod ${t.namespace}/${t.pod} had no quarantine to release`;
  return {
    output: { namespace: t.namespace, pod: t.pod, released: did.length > 0, policyDeleted, labelRemoved },
    summary: `${ctx.dryRun ? '[dry run] ' : ''}${summary}${kept.length ? `; kept ${kept.join(' and ')}` : ''}`,
    details: { namespace: t.namespace, pod: t.pod, policy: name, policyDeleted, labelRemoved, kept, incident: p.incident ?? null, patch: 'json (test + remove)', dryRun: ctx.dryRun },
  };
}
