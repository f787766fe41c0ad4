// SPDX-License-Identifier: Apache-2.0
// The example playbooks in playbooks/ validate, match their sample alerts, and dry-run as documented.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { defaultRegistry } from '../../../src/actions/index.ts';
import { validateAlert } from '../../../src/alerts/validate.ts';
import { formatDiagnostic } from '../../../src/common/errors.ts';
import { loadPlaybookPaths, type LoadedPlaybook } from '../../../src/playbooks/load.ts';
import { matchPlaybooks } from '../../../src/playbooks/match.ts';
import { playbookSchemas } from '../../../src/playbooks/schema.ts';
import { simulate } from '../../../src/playbooks/simulate.ts';

const registry = defaultRegistry();
const results = await loadPlaybookPaths(['playbooks'], { registry });
const byName = new Map<string, LoadedPlaybook>(results.flatMap((r) => (r.playbook ? [[r.playbook.playbook.metadata.name, r.playbook] as const] : [])));
const alert = async (name: string) => validateAlert(JSON.parse(await readFile(`test/fixtures/alerts/${name}.json`, 'utf8'))).alert!;
const steps = (r: ReturnType<typeof simulate>) => r.entries.map((e) => `${e.kind}:${e.step ?? ''}`);

test('every example playbook validates', () => {
  assert.equal(results.length, 5);
  for (const r of results) assert.deepEqual(r.diagnostics.map(formatDiagnostic), [], r.file);
});

test('the published JSON Schema file is the one the validator uses (no drift)', async () => {
  const published = JSON.parse(await readFile('schemas/playbook.schema.json', 'utf8'));
  assert.deepEqual(published, JSON.parse(JSON.stringify(playbookSchemas(registry).published)), 'run: riposte playbooks schema > schemas/playbook.schema.json');
  for (const r of results) assert.match(await readFile(r.file, 'utf8'), /^# yaml-language-server: \$schema=\.\.\/schemas\/playbook\.schema\.json/);
});

test('terminal shell: snapshot, trace 10m, notify, approval, kill', async () => {
  const a = await alert('terminal-shell');
  assert.deepEqual(matchPlaybooks([...byName.values()], a).map((p) => p.playbook.metadata.name), ['terminal-shell-in-container']);
  const r = simulate(byName.get('terminal-shell-in-container')!, a, registry, { decide: 'approve' });
  assert.deepEqual(steps(r), ['execute:snapshot', 'execute:trace', 'notify:tell', 'approval:approve_kill', 'execute:kill', 'end:']);
  assert.equal(r.status, 'succeeded');
  assert.match(r.entries[1]!.text, /trace\.enable — record syscalls and packets of container abc123 for 10m/);
  const denied = simulate(byName.get('terminal-shell-in-container')!, a, registry, { decide: 'deny' });
  assert.equal(denied.status, 'denied');
  assert.ok(!steps(denied).includes('execute:kill'));
});

test('mining pool: isolate at once, notify, approval to kill', async () => {
  const a = await alert('mining-pool');
  assert.deepEqual(matchPlaybooks([...byName.values()], a).map((p) => p.playbook.metadata.name).sort(), ['falco-label-pod', 'mining-pool-connection']);
  const r = simulate(byName.get('mining-pool-connection')!, a, registry, { decide: 'approve' });
  assert.deepEqual(steps(r), ['execute:isolate', 'notify:tell', 'approval:approve_kill', 'execute:kill', 'end:']);
  assert.match(r.entries[0]!.text, /isolate pod payments\/api-7f9c with a deny-all NetworkPolicy for 24h/);
  assert.match(r.entries[1]!.text, /connected to 127\.0\.0\.1:3333/);
  const timedOut = simulate(byName.get('mining-pool-connection')!, a, registry, { decide: 'timeout' });
  assert.deepEqual(steps(timedOut), ['execute:isolate', 'notify:tell', 'approval:approve_kill', 'skip:kill', 'end:'], 'on timeout it continues without killing');
});

test('mining pool outside Kubernetes: in-kernel isolation at once, then notify', async () => {
  const k = await alert('mining-pool');
  const a = { ...k, output_fields: { 'container.id': 'd41f0a9b2c3e', 'fd.name': '172.17.0.2:40000->127.0.0.1:3333', 'fd.sport': 3333 } };
  assert.deepEqual(matchPlaybooks([...byName.values()], a).map((p) => p.playbook.metadata.name), ['mining-pool-node']);
  const r = simulate(byName.get('mining-pool-node')!, a, registry);
  assert.deepEqual(steps(r), ['execute:isolate', 'notify:tell', 'end:']);
  assert.match(r.entries[0]!.text, /cut all network traffic of container d41f0a9b2c3e in the kernel/);
  assert.equal(matchPlaybooks([byName.get('mining-pool-node')!], { ...a, output_fields: { ...a.output_fields, 'container.id': 'host' } }).length, 0, 'not for the host');
});

test('sensitive file read: trace + notify only (trace skipped on the host)', async () => {
  const a = await alert('sensitive-read');
  const r = simulate(byName.get('sensitive-file-read')!, a, registry);
  assert.deepEqual(steps(r), ['skip:trace', 'notify:tell', 'end:']);
  assert.match(r.entries[1]!.text, /cat read \/etc\/shadow in host on node-1\./);
  const inContainer = simulate(byName.get('sensitive-file-read')!, { ...a, output_fields: { ...a.output_fields, 'container.id': 'abc' } }, registry);
  assert.deepEqual(steps(inContainer), ['execute:trace', 'notify:tell', 'end:']);
  assert.match(inContainer.entries[1]!.text, /Tracing is on for 15 minutes\./);
  for (const each of [r, inContainer]) assert.ok(!each.entries.some((e) => /kill|delete|isolate/.test(e.text)), 'nothing destructive');
});

test('Falcosidekick alert: label the pod and write an Event', async () => {
  const a = await alert('falcosidekick');
  assert.deepEqual(matchPlaybooks([...byName.values()], a).map((p) => p.playbook.metadata.name), ['falco-label-pod']);
  const r = simulate(byName.get('falco-label-pod')!, a, registry);
  assert.deepEqual(steps(r), ['execute:label', 'execute:event', 'end:']);
  assert.deepEqual(r.entries[0]!.params, { labels: { 'riposte.io/flagged': 'true', 'riposte.io/rule': 'contact-k8s-api-server-from-container' } });
});
