// SPDX-License-Identifier: Apache-2.0
// deploy/: the manifests render, agree with the code (`riposte rbac --all`, the config
// schema, the playbook loader), follow the security rules they claim, and every object
// is accepted by a real API server (server-side apply with dryRun=All).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CoreV1Api, KubernetesObjectApi, PatchStrategy } from '@kubernetes/client-node';
import { parse, parseAllDocuments } from 'yaml';
import { defaultRegistry } from '../../src/actions/index.ts';
import { loadConfig } from '../../src/config/load.ts';
import { loadPlaybookText } from '../../src/playbooks/load.ts';
import { CLI, ROOT } from '../helpers/process.ts';
import { k8sAssetsOrSkip } from './harness-availability.ts';
import { startTestCluster, type TestCluster } from './harness.ts';
import { findObject, type K8sObject, renderKustomization } from './deploy-render.ts';

const skip = k8sAssetsOrSkip();
const rendered = renderKustomization();
const objects = rendered.map((r) => r.object);
type Container = { name: string; image: string; args?: string[]; resources?: { requests?: Record<string, string>; limits?: Record<string, string> }; securityContext?: Record<string, any>; livenessProbe?: any; readinessProbe?: any; startupProbe?: any };
const podSpec = (o: K8sObject) => (o.spec as { template: { spec: { containers: Container[]; securityContext?: Record<string, unknown>; [k: string]: unknown } } }).template.spec;

