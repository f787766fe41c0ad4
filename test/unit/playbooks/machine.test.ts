// SPDX-License-Identifier: Apache-2.0
// Compile-and-run tests for every playbook construct, on the pure machine (no Redis, no clock).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultRegistry } from '../../../src/actions/index.ts';
import { validateAlert } from '../../../src/alerts/validate.ts';
import { backoffDelay } from '../../../src/engine/effects.ts';
import { activeEffects, applyEvent, machineFor, startRun } from '../../../src/engine/machines.ts';
import { formatDiagnostic } from '../../../src/common/errors.ts';
import { loadPlaybookText, type LoadedPlaybook } from '../../../src/playbooks/load.ts';
import { simulate } from '../../../src/playbooks/simulate.ts';
import type { Step } from '../../../src/playbooks/model.ts';

const registry = defaultRegistry();
const alert = validateAlert({ rule: 'r', priority: 'critical', hostname: 'h', output_fields: { 'container.id': 'c1', 'k8s.ns.name': 'prod' } }).alert!;

function pb(steps: string): LoadedPlaybook {
  const text = `apiVersion: riposte.dev/v1\nkind: Playbook\nmetadata: { name: t }\ntrigger: { rules: [r] }\nsteps:\n${steps}`;
  const r = loadPlaybookText('t.yaml', text, { registry });
  assert.ok(r.playbook, r.diagnostics.map(formatDiagnostic).join('\n'));
  return r.playbook;
}
const log = (id: string, extra = '') => `  - id: ${id}\n    action: log\n    with: { message: ${id} }\n${extra}`;
const ran = (r: ReturnType<typeof simulate>) => r.entries.filter((e) => e.kind === 'execute' && e.text.startsWith('run')).map((e) => e.step);

test('steps run in order and the run succeeds', () => {
  const r = simulate(pb(log('a') + log('b') + log('c')), alert, registry);
  assert.equal(r.status, 'succeeded');
  assert.deepEqual(ran(r), ['a', 'b', 'c']);
  assert.deepEqual(r.state.context.visited, ['a', 'b', 'c']);
});

test('if: a false condition skips the step, a true one runs it; later conditions see earlier outputs', () => {
  const r = simulate(pb(log('a', '    if: k8s.ns.name = staging\n') + log('b', '    if: k8s.ns.name = prod\n') + log('c', '    if: steps.a.status = skipped and steps.b.output.dryRun = true and steps.b.status = succeeded\n')), alert, registry);
  assert.deepEqual(ran(r), ['b', 'c']);
  assert.equal(r.state.context.steps.a?.status, 'skipped');
  assert.equal(r.status, 'succeeded');
});

test('retry: a failing step is tried `attempts` times with backoff in between, then onError decides', () => {
  const lp = pb(log('flaky', '    retry: { attempts: 3, backoff: 2s, factor: 2 }\n') + log('after'));
  const r = simulate(lp, alert, registry, { fail: ['flaky'] });
  assert.equal(r.status, 'failed');
  assert.equal(r.entries.filter((e) => e.step === 'flaky' && e.kind === 'execute').length, 3);
  assert.equal(r.entries.filter((e) => e.kind === 'timer').length, 2, 'two backoffs between three tries');
  assert.equal(r.state.context.attempts.flaky, 3);
  assert.match(r.state.context.error ?? '', /step flaky failed/);
  const step = lp.playbook.steps[0] as Step;
  assert.deepEqual([1, 2, 3].map((t) => backoffDelay(step, t)), [2000, 4000, 8000]);
});

test('retry stops early for a non-retryable failure', () => {
  const lp = pb(log('x', '    retry: { attempts: 5, backoff: 1s }\n'));
  const m = machineFor(lp.version, lp.playbook);
  let s = startRun(m, { alert, runId: 'r', incidentId: 'i' }, new Date(0));
  s = applyEvent(m, s, { type: 'STEP_FAILED', stepId: 'x', attempt: 1, error: 'forbidden', retryable: false }, new Date(0)).state;
  assert.equal(s.status, 'failed');
});

