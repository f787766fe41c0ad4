// SPDX-License-Identifier: Apache-2.0
// UI building blocks without a browser: password hashes, roles, which paths need an identity,
// the state-machine diagram's highlighting, artifact discovery, state names, safe redirects.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultRegistry } from '../../../src/actions/index.ts';
import { needsIdentity } from '../../../src/http/routes/ui.ts';
import { loadPlaybookText } from '../../../src/playbooks/load.ts';
import { ANONYMOUS_VIEWER, hashPassword, UiAuth, verifyPassword } from '../../../src/ui/auth.ts';
import { currentNodes, renderDiagram } from '../../../src/ui/diagram.ts';
import { findArtifacts, stateName } from '../../../src/ui/format.ts';
import { safeNext } from '../../../src/ui/pages/login.ts';
import { makeKeys } from '../../../src/redis/keys.ts';

test('password hashes verify only the right password and reject malformed hashes', () => {
  const h = hashPassword('correct horse');
  assert.match(h, /^scrypt\$16384\$8\$1\$[\w-]+\$[\w-]+$/);
  assert.equal(verifyPassword('correct horse', h), true);
  assert.equal(verifyPassword('correct horsf', h), false);
  assert.notEqual(hashPassword('correct horse'), h, 'salted');
  assert.equal(verifyPassword('x', 'plain-text-password'), false);
  assert.equal(verifyPassword('x', 'scrypt$99999999$8$1$AAAA$AAAAAAAAAAAAAAAAAAAAAA'), false, 'absurd cost parameters are refused, not computed');
});

test('roles: named approvers, groups from the proxy or approvals.groups, "*", case-insensitive', () => {
  const auth = new UiAuth({} as never, makeKeys('t'), { ...ANONYMOUS_VIEWER, approvers: ['Alice@Example.com', 'group:oncall', 'group:sec'], groups: { sec: ['carol@example.com'] } });
  assert.equal(auth.roleOf('alice@example.com', []), 'approver');
  assert.equal(auth.roleOf('bob@example.com', ['oncall']), 'approver');
  assert.equal(auth.roleOf('CAROL@example.com', []), 'approver');
  assert.equal(auth.roleOf('dave@example.com', ['dev']), 'viewer');
  const all = new UiAuth({} as never, makeKeys('t'), { ...ANONYMOUS_VIEWER, approvers: ['*'] });
  assert.equal(all.roleOf('anyone', []), 'approver');
});

test('the UI, its data API and the event stream need an identity; assets, login and other routes do not', () => {
  for (const p of ['/', '/?x=1', '/ui/audit', '/ui/incidents/abc', '/api/incidents', '/api/audit/verify', '/api/events', '/api/playbooks', '/api/runs/x']) assert.equal(needsIdentity(p), true, p);
  for (const p of ['/ui/assets/app.css', '/ui/login', '/ui/logout', '/healthz', '/v1/alerts', '/approvals/x', '/api/approvals', '/metrics']) assert.equal(needsIdentity(p), false, p);
});

test('after login only same-site paths are followed', () => {
  assert.equal(safeNext('/ui/audit?q=x'), '/ui/audit?q=x');
  for (const bad of ['//evil.example', 'https://evil.example', '/\\evil.example', undefined, 42]) assert.equal(safeNext(bad), '/');
});

const PB = `
apiVersion: riposte.dev/v1
kind: Playbook
metadata: { name: d }
trigger: { rules: [x] }
steps:
  - id: a
    action: log
    with: { message: hi }
  - id: par
    parallel:
      branches:
        - steps:
            - { id: b1, action: log, with: { message: b1 } }
        - steps:
            - { id: b2, wait: 1s }
  - id: ok
    approval: { timeout: 5m }
`;

test('the diagram marks visited, current and failed states with classes, and names itself for screen readers', () => {
  const pb = loadPlaybookText('d.yaml', PB, { registry: defaultRegistry() }).playbook!.playbook;
  const plain = renderDiagram(pb, 'u1').value;
  assert.match(plain, /<svg[^>]+role="img" aria-labelledby="u1-t u1-d"/);
  assert.doesNotMatch(plain, /style=/, 'no inline styles (the CSP forbids them)');
  assert.match(plain, /data-node="step:par:join"/);
  assert.doesNotMatch(plain, /class="node[^"]*visited/);

  const value = { par: { branches: { b0: { b1: 'active' }, b1: { b2: 'active' } } } };
  assert.deepEqual([...currentNodes(value)].sort(), ['step:b1', 'step:b2']);
  const running = renderDiagram(pb, 'u2', { status: 'running', value, context: { visited: ['a', 'par', 'b1', 'b2'], steps: { a: { status: 'succeeded' } } } }).value;
  assert.match(running, /<g class="node kind-action visited st-succeeded" data-node="step:a">/);
  assert.match(running, /<g class="node kind-action visited current" data-node="step:b1">/);
  assert.match(running, /<g class="node kind-approval" data-node="step:ok">/);
  assert.match(running, /class="edge next traversed"/);
  assert.match(running, /<desc id="u2-d">Steps: a succeeded, par, b1 current, b2 current, ok<\/desc>/);

  const failed = renderDiagram(pb, 'u3', { status: 'failed', value: 'failed', context: { visited: ['a'], steps: { a: { status: 'failed' } } } }).value;
  assert.match(failed, /class="node kind-end visited current end-failed"/);
  assert.match(failed, /class="edge error traversed"/);
});

test('artifacts are found anywhere in outputs and details by their hash fields', () => {
  const sha = 'c'.repeat(64);
  const found = findArtifacts('step snap', { snapshot: { path: '/a/b.tar', sha256: sha, size: 10 }, note: 'x', prevHash: 'd'.repeat(64), nested: [{ digest: `sha256:${'e'.repeat(64)}` }] });
  assert.deepEqual(found, [
    { where: 'step snap', path: 'snapshot.sha256', hash: sha, name: '/a/b.tar', size: 10 },
    { where: 'step snap', path: 'nested.0.digest', hash: `sha256:${'e'.repeat(64)}` },
  ]);
  assert.deepEqual(findArtifacts('x', { hash: 'not-a-hash' }), []);
});

test('state values read as people say them', () => {
  assert.equal(stateName('succeeded'), 'succeeded');
  assert.equal(stateName({ gate: 'active' }), 'gate');
  assert.equal(stateName({ a: 'backoff' }), 'a (backoff)');
  assert.equal(stateName({ par: { branches: { b0: { x: 'active' }, b1: { done: 'done' } } } }), 'par: x, done (done)');
});
