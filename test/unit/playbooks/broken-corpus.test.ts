// SPDX-License-Identifier: Apache-2.0
// Every broken playbook in test/fixtures/playbooks/broken gets exactly these errors, with file:line:col and path.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { defaultRegistry } from '../../../src/actions/index.ts';
import { formatDiagnostic } from '../../../src/common/errors.ts';
import { loadPlaybookText } from '../../../src/playbooks/load.ts';

const DIR = 'test/fixtures/playbooks/broken';
const expected: Record<string, string[]> = {
  'bad-yaml.yaml': ['7:1 YAML: Missing closing "quote'],
  'unknown-key.yaml': ['7:5 steps[0].actoin: unknown key "actoin" (did you mean "action"?)'],
  'bad-template.yaml': [
    "9:16 steps[0].with.message: template syntax: Expecting 'ID', got 'INVALID'",
    '13:16 steps[1].with.message: unknown template variable "nosuch.thing": variables start with alert, steps, run, incident, playbook',
    '13:37 steps[1].with.message: template refers to step "three", which does not run before this step',
  ],
  'unknown-step-ref.yaml': ['9:22 steps[0].onError.goto: no step "frist_step" in this step list'],
  'goto-cycle.yaml': ['12:22 steps[1].onError.goto: goto "first" makes a loop with no wait or approval step in it; add a wait step to the loop'],
  'bad-duration.yaml': ['7:11 steps[0].wait: expected a duration like 5m', '11:17 steps[1].with.duration: expected a duration like 5m'],
  'unknown-action.yaml': ['7:13 steps[0].action: unknown action "container.kil" (did you mean "container.kill"?)'],
  'bad-action-param.yaml': ['9:27 steps[0].with.gracePeriodSeconds: must be >= 0', '10:7 steps[0].with.force: unknown key "force"'],
  'bad-condition.yaml': [
    "6:36 trigger.condition: condition: unexpected end of condition: expected ',' or ')' in a list",
    "9:24 steps[0].if: condition: unexpected '=': '=' expects a value or val(field)",
  ],
};

for (const [name, want] of Object.entries(expected)) {
  test(`broken playbook ${name}: every error reported at once with its position`, async () => {
    const file = `${DIR}/${name}`;
    const r = loadPlaybookText(file, await readFile(file, 'utf8'), { registry: defaultRegistry() });
    assert.equal(r.playbook, undefined, 'a broken playbook does not load');
    assert.deepEqual(
      r.diagnostics.map(formatDiagnostic),
      want.map((w) => `${file}:${w}`),
    );
  });
}

test('notifier and approver-group references are checked when the configuration names them', () => {
  const text = `apiVersion: riposte.dev/v1
kind: Playbook
metadata: { name: refs }
trigger: { rules: [x] }
steps:
  - id: tell
    notify: { to: [oncal], message: hi }
  - id: ask
    approval: { timeout: 5m, approvers: { groups: [sre, nobody] } }
`;
  const r = loadPlaybookText('refs.yaml', text, { registry: defaultRegistry(), notifiers: new Set(['oncall']), groups: new Set(['sre']) });
  assert.deepEqual(r.diagnostics.map(formatDiagnostic), [
    'refs.yaml:7:20 steps[0].notify.to[0]: unknown notifier "oncal" (did you mean "oncall"?); notifiers are defined in riposte.yaml',
    'refs.yaml:9:57 steps[1].approval.approvers.groups[1]: unknown approver group "nobody"; groups are defined in riposte.yaml',
  ]);
});

test('duplicate step ids and two kinds in one step are errors', () => {
  const text = `apiVersion: riposte.dev/v1
kind: Playbook
metadata: { name: dupes }
trigger: { rules: [x] }
steps:
  - id: a
    wait: 1s
  - id: a
    wait: 1s
    action: log
`;
  const r = loadPlaybookText('d.yaml', text, { registry: defaultRegistry() });
  assert.deepEqual(r.diagnostics.map(formatDiagnostic), [
    'd.yaml:8:9 steps[1].id: duplicate step id "a" (first used at 6:9)',
    'd.yaml:9:5 steps[1].wait: a step has exactly one of action, approval, notify, wait, parallel (found action and wait)',
  ]);
});
