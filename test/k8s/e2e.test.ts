// SPDX-License-Identifier: Apache-2.0
// End to end: an alert posted to an in-process Riposte (real Redis, real engine) runs a
// playbook whose kubernetes.pod.label step labels the pod in a real API server, and the
// audit log records what was done; an isolate with an expiry schedules its release.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CoreV1Api, NetworkingV1Api } from '@kubernetes/client-node';
import { createKubernetesExecutor } from '../../src/actions/kubernetes/executor.ts';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, spawnRiposte } from '../helpers/process.ts';
import { stopTestRedis, testRedisUrl, uniquePrefix } from '../helpers/redis.ts';
import { startTestRiposte, type TestRiposte } from '../helpers/riposte.ts';
import { waitUntil } from '../helpers/wait.ts';
import { alertFor, namespace, standalonePod } from './fixtures.ts';
import { k8sAssetsOrSkip } from './harness-availability.ts';
import { startTestCluster, type TestCluster } from './harness.ts';

const skip = k8sAssetsOrSkip();

const PLAYBOOK = `apiVersion: riposte.dev/v1
kind: Playbook
metadata: { name: flag-pod }
trigger:
  rules: ["Terminal shell in container"]
  condition: k8s.ns.name exists and k8s.pod.name exists
steps:
  - id: label
    action: kubernetes.pod.label
    with:
      labels:
        riposte.io/flagged: "true"
        riposte.io/rule: '{{dnslabel alert.rule}}'
  - id: isolate
    action: kubernetes.networkpolicy.isolate
    with: { allowDNS: true, expiry: 1h }
`;

const SHORT = `apiVersion: riposte.dev/v1
kind: Playbook
metadata: { name: short-quarantine }
trigger:
  rules: ["Outbound connection to mining pool port"]
steps:
  - id: isolate
    action: kubernetes.networkpolicy.isolate
    with: { allowDNS: false, expiry: 2s }
`;

