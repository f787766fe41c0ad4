// SPDX-License-Identifier: Apache-2.0
// The shipped RBAC suffices: deploy/'s ServiceAccount, ClusterRole and binding applied to a
// real API server, then every action run as the engine's ServiceAccount (impersonated).
// And least privilege bites: a role printed by `riposte rbac --playbooks` for a label-only
// playbook lets that action through and fails any other with a clear, non-retryable 403.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AppsV1Api, CoreV1Api, type KubeConfig, KubernetesObjectApi, NetworkingV1Api, PatchStrategy, PolicyV1Api } from '@kubernetes/client-node';
import { parse } from 'yaml';
import { CLI, ROOT } from '../helpers/process.ts';
import { applyShippedIdentity } from './deploy-render.ts';
import { mergePatch, serviceAccountUser, startTestCluster, type TestCluster } from './harness.ts';
import { k8sAssetsOrSkip } from './harness-availability.ts';
import { actionError, alertFor, contextFor, controllerWithPod, deploymentWithPods, eventually, namespace, runAction } from './fixtures.ts';

const skip = k8sAssetsOrSkip();

describe('RBAC of the engine (real kube-apiserver, real authorizer)', () => {
  let cluster: TestCluster;
  let engineKc: KubeConfig;

  before(async () => {
    if (skip) return;
    cluster = await startTestCluster();
    await applyShippedIdentity(cluster.kubeConfig, 'engine', 'riposte-rbac-test');
    engineKc = cluster.makeKubeConfigFor({ impersonate: serviceAccountUser('riposte-system', 'riposte-engine') });
  });
  after(async () => {
    await cluster?.stop();
  });

  test('every action succeeds as riposte-system/riposte-engine with the shipped ClusterRole', { skip }, async () => {
    const admin = cluster.kubeConfig;
    const ns = await namespace(admin, 'workloads');
    const chain = await deploymentWithPods(admin, ns, 'api', 4);
    const [p0, p1, p2, p3] = chain.pods as [string, string, string, string];
    await cluster.kubeConfig.makeApiClient(CoreV1Api).createNode({ body: { metadata: { name: 'node-3' } } });
    const policy = admin.makeApiClient(PolicyV1Api);
    await policy.createNamespacedPodDisruptionBudget({ namespace: ns, body: { metadata: { name: 'api' }, spec: { maxUnavailable: 1, selector: { matchLabels: { app: 'api' } } } } });
    await policy.patchNamespacedPodDisruptionBudgetStatus({ name: 'api', namespace: ns, body: { status: { observedGeneration: 1, disruptionsAllowed: 1, currentHealthy: 4, desiredHealthy: 3, expectedPods: 4 } } }, mergePatch());
    const sts = await controllerWithPod(admin, ns, 'StatefulSet', 'db');

    const as = (pod: string, extra: Record<string, string> = {}) => contextFor(engineKc, alertFor(ns, pod, extra));
    const runs: [string, Record<string, unknown>, ReturnType<typeof as>][] = [
      ['kubernetes.pod.label', { labels: { 'riposte.io/flagged': 'true' } }, as(p0)],
      ['kubernetes.pod.annotate', { annotations: { 'riposte.io/note': 'seen' } }, as(p0)],
      ['kubernetes.event.create', { reason: 'RiposteFlagged', message: 'labelled' }, as(p0)],
      ['kubernetes.networkpolicy.isolate', { allowNamespaces: ['monitoring'], expiry: '1h' }, as(p1)],
      ['kubernetes.networkpolicy.release', {}, as(p1)],
      ['kubernetes.pod.delete', { minHealthyReplicas: 2 }, as(p2)],
      ['kubernetes.pod.evict', {}, as(p3)],
      ['kubernetes.workload.scale', { replicas: 1 }, as(p0)],
      ['kubernetes.workload.scale', { kind: 'StatefulSet', name: 'db', replicas: 0 }, as(sts.pods[0]!)],
      ['kubernetes.node.cordon', {}, as(p0, { 'k8s.node.name': 'node-3' })],
    ];
    const done = new Set<string>();
    for (const [name, params, ctx] of runs) {
      // the first call may race the RBAC informer caches picking up the binding
      const r = await (done.size === 0 ? eventually(() => runAction(name, params, ctx)) : runAction(name, params, ctx));
      assert.ok(r.summary, name);
      done.add(name);
    }
    const { defaultRegistry } = await import('../../src/actions/index.ts');
    const all = defaultRegistry().all().filter((a) => a.runsOn === 'cluster').map((a) => a.name);
    assert.deepEqual([...done].sort(), all.sort(), 'every cluster action was exercised');

    // and the effects are real
    assert.equal((await admin.makeApiClient(AppsV1Api).readNamespacedDeployment({ name: 'api', namespace: ns })).spec?.replicas, 1);
    assert.equal((await admin.makeApiClient(NetworkingV1Api).listNamespacedNetworkPolicy({ namespace: ns })).items.length, 0, 'isolated, then released');
  });

  test('a role from `riposte rbac --playbooks` for a label-only playbook: label works, delete fails with a clear 403', { skip }, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'riposte-rbac-'));
    let role: Record<string, any>;
    try {
      await writeFile(
        join(dir, 'label.yaml'),
        ['apiVersion: riposte.dev/v1', 'kind: Playbook', 'metadata: { name: label-only }', 'trigger: { rules: [x] }', 'steps:', '  - id: label', '    action: kubernetes.pod.label', '    with: { labels: { flagged: "true" } }', ''].join('\n'),
      );
      const r = spawnSync(process.execPath, [CLI, 'rbac', '--playbooks', dir, '--name', 'riposte-narrow'], { encoding: 'utf8', cwd: ROOT });
      assert.equal(r.status, 0, r.stderr);
      role = parse(r.stdout);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    assert.deepEqual(role.rules, [{ apiGroups: [''], resources: ['pods'], verbs: ['patch'] }]);

    const admin = cluster.kubeConfig;
    const apply = KubernetesObjectApi.makeApiClient(admin);
    await admin.makeApiClient(CoreV1Api).createNamespacedServiceAccount({ namespace: 'riposte-system', body: { metadata: { name: 'riposte-narrow' } } });
    await apply.patch(role as any, undefined, undefined, 'riposte-rbac-test', true, PatchStrategy.ServerSideApply);
    await apply.patch(
      { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: 'riposte-narrow' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'riposte-narrow' }, subjects: [{ kind: 'ServiceAccount', name: 'riposte-narrow', namespace: 'riposte-system' }] } as any,
      undefined,
      undefined,
      'riposte-rbac-test',
      true,
      PatchStrategy.ServerSideApply,
    );
    // a real ServiceAccount token this time (TokenRequest), not impersonation
    const narrow = cluster.makeKubeConfigFor({ token: await cluster.serviceAccountToken('riposte-system', 'riposte-narrow') });
    const ns = await namespace(admin, 'narrow');
    const chain = await deploymentWithPods(admin, ns, 'web', 2);
    const ctx = () => contextFor(narrow, alertFor(ns, chain.pods[0]!));
    await eventually(() => runAction('kubernetes.pod.label', { labels: { flagged: 'true' } }, ctx()));

    const err = await actionError(runAction('kubernetes.pod.delete', {}, ctx()));
    assert.equal(err.retryable, false);
    assert.match(err.message, /^kubernetes\.pod\.delete: forbidden: Riposte may not get pods in namespace narrow \(RBAC\)\. Grant it in the engine's ClusterRole \("riposte rbac" prints the rules the playbooks need\)/);
    assert.match(err.message, /User "system:serviceaccount:riposte-system:riposte-narrow" cannot get resource "pods"/);
    const iso = await actionError(runAction('kubernetes.networkpolicy.isolate', {}, ctx()));
    assert.match(iso.message, /forbidden: Riposte may not get pods in namespace narrow/);
    const cordon = await actionError(runAction('kubernetes.node.cordon', { node: 'node-3' }, ctx()));
    assert.match(cordon.message, /forbidden: Riposte may not get nodes \(RBAC\)/);
  });
});
