// SPDX-License-Identifier: Apache-2.0
/**
 * Objects and contexts for the Kubernetes action tests: namespaces, workloads
 * with real owner chains (Deployment → ReplicaSet → pods, StatefulSet,
 * DaemonSet, standalone), pods marked Running/Ready the way a kubelet would,
 * and a way to run a registered action exactly as the engine does (schema
 * check, then execute with `services.kubernetes`).
 */
import assert from 'node:assert/strict';
import { AppsV1Api, CoreV1Api, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { defaultRegistry } from '../../src/actions/index.ts';
import { createKubernetesExecutor } from '../../src/actions/kubernetes/executor.ts';
import { ActionError, type ActionContext, type ActionResult } from '../../src/actions/types.ts';
import type { Alert } from '../../src/alerts/alert.ts';
import { silentLogger } from '../../src/common/log.ts';
import { compileSchema } from '../../src/common/schema-check.ts';
import { setPodStatus } from './harness.ts';

const registry = defaultRegistry();

export function alertFor(namespace: string, pod: string, extra: Record<string, string> = {}): Alert {
  return {
    id: `alert-${namespace}-${pod}`,
    time: new Date().toISOString(),
    rule: 'Terminal shell in container',
    priority: 'warning',
    source: 'syscall',
    hostname: 'node-1',
    output: 'a shell was spawned',
    output_fields: { 'k8s.ns.name': namespace, 'k8s.pod.name': pod, ...extra },
    tags: ['container'],
  };
}

let seq = 0;
export function contextFor(kc: KubeConfig, alert: Alert, over: Partial<ActionContext> = {}): ActionContext {
  seq++;
  return {
    idempotencyKey: `run-${seq}:step:1`,
    runId: `run-${seq}`,
    stepId: 'step',
    incidentId: `0000000${seq % 10}-aaaa-bbbb-cccc-${String(seq).padStart(12, '0')}`,
    attempt: 1,
    alert,
    dryRun: false,
    log: silentLogger,
    signal: new AbortController().signal,
    services: { kubernetes: createKubernetesExecutor(kc) },
    ...over,
  };
}

/** Validates `params` against the action's schema (as the engine does), then executes it. */
export async function runAction(name: string, params: Record<string, unknown>, ctx: ActionContext): Promise<ActionResult> {
  const def = registry.get(name);
  assert.ok(def, `action ${name} is registered`);
  const validate = compileSchema(def.params);
  assert.ok(validate(params), `${name} params: ${JSON.stringify(validate.errors)}`);
  return def.execute(params, ctx);
}

/** The ActionError an action failed with (asserts that it failed with one). */
export async function actionError(p: Promise<unknown>): Promise<ActionError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof ActionError, `expected an ActionError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected the action to fail');
}

export async function namespace(kc: KubeConfig, name: string): Promise<string> {
  await kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name } } });
  return name;
}

const container = [{ name: 'app', image: 'registry.invalid/app:1' }];

/** Plays the kubelet: the pod is Running and Ready. */
export async function markReady(core: CoreV1Api, ns: string, name: string): Promise<void> {
  await setPodStatus(core, ns, name, {
    phase: 'Running',
    conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: new Date() }],
    containerStatuses: [{ name: 'app', image: 'registry.invalid/app:1', imageID: '', ready: true, restartCount: 0, started: true, state: { running: { startedAt: new Date() } } }],
  });
}

export async function standalonePod(kc: KubeConfig, ns: string, name: string, spec: Partial<V1Pod['spec']> = {}, labels: Record<string, string> = {}): Promise<V1Pod> {
  const core = kc.makeApiClient(CoreV1Api);
  const pod = await core.createNamespacedPod({ namespace: ns, body: { metadata: { name, labels: { app: name, ...labels } }, spec: { containers: container, ...spec } } });
  await markReady(core, ns, name);
  return pod;
}

export interface Chain {
  deployment?: string;
  owner: { kind: string; name: string; uid: string };
  pods: string[];
}

/** A Deployment with one ReplicaSet and `ready` Running+Ready pods plus `notReady` Pending ones. */
export async function deploymentWithPods(kc: KubeConfig, ns: string, name: string, ready: number, notReady = 0): Promise<Chain> {
  const apps = kc.makeApiClient(AppsV1Api);
  const core = kc.makeApiClient(CoreV1Api);
  const labels = { app: name };
  const template = { metadata: { labels }, spec: { containers: container } };
  const d = await apps.createNamespacedDeployment({ namespace: ns, body: { metadata: { name }, spec: { replicas: ready + notReady, selector: { matchLabels: labels }, template } } });
  const rsName = `${name}-7f9c6d`;
  const rs = await apps.createNamespacedReplicaSet({
    namespace: ns,
    body: {
      metadata: { name: rsName, labels, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name, uid: d.metadata!.uid!, controller: true }] },
      spec: { replicas: ready + notReady, selector: { matchLabels: labels }, template },
    },
  });
  const pods: string[] = [];
  for (let i = 0; i < ready + notReady; i++) {
    const podName = `${rsName}-p${i}`;
    await core.createNamespacedPod({
      namespace: ns,
      body: { metadata: { name: podName, labels, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: rsName, uid: rs.metadata!.uid!, controller: true }] }, spec: { containers: container } },
    });
    if (i < ready) await markReady(core, ns, podName);
    pods.push(podName);
  }
  return { deployment: name, owner: { kind: 'ReplicaSet', name: rsName, uid: rs.metadata!.uid! }, pods };
}

/** A StatefulSet or DaemonSet with one pod it controls. */
export async function controllerWithPod(kc: KubeConfig, ns: string, kind: 'StatefulSet' | 'DaemonSet', name: string): Promise<Chain> {
  const apps = kc.makeApiClient(AppsV1Api);
  const labels = { app: name };
  const template = { metadata: { labels }, spec: { containers: container } };
  const obj =
    kind === 'StatefulSet'
      ? await apps.createNamespacedStatefulSet({ namespace: ns, body: { metadata: { name }, spec: { replicas: 1, serviceName: name, selector: { matchLabels: labels }, template } } })
      : await apps.createNamespacedDaemonSet({ namespace: ns, body: { metadata: { name }, spec: { selector: { matchLabels: labels }, template } } });
  const podName = kind === 'StatefulSet' ? `${name}-0` : `${name}-x7k2q`;
  const core = kc.makeApiClient(CoreV1Api);
  await core.createNamespacedPod({
    namespace: ns,
    body: { metadata: { name: podName, labels, ownerReferences: [{ apiVersion: 'apps/v1', kind, name, uid: obj.metadata!.uid!, controller: true }] }, spec: { containers: container } },
  });
  await markReady(core, ns, podName);
  return { owner: { kind, name, uid: obj.metadata!.uid! }, pods: [podName] };
}

/** RBAC decisions read from informer caches: retry a call until it stops failing with 403. */
export async function eventually<T>(fn: () => Promise<T>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
