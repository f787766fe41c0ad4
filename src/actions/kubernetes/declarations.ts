// SPDX-License-Identifier: Apache-2.0
/**
 * Cluster actions (`runsOn: cluster`), executed by the engine through the
 * Kubernetes API. Each declares the RBAC it needs; `riposte rbac` prints the
 * union for the loaded playbooks and deploy/ ships the union of all of them.
 * This file holds what the registry reads (names, parameters, RBAC, dry-run
 * words) and no client library; the calls live in executor.ts and are reached
 * through `ctx.services.kubernetes`. Without a cluster configured, execution
 * fails with "no cluster configured".
 */
import { alertField, durationParam, k8sName, stringList } from '../params.ts';
import { ActionError, type ActionContext, type ActionDefinition, type ActionResult, type RbacRule } from '../types.ts';
import { targetNode } from './target.ts';

export interface KubeParams {
  namespace?: string;
  pod?: string;
  [k: string]: unknown;
}

/** What `ctx.services.kubernetes` holds: runs the named Kubernetes action (see executor.ts). */
export type KubeExecutor = (name: string, params: KubeParams, ctx: ActionContext) => Promise<ActionResult>;

const namespace = k8sName('Namespace; defaults to the alert field k8s.ns.name.');
const pod = k8sName('Pod name; defaults to the alert field k8s.pod.name.');
const uid = { type: 'string', minLength: 1, description: 'Act only on the pod with this uid; defaults to the alert field k8s.pod.uid when present.' };

export function targetPod(p: KubeParams, alert: { output_fields: Record<string, unknown> }): { namespace?: string; pod?: string } {
  return { namespace: p.namespace ?? alertField(alert, 'k8s.ns.name'), pod: p.pod ?? alertField(alert, 'k8s.pod.name') };
}

function kubeAction(def: Omit<ActionDefinition<KubeParams>, 'runsOn' | 'execute'>): ActionDefinition<KubeParams> {
  return {
    ...def,
    runsOn: 'cluster',
    async execute(params, ctx) {
      const kube = ctx.services.kubernetes as KubeExecutor | undefined;
      if (!kube) throw new ActionError(`${def.name}: no cluster configured (set kubernetes.kubeconfig or run in a cluster)`, { retryable: false });
      return kube(def.name, params, ctx);
    },
  };
}

const obj = (properties: Record<string, unknown>, required: string[] = []) => ({ type: 'object', additionalProperties: false, properties: { namespace, pod, ...properties }, required });
const podRef = (p: KubeParams, a: { output_fields: Record<string, unknown> }) => {
  const t = targetPod(p, a);
  return `pod ${t.namespace ?? '?'}/${t.pod ?? '?'}`;
};
const rule = (apiGroups: string[], resources: string[], verbs: string[]): RbacRule => ({ apiGroups, resources, verbs });
const stringMap = { type: 'object', additionalProperties: { type: 'string' }, minProperties: 1 };

/**
 * Actions a step may schedule as durable follow-ups, by the parameter that makes
 * it do so: an isolate with `expiry` later runs release. `riposte rbac` grants
 * their rules too, or the follow-up would fail on a 403 hours later.
 */
export const FOLLOW_UP_ACTIONS: Record<string, { param: string; action: string }[]> = {
  'kubernetes.networkpolicy.isolate': [{ param: 'expiry', action: 'kubernetes.networkpolicy.release' }],
};

