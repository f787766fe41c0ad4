// SPDX-License-Identifier: Apache-2.0
// Every Kubernetes action against a real kube-apiserver + etcd: each patch type, the
// guards and refusals, idempotency, dry runs, and the PodDisruptionBudget on eviction.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { AppsV1Api, CoreV1Api, EventsV1Api, NetworkingV1Api, PolicyV1Api } from '@kubernetes/client-node';
import { policyName, QUARANTINE_LABEL } from '../../src/actions/kubernetes/target.ts';
import { k8sAssetsOrSkip } from './harness-availability.ts';
import { startTestCluster, type TestCluster } from './harness.ts';
import { actionError, alertFor, contextFor, controllerWithPod, deploymentWithPods, markReady, namespace, runAction, standalonePod } from './fixtures.ts';

const skip = k8sAssetsOrSkip();

describe('kubernetes actions (real kube-apiserver)', () => {
  let cluster: TestCluster;
  let core: CoreV1Api;
  let apps: AppsV1Api;
  let net: NetworkingV1Api;

  before(async () => {
    if (skip) return;
    cluster = await startTestCluster();
    core = cluster.kubeConfig.makeApiClient(CoreV1Api);
    apps = cluster.kubeConfig.makeApiClient(AppsV1Api);
    net = cluster.kubeConfig.makeApiClient(NetworkingV1Api);
  });
  after(async () => {
    await cluster?.stop();
  });

  const ctx = (ns: string, pod: string, over = {}) => contextFor(cluster.kubeConfig, alertFor(ns, pod), over);

  test('pod.label: strategic merge patch adds labels and keeps the others; twice is the same', { skip }, async () => {
    const ns = await namespace(cluster.kubeConfig, 'label');
    await standalonePod(cluster.kubeConfig, ns, 'web');
    const r = await runAction('kubernetes.pod.label', { labels: { 'riposte.io/flagged': 'true' } }, ctx(ns, 'web'));
    assert.match(r.summary, /labelled pod label\/web with riposte.io\/flagged=true/);
    assert.equal(r.details?.patch, 'strategic-merge');
    const rv = (await core.readNamespacedPod({ name: 'web', namespace: ns })).metadata?.resourceVersion;
    await runAction('kubernetes.pod.label', { labels: { 'riposte.io/flagged': 'true' } }, ctx(ns, 'web'));
    const pod = await core.readNamespacedPod({ name: 'web', namespace: ns });
    assert.deepEqual(pod.metadata?.labels, { app: 'web', 'riposte.io/flagged': 'true' });
    assert.equal(pod.metadata?.resourceVersion, rv, 'the same label twice changes nothing');
    assert.ok(pod.metadata?.managedFields?.some((m) => m.manager === 'riposte'), 'writes carry fieldManager riposte');
  });

  test('pod.label: an invalid label value is a non-retryable error with the server reason', { skip }, async () => {
    const ns = await namespace(cluster.kubeConfig, 'label-bad');
    await standalonePod(cluster.kubeConfig, ns, 'web');
    const err = await actionError(runAction('kubernetes.pod.label', { labels: { flagged: 'not a valid value!' } }, ctx(ns, 'web')));
    assert.equal(err.retryable, false);
    assert.match(err.message, /rejected patch pods label-bad\/web \(422 Invalid\).*metadata\.labels/);
  });

  test('pod.annotate: JSON merge patch', { skip }, async () => {
    const ns = await namespace(cluster.kubeConfig, 'annotate');
    await standalonePod(cluster.kubeConfig, ns, 'web');
    const r = await runAction('kubernetes.pod.annotate', { annotations: { 'riposte.io/incident': 'abc', note: 'seen a shell' } }, ctx(ns, 'web'));
    assert.equal(r.details?.patch, 'merge');
    const pod = await core.readNamespacedPod({ name: 'web', namespace: ns });
    assert.equal(pod.metadata?.annotations?.['riposte.io/incident'], 'abc');
    assert.equal(pod.metadata?.annotations?.note, 'seen a shell');
  });

  test('a missing target pod is refused with the reason; a pod that does not exist is a clear 404', { skip }, async () => {
    const alert = alertFor('x', 'y');
    alert.output_fields = {};
    const err = await actionError(runAction('kubernetes.pod.label', { labels: { a: 'b' } }, contextFor(cluster.kubeConfig, alert)));
    assert.equal(err.retryable, false);
    assert.match(err.message, /refused: no target pod: the step sets no namespace \(alert field k8s\.ns\.name\) and pod \(alert field k8s\.pod\.name\)/);
    const ns = await namespace(cluster.kubeConfig, 'nopod');
    const gone = await actionError(runAction('kubernetes.pod.annotate', { annotations: { a: 'b' } }, ctx(ns, 'ghost')));
    assert.equal(gone.retryable, false);
    assert.match(gone.message, /pods nopod\/ghost not found/);
  });

  test('pod.delete: deletes a Deployment pod at once (grace 0); again: already gone', { skip }, async () => {
    const ns = await namespace(cluster.kubeConfig, 'delete');
    const chain = await deploymentWithPods(cluster.kubeConfig, ns, 'api', 3);
    const target = chain.pods[0]!;
    const c = ctx(ns, target);
    const r = await runAction('kubernetes.pod.delete', { gracePeriodSeconds: 0 }, c);
    assert.equal(r.output.deleted, true);
    assert.equal(r.details?.owner, `ReplicaSet/${chain.owner.name}`);
    await assert.rejects(core.readNamespacedPod({ name: target, namespace: ns }), (e: { code?: number }) => e.code === 404);
    const again = await runAction('kubernetes.pod.delete', {}, c);
    assert.equal(again.output.alreadyGone, true);
  });

  test('pod.delete guards: standalone, DaemonSet and StatefulSet pods are refused unless allowed', { skip }, async () => {
    const ns = await namespace(cluster.kubeConfig, 'guards');
    await standalonePod(cluster.kubeConfig, ns, 'lonely');
    const ds = await controllerWithPod(cluster.kubeConfig, ns, 'DaemonSet', 'agent');
    const sts = await controllerWithPod(cluster.kubeConfig, ns, 'StatefulSet', 'db');
    const cases: [string, RegExp, string][] = [
      ['lonely', /has no controller, so nothing would recreate it \(set allowStandalone: true/, 'allowStandalone'],
      [ds.pods[0]!, /belongs to DaemonSet agent: .*\(set allowDaemonSet: true/, 'allowDaemonSet'],
      [sts.pods[0]!, /belongs to StatefulSet db: it would come back with the same name and volumes \(set allowStatefulSet: true/, 'allowStatefulSet'],
    ];
    for (const [pod, why, allow] of cases) {
      const err = await actionError(runAction('kubernetes.pod.delete', {}, ctx(ns, pod)));
      assert.equal(err.retryable, false);
      assert.match(err.message, /^kubernetes\.pod\.delete: refused: /);
      assert.match(err.message, why);
      assert.ok(await core.readNamespacedPod({ name: pod, namespace: ns }), `${pod} is still there`);
      const r = await runAction('kubernetes.pod.delete', { [allow]: true }, ctx(ns, pod));
      assert.equal(r.output.deleted, true, `${pod} deleted with ${allow}`);
    }
  });

  test('pod.delete guard: minHealthyReplicas counts the Ready pods of the Deployment', { skip }, async () => {
    const ns = await namespace(cluster.kubeConfig, 'minhealthy');
    const chain = await deploymentWithPods(cluster.kubeConfig, ns, 'api', 2, 1); // 2 Ready + 1 Pending
    const err = await actionError(runAction('kubernetes.pod.delete', { minHealthyReplicas: 2 }, ctx(ns, chain.pods[0]!)));
    assert.equal(err.retryable, false);
    assert.match(err.message, /would leave 1 healthy replica\(s\) of Deployment api; minHealthyReplicas is 2/);
    const ok = await runAction('kubernetes.pod.delete', { minHealthyReplicas: 1 }, ctx(ns, chain.pods[0]!));
    assert.equal(ok.details?.healthyOthers, 1);
  });

  test('pod.delete: the pod of the alert only (a replacement with another uid is left alone)', { skip }, async () => {
    const ns = await namespace(cluster.kubeConfig, 'uid');
    const sts = await controllerWithPod(cluster.kubeConfig, ns, 'StatefulSet', 'db');
    const c = contextFor(cluster.kubeConfig, alertFor(ns, sts.pods[0]!, { 'k8s.pod.uid': 'uid-of-an-earlier-pod' }));
    const r = await runAction('kubernetes.pod.delete', { allowStatefulSet: true }, c);
    assert.equal(r.output.alreadyGone, true);
    assert.match(r.summary, /replaced: .*left alone/);
    assert.ok(await core.readNamespacedPod({ name: sts.pods[0]!, namespace: ns }));
  });

  test('dry run: every action sends dryRun=All and the cluster is unchanged', { skip }, async () => {
    const ns = await namespace(cluster.kubeConfig, 'dryrun');
    const chain = await deploymentWithPods(cluster.kubeConfig, ns, 'api', 2);
    const pod = chain.pods[0]!;
    await core.createNode({ body: { metadata: { name: 'node-dry' } } });
    // a quarantine to (not) release
    await runAction('kubernetes.networkpolicy.isolate', {}, ctx(ns, chain.pods[1]!));
    const before = JSON.stringify(await snapshot(ns));
    const runs: [string, Record<string, unknown>, string][] = [
      ['kubernetes.pod.delete', {}, pod],
      ['kubernetes.pod.evict', {}, pod],
      ['kubernetes.pod.label', { labels: { x: 'y' } }, pod],
      ['kubernetes.pod.annotate', { annotations: { x: 'y' } }, pod],
      ['kubernetes.networkpolicy.isolate', { expiry: '1h' }, pod],
      ['kubernetes.networkpolicy.release', {}, chain.pods[1]!],
      ['kubernetes.workload.scale', { replicas: 0 }, pod],
      ['kubernetes.node.cordon', { node: 'node-dry' }, pod],
      ['kubernetes.event.create', { reason: 'RiposteDryRun', message: 'nothing happens' }, pod],
    ];
    for (const [name, params, target] of runs) {
      const r = await runAction(name, params, ctx(ns, target, { dryRun: true }));
      assert.match(r.summary, /^\[dry run\] /, name);
      assert.equal(r.followUps, undefined, `${name}: a dry run schedules nothing`);
    }
    assert.equal(JSON.stringify(await snapshot(ns)), before);
    assert.equal((await core.readNode({ name: 'node-dry' })).spec?.unschedulable, undefined);
  });

  /** Everything the actions could change in a namespace, without server-maintained fields. */
  async function snapshot(ns: string) {
    const strip = (items: { metadata?: { name?: string; labels?: object; annotations?: object; resourceVersion?: string } }[]) => items.map((i) => [i.metadata?.name, i.metadata?.labels, i.metadata?.annotations, i.metadata?.resourceVersion]);
    return {
      pods: strip((await core.listNamespacedPod({ namespace: ns })).items),
      policies: strip((await net.listNamespacedNetworkPolicy({ namespace: ns })).items),
      deployments: strip((await apps.listNamespacedDeployment({ namespace: ns })).items),
      events: (await core.listNamespacedEvent({ namespace: ns })).items.length,
    };
  }

  test('networkpolicy.isolate: labels exactly the pod, deny-all policy selecting it, allow-list; twice is a no-op; release lifts it', { skip }, async () => {
    const ns = await namespace(cluster.kubeConfig, 'isolate');
    const chain = await deploymentWithPods(cluster.kubeConfig, ns, 'api', 3);
    const [target, sibling] = chain.pods as [string, string];
    const c = ctx(ns, target);
    const params = { allowDNS: true, allowCIDRs: ['10.20.0.0/16'], allowNamespaces: ['monitoring'], expiry: '2h' };
    const r = await runAction('kubernetes.networkpolicy.isolate', params, c);
    const name = policyName(target);
    assert.equal(r.output.policy, name);
    assert.equal(r.details?.created, true);
    assert.deepEqual(r.followUps?.map((f) => [f.action, f.params, f.delayMs]), [['kubernetes.networkpolicy.release', { namespace: ns, pod: target, incident: c.incidentId }, 7_200_000]]);

    const np = await net.readNamespacedNetworkPolicy({ name, namespace: ns });
    assert.deepEqual(np.spec?.podSelector?.matchLabels, { [QUARANTINE_LABEL]: c.incidentId });
    assert.deepEqual(np.spec?.policyTypes, ['Ingress', 'Egress']);
    assert.equal(np.metadata?.labels?.['app.kubernetes.io/managed-by'], 'riposte');
    assert.equal(np.metadata?.annotations?.['riposte.io/incident'], c.incidentId);
    assert.equal(np.metadata?.ownerReferences?.[0]?.kind, 'Pod');
    assert.deepEqual(np.spec?.ingress?.map((i) => i._from?.map((f) => f.namespaceSelector?.matchLabels)), [[{ 'kubernetes.io/metadata.name': 'monitoring' }]]);
    const egress = np.spec?.egress ?? [];
    assert.equal(egress.length, 3);
    assert.deepEqual(egress[0]?.to?.[0]?.namespaceSelector?.matchLabels, { 'kubernetes.io/metadata.name': 'kube-system' });
    assert.deepEqual(egress[0]?.to?.[0]?.podSelector?.matchLabels, { 'k8s-app': 'kube-dns' });
    assert.deepEqual(egress[0]?.ports?.map((p) => `${p.protocol}/${p.port}`), ['UDP/53', 'TCP/53']);
    assert.equal(egress[1]?.to?.[0]?.ipBlock?.cidr, '10.20.0.0/16');

    const labelled = await core.listNamespacedPod({ namespace: ns, labelSelector: `${QUARANTINE_LABEL}=${c.incidentId}` });
    assert.deepEqual(labelled.items.map((p) => p.metadata?.name), [target], 'only the offending pod is selected');
    assert.equal((await core.readNamespacedPod({ name: sibling, namespace: ns })).metadata?.labels?.[QUARANTINE_LABEL], undefined);

    // the same attempt again (at-least-once): nothing changes
    const rv = np.metadata?.resourceVersion;
    const podRv = (await core.readNamespacedPod({ name: target, namespace: ns })).metadata?.resourceVersion;
    const r2 = await runAction('kubernetes.networkpolicy.isolate', params, c);
    assert.equal(r2.details?.created, false);
    assert.equal((await net.readNamespacedNetworkPolicy({ name, namespace: ns })).metadata?.resourceVersion, rv);
    assert.equal((await core.readNamespacedPod({ name: target, namespace: ns })).metadata?.resourceVersion, podRv);
    assert.equal((await net.listNamespacedNetworkPolicy({ namespace: ns })).items.length, 1);

    // a release for another incident leaves it in place
    const other = await runAction('kubernetes.networkpolicy.release', { incident: 'another-incident' }, ctx(ns, target));
    assert.equal(other.output.released, false);
    assert.match(other.summary, /kept NetworkPolicy .* \(it belongs to incident/);

    const rel = await runAction('kubernetes.networkpolicy.release', { incident: c.incidentId }, ctx(ns, target));
    assert.deepEqual([rel.output.policyDeleted, rel.output.labelRemoved], [true, true]);
    assert.equal(rel.details?.patch, 'json (test + remove)');
    await assert.rejects(net.readNamespacedNetworkPolicy({ name, namespace: ns }), (e: { code?: number }) => e.code === 404);
    assert.equal((await core.readNamespacedPod({ name: target, namespace: ns })).metadata?.labels?.[QUARANTINE_LABEL], undefined);
    const rel2 = await runAction('kubernetes.networkpolicy.release', {}, ctx(ns, target));
    assert.equal(rel2.output.released, false);
    assert.match(rel2.summary, /had no quarantine to release/);
  });

  test('networkpolicy.isolate: deny-all by default; refuses host-network pods and policies that are not Riposte\'s', { skip }, async () => {
    const ns = await namespace(cluster.kubeConfig, 'isolate-guards');
    await standalonePod(cluster.kubeConfig, ns, 'plain');
    const r = await runAction('kubernetes.networkpolicy.isolate', { allowDNS: false }, ctx(ns, 'plain'));
    const np = await net.readNamespacedNetworkPolicy({ name: String(r.output.policy), namespace: ns });
    assert.deepEqual([np.spec?.ingress ?? [], np.spec?.egress ?? []], [[], []]);

    await standalonePod(cluster.kubeConfig, ns, 'hostnet', { hostNetwork: true });
    const hn = await actionError(runAction('kubernetes.networkpolicy.isolate', {}, ctx(ns, 'hostnet')));
    assert.equal(hn.retryable, false);
    assert.match(hn.message, /uses the host network, and NetworkPolicies do not apply/);

    await standalonePod(cluster.kubeConfig, ns, 'taken');
    await net.createNamespacedNetworkPolicy({ namespace: ns, body: { metadata: { name: policyName('taken') }, spec: { podSelector: {}, policyTypes: ['Ingress'] } } });
    const taken = await actionError(runAction('kubernetes.networkpolicy.isolate', {}, ctx(ns, 'taken')));
    assert.match(taken.message, /exists and is not Riposte's/);
    const rel = await actionError(runAction('kubernetes.networkpolicy.release', {}, ctx(ns, 'taken')));
    assert.match(rel.message, /is not Riposte's .*not deleting it/);
  });

  test('pod.evict: blocked by a PodDisruptionBudget (retryable, says so), allowed once the budget allows it', { skip }, async () => {
    const ns = await namespace(cluster.kubeConfig, 'evict');
    const chain = await deploymentWithPods(cluster.kubeConfig, ns, 'api', 2);
    const policy = cluster.kubeConfig.makeApiClient(PolicyV1Api);
    await policy.createNamespacedPodDisruptionBudget({ namespace: ns, body: { metadata: { name: 'api' }, spec: { minAvailable: 2, selector: { matchLabels: { app: 'api' } } } } });
    // what the disruption controller would compute: 2 healthy, 2 required, 0 allowed
    const pdbStatus = (allowed: number) => ({ status: { observedGeneration: 1, disruptionsAllowed: allowed, currentHealthy: 2, desiredHealthy: 2 - allowed, expectedPods: 2 } });
    await policy.patchNamespacedPodDisruptionBudgetStatus({ name: 'api', namespace: ns, body: pdbStatus(0) }, (await import('./harness.ts')).mergePatch());
    const target = chain.pods[0]!;
    const err = await actionError(runAction('kubernetes.pod.evict', {}, ctx(ns, target)));
    assert.equal(err.retryable, true);
    assert.match(err.message, /eviction of pod evict\/.* is blocked by a PodDisruptionBudget, will retry: Cannot evict pod as it would violate the pod's disruption budget/);
    assert.match(err.message, /The disruption budget api needs 2 healthy pods/);
    assert.ok(await core.readNamespacedPod({ name: target, namespace: ns }));

    await policy.patchNamespacedPodDisruptionBudgetStatus({ name: 'api', namespace: ns, body: pdbStatus(1) }, (await import('./harness.ts')).mergePatch());
    const r = await runAction('kubernetes.pod.evict', { gracePeriodSeconds: 0 }, ctx(ns, target));
    assert.equal(r.output.evicted, true);
    await assert.rejects(core.readNamespacedPod({ name: target, namespace: ns }), (e: { code?: number }) => e.code === 404);
  });

  test('workload.scale: pod → ReplicaSet → Deployment, merge patch on the scale subresource; named StatefulSet; DaemonSet refused', { skip }, async () => {
    const ns = await namespace(cluster.kubeConfig, 'scale');
    const chain = await deploymentWithPods(cluster.kubeConfig, ns, 'api', 3);
    const r = await runAction('kubernetes.workload.scale', { replicas: 0 }, ctx(ns, chain.pods[1]!));
    assert.deepEqual(r.output, { kind: 'Deployment', namespace: ns, name: 'api', previousReplicas: 3, replicas: 0 });
    assert.equal((await apps.readNamespacedDeployment({ name: 'api', namespace: ns })).spec?.replicas, 0);

    const sts = await controllerWithPod(cluster.kubeConfig, ns, 'StatefulSet', 'db');
    const r2 = await runAction('kubernetes.workload.scale', { kind: 'StatefulSet', name: 'db', replicas: 0 }, ctx(ns, sts.pods[0]!));
    assert.equal(r2.output.previousReplicas, 1);
    assert.equal((await apps.readNamespacedStatefulSet({ name: 'db', namespace: ns })).spec?.replicas, 0);

    const wrong = await actionError(runAction('kubernetes.workload.scale', { kind: 'StatefulSet', replicas: 0 }, ctx(ns, chain.pods[0]!)));
    assert.match(wrong.message, /belongs to Deployment api, not a StatefulSet/);
    const ds = await controllerWithPod(cluster.kubeConfig, ns, 'DaemonSet', 'agent');
    const err = await actionError(runAction('kubernetes.workload.scale', { replicas: 0 }, ctx(ns, ds.pods[0]!)));
    assert.equal(err.retryable, false);
    assert.match(err.message, /DaemonSet scale\/agent cannot be scaled by Riposte \(a DaemonSet runs one pod per node/);
  });

  test('node.cordon: strategic merge patch on the node named by the alert; twice reports it was cordoned', { skip }, async () => {
    await core.createNode({ body: { metadata: { name: 'node-7' } } });
    const alert = alertFor('default', 'x', { 'k8s.node.name': 'node-7' });
    const r = await runAction('kubernetes.node.cordon', {}, contextFor(cluster.kubeConfig, alert));
    assert.equal(r.summary, 'cordoned node node-7');
    const node = await core.readNode({ name: 'node-7' });
    assert.equal(node.spec?.unschedulable, true);
    assert.match(node.metadata?.annotations?.['riposte.io/cordoned-by'] ?? '', /^riposte incident /);
    const again = await runAction('kubernetes.node.cordon', { node: 'node-7' }, contextFor(cluster.kubeConfig, alert));
    assert.equal(again.output.wasCordoned, true);
    const missing = await actionError(runAction('kubernetes.node.cordon', { node: 'no-such-node' }, contextFor(cluster.kubeConfig, alert)));
    assert.match(missing.message, /nodes no-such-node not found/);
  });

  test('event.create: an events.k8s.io Event regarding the pod, once per attempt', { skip }, async () => {
    const ns = await namespace(cluster.kubeConfig, 'events');
    const pod = await standalonePod(cluster.kubeConfig, ns, 'web');
    const c = ctx(ns, 'web');
    const params = { reason: 'RiposteContained', type: 'Warning', message: 'Terminal shell in container: Riposte isolated this pod.' };
    const r = await runAction('kubernetes.event.create', params, c);
    const r2 = await runAction('kubernetes.event.create', params, c);
    assert.equal(r2.details?.alreadyExisted, true);
    const events = cluster.kubeConfig.makeApiClient(EventsV1Api);
    const list = await events.listNamespacedEvent({ namespace: ns });
    assert.equal(list.items.length, 1, 'the re-executed attempt wrote no second Event');
    const ev = list.items[0]!;
    assert.equal(ev.metadata?.name, r.output.event);
    assert.equal(ev.reportingController, 'riposte.io/engine');
    assert.deepEqual([ev.reason, ev.type, ev.note, ev.action], ['RiposteContained', 'Warning', params.message, 'Respond']);
    assert.deepEqual([ev.regarding?.kind, ev.regarding?.name, ev.regarding?.uid], ['Pod', 'web', pod.metadata?.uid]);
    // the same Event through the core/v1 API, which is what `kubectl describe pod` reads
    const coreEvents = await core.listNamespacedEvent({ namespace: ns, fieldSelector: 'involvedObject.name=web' });
    assert.equal(coreEvents.items[0]?.reason, 'RiposteContained');
    await markReady(core, ns, 'web');
  });
});
