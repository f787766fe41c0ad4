// SPDX-License-Identifier: Apache-2.0
/**
 * Cluster actions (`runsOn: cluster`), executed by the engine through the
 * Kubernetes API. Each declares the RBAC it needs; `riposte rbac` prints the
 * union for the loaded playbooks. Without a cluster configured, execution
 * fails with "no cluster configured".
 */
import { alertField, durationParam, k8sName, stringList } from '../params.ts';
import { ActionError, type ActionDefinition, type RbacRule } from '../types.ts';

export interface KubeParams {
  namespace?: string;
  pod?: string;
  [k: string]: unknown;
}

const namespace = k8sName('Namespace; defaults to the alert field k8s.ns.name.');
const pod = k8sName('Pod name; defaults to the alert field k8s.pod.name.');

export function targetPod(p: KubeParams, alert: { output_fields: Record<string, unknown> }): { namespace?: string; pod?: string } {
  return { namespace: p.namespace ?? alertField(alert, 'k8s.ns.name'), pod: p.pod ?? alertField(alert, 'k8s.pod.name') };
}

type KubeExecutor = (name: string, params: KubeParams, ctx: Parameters<ActionDefinition['execute']>[1]) => Promise<Awaited<ReturnType<ActionDefinition['execute']>>>;

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

export const kubernetesActions: ActionDefinition<KubeParams>[] = [
  kubeAction({
    name: 'kubernetes.pod.delete',
    description: 'Delete (kill) the pod; its controller replaces it with a clean one.',
    params: obj({
      gracePeriodSeconds: { type: 'integer', minimum: 0, description: 'Default 0.' },
      allowStandalone: { type: 'boolean', description: 'Also delete pods without a controller (default false).' },
      allowDaemonSet: { type: 'boolean' },
      allowStatefulSet: { type: 'boolean' },
      minHealthyReplicas: { type: 'integer', minimum: 0, description: 'Refuse when fewer ready replicas of the owner would remain.' },
    }),
    destructive: true,
    idempotent: true,
    rbac: [rule([''], ['pods'], ['get', 'list', 'delete']), rule(['apps'], ['replicasets', 'deployments', 'statefulsets', 'daemonsets'], ['get'])],
    describe: (p, a) => `delete ${podRef(p, a)} (grace period ${p.gracePeriodSeconds ?? 0}s)`,
  }),
  kubeAction({
    name: 'kubernetes.networkpolicy.isolate',
    description: 'Quarantine exactly this pod: label it and apply a deny-all NetworkPolicy selecting that label, with an optional allow-list.',
    params: obj({
      allowDNS: { type: 'boolean', description: 'Allow DNS to the cluster DNS (default true).' },
      allowCIDRs: stringList('Egress destinations still allowed.'),
      allowNamespaces: stringList('Namespaces still allowed (both directions).'),
      expiry: durationParam('Lift the quarantine after'),
    }),
    destructive: true,
    idempotent: true,
    rbac: [rule([''], ['pods'], ['get', 'patch']), rule(['networking.k8s.io'], ['networkpolicies'], ['get', 'create', 'patch', 'update', 'delete'])],
    describe: (p, a) => `isolate ${podRef(p, a)} with a deny-all NetworkPolicy${p.expiry ? ` for ${String(p.expiry)}` : ''}`,
  }),
  kubeAction({
    name: 'kubernetes.networkpolicy.release',
    description: "Lift a pod's quarantine: delete Riposte's NetworkPolicy and the quarantine label.",
    params: obj({}),
    destructive: false,
    idempotent: true,
    rbac: [rule([''], ['pods'], ['get', 'patch']), rule(['networking.k8s.io'], ['networkpolicies'], ['get', 'delete'])],
    describe: (p, a) => `release ${podRef(p, a)} from quarantine`,
  }),
  kubeAction({
    name: 'kubernetes.pod.label',
    description: 'Add or change labels on the pod (strategic merge patch).',
    params: obj({ labels: { type: 'object', additionalProperties: { type: 'string' }, minProperties: 1 } }, ['labels']),
    destructive: false,
    idempotent: true,
    rbac: [rule([''], ['pods'], ['get', 'patch'])],
    describe: (p, a) => `label ${podRef(p, a)} with ${Object.entries((p.labels as Record<string, string>) ?? {}).map(([k, v]) => `${k}=${v}`).join(', ')}`,
  }),
  kubeAction({
    name: 'kubernetes.pod.annotate',
    description: 'Add or change annotations on the pod (merge patch).',
    params: obj({ annotations: { type: 'object', additionalProperties: { type: 'string' }, minProperties: 1 } }, ['annotations']),
    destructive: false,
    idempotent: true,
    rbac: [rule([''], ['pods'], ['get', 'patch'])],
    describe: (p, a) => `annotate ${podRef(p, a)}`,
  }),
  kubeAction({
    name: 'kubernetes.node.cordon',
    description: 'Mark the node unschedulable.',
    params: { type: 'object', additionalProperties: false, properties: { node: k8sName('Node; defaults to the alert hostname.') } },
    destructive: true,
    idempotent: true,
    rbac: [rule([''], ['nodes'], ['get', 'patch'])],
    describe: (p, a) => `cordon node ${String(p.node ?? (a as { hostname?: string }).hostname ?? '?')}`,
  }),
  kubeAction({
    name: 'kubernetes.pod.evict',
    description: 'Evict the pod through the Eviction API (respects PodDisruptionBudgets).',
    params: obj({ gracePeriodSeconds: { type: 'integer', minimum: 0 } }),
    destructive: true,
    idempotent: true,
    rbac: [rule([''], ['pods'], ['get']), rule([''], ['pods/eviction'], ['create'])],
    describe: (p, a) => `evict ${podRef(p, a)}`,
  }),
  kubeAction({
    name: 'kubernetes.workload.scale',
    description: "Scale the pod's owning workload (e.g. to 0).",
    params: { type: 'object', additionalProperties: false, required: ['replicas'], properties: { namespace, pod, kind: { type: 'string', enum: ['Deployment', 'StatefulSet', 'ReplicaSet'] }, name: k8sName('Workload name; defaults to the owner of the pod.'), replicas: { type: 'integer', minimum: 0 } } },
    destructive: true,
    idempotent: true,
    rbac: [rule([''], ['pods'], ['get']), rule(['apps'], ['deployments/scale', 'statefulsets/scale', 'replicasets/scale'], ['get', 'patch', 'update']), rule(['apps'], ['replicasets', 'deployments', 'statefulsets'], ['get'])],
    describe: (p, a) => `scale the workload of ${podRef(p, a)} to ${String(p.replicas)} replicas`,
  }),
  kubeAction({
    name: 'kubernetes.event.create',
    description: 'Write a Kubernetes Event on the pod saying what Riposte did and why.',
    params: obj({ reason: { type: 'string', pattern: '^[A-Z][A-Za-z]{0,127}$', description: 'a CamelCase reason like RiposteContained' }, message: { type: 'string', minLength: 1, maxLength: 1024 }, type: { type: 'string', enum: ['Normal', 'Warning'] } }, ['reason', 'message']),
    destructive: false,
    idempotent: true,
    rbac: [rule([''], ['events'], ['create']), rule(['events.k8s.io'], ['events'], ['create']), rule([''], ['pods'], ['get'])],
    describe: (p, a) => `record a ${String(p.type ?? 'Warning')} Event "${String(p.reason)}" on ${podRef(p, a)}`,
  }),
];
