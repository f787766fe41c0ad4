// Smoke test of the real kube-apiserver harness: CRUD, merge-patch, status subresource,
// RBAC through a ServiceAccount (token and impersonation), and server-side dry-run.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ApiException, CoreV1Api, type KubeConfig, RbacAuthorizationV1Api, VersionApi } from '@kubernetes/client-node';
import { mergePatch, serviceAccountUser, setPodStatus, startTestCluster, type TestCluster } from './harness.ts';
import { k8sAssetsOrSkip } from './harness-availability.ts';

const NS = 'riposte-smoke';
const OTHER_NS = 'riposte-other';
const SA = 'responder';

/** HTTP status of a failed client-node call (ApiException.code), or rethrows. */
async function statusOf(p: Promise<unknown>): Promise<number> {
  try {
    await p;
    return 200;
  } catch (err) {
    if (err instanceof ApiException) return err.code;
    throw err;
  }
}

/** RBAC reads its objects from informer caches: a fresh binding can take a moment to apply. */
async function eventually<T>(fn: () => Promise<T>, timeoutMs = 10_000): Promise<T> {
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

// Skip each test (not the suite) so that a skip shows up in the runner's "skipped" count.
// Under CI=true, missing binaries throw here instead: CI must fail, not skip.
const skip = k8sAssetsOrSkip();

describe('k8s test harness (real kube-apiserver + etcd)', () => {
  let cluster: TestCluster;
  let core: CoreV1Api;

  before(async () => {
    if (skip) return;
    cluster = await startTestCluster();
    core = cluster.kubeConfig.makeApiClient(CoreV1Api);
  });

  after(async () => {
    await cluster?.stop();
  });

  test('serves a real API with the expected version', { skip }, async () => {
    const v = await cluster.kubeConfig.makeApiClient(VersionApi).getCode();
    assert.match(v.gitVersion, /^v1\.\d+\.\d+/);
    assert.match(cluster.server, /^https:\/\/127\.0\.0\.1:\d+$/);
  });

  test('namespace, pod, merge-patch of a label, status via the status subresource', { skip }, async () => {
    for (const name of [NS, OTHER_NS]) await core.createNamespace({ body: { metadata: { name } } });

    const created = await core.createNamespacedPod({
      namespace: NS,
      body: {
        metadata: { name: 'api-7f9c', labels: { app: 'api' } },
        // Never pulled or run: there is no kubelet.
        spec: { containers: [{ name: 'api', image: 'registry.invalid/api:1' }] },
      },
    });
    assert.equal(created.status?.phase, 'Pending');

    const patched = await core.patchNamespacedPod(
      { name: 'api-7f9c', namespace: NS, body: { metadata: { labels: { 'riposte.dev/quarantine': 'true' } } } },
      mergePatch(),
    );
    assert.deepEqual(patched.metadata?.labels, { app: 'api', 'riposte.dev/quarantine': 'true' });

    // Pods stay Pending (no scheduler/kubelet); tests play the kubelet through /status.
    await setPodStatus(core, NS, 'api-7f9c', {
      phase: 'Running',
      containerStatuses: [
        {
          name: 'api',
          image: 'registry.invalid/api:1',
          imageID: '',
          ready: true,
          restartCount: 0,
          containerID: 'containerd://0123456789abcdef',
          started: true,
          state: { running: { startedAt: new Date() } },
        },
      ],
    });
    const read = await core.readNamespacedPod({ name: 'api-7f9c', namespace: NS });
    assert.equal(read.status?.phase, 'Running');
    assert.equal(read.status?.containerStatuses?.[0]?.containerID, 'containerd://0123456789abcdef');
    assert.equal(read.metadata?.labels?.['riposte.dev/quarantine'], 'true');
  });

  test('RBAC: a ServiceAccount gets what its Role grants and 403 for the rest', { skip }, async () => {
    const rbac = cluster.kubeConfig.makeApiClient(RbacAuthorizationV1Api);
    await core.createNamespacedServiceAccount({ namespace: NS, body: { metadata: { name: SA } } });
    await rbac.createNamespacedRole({
      namespace: NS,
      body: {
        metadata: { name: 'pod-labeler' },
        rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'patch'] }],
      },
    });
    await rbac.createNamespacedRoleBinding({
      namespace: NS,
      body: {
        metadata: { name: 'pod-labeler' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'pod-labeler' },
        subjects: [{ kind: 'ServiceAccount', name: SA, namespace: NS }],
      },
    });

    const token = await cluster.serviceAccountToken(NS, SA);
    const viaToken = cluster.makeKubeConfigFor({ token });
    const viaImpersonation = cluster.makeKubeConfigFor({ impersonate: serviceAccountUser(NS, SA) });

    for (const [how, kc] of [
      ['token', viaToken],
      ['impersonation', viaImpersonation],
    ] as [string, KubeConfig][]) {
      const asSa = kc.makeApiClient(CoreV1Api);
      const pods = await eventually(() => asSa.listNamespacedPod({ namespace: NS }));
      assert.deepEqual(
        pods.items.map((p) => p.metadata?.name),
        ['api-7f9c'],
        how,
      );
      const patched = await asSa.patchNamespacedPod(
        { name: 'api-7f9c', namespace: NS, body: { metadata: { labels: { [`by-${how}`]: 'yes' } } } },
        mergePatch(),
      );
      assert.equal(patched.metadata?.labels?.[`by-${how}`], 'yes', how);

      assert.equal(await statusOf(asSa.deleteNamespacedPod({ name: 'api-7f9c', namespace: NS })), 403, how);
      assert.equal(await statusOf(asSa.listNamespacedSecret({ namespace: NS })), 403, how);
      assert.equal(await statusOf(asSa.listNamespacedPod({ namespace: OTHER_NS })), 403, how);
    }

    // A bad token is 401, not 403.
    const bogus = cluster.makeKubeConfigFor({ token: 'not-a-token' }).makeApiClient(CoreV1Api);
    assert.equal(await statusOf(bogus.listNamespacedPod({ namespace: NS })), 401);
  });

  test('server-side dry-run create persists nothing', { skip }, async () => {
    const body = { metadata: { name: 'dry' }, data: { k: 'v' } };
    const echoed = await core.createNamespacedConfigMap({ namespace: NS, body, dryRun: 'All' });
    assert.equal(echoed.metadata?.name, 'dry');
    assert.equal(echoed.data?.k, 'v');
    assert.equal(await statusOf(core.readNamespacedConfigMap({ name: 'dry', namespace: NS })), 404);

    // And the dry-run of a delete leaves the pod in place.
    await core.deleteNamespacedPod({ name: 'api-7f9c', namespace: NS, dryRun: 'All' });
    const still = await core.readNamespacedPod({ name: 'api-7f9c', namespace: NS });
    assert.equal(still.metadata?.name, 'api-7f9c');
  });
});