describe('alert → playbook → Kubernetes (end to end)', () => {
  let cluster: TestCluster;
  let riposte: TestRiposte;
  before(async () => {
    if (skip) return;
    cluster = await startTestCluster();
    riposte = await startTestRiposte({ playbooks: { 'flag.yaml': PLAYBOOK, 'short.yaml': SHORT }, services: { kubernetes: createKubernetesExecutor(cluster.kubeConfig) } });
  });
  after(async () => {
    await riposte?.close();
    await cluster?.stop();
    await stopTestRedis();
  });

  test('a posted alert labels the pod and quarantines it; the audit log has both steps', { skip }, async () => {
    const ns = await namespace(cluster.kubeConfig, 'payments');
    await standalonePod(cluster.kubeConfig, ns, 'api-7f9c');
    const alert = { ...alertFor(ns, 'api-7f9c'), id: undefined };
    const res = await riposte.post(alert);
    assert.equal(res.status, 202, JSON.stringify(res.body));

    const core = cluster.kubeConfig.makeApiClient(CoreV1Api);
    const pod = await waitUntil(async () => {
      const p = await core.readNamespacedPod({ name: 'api-7f9c', namespace: ns });
      return p.metadata?.labels?.['riposte.io/quarantine'] ? p : undefined;
    }, 'the pod to be labelled and quarantined', 20_000);
    assert.equal(pod.metadata?.labels?.['riposte.io/flagged'], 'true');
    assert.equal(pod.metadata?.labels?.['riposte.io/rule'], 'terminal-shell-in-container');

    const records = await waitUntil(async () => {
      const all = await riposte.runtime.audit.list();
      return all.some((r) => r.action === 'followup.scheduled') ? all : undefined;
    }, 'the release follow-up to be scheduled', 10_000);
    const succeeded = records.filter((r) => r.action === 'step.succeeded').map((r) => String((r.details as { summary?: string }).summary));
    assert.ok(succeeded.some((s) => s.includes(`labelled pod ${ns}/api-7f9c with riposte.io/flagged=true`)), succeeded.join('\n'));
    assert.ok(succeeded.some((s) => s.includes(`isolated pod ${ns}/api-7f9c with NetworkPolicy riposte-quarantine-api-7f9c`)), succeeded.join('\n'));
    const followUp = records.find((r) => r.action === 'followup.scheduled')!;
    assert.equal(followUp.target, 'kubernetes.networkpolicy.release');
    assert.equal((followUp.details as { delayMs: number }).delayMs, 3_600_000);
  });

  test('the quarantine expiry is a durable follow-up: the release runs and lifts it', { skip }, async () => {
    const ns = await namespace(cluster.kubeConfig, 'mining');
    await standalonePod(cluster.kubeConfig, ns, 'miner');
    const alert = { ...alertFor(ns, 'miner'), id: undefined, rule: 'Outbound connection to mining pool port' };
    assert.equal((await riposte.post(alert)).status, 202);
    const core = cluster.kubeConfig.makeApiClient(CoreV1Api);
    const net = cluster.kubeConfig.makeApiClient(NetworkingV1Api);
    await waitUntil(async () => (await net.listNamespacedNetworkPolicy({ namespace: ns })).items.length === 1, 'the quarantine policy', 20_000);
    const done = await waitUntil(
      async () => (await riposte.runtime.audit.list()).find((r) => r.action === 'followup.succeeded' && String((r.details as { summary?: string }).summary).includes(`${ns}/miner`)),
      'the expiry to release it',
      20_000,
    );
    assert.match(String((done.details as { summary?: string }).summary), /released pod mining\/miner: deleted NetworkPolicy riposte-quarantine-miner, removed label riposte.io\/quarantine/);
    assert.equal((await net.listNamespacedNetworkPolicy({ namespace: ns })).items.length, 0);
    const pod = await core.readNamespacedPod({ name: 'miner', namespace: ns });
    assert.equal(pod.metadata?.labels?.['riposte.io/quarantine'], undefined);
  });

  test('`riposte engine` with kubernetes.kubeconfig (from the environment) acts on that cluster', { skip, timeout: 60_000 }, async () => {
    const ns = await namespace(cluster.kubeConfig, 'engine-process');
    await standalonePod(cluster.kubeConfig, ns, 'web');
    const dir = await mkdtemp(join(tmpdir(), 'riposte-e2e-'));
    await writeFile(join(dir, 'flag.yaml'), PLAYBOOK.replace('name: flag-pod', 'name: flag-pod-process'));
    const env = {
      RIPOSTE_REDIS_URL: await testRedisUrl(),
      RIPOSTE_REDIS_PREFIX: uniquePrefix('k8s-e2e'),
      RIPOSTE_PLAYBOOKS_PATHS: dir,
      RIPOSTE_SERVER_PORT: '0',
      RIPOSTE_INGEST_TOKEN: 'k8s-e2e-token',
      RIPOSTE_STATE_DIR: dir,
      RIPOSTE_KUBERNETES_KUBECONFIG: cluster.kubeconfigPath,
      RIPOSTE_KUBERNETES_CONTEXT: 'riposte-test',
    };
    const bad = await runCli(['engine'], { ...env, RIPOSTE_KUBERNETES_CONTEXT: 'prod' });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /kubernetes\.context: no context "prod" in .*kubeconfig \(it has: riposte-test\)/);
    const engine = await spawnRiposte(['engine'], env);
    try {
      const res = await fetch(`${engine.url}/v1/alerts`, { method: 'POST', headers: { authorization: 'Bearer k8s-e2e-token', 'content-type': 'application/json' }, body: JSON.stringify(alertFor(ns, 'web')) });
      assert.equal(res.status, 202);
      const core = cluster.kubeConfig.makeApiClient(CoreV1Api);
      await waitUntil(async () => (await core.readNamespacedPod({ name: 'web', namespace: ns })).metadata?.labels?.['riposte.io/flagged'] === 'true', 'the engine process to label the pod', 20_000);
    } finally {
      await engine.kill();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
