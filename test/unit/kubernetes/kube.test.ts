// SPDX-License-Identifier: Apache-2.0
// The pure parts of the Kubernetes actions: credential source, kubeconfig loading errors,
// names and label values, the quarantine policy, RBAC union, API error mapping.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ApiException } from '@kubernetes/client-node';
import { defaultRegistry } from '../../../src/actions/index.ts';
import { kubeError } from '../../../src/actions/kubernetes/errors.ts';
import { microTime } from '../../../src/actions/kubernetes/events.ts';
import { quarantinePolicy } from '../../../src/actions/kubernetes/quarantine.ts';
import { rbacRules } from '../../../src/actions/kubernetes/rbac.ts';
import { labelValue, objectName, policyName } from '../../../src/actions/kubernetes/target.ts';
import { RiposteError } from '../../../src/common/errors.ts';
import { loadKubeConfig } from '../../../src/kube/config.ts';
import { kubeSource } from '../../../src/kube/source.ts';

test('kubeSource: an explicit kubeconfig wins; in-cluster only inside a pod; never ~/.kube/config implicitly', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'riposte-sa-'));
  try {
    const pod = { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' };
    assert.equal(kubeSource({ inCluster: 'auto' }, {}, dir), undefined);
    assert.equal(kubeSource({ inCluster: 'auto' }, pod, dir), undefined, 'no token file: not in a pod');
    await writeFile(join(dir, 'token'), 't');
    assert.deepEqual(kubeSource({ inCluster: 'auto' }, pod, dir), { kind: 'in-cluster', dir });
    assert.equal(kubeSource({ inCluster: 'never' }, pod, dir), undefined);
    assert.deepEqual(kubeSource({ inCluster: 'auto', kubeconfig: '/k', context: 'c' }, pod, dir), { kind: 'kubeconfig', file: '/k', context: 'c' });
    assert.deepEqual(kubeSource({ inCluster: 'always' }, {}, dir), { kind: 'in-cluster', dir });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('loadKubeConfig: configuration errors name the file and the contexts there are', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'riposte-kc-'));
  try {
    const file = join(dir, 'kubeconfig');
    await writeFile(file, JSON.stringify({ apiVersion: 'v1', kind: 'Config', clusters: [{ name: 'c', cluster: { server: 'https://127.0.0.1:6443' } }], users: [{ name: 'u', user: { token: 'x' } }], contexts: [{ name: 'staging', context: { cluster: 'c', user: 'u' } }], 'current-context': 'staging' }));
    assert.equal(loadKubeConfig({ kind: 'kubeconfig', file }).getCurrentCluster()?.server, 'https://127.0.0.1:6443');
    assert.throws(() => loadKubeConfig({ kind: 'kubeconfig', file, context: 'prod' }), (e: Error) => e instanceof RiposteError && /no context "prod" in .* \(it has: staging\)/.test(e.message));
    assert.throws(() => loadKubeConfig({ kind: 'kubeconfig', file: join(dir, 'missing') }), /kubernetes\.kubeconfig: cannot read .*missing: ENOENT/);
    assert.throws(() => loadKubeConfig({ kind: 'in-cluster', dir }, {}), /inCluster is "always" but this process is not in a pod/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('names and label values stay within Kubernetes limits, stably', () => {
  assert.equal(labelValue('0f3c9a2e-1b2c-4d5e-8f90-123456789abc'), '0f3c9a2e-1b2c-4d5e-8f90-123456789abc');
  const long = labelValue('x'.repeat(80));
  assert.equal(long.length, 63);
  assert.equal(labelValue('x'.repeat(80)), long);
  assert.match(labelValue('has spaces/and:colons'), /^[A-Za-z0-9][-A-Za-z0-9_.]*[A-Za-z0-9]$/);
  assert.equal(policyName('api-7f9c'), 'riposte-quarantine-api-7f9c');
  const n = objectName('riposte-quarantine-', 'p'.repeat(253));
  assert.ok(n.length <= 253 && n.startsWith('riposte-quarantine-ppp'));
  assert.match(microTime(new Date('2026-01-02T03:04:05.678Z')) as unknown as string, /^2026-01-02T03:04:05\.678000Z$/);
});

test('quarantinePolicy: selects the quarantine label only; deny-all unless allowed; wire field `from`', () => {
  const base = { namespace: 'payments', pod: 'api-1', podUid: 'u1', incident: 'inc-1', runId: 'run-1', rule: 'r', allowDNS: false, allowCIDRs: [], allowNamespaces: [] };
  const deny = quarantinePolicy(base);
  assert.deepEqual(deny.spec, { podSelector: { matchLabels: { 'riposte.io/quarantine': 'inc-1' } }, policyTypes: ['Ingress', 'Egress'], ingress: [], egress: [] });
  assert.deepEqual(deny.metadata.ownerReferences, [{ apiVersion: 'v1', kind: 'Pod', name: 'api-1', uid: 'u1', controller: false, blockOwnerDeletion: false }]);
  const open = quarantinePolicy({ ...base, allowDNS: true, allowCIDRs: ['10.0.0.0/8'], allowNamespaces: ['monitoring'], expiry: '1h' });
  assert.deepEqual(open.spec.ingress, [{ from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }] }]);
  assert.equal(open.spec.egress.length, 3);
  assert.equal(open.metadata.annotations?.['riposte.io/expiry'], '1h');
});

test('rbacRules: the union per group and resource, grouped by verbs, in a stable order', () => {
  const rules = rbacRules([
    { rbac: [{ apiGroups: [''], resources: ['pods'], verbs: ['patch'] }] },
    { rbac: [{ apiGroups: [''], resources: ['pods', 'nodes'], verbs: ['get', 'patch'] }, { apiGroups: ['apps'], resources: ['deployments'], verbs: ['get'] }] },
  ]);
  assert.deepEqual(rules, [
    { apiGroups: [''], resources: ['nodes', 'pods'], verbs: ['get', 'patch'] },
    { apiGroups: ['apps'], resources: ['deployments'], verbs: ['get'] },
  ]);
  const all = rbacRules(defaultRegistry().all());
  assert.ok(!all.some((r) => r.verbs.includes('*') || r.resources.includes('*')), 'no wildcards');
  assert.ok(!all.some((r) => r.resources.includes('secrets')), 'never secrets');
});

test('kubeError: 403 names verb and resource and is final; 409/429/5xx/network are retryable', () => {
  const status = (code: number, message: string) => new ApiException(code, 'x', JSON.stringify({ kind: 'Status', message, reason: 'Forbidden' }), {});
  const op = { verb: 'delete', resource: 'pods', namespace: 'payments', name: 'api-1' };
  const forbidden = kubeError('kubernetes.pod.delete', op, status(403, 'pods "api-1" is forbidden'));
  assert.equal(forbidden.retryable, false);
  assert.match(forbidden.message, /forbidden: Riposte may not delete pods in namespace payments \(RBAC\)/);
  for (const code of [409, 429, 500, 503]) assert.equal(kubeError('a', op, status(code, 'm')).retryable, true, String(code));
  for (const code of [400, 401, 404, 422]) assert.equal(kubeError('a', op, status(code, 'm')).retryable, false, String(code));
  const net = kubeError('a', op, new Error('connect ECONNREFUSED 127.0.0.1:6443'));
  assert.equal(net.retryable, true);
  assert.match(net.message, /cannot reach the Kubernetes API server \(delete pods payments\/api-1\): connect ECONNREFUSED/);
});

test('the Kubernetes action declarations do not load the client library (CLI start-up stays fast)', async () => {
  const { readFile } = await import('node:fs/promises');
  for (const f of ['declarations.ts', 'target.ts', 'rbac.ts']) {
    const text = await readFile(new URL(`../../../src/actions/kubernetes/${f}`, import.meta.url), 'utf8');
    assert.doesNotMatch(text, /from '@kubernetes\/client-node'|from '\.\/(client|errors|executor|pods|quarantine|owners|scale|nodes|events)\.ts'/, f);
  }
});

test('reuseConnections: one dispatcher per TLS identity (client-node 2.0.x makes one per request)', async () => {
  const { KubeConfig } = await import('@kubernetes/client-node');
  const { reuseConnections } = await import('../../../src/kube/connections.ts');
  const kc = new KubeConfig();
  kc.loadFromClusterAndUser({ name: 'c', server: 'https://127.0.0.1:6443', skipTLSVerify: false }, { name: 'u', token: 't' });
  assert.equal(reuseConnections(kc), true, "client-node still has the private createDispatcher this patches; if not, revisit src/kube/connections.ts");
  const make = (kc as unknown as { createDispatcher: (c: unknown, o: object) => { close(): Promise<void> } }).createDispatcher;
  const cluster = kc.getCurrentCluster();
  const a = make(cluster, { ca: 'x' });
  assert.equal(make(cluster, { ca: 'x' }), a);
  const b = make(cluster, { ca: 'y' });
  assert.notEqual(b, a);
  await b.close();
});
