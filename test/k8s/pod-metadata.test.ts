// SPDX-License-Identifier: Apache-2.0
// Pod metadata for the detector from a real kube-apiserver: the agent's watch of its own node's
// pods (as the shipped riposte-agent ServiceAccount, impersonated) answers which pod a container
// is in, follows status, label and delete changes, ignores other nodes, and the container
// resolver picks the changes up. A watch that RBAC refuses logs one clear warning and retries.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CoreV1Api, type KubeConfig, type V1ContainerStatus } from '@kubernetes/client-node';
import { createLogger } from '../../src/common/log.ts';
import { parseImage, runtimeContainerId, startPodMetadata, type PodMetadata } from '../../src/kube/pod-metadata.ts';
import { ContainerResolver } from '../../detector/container/resolver.ts';
import { applyShippedIdentity } from './deploy-render.ts';
import { mergePatch, serviceAccountUser, setPodStatus, startTestCluster, type TestCluster } from './harness.ts';
import { k8sAssetsOrSkip } from './harness-availability.ts';
import { eventually, namespace } from './fixtures.ts';

const skip = k8sAssetsOrSkip();
const hex = (c: string) => c.repeat(64);
const WEB = hex('a');
const SIDECAR = hex('b');
const OTHER_NODE = hex('c');
const LATE = hex('d');

const running = (name: string, id: string, image: string, imageID = ''): V1ContainerStatus => ({ name, containerID: `containerd://${id}`, image, imageID, ready: true, restartCount: 0, started: true, state: { running: { startedAt: new Date() } } });

test('image references and runtime container ids parse as the kubelet reports them', () => {
  assert.deepEqual(parseImage('docker.io/library/nginx:1.27', `docker.io/library/nginx@sha256:${hex('e')}`), { repository: 'docker.io/library/nginx', tag: '1.27', id: `sha256:${hex('e')}` });
  assert.deepEqual(parseImage('registry:5000/team/app'), { repository: 'registry:5000/team/app' }, 'a registry port is not a tag');
  assert.deepEqual(parseImage(`ghcr.io/x/y@sha256:${hex('f')}`), { repository: 'ghcr.io/x/y', id: `sha256:${hex('f')}` });
  assert.equal(parseImage(undefined), undefined);
  assert.equal(runtimeContainerId(`containerd://${WEB}`), WEB);
  assert.equal(runtimeContainerId(`cri-o://${WEB}`), WEB);
  assert.equal(runtimeContainerId('containerd://short'), undefined);
  assert.equal(runtimeContainerId(undefined), undefined);
});

