// SPDX-License-Identifier: Apache-2.0
// The agent's pod index: answers by runtime container id or pod uid, and its version moves only
// when an answer changes, so a status update (readiness, restarts) does not make the resolver
// recompute every cached container on the node's hot path. The watch itself is tested against a
// real API server in test/k8s/pod-metadata.test.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { V1Pod } from '@kubernetes/client-node';
import { PodIndex } from '../../../src/kube/pod-metadata.ts';

const ID = 'a'.repeat(64);
const pod = (labels: Record<string, string>, ready: boolean, image = 'docker.io/library/nginx:1.27'): V1Pod => ({
  metadata: { uid: 'u-1', name: 'web-1', namespace: 'shop', labels },
  status: { containerStatuses: [{ name: 'web', containerID: `containerd://${ID}`, image, imageID: '', ready, restartCount: ready ? 0 : 1 }] },
});

test('the version moves when labels, containers or images change, not on a status-only update', () => {
  const idx = new PodIndex();
  idx.upsert(pod({ app: 'web' }, false));
  const v1 = idx.version;
  assert.equal(idx.lookup(ID)?.k8s?.pod?.labels?.app, 'web');
  idx.upsert(pod({ app: 'web' }, true)); // readiness flipped, restart count changed
  assert.equal(idx.version, v1, 'nothing a lookup returns changed');
  idx.upsert(pod({ app: 'web', 'riposte.io/quarantine': 'inc-1' }, true));
  assert.ok(idx.version > v1);
  assert.equal(idx.lookup(ID)?.k8s?.pod?.labels?.['riposte.io/quarantine'], 'inc-1');
  const v2 = idx.version;
  idx.upsert(pod({ app: 'web', 'riposte.io/quarantine': 'inc-1' }, true, 'docker.io/library/nginx:1.28'));
  assert.ok(idx.version > v2);
  assert.equal(idx.lookup(ID)?.image?.tag, '1.28');
  idx.remove('u-1');
  assert.equal(idx.lookup(ID), undefined);
  assert.equal(idx.lookup(ID, 'u-1'), undefined);
});

test('a container not reported yet is answered from the pod uid, without a name', () => {
  const idx = new PodIndex();
  idx.upsert(pod({ app: 'web' }, true));
  assert.deepEqual(idx.lookup('b'.repeat(64), 'u-1'), { k8s: { ns: 'shop', pod: { name: 'web-1', uid: 'u-1', labels: { app: 'web' } } } });
  assert.equal(idx.lookup('b'.repeat(64)), undefined);
});
