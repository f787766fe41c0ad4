// SPDX-License-Identifier: Apache-2.0
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { IdentityResolver } from '../../../src/approvals/identity.ts';

const r = new IdentityResolver(['10.0.0.5', '192.168.0.0/16', 'fd00::/8'], ['X-Auth-Request-Email', 'X-Forwarded-User']);

test('identity headers count only from trusted proxies (addresses and CIDR ranges, IPv4-mapped IPv6 too)', () => {
  const h = { 'x-auth-request-email': 'Alice@Example.com' };
  assert.deepEqual(r.fromProxy('10.0.0.5', h), { person: 'alice@example.com', header: 'x-auth-request-email' });
  assert.deepEqual(r.fromProxy('::ffff:10.0.0.5', h)?.person, 'alice@example.com');
  assert.equal(r.fromProxy('192.168.44.3', h)?.person, 'alice@example.com');
  assert.equal(r.fromProxy('fd12::1', h)?.person, 'alice@example.com');
  assert.equal(r.fromProxy('10.0.0.6', h), undefined);
  assert.equal(r.fromProxy('127.0.0.1', h), undefined);
  assert.equal(r.fromProxy(undefined, h), undefined);
});

test('first configured header present wins; unusable values are ignored', () => {
  assert.equal(r.fromProxy('10.0.0.5', { 'x-forwarded-user': 'bob' })?.person, 'bob');
  assert.equal(r.fromProxy('10.0.0.5', { 'x-forwarded-user': 'bob', 'x-auth-request-email': 'carol@x' })?.person, 'carol@x');
  assert.equal(r.fromProxy('10.0.0.5', { 'x-auth-request-email': 'has space' }), undefined);
  assert.equal(r.fromProxy('10.0.0.5', { 'x-auth-request-email': '' }), undefined);
  assert.equal(r.fromProxy('10.0.0.5', {}), undefined);
});

test('no trusted proxies: no header is ever honoured', () => {
  const none = new IdentityResolver([], ['X-Forwarded-User']);
  assert.equal(none.fromProxy('127.0.0.1', { 'x-forwarded-user': 'root' }), undefined);
});

test('bad proxy entries are configuration errors', () => {
  assert.throws(() => new IdentityResolver(['not-an-ip'], []), /not an IP address/);
  assert.throws(() => new IdentityResolver(['10.0.0.0/40'], []), /prefix length/);
});
