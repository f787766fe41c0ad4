// SPDX-License-Identifier: Apache-2.0
// The agent end to end with a real kernel and a real kube-apiserver: `startAgent` with a
// kubeconfig (the shipped riposte-agent ServiceAccount, impersonated) watches its node's pods;
// a sandbox container with no metadata file, named by a 64-hex runtime id that a pod's
// containerStatuses report, reads /etc/shadow; the alert carries the pod, namespace, labels,
// container name and image from the API, and a playbook whose condition needs those fields runs.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CoreV1Api } from '@kubernetes/client-node';
import { defaultRegistry } from '../../src/actions/index.ts';
import { type Agent, startAgent } from '../../src/agent/agent.ts';
import { silentLogger } from '../../src/common/log.ts';
import { Sandbox } from '../../src/sandbox/sandbox.ts';
import { DEFAULT_RULES_FILE } from '../../detector/ruleset/index.ts';
import { gate, kernelUnavailable } from '../bpf/gate.ts';
import { stopTestRedis } from '../helpers/redis.ts';
import { startTestRiposte, type TestRiposte } from '../helpers/riposte.ts';
import { waitUntil } from '../helpers/wait.ts';
import { applyShippedIdentity } from './deploy-render.ts';
import { namespace } from './fixtures.ts';
import { serviceAccountUser, setPodStatus, startTestCluster, type TestCluster } from './harness.ts';
import { k8sAssetsOrSkip } from './harness-availability.ts';

const PLAYBOOK = `apiVersion: riposte.dev/v1
kind: Playbook
metadata: { name: shadow-in-web }
trigger:
  rules: ["Read sensitive file untrusted"]
  condition: k8s.pod.name = web-1 and container.name = web and container.image.repository = docker.io/library/nginx
steps:
  - id: note
    action: log
    with: { message: "{{field 'k8s.pod.name'}}" }
`;

const skipK8s = k8sAssetsOrSkip();
if (gate('the agent with pod metadata from the API server', skipK8s ? null : await kernelUnavailable())) {
  describe('agent + real kernel + real kube-apiserver', { skip: skipK8s }, () => {
    let cluster: TestCluster;
    let rp: TestRiposte;
    let agent: Agent;
    let sb: Sandbox;
    const node = `pods-node-${process.pid}`;

    before(async () => {
      cluster = await startTestCluster();
      await applyShippedIdentity(cluster.kubeConfig, 'agent', 'riposte-agent-test');
      sb = await Sandbox.create({ name: 'pods-test', fullId: true, metadataFile: false });
      const core = cluster.kubeConfig.makeApiClient(CoreV1Api);
      const ns = await namespace(cluster.kubeConfig, 'shop');
      await core.createNamespacedPod({ namespace: ns, body: { metadata: { name: 'web-1', labels: { app: 'web' } }, spec: { nodeName: node, containers: [{ name: 'web', image: 'nginx:1.27' }] } } });
      await setPodStatus(core, ns, 'web-1', { phase: 'Running', containerStatuses: [{ name: 'web', containerID: `containerd://${sb.runtimeId}`, image: 'docker.io/library/nginx:1.27', imageID: '', ready: true, restartCount: 0, started: true, state: { running: { startedAt: new Date() } } }] });

      rp = await startTestRiposte({ playbooks: { 'shadow.yaml': PLAYBOOK } });
      const kubeconfig = cluster.writeKubeConfigFor({ impersonate: serviceAccountUser('riposte-system', 'riposte-agent') }, 'agent.kubeconfig');
      agent = await startAgent({ runtime: rp.runtime, registry: defaultRegistry(), log: silentLogger, node, detection: { rulesPaths: [DEFAULT_RULES_FILE], required: true }, kubernetes: { kubeconfig, inCluster: 'never' }, nodeActions: false });
      assert.ok(agent.pods, 'the agent watches pods when a cluster is configured');
      await agent.pods.synced;
    });
    after(async () => {
      await agent?.close();
      await rp?.close();
      await sb?.destroy();
      await cluster?.stop();
      await stopTestRedis();
    });

    test('an alert from a container carries its pod from the API, and a condition on it starts the playbook', { timeout: 60_000 }, async () => {
      assert.equal(agent.pods!.lookup(sb.runtimeId)?.k8s?.pod?.name, 'web-1');
      // re-run until the run appears: the sensor may still be settling right after start
      const run = await waitUntil(
        async () => {
          await sb.exec(['/usr/bin/head', '-c', '1', '/etc/shadow'], { timeoutMs: 10_000 });
          return (await rp.runtime.runs.list()).find((r) => r.meta.playbook === 'shadow-in-web' && r.state.status === 'succeeded');
        },
        'the playbook to run for the sandbox',
        40_000,
        500,
      );
      const f = run.state.context.alert.output_fields;
      assert.equal(f['container.id'], sb.id);
      assert.equal(f['container.name'], 'web');
      assert.equal(f['container.image.repository'], 'docker.io/library/nginx');
      assert.equal(f['k8s.ns.name'], 'shop');
      assert.equal(f['k8s.pod.name'], 'web-1');
      assert.equal(run.state.context.alert.hostname, node);
    });
  });
}