describe("the agent's watch of its node's pods (real kube-apiserver)", () => {
  let cluster: TestCluster;
  let agentKc: KubeConfig;
  let core: CoreV1Api;
  let pods: PodMetadata | undefined;
  let proc: string;
  const warnings: string[] = [];

  before(async () => {
    if (skip) return;
    cluster = await startTestCluster();
    core = cluster.kubeConfig.makeApiClient(CoreV1Api);
    await applyShippedIdentity(cluster.kubeConfig, 'agent', 'riposte-pods-test');
    agentKc = cluster.makeKubeConfigFor({ impersonate: serviceAccountUser('riposte-system', 'riposte-agent') });
    proc = mkdtempSync(join(tmpdir(), 'riposte-proc-'));
  });
  after(async () => {
    await pods?.stop();
    await cluster?.stop();
    if (proc) rmSync(proc, { recursive: true, force: true });
  });

  test('containers on this node resolve to pod, namespace, labels, container name and image; changes follow', { skip, timeout: 60_000 }, async () => {
    const ns = await namespace(cluster.kubeConfig, 'shop');
    const mk = (name: string, node: string, labels: Record<string, string>) =>
      core.createNamespacedPod({ namespace: ns, body: { metadata: { name, labels }, spec: { nodeName: node, containers: [{ name: 'web', image: 'nginx:1.27' }, { name: 'log', image: 'busybox' }] } } });
    const web = await mk('web-1', 'node-a', { app: 'web', tier: 'front' });
    await mk('web-2', 'node-b', { app: 'web' });
    await setPodStatus(core, ns, 'web-1', { phase: 'Running', containerStatuses: [running('web', WEB, 'docker.io/library/nginx:1.27', `docker.io/library/nginx@sha256:${hex('e')}`), running('log', SIDECAR, 'docker.io/library/busybox:latest')] });
    await setPodStatus(core, ns, 'web-2', { phase: 'Running', containerStatuses: [running('web', OTHER_NODE, 'docker.io/library/nginx:1.27')] });

    // the first list may race the RBAC caches picking up the binding: the watch retries by itself
    const log = createLogger({ level: 'warn', write: (l) => void warnings.push(l) });
    pods = startPodMetadata(agentKc, 'node-a', log);
    await pods.synced;
    const m = pods.lookup(WEB);
    assert.deepEqual(m, { name: 'web', image: { repository: 'docker.io/library/nginx', tag: '1.27', id: `sha256:${hex('e')}` }, k8s: { ns: 'shop', pod: { name: 'web-1', uid: web.metadata!.uid!, labels: { app: 'web', tier: 'front' } } } });
    assert.equal(pods.lookup(SIDECAR)?.name, 'log');
    assert.equal(pods.lookup(OTHER_NODE), undefined, "another node's pods are not watched");

    // the resolver: a container of a known pod that the kubelet has not reported yet gets the pod from the cgroup path's uid
    const uid = web.metadata!.uid!;
    const cgroup = (id: string) => `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${uid.replace(/-/g, '_')}.slice/cri-containerd-${id}.scope`;
    const pid = (n: number, id: string) => {
      mkdirSync(join(proc, String(n)), { recursive: true });
      writeFileSync(join(proc, String(n), 'cgroup'), `0::${cgroup(id)}\n`);
    };
    pid(100, WEB);
    pid(101, LATE);
    const resolver = new ContainerResolver({ cgroupRoot: null, procRoot: proc, metadataDir: join(proc, 'no-metadata'), metadataSource: pods });
    const a = resolver.resolve(1n, 100);
    assert.equal(a.container.id, WEB.slice(0, 12));
    assert.equal(a.container.name, 'web');
    assert.equal(a.container.image?.repository, 'docker.io/library/nginx');
    assert.deepEqual(a.k8s, { ns: 'shop', pod: { name: 'web-1', uid, labels: { app: 'web', tier: 'front' } } });
    const late = resolver.resolve(2n, 101);
    assert.equal(late.k8s?.pod?.name, 'web-1', 'pod known from the uid in the cgroup path');
    assert.equal(late.container.name, undefined, 'container name not reported yet');

    // the kubelet reports the late container; a label changes: cached answers follow
    await setPodStatus(core, ns, 'web-1', { phase: 'Running', containerStatuses: [running('web', WEB, 'docker.io/library/nginx:1.27'), running('log', SIDECAR, 'docker.io/library/busybox:latest'), running('debug', LATE, 'docker.io/library/alpine:3')] });
    await eventually(async () => assert.equal(resolver.resolve(2n, 101).container.name, 'debug'));
    await core.patchNamespacedPod({ name: 'web-1', namespace: ns, body: { metadata: { labels: { 'riposte.io/quarantine': 'inc-1' } } } }, mergePatch());
    await eventually(async () => assert.equal(resolver.resolve(1n, 100).k8s?.pod?.labels?.['riposte.io/quarantine'], 'inc-1'));
    assert.equal(resolver.resolve(1n, 100).k8s?.pod?.labels?.tier, 'front');

    // deleted: the container is no longer anybody's
    await core.deleteNamespacedPod({ name: 'web-1', namespace: ns, gracePeriodSeconds: 0 });
    await eventually(async () => assert.equal(pods!.lookup(WEB), undefined));
    assert.deepEqual(resolver.resolve(1n, 100).k8s, { pod: { uid } }, 'only what the cgroup path says');
    assert.equal(warnings.filter((w) => !/forbidden|403/i.test(w)).length, 0, warnings.join('\n'));
  });

  test('the agent may read pods and nothing else', { skip }, async () => {
    const agentCore = agentKc.makeApiClient(CoreV1Api);
    await eventually(() => agentCore.listPodForAllNamespaces({ fieldSelector: 'spec.nodeName=node-a' }));
    for (const attempt of [
      () => agentCore.deleteCollectionNamespacedPod({ namespace: 'shop' }),
      () => agentCore.listSecretForAllNamespaces(),
      () => agentCore.patchNamespacedPod({ name: 'web-2', namespace: 'shop', body: { metadata: { labels: { x: 'y' } } } }, mergePatch()),
    ]) {
      await assert.rejects(attempt(), (err: { code?: number }) => err.code === 403);
    }
  });

  test('a watch RBAC refuses says so once, keeps retrying, and stops cleanly', { skip, timeout: 30_000 }, async () => {
    const lines: string[] = [];
    const nobody = cluster.makeKubeConfigFor({ impersonate: serviceAccountUser('shop', 'nobody') });
    const refused = startPodMetadata(nobody, 'node-a', createLogger({ level: 'info', write: (l) => void lines.push(l) }));
    await eventually(async () => assert.ok(lines.length >= 1));
    await new Promise((r) => setTimeout(r, 3500)); // at least two retries (1 s, 2 s)
    await refused.stop();
    const warns = lines.map((l) => JSON.parse(l) as { level: string; msg: string; error?: string });
    assert.equal(warns.length, 1, `one warning for a repeated failure:\n${lines.join('\n')}`);
    assert.equal(warns[0]!.level, 'warn');
    assert.match(warns[0]!.error ?? '', /403/);
    assert.match(warns[0]!.error ?? '', /cannot list resource "pods"/);
    assert.equal(refused.lookup(WEB), undefined);
  });
});
