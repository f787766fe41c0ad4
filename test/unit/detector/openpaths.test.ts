// SPDX-License-Identifier: Apache-2.0
// The open-path analysis behind the in-kernel open filter: necessary bounds only, `any` when unsure.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseCondition } from '../../../detector/condition/index.ts';
import { openPathPrefixes } from '../../../detector/condition/openpaths.ts';
import { DEFAULT_RULES_FILE, loadRules, loadRulesFiles, openFilterFor } from '../../../detector/ruleset/index.ts';

const macros = { open_read: 'evt.type in (open, openat) and evt.is_open_read = true', open_write: 'evt.type in (open, openat) and evt.is_open_write = true' };
const lists = { secrets: ['/etc/shadow', '/root/.ssh'] };
const paths = (c: string) => openPathPrefixes(parseCondition(c), { macros, lists });

test('bounds from fd.name, fd.directory, lists and macros', () => {
  assert.deepEqual(paths('open_read and fd.name in (secrets)'), ['/etc/shadow', '/root/.ssh']);
  assert.deepEqual(paths('open_read and fd.name pmatch (/etc/pam.d)'), ['/etc/pam.d']);
  assert.deepEqual(paths('open_read and fd.name startswith /var/lib/x'), ['/var/lib/x']);
  assert.deepEqual(paths('open_read and fd.directory in (/bin, /usr/bin)'), ['/bin/', '/usr/bin/']);
  assert.deepEqual(paths('open_write and fd.directory = /bin'), [], 'writes are always reported: no read opens needed');
  assert.deepEqual(paths('evt.type = connect and fd.sport = 3333'), [], 'not an open at all');
  assert.deepEqual(paths('(open_read and fd.name = /a) or (open_read and fd.name = /b)'), ['/a', '/b']);
});

test('anything it cannot bound is any (never a narrower filter than the rules need)', () => {
  assert.equal(paths('open_read'), 'any');
  assert.equal(paths('open_read and fd.name contains shadow'), 'any');
  assert.equal(paths('open_read and not fd.name in (secrets)'), 'any');
  assert.equal(paths('(open_read and fd.name = /a) or proc.name = cat'), 'any');
  assert.equal(paths('open_read and fd.name = val(proc.cwd)'), 'any');
  assert.equal(paths('open_read and unknown_macro'), 'any');
});

test('the default rules give a small prefix set; a rule that reads any open turns the filter off', () => {
  const rs = loadRulesFiles([DEFAULT_RULES_FILE]);
  const f = openFilterFor(rs)!;
  assert.ok(f.includes('/etc/shadow') && f.includes('/root/.ssh'));
  assert.ok(!f.includes('/etc/shadow-'), 'subsumed prefixes are dropped');
  assert.ok(f.length <= 16);
  const more = loadRules([{ file: 'extra.yaml', text: '- rule: any read\n  desc: d\n  condition: evt.type = openat and evt.is_open_read = true\n  output: x\n  priority: NOTICE\n' }]);
  assert.equal(openFilterFor(more), undefined);
});