export const kubernetesActions: ActionDefinition<KubeParams>[] = [
  kubeAction({
    name: 'kubernetes.pod.delete',
    description: 'Delete (kill) the pod; its controller replaces it with a clean one. Refuses DaemonSet, StatefulSet and standalone pods unless allowed, and deletions that would leave fewer than minHealthyReplicas healthy pods of the owner.',
    params: obj({
      gracePeriodSeconds: { type: 'integer', minimum: 0, description: 'Default 0 (immediately).' },
      allowStandalone: { type: 'boolean', description: 'Also delete pods without a controller (default false).' },
      allowDaemonSet: { type: 'boolean', description: 'Also delete DaemonSet pods (default false).' },
      allowStatefulSet: { type: 'boolean', description: 'Also delete StatefulSet pods (default false).' },
      minHealthyReplicas: { type: 'integer', minimum: 0, description: 'Refuse when fewer other healthy (Running and Ready) pods of the owner would remain (default 0: no check).' },
      uid,
    }),
    destructive: true,
    idempotent: true,
    rbac: [rule([''], ['pods'], ['get', 'list', 'delete']), rule(['apps'], ['replicasets', 'deployments', 'statefulsets', 'daemonsets'], ['get'])],
    describe: (p, a) => `delete ${podRef(p, a)} (grace period ${p.gracePeriodSeconds ?? 0}s)${typeof p.minHealthyReplicas === 'number' && p.minHealthyReplicas > 0 ? ` if at least ${p.minHealthyReplicas} other healthy replica(s) remain` : ''}`,
  }),
  kubeAction({
    name: 'kubernetes.networkpolicy.isolate',
    description: 'Quarantine exactly this pod: label it riposte.io/quarantine=<incident> and apply a deny-all (ingress and egress) NetworkPolicy selecting that label, with an optional allow-list; lifted by kubernetes.networkpolicy.release or after `expiry`.',
    params: obj({
      allowDNS: { type: 'boolean', description: 'Allow DNS (UDP/TCP 53) to the cluster DNS, kube-system pods labelled k8s-app=kube-dns (default true).' },
      allowCIDRs: stringList('Egress destinations still allowed (CIDRs like 10.0.0.0/8).'),
      allowNamespaces: stringList('Namespaces still allowed, both directions (matched by their kubernetes.io/metadata.name label).'),
      expiry: durationParam('Lift the quarantine after'),
    }),
    destructive: true,
    idempotent: true,
    rbac: [rule([''], ['pods'], ['get', 'patch']), rule(['networking.k8s.io'], ['networkpolicies'], ['get', 'create', 'patch'])],
    describe: (p, a) => {
      const allow = [p.allowDNS !== false && 'cluster DNS', ...((p.allowCIDRs as string[] | undefined) ?? []), ...((p.allowNamespaces as string[] | undefined) ?? []).map((n) => `namespace ${n}`)].filter(Boolean);
      return `isolate ${podRef(p, a)} with a deny-all NetworkPolicy${allow.length ? ` (still allowed: ${allow.join(', ')})` : ''}${p.expiry ? ` for ${String(p.expiry)}` : ''}`;
    },
  }),
  kubeAction({
    name: 'kubernetes.networkpolicy.release',
    description: "Lift a pod's quarantine: delete Riposte's NetworkPolicy and remove the quarantine label.",
    params: obj({ incident: { type: 'string', minLength: 1, description: 'Only lift a quarantine this incident put in place (the expiry follow-up sets it).' } }),
    destructive: false,
    idempotent: true,
    rbac: [rule([''], ['pods'], ['get', 'patch']), rule(['networking.k8s.io'], ['networkpolicies'], ['get', 'delete'])],
    describe: (p, a) => `release ${podRef(p, a)} from quarantine`,
  }),
  kubeAction({
    name: 'kubernetes.pod.label',
    description: 'Add or change labels on the pod (strategic merge patch).',
    params: obj({ labels: stringMap }, ['labels']),
    destructive: false,
    idempotent: true,
    rbac: [rule([''], ['pods'], ['patch'])],
    describe: (p, a) => `label ${podRef(p, a)} with ${Object.entries((p.labels as Record<string, string>) ?? {}).map(([k, v]) => `${k}=${v}`).join(', ')}`,
  }),
  kubeAction({
    name: 'kubernetes.pod.annotate',
    description: 'Add or change annotations on the pod (JSON merge patch).',
    params: obj({ annotations: stringMap }, ['annotations']),
    destructive: false,
    idempotent: true,
    rbac: [rule([''], ['pods'], ['patch'])],
    describe: (p, a) => `annotate ${podRef(p, a)} with ${Object.keys((p.annotations as Record<string, string>) ?? {}).join(', ')}`,
  }),
  kubeAction({
    name: 'kubernetes.node.cordon',
    description: 'Mark the node unschedulable (no new pods land on it; running pods stay).',
    params: { type: 'object', additionalProperties: false, properties: { node: k8sName('Node; defaults to the alert field k8s.node.name, else the alert hostname.') } },
    destructive: true,
    idempotent: true,
    rbac: [rule([''], ['nodes'], ['get', 'patch'])],
    describe: (p, a) => `cordon node ${targetNode(p, a) ?? '?'}`,
  }),
  kubeAction({
    name: 'kubernetes.pod.evict',
    description: 'Evict the pod through the Eviction API, which respects PodDisruptionBudgets (a blocked eviction is retried).',
    params: obj({ gracePeriodSeconds: { type: 'integer', minimum: 0, description: "Default: the pod's own terminationGracePeriodSeconds." }, uid }),
    destructive: true,
    idempotent: true,
    rbac: [rule([''], ['pods'], ['get']), rule([''], ['pods/eviction'], ['create'])],
    describe: (p, a) => `evict ${podRef(p, a)} (PodDisruptionBudgets respected)`,
  }),
  kubeAction({
    name: 'kubernetes.workload.scale',
    description: "Scale the pod's owning workload (pod → ReplicaSet → Deployment, or StatefulSet / ReplicaSet), or a named one, e.g. to 0. The previous count is in the output.",
    params: {
      type: 'object',
      additionalProperties: false,
      required: ['replicas'],
      dependencies: { name: ['kind'] },
      properties: {
        namespace,
        pod,
        kind: { type: 'string', enum: ['Deployment', 'StatefulSet', 'ReplicaSet'], description: 'With `name`: the workload to scale. Alone: refuse unless the pod belongs to this kind.' },
        name: k8sName('Workload name (with `kind`); defaults to the owner of the pod.'),
        replicas: { type: 'integer', minimum: 0 },
      },
    },
    destructive: true,
    idempotent: true,
    rbac: [rule([''], ['pods'], ['get']), rule(['apps'], ['replicasets'], ['get']), rule(['apps'], ['deployments/scale', 'statefulsets/scale', 'replicasets/scale'], ['get', 'patch'])],
    describe: (p, a) => (typeof p.name === 'string' ? `scale ${String(p.kind)} ${p.namespace ?? targetPod(p, a).namespace ?? '?'}/${p.name} to ${String(p.replicas)} replicas` : `scale the workload of ${podRef(p, a)} to ${String(p.replicas)} replicas`),
  }),
  kubeAction({
    name: 'kubernetes.event.create',
    description: 'Write a Kubernetes Event (events.k8s.io/v1, reportingController riposte.io/engine) on the pod saying what Riposte did and why.',
    params: obj(
      {
        reason: { type: 'string', pattern: '^[A-Z][A-Za-z]{0,127}$', description: 'a CamelCase reason like RiposteContained' },
        message: { type: 'string', minLength: 1, maxLength: 1024 },
        type: { type: 'string', enum: ['Normal', 'Warning'], description: 'Default Warning.' },
        action: { type: 'string', pattern: '^[A-Za-z][A-Za-z0-9]{0,127}$', description: 'What was done, machine-readable (default Respond).' },
      },
      ['reason', 'message'],
    ),
    destructive: false,
    idempotent: true,
    rbac: [rule(['events.k8s.io'], ['events'], ['create']), rule([''], ['pods'], ['get'])],
    describe: (p, a) => `record a ${String(p.type ?? 'Warning')} Event "${String(p.reason)}" on ${podRef(p, a)}`,
  }),
];