test('timeout: a step that does not finish in time fails (and is retried)', () => {
  const lp = pb(log('slow', '    timeout: 30s\n    retry: { attempts: 2, backoff: 1s }\n'));
  const m = machineFor(lp.version, lp.playbook);
  let s = startRun(m, { alert, runId: 'r', incidentId: 'i' }, new Date(0));
  s = applyEvent(m, s, { type: 'TIMER', stepId: 'slow', attempt: 1, timer: 'timeout' }, new Date(0)).state;
  assert.deepEqual(activeEffects(m, s).map((e) => [e.effect, e.stepId]), [['timer', 'slow']], 'backoff after the timeout');
  s = applyEvent(m, s, { type: 'TIMER', stepId: 'slow', attempt: 1, timer: 'backoff' }, new Date(0)).state;
  assert.equal(s.context.attempts.slow, 2);
  // a late result of attempt 1 is stale: nothing changes
  const stale = applyEvent(m, s, { type: 'STEP_DONE', stepId: 'slow', attempt: 1, output: {} }, new Date(0));
  assert.equal(stale.changed, false);
  s = applyEvent(m, s, { type: 'TIMER', stepId: 'slow', attempt: 2, timer: 'timeout' }, new Date(0)).state;
  assert.equal(s.status, 'failed');
  assert.equal(s.context.steps.slow?.error, 'timed out');
});

test('onError continue records the failure and goes on', () => {
  const r = simulate(pb(log('a', '    onError: continue\n') + log('b')), alert, registry, { fail: ['a'] });
  assert.equal(r.status, 'succeeded');
  assert.equal(r.state.context.steps.a?.status, 'failed');
  assert.deepEqual(ran(r), ['b']);
});

test('onError goto jumps back through a wait step; each visit gets a fresh attempt number', () => {
  const lp = pb(`  - id: pause\n    wait: 1m\n${log('try', '    onError: { goto: pause }\n')}${log('done')}`);
  const m = machineFor(lp.version, lp.playbook);
  let s = startRun(m, { alert, runId: 'r', incidentId: 'i' }, new Date(0));
  for (let round = 1; round <= 3; round++) {
    assert.deepEqual(activeEffects(m, s).map((e) => [e.effect, e.stepId, e.attempt]), [['timer', 'pause', round]]);
    s = applyEvent(m, s, { type: 'TIMER', stepId: 'pause', attempt: round, timer: 'wait' }, new Date(0)).state;
    assert.deepEqual(activeEffects(m, s).map((e) => [e.effect, e.stepId, e.attempt]), [['execute', 'try', round]]);
    if (round < 3) s = applyEvent(m, s, { type: 'STEP_FAILED', stepId: 'try', attempt: round, error: 'x' }, new Date(0)).state;
  }
  s = applyEvent(m, s, { type: 'STEP_DONE', stepId: 'try', attempt: 3, output: {} }, new Date(0)).state;
  s = applyEvent(m, s, { type: 'STEP_DONE', stepId: 'done', attempt: 1, output: {} }, new Date(0)).state;
  assert.equal(s.status, 'succeeded');
});

test('parallel: branches run side by side and the next step waits for all of them', () => {
  const lp = pb(`  - id: both
    parallel:
      branches:
        - steps:
${log('a1').replace(/^ {2}/gm, '          ')}${log('a2').replace(/^ {2}/gm, '          ')}        - steps:
${log('b1').replace(/^ {2}/gm, '          ')}${log('last')}`);
  const m = machineFor(lp.version, lp.playbook);
  let s = startRun(m, { alert, runId: 'r', incidentId: 'i' }, new Date(0));
  assert.deepEqual(activeEffects(m, s).map((e) => e.stepId).sort(), ['a1', 'b1']);
  s = applyEvent(m, s, { type: 'STEP_DONE', stepId: 'b1', attempt: 1, output: {} }, new Date(0)).state;
  assert.deepEqual(activeEffects(m, s).map((e) => e.stepId), ['a1']);
  s = applyEvent(m, s, { type: 'STEP_DONE', stepId: 'a1', attempt: 1, output: {} }, new Date(0)).state;
  assert.deepEqual(activeEffects(m, s).map((e) => e.stepId), ['a2']);
  s = applyEvent(m, s, { type: 'STEP_DONE', stepId: 'a2', attempt: 1, output: {} }, new Date(0)).state;
  assert.deepEqual(activeEffects(m, s).map((e) => e.stepId), ['last']);
  assert.equal(s.context.steps.both?.status, 'succeeded');
  const r = simulate(lp, alert, registry, { fail: ['b1'] });
  assert.equal(r.status, 'failed', 'a failing branch step fails the run');
});

