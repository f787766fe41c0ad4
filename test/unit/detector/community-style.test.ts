// SPDX-License-Identifier: Apache-2.0
// A file in the style of Falco's community rules loads: what the sensor can
// evaluate is compiled, what it cannot is skipped with one warning per rule.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { DEFAULT_RULES_FILE, loadRulesFiles, matchEvent } from '../../../detector/ruleset/index.ts';
import { formatDiagnostic } from '../../../src/common/errors.ts';
import { connect, event, exec, O_WRONLY, open, proc } from './events.ts';

const FILE = fileURLToPath(new URL('./fixtures/community-style.yaml', import.meta.url));

describe('community-style rules file', () => {
  const rs = loadRulesFiles([FILE]);
  const names = (ev: Parameters<typeof matchEvent>[1]) => matchEvent(rs, ev).map((r) => r.name);

  test('loads without errors; skipped rules are named once each', () => {
    assert.deepEqual(rs.errors.map(formatDiagnostic), []);
    const w = rs.warnings.map((d) => d.message);
    assert.deepEqual(w, [
      "rule 'Unexpected egress domain' skipped: field 'fd.sip.name' is not provided by the Riposte sensor",
      "rule 'Redirect stdout to network' skipped: it needs event types dup, dup2, dup3, which the Riposte sensor does not produce",
      "1 rule(s) with source 'k8s_audit' kept aside: the detector loads only syscall rules",
    ]);
    assert.deepEqual(
      rs.rules.map((r) => r.name),
      ['Public egress', 'Modify Shell Configuration File', 'Interactive shell from ssh'],
    );
    assert.deepEqual(rs.disabled, ['Privileged container start']);
  });

  test('CIDR lists with quoted items, never_true placeholders and %container.info work', () => {
    assert.deepEqual(names(connect('93.184.216.34', 443)), ['Public egress']);
    assert.deepEqual(names(connect('10.0.0.7', 443)), []);
    assert.deepEqual(names(connect('192.168.1.1', 443)), []);
    assert.deepEqual(names(connect('127.0.0.1', 8080)), []);
    const r = rs.rules[0]!;
    assert.equal(r.formatOutput(connect('93.184.216.34', 443)), 'Public egress (connection=10.1.2.3:40000->93.184.216.34:443 process=curl container_id=host container_name=<NA>)');
  });

  test('quoted list items, tuple exceptions with list values, any-ancestor proc.aname', () => {
    assert.deepEqual(names(open('/home/u/.bashrc', O_WRONLY, { name: 'python3' })), ['Modify Shell Configuration File']);
    assert.deepEqual(names(open('/home/u/.bashrc', O_WRONLY, { name: '(systemd)' })), []);
    assert.deepEqual(names(open('/home/u/.bashrc', O_WRONLY, { name: 'vim' })), []);
    assert.deepEqual(names(open('/root/.bashrc', O_WRONLY, { name: 'vim' })), ['Modify Shell Configuration File']);
    // event() puts cat under bash under sshd: a bash exec'd the same way is under sshd too
    const underSshd = exec('bash', [], { parent: event().proc.parent! });
    assert.deepEqual(names(underSshd), ['Interactive shell from ssh']);
    assert.deepEqual(names(exec('bash', [], { parent: proc('cron') })), []);
  });

  test('loads after the default rules: both sets coexist', () => {
    const both = loadRulesFiles([DEFAULT_RULES_FILE, FILE]);
    // the community file redefines open_write, spawned_process and container: same meaning, no errors
    assert.deepEqual(both.errors.map(formatDiagnostic), []);
    assert.ok(both.rules.length >= 13);
  });
});
