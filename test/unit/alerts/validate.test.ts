// SPDX-License-Identifier: Apache-2.0
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { validateAlert, validateAlertBody } from '../../../src/alerts/validate.ts';

test('Falco priorities are accepted in any case and normalised', () => {
  for (const [p, want] of [['Critical', 'critical'], ['WARNING', 'warning'], ['Informational', 'informational'], ['info', 'informational'], ['Emergency', 'emergency']]) {
    assert.equal(validateAlert({ rule: 'r', priority: p }).alert?.priority, want);
  }
});

test('each problem names its field', () => {
  const r = validateAlertBody([{ rule: 'ok', priority: 'debug' }, { priority: 'loud', time: 'yesterday', output_fields: { a: { b: 1 } }, tags: [1], extra: true }], 10);
  assert.deepEqual(r.problems.map((p) => p.field), ['[1].extra', '[1].rule', '[1].priority', '[1].time', '[1].output_fields.a', '[1].tags']);
  assert.deepEqual(r.alerts, [], 'a batch is all or nothing');
});

test('limits: empty batch and too many alerts', () => {
  assert.match(validateAlertBody([], 10).problems[0]!.message, /empty array/);
  assert.match(validateAlertBody(Array.from({ length: 11 }, () => ({ rule: 'r', priority: 'debug' })), 10).problems[0]!.message, /too many alerts in one request \(11 > 10\)/);
});

test('a Falcosidekick uuid becomes the id; otherwise one is generated', () => {
  assert.equal(validateAlert({ uuid: 'abc-123', rule: 'r', priority: 'debug' }).alert?.id, 'abc-123');
  assert.match(validateAlert({ rule: 'r', priority: 'debug' }).alert!.id, /^[0-9a-f-]{36}$/);
  assert.equal(validateAlert({ uuid: 'has space', rule: 'r', priority: 'debug' }).problems[0]?.field, 'uuid');
});