describe('deploy/kubernetes', () => {
  test('renders the objects Riposte needs, all in riposte-system', () => {
    const kinds = objects.map((o) => `${o.kind}/${o.metadata.name}`);
    for (const want of [
      'Namespace/riposte-system',
      'ServiceAccount/riposte-engine',
      'ServiceAccount/riposte-agent',
      'ClusterRole/riposte-engine',
      'ClusterRoleBinding/riposte-engine',
      'ClusterRole/riposte-agent',
      'ClusterRoleBinding/riposte-agent',
      'ConfigMap/riposte-config',
      'ConfigMap/riposte-playbooks',
      'ConfigMap/riposte-rules',
      'Secret/riposte-secrets',
      'Secret/riposte-redis',
      'Deployment/riposte-engine',
      'Service/riposte',
      'PodDisruptionBudget/riposte-engine',
      'NetworkPolicy/riposte-engine',
      'DaemonSet/riposte-agent',
      'StatefulSet/riposte-redis',
    ]) {
      assert.ok(kinds.includes(want), `missing ${want}`);
    }
    const clusterScoped = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding']);
    for (const o of objects) assert.equal(o.metadata.namespace, clusterScoped.has(o.kind) ? undefined : 'riposte-system', `${o.kind}/${o.metadata.name}`);
    for (const { file } of rendered) assert.match(readFileSync(file, 'utf8'), /^# SPDX-License-Identifier: Apache-2.0\n/, file);
  });

  test('kubectl kustomize renders the same objects (when kubectl is installed)', (t) => {
    const r = spawnSync('kubectl', ['kustomize', join(ROOT, 'deploy/kubernetes')], { encoding: 'utf8' });
    if (r.error) return t.skip('kubectl is not installed; the file-by-file rendering above stands alone');
    assert.equal(r.status, 0, r.stderr);
    const theirs = parseAllDocuments(r.stdout).map((d) => d.toJS() as K8sObject);
    const key = (o: K8sObject) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
    const sorted = (list: K8sObject[]) => [...list].sort((a, b) => key(a).localeCompare(key(b)));
    assert.deepEqual(sorted(theirs), sorted(objects));
  });

  test('the engine ClusterRole is exactly `riposte rbac --all`', () => {
    const r = spawnSync(process.execPath, [CLI, 'rbac', '--all'], { encoding: 'utf8', cwd: ROOT });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(findObject(rendered, 'ClusterRole', 'riposte-engine'), parse(r.stdout));
    const binding = findObject(rendered, 'ClusterRoleBinding', 'riposte-engine') as K8sObject & { subjects: unknown[]; roleRef: { name: string } };
    assert.equal(binding.roleRef.name, 'riposte-engine');
    assert.deepEqual(binding.subjects, [{ kind: 'ServiceAccount', name: 'riposte-engine', namespace: 'riposte-system' }]);
  });

  test('riposte.yaml of the ConfigMap is a valid config; its playbooks load; its rules are a list', async () => {
    const cm = findObject(rendered, 'ConfigMap', 'riposte-config') as K8sObject & { data: Record<string, string> };
    const dir = await mkdtemp(join(tmpdir(), 'riposte-deploy-'));
    try {
      await writeFile(join(dir, 'riposte.yaml'), cm.data['riposte.yaml']!);
      const { config } = await loadConfig({ file: join(dir, 'riposte.yaml'), env: {} });
      assert.equal(config.server.host, '0.0.0.0');
      assert.equal(config.engine.dryRun, true, 'ships in dry-run');
      assert.equal(config.kubernetes.inCluster, 'auto');
      assert.deepEqual(config.playbooks.paths, ['/etc/riposte/playbooks']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    const pbs = findObject(rendered, 'ConfigMap', 'riposte-playbooks') as K8sObject & { data: Record<string, string> };
    assert.ok(Object.keys(pbs.data).length > 0);
    for (const [file, text] of Object.entries(pbs.data)) {
      const r = loadPlaybookText(file, text, { registry: defaultRegistry() });
      assert.deepEqual(r.diagnostics, [], file);
    }
    const rules = findObject(rendered, 'ConfigMap', 'riposte-rules') as K8sObject & { data: Record<string, string> };
    for (const text of Object.values(rules.data)) assert.ok(Array.isArray(parse(text)));
  });

  test('engine: >= 2 replicas, non-root, read-only, probes /healthz and /readyz, resources', () => {
    const d = findObject(rendered, 'Deployment', 'riposte-engine');
    assert.ok((d.spec as { replicas: number }).replicas >= 2);
    const spec = podSpec(d);
    assert.equal(spec.serviceAccountName, 'riposte-engine');
    assert.equal(spec.securityContext?.runAsNonRoot, true);
    assert.ok(Number(spec.securityContext?.runAsUser) > 0);
    const c = spec.containers[0]!;
    assert.deepEqual(c.args?.slice(0, 1), ['engine']);
    assert.equal(c.livenessProbe.httpGet.path, '/healthz');
    assert.equal(c.readinessProbe.httpGet.path, '/readyz');
    assert.equal(c.securityContext?.readOnlyRootFilesystem, true);
    assert.equal(c.securityContext?.allowPrivilegeEscalation, false);
    assert.deepEqual(c.securityContext?.capabilities, { drop: ['ALL'] });
  });

  test('agent: not privileged, root with exactly the documented capabilities, host PIDs, a token that only reads pods', () => {
    const ds = findObject(rendered, 'DaemonSet', 'riposte-agent');
    const spec = podSpec(ds);
    assert.equal(spec.hostPID, true);
    assert.notEqual(spec.hostNetwork, true);
    assert.equal(spec.automountServiceAccountToken, true);
    const role = findObject(rendered, 'ClusterRole', 'riposte-agent') as unknown as { rules: { apiGroups: string[]; resources: string[]; verbs: string[] }[] };
    assert.deepEqual(role.rules, [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] }]);
    const sc = spec.containers[0]!.securityContext!;
    assert.equal(sc.privileged, false);
    assert.equal(sc.allowPrivilegeEscalation, false);
    assert.deepEqual(sc.capabilities.drop, ['ALL']);
    const caps: string[] = sc.capabilities.add;
    assert.deepEqual([...caps].sort(), ['BPF', 'DAC_READ_SEARCH', 'KILL', 'NET_ADMIN', 'NET_RAW', 'PERFMON', 'SYS_ADMIN', 'SYS_PTRACE']);
    const docs = readFileSync(join(ROOT, 'docs/deploy.md'), 'utf8');
    const manifest = readFileSync(join(ROOT, 'deploy/kubernetes/core/agent.yaml'), 'utf8');
    for (const cap of caps) {
      assert.match(docs, new RegExp(`CAP_${cap}\\b`), `docs/deploy.md explains CAP_${cap}`);
      assert.match(manifest, new RegExp(`^#   ${cap} `, 'm'), `agent.yaml explains ${cap}`);
    }
  });

  test('every container has resource requests and a memory limit; one image for Riposte', () => {
    const images = new Set<string>();
    for (const o of objects.filter((x) => ['Deployment', 'DaemonSet', 'StatefulSet'].includes(x.kind))) {
      for (const c of podSpec(o).containers) {
        assert.ok(c.resources?.requests?.cpu && c.resources.requests.memory, `${o.metadata.name}/${c.name} requests`);
        assert.ok(c.resources?.limits?.memory, `${o.metadata.name}/${c.name} memory limit`);
        if (o.metadata.name !== 'riposte-redis') images.add(c.image);
      }
    }
    assert.equal(images.size, 1);
  });

  test('redis: AOF on, noeviction, on a volume; only Riposte pods may connect', () => {
    const sts = findObject(rendered, 'StatefulSet', 'riposte-redis');
    const args = podSpec(sts).containers[0]!.args!.join(' ');
    assert.match(args, /--appendonly yes/);
    assert.match(args, /--maxmemory-policy noeviction/);
    assert.equal((sts.spec as { volumeClaimTemplates: unknown[] }).volumeClaimTemplates.length, 1);
    const np = findObject(rendered, 'NetworkPolicy', 'riposte-redis') as K8sObject & { spec: { ingress: { from: { podSelector: { matchLabels: Record<string, string> } }[] }[] } };
    assert.deepEqual(np.spec.ingress[0]!.from.map((f) => f.podSelector.matchLabels['app.kubernetes.io/component']), ['engine', 'agent']);
  });

  test('Containerfile: multi-stage, sensor built with clang/libbpf, runtime on Node 24, non-root user', () => {
    const text = readFileSync(join(ROOT, 'deploy/Containerfile'), 'utf8');
    const stages = [...text.matchAll(/^FROM (\S+)(?: AS (\S+))?/gm)].map((m) => m[2]);
    assert.deepEqual(stages, ['sensor', 'deps', 'runtime']);
    for (const m of text.matchAll(/^COPY --from=(\S+)/gm)) assert.ok(stages.includes(m[1]!), `COPY --from=${m[1]} names a stage`);
    assert.match(text, /ARG NODE_IMAGE=\S*node:24/);
    assert.match(text.split('AS sensor')[1]!.split('FROM')[0]!, /clang .*libbpf-dev/);
    const runtime = text.split(/^FROM \S+ AS runtime$/m)[1]!;
    assert.match(runtime, /^USER 10001:10001$/m, 'the runtime stage ends as a non-root user');
    assert.match(runtime, /npm ci --omit=dev|COPY --from=deps/);
  });
});

describe('deploy/kubernetes against a real API server', () => {
  let cluster: TestCluster;
  before(async () => {
    if (!skip) cluster = await startTestCluster();
  });
  after(async () => {
    await cluster?.stop();
  });

  test('every object is accepted by server-side apply with dryRun=All, and nothing is stored', { skip }, async () => {
    const client = KubernetesObjectApi.makeApiClient(cluster.kubeConfig);
    const core = cluster.kubeConfig.makeApiClient(CoreV1Api);
    // Namespaced objects can only be dry-run into a namespace that exists.
    await client.patch(objects[0]!, undefined, 'All', 'riposte-deploy-test', true, PatchStrategy.ServerSideApply);
    await core.createNamespace({ body: { metadata: { name: 'riposte-system' } } });
    for (const o of objects) {
      const echoed = await client.patch(o, undefined, 'All', 'riposte-deploy-test', true, PatchStrategy.ServerSideApply).catch((err: { code?: number; body?: string }) => {
        throw new Error(`${o.kind}/${o.metadata.name} rejected (${err.code}): ${err.body}`);
      });
      assert.equal(echoed.kind, o.kind);
      assert.equal(echoed.metadata?.name, o.metadata.name);
    }
    const stored = await core.listNamespacedConfigMap({ namespace: 'riposte-system' });
    assert.deepEqual(stored.items.map((c) => c.metadata?.name).filter((n) => n?.startsWith('riposte')), []);
  });
});
