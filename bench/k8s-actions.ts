// SPDX-License-Identifier: Apache-2.0
/**
 * Kubernetes actions per second against the test kube-apiserver + etcd
 * (test/k8s/harness.ts, on this machine): `kubernetes.pod.label` (one strategic
 * merge patch) and `kubernetes.networkpolicy.isolate` (GET pod, GET policy,
 * server-side apply of the policy, patch of the pod label), called through the
 * action registry as the engine calls them, at concurrency 1 and 8. Each round
 * acts on N distinct pods; every label round writes a new value, so no call is a
 * no-op; before each isolate round the previous quarantines are released
 * (untimed). Figures are medians over REPEAT rounds, plus the median per-call latency.
 * One extra row runs label on client-node's default transport, which opens a new
 * TLS connection per request, to show what src/kube/connections.ts saves.
 *
 *   node bench/k8s-actions.ts [N=200] [REPEAT=5]      (needs `bash test/k8s/assets.sh`)
 */
import { CoreV1Api, KubeConfig, VersionApi } from '@kubernetes/client-node';
import { defaultRegistry } from '../src/actions/index.ts';
import { kubeApis } from '../src/actions/kubernetes/client.ts';
import { createKubernetesExecutor, KUBERNETES_IMPLEMENTATIONS } from '../src/actions/kubernetes/executor.ts';
import type { ActionContext, ActionDefinition } from '../src/actions/types.ts';
import { silentLogger } from '../src/common/log.ts';
import { startTestCluster } from '../test/k8s/harness.ts';
import { median, record } from './lib.ts';

const N = Number(process.argv[2] ?? 200);
const REPEAT = Number(process.argv[3] ?? 5);
const NS = 'bench';

const cluster = await startTestCluster();
try {
  const core = cluster.kubeConfig.makeApiClient(CoreV1Api);
  const version = (await cluster.kubeConfig.makeApiClient(VersionApi).getCode()).gitVersion;
  await core.createNamespace({ body: { metadata: { name: NS } } });
  const pods = Array.from({ length: N }, (_, i) => `pod-${String(i).padStart(4, '0')}`);
  for (let i = 0; i < N; i += 20) {
    await Promise.all(pods.slice(i, i + 20).map((name) => core.createNamespacedPod({ namespace: NS, body: { metadata: { name, labels: { app: 'bench' } }, spec: { containers: [{ name: 'c', image: 'registry.invalid/c:1' }] } } })));
  }
  const registry = defaultRegistry();
  const kubernetes = createKubernetesExecutor(cluster.kubeConfig);
  let seq = 0;
  const ctx = (pod: string): ActionContext => {
    seq++;
    return {
      idempotencyKey: `bench-${seq}:s:1`,
      runId: `bench-${seq}`,
      stepId: 's',
      incidentId: `incident-${pod}`,
      attempt: 1,
      alert: { id: `a-${seq}`, time: new Date().toISOString(), rule: 'Bench', priority: 'warning', source: 'syscall', hostname: 'n', output: '', output_fields: { 'k8s.ns.name': NS, 'k8s.pod.name': pod }, tags: [] },
      dryRun: false,
      log: silentLogger,
      signal: new AbortController().signal,
      services: { kubernetes },
    };
  };

  // client-node as it comes: a new TLS connection per request (see src/kube/connections.ts)
  const fresh = new KubeConfig();
  fresh.loadFromFile(cluster.kubeconfigPath);
  const unpooled = kubeApis(fresh);
  const unpooledLabel = { execute: (p: Record<string, unknown>, c: ActionContext) => KUBERNETES_IMPLEMENTATIONS['kubernetes.pod.label']!(unpooled, p, c) };

  /** Runs `action` once per pod with `concurrency` in flight; returns actions/s and per-call latencies. */
  async function round(action: string, params: (i: number) => Record<string, unknown>, concurrency: number, def: Pick<ActionDefinition, 'execute'> = registry.get(action)!): Promise<{ rate: number; latencies: number[] }> {
    const latencies: number[] = [];
    let next = 0;
    const start = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        for (;;) {
          const i = next++;
          if (i >= N) return;
          const t0 = performance.now();
          await def.execute(params(i), ctx(pods[i]!));
          latencies.push(performance.now() - t0);
        }
      }),
    );
    return { rate: N / ((performance.now() - start) / 1000), latencies };
  }

  const lines = [`Against kube-apiserver ${version} + etcd on loopback on the same machine (etcd with --unsafe-no-fsync), ${N} pods per round, median of ${REPEAT} rounds.`, '', '| action | concurrency | actions/s | median latency per call |', '| --- | --- | --- | --- |'];
  let value = 0;
  for (const concurrency of [1, 8]) {
    const rates: number[] = [];
    const lat: number[] = [];
    for (let r = 0; r < REPEAT; r++) {
      value++;
      const res = await round('kubernetes.pod.label', () => ({ labels: { 'riposte.io/bench': `v${value}` } }), concurrency);
      rates.push(res.rate);
      lat.push(median(res.latencies));
    }
    lines.push(`| kubernetes.pod.label | ${concurrency} | ${median(rates).toFixed(0)} | ${median(lat).toFixed(1)} ms |`);
  }
  {
    const rates: number[] = [];
    const lat: number[] = [];
    for (let r = 0; r < REPEAT; r++) {
      value++;
      const res = await round('kubernetes.pod.label', () => ({ labels: { 'riposte.io/bench': `v${value}` } }), 1, unpooledLabel);
      rates.push(res.rate);
      lat.push(median(res.latencies));
    }
    lines.push(`| kubernetes.pod.label, client-node default (a new TLS connection per request) | 1 | ${median(rates).toFixed(0)} | ${median(lat).toFixed(1)} ms |`);
  }
  for (const concurrency of [1, 8]) {
    const rates: number[] = [];
    const lat: number[] = [];
    for (let r = 0; r < REPEAT; r++) {
      await round('kubernetes.networkpolicy.release', () => ({}), 8); // untimed: start from no quarantine
      const res = await round('kubernetes.networkpolicy.isolate', () => ({ allowDNS: true, expiry: '1h' }), concurrency);
      rates.push(res.rate);
      lat.push(median(res.latencies));
    }
    lines.push(`| kubernetes.networkpolicy.isolate | ${concurrency} | ${median(rates).toFixed(0)} | ${median(lat).toFixed(1)} ms |`);
  }
  lines.push('', 'Both the API server and the benchmark run on this machine and share its CPUs; a real control plane adds network round trips (latency) and has its own cores (throughput).');
  await record('Kubernetes actions per second (bench/k8s-actions.ts)', lines);
} finally {
  await cluster.stop();
}