test('approval: approve continues, deny ends the run denied, timeout follows onTimeout', () => {
  const steps = (onTimeout: string) => `  - id: ask\n    approval: { timeout: 30m, onTimeout: ${onTimeout}, message: 'kill {{field "container.id"}}?' }\n${log('act', '    if: steps.ask.status = approved\n')}`;
  const approve = simulate(pb(steps('deny')), alert, registry, { decide: 'approve' });
  assert.equal(approve.status, 'succeeded');
  assert.deepEqual(ran(approve), ['act']);
  assert.match(approve.entries[0]!.text, /"kill c1\?"/);
  const deny = simulate(pb(steps('deny')), alert, registry, { decide: 'deny' });
  assert.equal(deny.status, 'denied');
  assert.deepEqual(ran(deny), []);
  assert.equal(simulate(pb(steps('deny')), alert, registry, { decide: 'timeout' }).status, 'denied');
  const timeoutApprove = simulate(pb(steps('approve')), alert, registry, { decide: 'timeout' });
  assert.equal(timeoutApprove.status, 'succeeded');
  assert.deepEqual(ran(timeoutApprove), ['act']);
  const timeoutContinue = simulate(pb(steps('continue')), alert, registry, { decide: 'timeout' });
  assert.equal(timeoutContinue.status, 'succeeded');
  assert.deepEqual(ran(timeoutContinue), [], 'continue goes on without the approval: the guarded step is skipped');
  assert.equal(timeoutContinue.state.context.steps.ask?.status, 'timedout');
});

test('a decision for another attempt or step changes nothing', () => {
  const lp = pb(`  - id: ask\n    approval: { timeout: 5m }\n`);
  const m = machineFor(lp.version, lp.playbook);
  const s = startRun(m, { alert, runId: 'r', incidentId: 'i' }, new Date(0));
  assert.equal(applyEvent(m, s, { type: 'DECISION', stepId: 'ask', attempt: 2, decision: 'approved' }, new Date(0)).changed, false);
  assert.equal(applyEvent(m, s, { type: 'DECISION', stepId: 'other', attempt: 1, decision: 'approved' }, new Date(0)).changed, false);
});

test('CANCEL stops a run wherever it is', () => {
  const lp = pb(`  - id: pause\n    wait: 1h\n`);
  const m = machineFor(lp.version, lp.playbook);
  const s = applyEvent(m, startRun(m, { alert, runId: 'r', incidentId: 'i' }, new Date(0)), { type: 'CANCEL', reason: 'operator' }, new Date(0)).state;
  assert.equal(s.status, 'cancelled');
  assert.equal(s.context.error, 'cancelled: operator');
});

test('state ids are explicit and stable in persisted snapshots', () => {
  const lp = pb(log('a', '    retry: { attempts: 2, backoff: 1s }\n'));
  const m = machineFor(lp.version, lp.playbook);
  const s = startRun(m, { alert, runId: 'r', incidentId: 'i' }, new Date(0));
  assert.deepEqual(s.value, { a: 'active' });
  const ids = [...(m as unknown as { idMap: Map<string, unknown> }).idMap.keys()].sort();
  for (const id of ['step:a', 'step:a:active', 'step:a:backoff', 'run:succeeded', 'run:failed', 'run:denied', 'run:cancelled']) assert.ok(ids.includes(id), `has state id ${id}`);
});

test('the version hash changes with the model and not with the file it came from', () => {
  const a = pb(log('a'));
  const b = loadPlaybookText('elsewhere.yaml', `apiVersion: riposte.dev/v1\nkind: Playbook\nmetadata: { name: t }\ntrigger: { rules: [r] }\nsteps:\n${log('a')}`, { registry }).playbook!;
  const c = pb(log('b'));
  assert.equal(a.version, b.version);
  assert.notEqual(a.version, c.version);
});
