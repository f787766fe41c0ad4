// SPDX-License-Identifier: Apache-2.0
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultRegistry } from '../../../src/actions/index.ts';
import { describeNext } from '../../../src/approvals/describe.ts';
import type { ApprovalView } from '../../../src/approvals/model.ts';
import { approvalPage } from '../../../src/approvals/page.ts';
import type { StoredRun } from '../../../src/engine/run-store.ts';
import type { Playbook } from '../../../src/playbooks/model.ts';

const view = (over: Partial<ApprovalView> = {}): ApprovalView => ({
  id: '11111111-2222-3333-4444-555555555555',
  runId: 'run-1',
  stepId: 'approve',
  attempt: 1,
  incidentId: 'inc-1',
  alertId: 'al-1',
  playbook: 'kill-shell',
  title: 'Kill <script>alert(1)</script>',
  next: [{ stepId: 'kill', kind: 'action', action: 'notify.webhook', description: 'POST to <b>evil</b>', destructive: true, condition: 'proc.name = bash' }],
  target: 'payments/api-7f9c',
  alert: { rule: 'Terminal shell', priority: 'critical', hostname: 'node-1', time: '2024-05-01T12:00:00Z', source: 'syscall', output: '"><img src=x onerror=alert(1)>' },
  approvers: { users: ['alice@example.com'], groups: ['oncall'] },
  minApprovals: 2,
  onTimeout: 'deny',
  notify: [],
  startedBy: 'system',
  dryRun: false,
  createdAt: '2024-05-01T12:00:00.000Z',
  expiresAt: '2024-05-01T12:10:00.000Z',
  status: 'pending',
  votes: [{ person: 'bob@example.com', decision: 'approved', via: 'proxy-header', at: '2024-05-01T12:01:00.000Z', comment: '<i>ok</i>' }],
  approvals: 1,
  ...over,
});
const now = new Date('2024-05-01T12:05:00.000Z');

test('the page escapes everything that came from an alert, a playbook or a person', () => {
  const html = approvalPage(view(), {}, now);
  for (const bad of ['<script>', '<img', '<b>evil', '<i>ok']) assert.equal(html.includes(bad), false, `${bad} is escaped`);
  assert.match(html, /Kill &lt;script&gt;/);
  assert.match(html, /&lt;i&gt;ok&lt;\/i&gt;/);
});

test('the page says what happens, to what, why, until when, and who voted', () => {
  const html = approvalPage(view(), {}, now);
  assert.match(html, /What happens if you approve/);
  assert.match(html, /if proc\.name = bash:/);
  assert.match(html, /destructive/);
  assert.match(html, /payments\/api-7f9c/);
  assert.match(html, /Terminal shell \(critical\)/);
  assert.match(html, /1 of 2 approvals/);
  assert.match(html, /in about 5 min/);
  assert.match(html, /the request is denied and the run stops/);
  assert.match(html, /Approvers: alice@example\.com, group oncall\. 2 different people must approve; one denial denies\./);
  assert.match(html, /bob@example\.com<\/td><td><span class="badge approved">approved/);
  assert.doesNotMatch(html, /<form/, 'no form without a viewer who may vote');
  assert.doesNotMatch(html, /style=|<script>(?!<\/script>)|onclick/, 'no inline style or script (strict CSP)');
});

test('the form carries the single-use token and the personal link; deny-only for the run starter', () => {
  const html = approvalPage(view(), { person: 'alice@example.com', via: 'personal-link', form: { csrf: 'SEL.SECRET', link: 'L.K' } }, now);
  assert.match(html, /<form method="post" action="\/approvals\/11111111-2222-3333-4444-555555555555\/decision">/);
  assert.match(html, /name="csrf" value="SEL\.SECRET"/);
  assert.match(html, /name="t" value="L\.K"/);
  assert.match(html, /value="approve"/);
  const self = approvalPage(view(), { person: 'alice@example.com', via: 'proxy-header', form: { csrf: 'X.Y', denyOnly: true }, reason: 'alice started this run' }, now);
  assert.doesNotMatch(self, /value="approve"/);
  assert.match(self, /value="deny"/);
});

test('what happens next: rendered parameters up to the next approval', () => {
  const model = {
    apiVersion: 'riposte.dev/v1',
    kind: 'Playbook',
    metadata: { name: 'p' },
    enabled: true,
    trigger: {},
    options: {},
    steps: [
      { id: 'approve', approval: { timeout: '5m' } },
      { id: 'hook', action: 'notify.webhook', with: { url: 'https://hooks.example/{{alert.hostname}}', body: {} } },
      { id: 'later', action: 'log', with: { message: '{{steps.hook.output.status}}' } },
      { id: 'pause', wait: '1m' },
      { id: 'second', approval: { timeout: '5m' } },
      { id: 'never', action: 'log', with: { message: 'x' } },
    ],
  } as unknown as Playbook;
  const run = {
    meta: { id: 'r', playbook: 'p', model, dryRun: false, incidentId: 'i' },
    state: { context: { alert: { hostname: 'node-9', output_fields: {} }, steps: {}, attempts: {}, tries: {} } },
  } as unknown as StoredRun;
  const { next, moreAfter } = describeNext(run, 'approve', defaultRegistry());
  assert.deepEqual(
    next.map((n) => n.description),
    ['POST a JSON notification to hooks.example', "Write a message to Riposte's log (log; some parameters come from earlier steps' output and are filled in when it runs)", 'wait 1m'],
  );
  assert.equal(next[0]!.destructive, false);
  assert.equal(moreAfter, 'second');
});
