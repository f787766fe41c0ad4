// SPDX-License-Identifier: Apache-2.0
// Approval gates end to end through the page: a chat message with a link, GET/HEAD that decide nothing,
// a POST with the page's single-use token that decides; quorum, deny-wins, timeouts, reminders, the CLI,
// and refused tokens (forged, expired, replayed, another person's), all against real Redis and real HTTP.
import assert from 'node:assert/strict';
import { userInfo } from 'node:os';
import { after, before, describe, test } from 'node:test';
import { verifyChain } from '../../src/audit/verify.ts';
import { startHttpSink, type HttpSink } from '../helpers/http-sink.ts';
import { runCli } from '../helpers/process.ts';
import { stopTestRedis, testRedisUrl } from '../helpers/redis.ts';
import { shellAlert } from '../helpers/riposte.ts';
import { waitUntil } from '../helpers/wait.ts';
import { csrfOf, FORM, formBody, rawRequest, type Stack, startStack } from './approvals-stack.ts';

const OS_USER = userInfo().username;
let sink: HttpSink;
let s: Stack;

const gate = (name: string, rule: string, approval: string, next = '') => `
apiVersion: riposte.dev/v1
kind: Playbook
metadata: { name: ${name} }
trigger: { rules: ["${rule}"] }
steps:
  - id: approve
    name: Kill the shell's container
    approval:
${approval
  .trim()
  .split('\n')
  .map((l) => `      ${l}`)
  .join('\n')}
  - id: act
    action: notify.webhook
    with: { url: "SINK/effect/${name}", body: { pod: '{{field "k8s.pod.name"}}', run: '{{run.id}}' } }
${next}`;

before(async () => {
  sink = await startHttpSink();
  const pb = (t: string) => t.replaceAll('SINK', sink.url);
  s = await startStack({
    playbooks: {
      'quorum.yaml': pb(gate('quorum', 'Quorum shell', 'approvers: { users: [alice@example.com], groups: [oncall] }\nminApprovals: 2\ntimeout: 5m\nmessage: \'Shell in {{field "k8s.pod.name"}}\'\nnotify: [chat, slack]')),
      'single.yaml': pb(gate('single', 'Single shell', 'approvers: { users: [alice@example.com, bob@example.com] }\ntimeout: 5m\nnotify: [chat]')),
      'deny.yaml': pb(gate('timeout-deny', 'Timeout deny', 'timeout: 1s\nonTimeout: deny\nnotify: [chat]')),
      'approve.yaml': pb(gate('timeout-approve', 'Timeout approve', 'timeout: 1s\nonTimeout: approve')),
      'continue.yaml': pb(gate('timeout-continue', 'Timeout continue', 'timeout: 1s\nonTimeout: continue')),
      'cut.yaml': pb(gate('cut-short', 'Cut short', 'timeout: 1500ms\nonTimeout: deny')),
      'remind.yaml': pb(gate('remind', 'Remind me', 'approvers: { users: [alice@example.com] }\ntimeout: 4s\nnotify: [chat]')),
      'cli.yaml': pb(gate('cli', 'CLI shell', 'approvers: { users: [ops@example.com] }\ntimeout: 5m')),
    },
    configure: (c) => {
      c.notifiers = { chat: { type: 'webhook', urlEnv: 'CHAT_URL' }, slack: { type: 'slack', urlEnv: 'SLACK_URL' }, 'alice-dm': { type: 'webhook', urlEnv: 'ALICE_URL' } };
      c.approvals.groups = { oncall: ['bob@example.com', 'Carol@Example.com'] };
      c.approvals.people = { 'alice@example.com': { notify: 'alice-dm' }, 'ops@example.com': { osUser: OS_USER } };
      c.approvals.reminders = ['2500ms'];
    },
    env: { CHAT_URL: `${sink.url}/chat`, SLACK_URL: `${sink.url}/slack`, ALICE_URL: `${sink.url}/alice` },
  });
});
after(async () => {
  await s.close();
  await sink.close();
  await stopTestRedis();
});

const effects = (name: string) => sink.received.filter((r) => r.path === `/effect/${name}`);
const proxy = (email: string) => ({ 'x-auth-request-email': email });
const personalLink = async (approvalId: string) => {
  const msg = await waitUntil(() => sink.received.find((r) => r.path === '/alice' && r.body.includes(approvalId) && JSON.parse(r.body).kind === 'approval'), 'personal message to alice');
  const m = /\?t=([A-Za-z0-9_.-]+)/.exec(msg.body);
  assert.ok(m, 'the personal message carries a personal link');
  return m[1]!;
};
async function pageAs(a: { id: string }, who: { link?: string; email?: string; from?: string }) {
  const r = await rawRequest(s.url, 'GET', `/approvals/${a.id}${who.link ? `?t=${who.link}` : ''}`, { headers: who.email ? proxy(who.email) : {}, from: who.from });
  return { ...r, csrf: csrfOf(r.text) };
}
async function decide(a: { id: string }, decision: string, who: { link?: string; email?: string; from?: string; csrf?: string; comment?: string }) {
  const body = formBody({ decision, ...(who.csrf ? { csrf: who.csrf } : {}), ...(who.link ? { t: who.link } : {}), ...(who.comment ? { comment: who.comment } : {}) });
  return rawRequest(s.url, 'POST', `/approvals/${a.id}/decision`, { headers: { ...FORM, ...(who.email ? proxy(who.email) : {}), accept: 'application/json' }, body, from: who.from });
}
const state = async (a: { id: string; runId: string }) => {
  const v = await s.approvals.service.store.get(a.id);
  const run = await s.runtime.runs.get(a.runId);
  return { status: v?.status, votes: v?.votes.length, approvals: v?.approvals, run: run?.state.status, value: JSON.stringify(run?.state.value) };
};

describe('approval page', () => {
  test('the request is posted with a link; GET and HEAD (scanners, unfurlers) show it and decide nothing', async () => {
    const alert = shellAlert({ rule: 'Quorum shell', uuid: 'scan-1' });
    assert.equal((await s.postAlerts(alert)).status, 202);
    const a = await s.approvalFor('scan-1', 'quorum');
    assert.equal(a.status, 'pending');
    assert.equal(a.minApprovals, 2);
    // chat: generic webhook and Slack Block Kit, both with the page link
    const chat = await waitUntil(() => sink.received.find((r) => r.path === '/chat' && r.body.includes(a.id)), 'chat message');
    const body = JSON.parse(chat.body);
    assert.equal(body.kind, 'approval');
    assert.equal(body.links[0].url, `${s.url}/approvals/${a.id}`);
    assert.match(body.text, /Shell in api-7f9c/);
    assert.match(body.text, /If approved: POST a JSON notification to 127\.0\.0\.1/);
    const slack = JSON.parse((await waitUntil(() => sink.received.find((r) => r.path === '/slack' && r.body.includes(a.id)), 'slack message')).body);
    const actions = slack.blocks.find((b: any) => b.type === 'actions');
    assert.equal(actions.elements[0].type, 'button');
    assert.equal(actions.elements[0].url, `${s.url}/approvals/${a.id}`);
    const link = await personalLink(a.id);
    const before = await state(a);

    // a scanner fetches everything it sees, several times, with and without the personal link
    for (let i = 0; i < 3; i++) {
      const anon = await rawRequest(s.url, 'GET', `/approvals/${a.id}`);
      assert.equal(anon.status, 200);
      assert.equal(anon.headers['content-security-policy']?.includes("default-src 'none'"), true);
      assert.match(anon.text, /What happens if you approve/);
      assert.match(anon.text, /payments\/api-7f9c/);
      assert.match(anon.text, /Quorum shell/);
      assert.doesNotMatch(anon.text, /name="csrf"/, 'no form without an identity');
      const head = await rawRequest(s.url, 'HEAD', `/approvals/${a.id}`);
      assert.equal(head.status, 200);
      assert.equal(head.text, '');
      const withLink = await pageAs(a, { link });
      assert.equal(withLink.status, 200);
      assert.ok(withLink.csrf, 'the personal link shows the form');
      assert.match(withLink.text, /deciding as alice@example\.com \(personal-link\)/);
    }
    assert.deepEqual(await state(a), before);
    assert.equal(before.votes, 0);
    assert.match(before.value, /approve/);
    assert.equal(effects('quorum').length, 0);
  });

  test('quorum: two different people approve (personal link, then proxy identity); the next step runs once', async () => {
    assert.equal((await s.postAlerts(shellAlert({ rule: 'Quorum shell', uuid: 'quorum-1' }))).status, 202);
    const a = await s.approvalFor('quorum-1', 'quorum');
    const link = await personalLink(a.id);
    const alice = await pageAs(a, { link });
    const r1 = await decide(a, 'approve', { link, csrf: alice.csrf, comment: 'looks bad, kill it' });
    assert.equal(r1.status, 200, r1.text);
    assert.equal(JSON.parse(r1.text).decided, false);
    assert.equal(JSON.parse(r1.text).approval.approvals, 1);

    // the same form again (replay) and the same person again (new form) change nothing
    const replay = await decide(a, 'approve', { link, csrf: alice.csrf });
    assert.equal(replay.status, 403);
    assert.equal(JSON.parse(replay.text).error.code, 'CSRF_INVALID');
    const again = await pageAs(a, { link });
    assert.equal(again.csrf, undefined, 'no form for someone who already voted');
    assert.match(again.text, /already voted/);
    assert.equal((await state(a)).approvals, 1);

    // bob, a member of group oncall, signed in through the trusted proxy
    const bob = await pageAs(a, { email: 'bob@example.com' });
    assert.ok(bob.csrf);
    const r2 = await rawRequest(s.url, 'POST', `/approvals/${a.id}/decision`, { headers: { ...FORM, ...proxy('bob@example.com') }, body: formBody({ decision: 'approve', csrf: bob.csrf! }) });
    assert.equal(r2.status, 200);
    assert.match(r2.headers['content-type'] as string, /text\/html/);
    assert.match(r2.text, /now <span class="badge approved">approved/);

    await waitUntil(async () => (await s.runtime.runs.get(a.runId))?.state.status === 'succeeded', 'run to succeed', 30_000);
    assert.equal(effects('quorum').filter((e) => JSON.parse(e.body).run === a.runId).length, 1);
    // notifications are posted by the notifications worker, independently of the run
    const audit = await waitUntil(async () => {
      const all = await s.runtime.audit.list({ runId: a.runId });
      return all.filter((r) => r.action === 'notification.sent').length >= 3 && all.some((r) => r.action === 'run.finished') ? all : undefined;
    }, 'the request notifications and the run end to be audited', 30_000);
    const votes = audit.filter((r) => r.action === 'approval.vote');
    assert.deepEqual(
      votes.map((v) => [v.actor.name, v.actor.type, v.actor.via]),
      [
        ['alice@example.com', 'person', 'personal-link'],
        ['bob@example.com', 'person', 'proxy-header'],
      ],
    );
    assert.equal((votes[0]!.details as any).comment, 'looks bad, kill it');
    for (const action of ['approval.requested', 'approval.decided', 'approval.refused', 'notification.sent', 'run.finished']) assert.ok(audit.some((r) => r.action === action), `audit has ${action}`);
    assert.ok(audit.some((r) => r.action === 'run.transition' && (r.details as any).event === 'DECISION'));
    const { head, records } = await s.runtime.audit.read();
    const v = verifyChain(records, head);
    assert.equal(v.ok, true);
  });

  test('deny wins: one approval then one denial denies the run; nothing after the gate runs', async () => {
    assert.equal((await s.postAlerts(shellAlert({ rule: 'Quorum shell', uuid: 'deny-1' }))).status, 202);
    const a = await s.approvalFor('deny-1', 'quorum');
    const bob = await pageAs(a, { email: 'bob@example.com' });
    assert.equal((await decide(a, 'approve', { email: 'bob@example.com', csrf: bob.csrf })).status, 200);
    const carol = await pageAs(a, { email: 'carol@example.com' });
    const r = await decide(a, 'deny', { email: 'carol@example.com', csrf: carol.csrf, comment: 'that is our debug pod' });
    assert.equal(r.status, 200);
    assert.equal(JSON.parse(r.text).approval.status, 'denied');
    await waitUntil(async () => (await s.runtime.runs.get(a.runId))?.state.status === 'denied', 'run denied', 30_000);
    await new Promise((res) => setTimeout(res, 300));
    assert.equal(effects('quorum').filter((e) => JSON.parse(e.body).run === a.runId).length, 0);
    // the decided approval takes no further votes
    const alice = await pageAs(a, { link: await personalLink(a.id) });
    assert.equal(alice.csrf, undefined);
    assert.match(alice.text, /already denied/);
  });

  test('forged, expired, replayed, untrusted and other-person credentials are refused and change nothing', async () => {
    assert.equal((await s.postAlerts(shellAlert({ rule: 'Single shell', uuid: 'refuse-1' }))).status, 202);
    const a = await s.approvalFor('refuse-1', 'single');
    const before = await state(a);
    const auditBefore = (await s.runtime.audit.list({ runId: a.runId })).length;
    const tokens = s.approvals.http.tokens;
    const forged = `${'A'.repeat(16)}.${'B'.repeat(43)}`;

    // forged personal link: the page says so, the POST is refused
    const forgedPage = await pageAs(a, { link: forged });
    assert.equal(forgedPage.status, 403);
    assert.equal(forgedPage.csrf, undefined);
    const bobPage = await pageAs(a, { email: 'bob@example.com' });
    const cases: [string, Awaited<ReturnType<typeof decide>>, number, string][] = [];
    cases.push(['forged link', await decide(a, 'approve', { link: forged, csrf: bobPage.csrf }), 403, 'LINK_INVALID']);
    cases.push(['forged form token', await decide(a, 'approve', { email: 'bob@example.com', csrf: forged }), 403, 'CSRF_INVALID']);
    // expired tokens (issued by the real token store with a 1 ms lifetime)
    const expiredForm = await tokens.issue('form', a.id, 'bob@example.com', 1);
    const expiredLink = await tokens.issue('link', a.id, 'alice@example.com', 1);
    await new Promise((r) => setTimeout(r, 20));
    cases.push(['expired form token', await decide(a, 'approve', { email: 'bob@example.com', csrf: expiredForm.token }), 403, 'CSRF_INVALID']);
    cases.push(['expired personal link', await decide(a, 'approve', { link: expiredLink.token, csrf: bobPage.csrf }), 403, 'LINK_INVALID']);
    // another person's tokens: bob's form posted as alice; alice's link used by bob
    const aliceLink = (await tokens.issue('link', a.id, 'alice@example.com', 60_000)).token;
    cases.push(["bob's form as alice", await decide(a, 'approve', { link: aliceLink, csrf: bobPage.csrf }), 403, 'CSRF_OTHER_PERSON']);
    cases.push(["alice's link while signed in as bob", await decide(a, 'approve', { link: aliceLink, email: 'bob@example.com', csrf: bobPage.csrf }), 403, 'LINK_OTHER_PERSON']);
    // a token of another approval
    const otherApproval = await tokens.issue('form', '00000000-0000-0000-0000-000000000000', 'bob@example.com', 60_000);
    cases.push(['form of another approval', await decide(a, 'approve', { email: 'bob@example.com', csrf: otherApproval.token }), 403, 'CSRF_INVALID']);
    // the identity header from an address that is not a trusted proxy is ignored
    cases.push(['header from an untrusted address', await decide(a, 'approve', { email: 'bob@example.com', csrf: bobPage.csrf, from: '127.0.0.2' }), 401, 'IDENTITY_REQUIRED']);
    // someone who is not an approver, with a real form token of their own
    const dave = await pageAs(a, { email: 'dave@example.com' });
    assert.equal(dave.csrf, undefined);
    assert.match(dave.text, /not an approver/);
    const daveForm = await tokens.issue('form', a.id, 'dave@example.com', 60_000);
    cases.push(['not an approver', await decide(a, 'approve', { email: 'dave@example.com', csrf: daveForm.token }), 403, 'NOT_AN_APPROVER']);
    for (const [what, r, status, code] of cases) {
      assert.equal(r.status, status, `${what}: ${r.text}`);
      assert.equal(JSON.parse(r.text).error.code, code, what);
    }
    // nothing changed: bob's own form still works once
    assert.deepEqual(await state(a), before);
    const refusals = (await s.runtime.audit.list({ runId: a.runId })).filter((r) => r.action === 'approval.refused');
    assert.equal(refusals.length, cases.length - 1, 'every refusal except the unidentified one is audited');
    assert.ok((await s.runtime.audit.list({ runId: a.runId })).length >= auditBefore);
    const ok = await decide(a, 'approve', { email: 'bob@example.com', csrf: bobPage.csrf });
    assert.equal(ok.status, 200, ok.text);
    const replay = await decide(a, 'approve', { email: 'bob@example.com', csrf: bobPage.csrf });
    assert.equal(replay.status, 403);
  });

  test('no self-approval: the person who started a run may deny it but not approve it', async () => {
    const pb = s.playbooks.find((p) => p.playbook.metadata.name === 'single')!;
    const runId = 'self-run-0000-0000-000000000001';
    const alert = { ...shellAlert({ rule: 'Single shell' }), id: 'self-alert-1', priority: 'warning' as const, tags: [], output_fields: { 'k8s.ns.name': 'payments', 'k8s.pod.name': 'api-1' } };
    await s.engine.driver.create(
      { id: runId, playbook: 'single', playbookVersion: pb.version, machineVersion: 1, model: pb.playbook, incidentId: 'self-incident-1', alertId: alert.id, dryRun: false, createdAt: new Date().toISOString(), startedBy: 'alice@example.com' },
      { alert: alert as never, runId, incidentId: 'self-incident-1' },
    );
    const a = await waitUntil(async () => ((await (await fetch(`${s.url}/api/approvals`)).json()) as any).approvals.find((x: any) => x.runId === runId), 'approval of the manual run');
    const page = await pageAs(a, { email: 'alice@example.com' });
    assert.match(page.text, /started this run and cannot approve it/);
    const r = await decide(a, 'approve', { email: 'alice@example.com', csrf: page.csrf });
    assert.equal(r.status, 403);
    assert.equal(JSON.parse(r.text).error.code, 'SELF_APPROVAL');
    assert.equal((await state(a)).votes, 0);
    const d = await decide(a, 'deny', { email: 'alice@example.com', csrf: page.csrf });
    assert.equal(d.status, 200, d.text);
    await waitUntil(async () => (await s.runtime.runs.get(runId))?.state.status === 'denied', 'self-denied run', 30_000);
  });

  test('malformed decision requests get a clear 4xx and change nothing', async () => {
    assert.equal((await s.postAlerts(shellAlert({ rule: 'Single shell', uuid: 'malformed-1' }))).status, 202);
    const a = await s.approvalFor('malformed-1', 'single');
    const page = await pageAs(a, { email: 'bob@example.com' });
    const before = await state(a);
    const auditBefore = await s.runtime.audit.count();
    const post = (path: string, body: string | undefined, headers: Record<string, string> = FORM) => rawRequest(s.url, 'POST', path, { headers: { ...headers, ...proxy('bob@example.com'), accept: 'application/json' }, body });
    const dec = `/approvals/${a.id}/decision`;
    const cases: [string, Promise<{ status: number; text: string }>, number, string][] = [
      ['not an approval id', post('/approvals/..%2F..%2Fetc/decision', formBody({ decision: 'approve', csrf: page.csrf! })), 404, 'NOT_FOUND'],
      ['unknown approval', post('/approvals/00000000-0000-0000-0000-000000000000/decision', formBody({ decision: 'approve', csrf: page.csrf! })), 404, 'NOT_FOUND'],
      ['empty body', post(dec, ''), 400, 'DECISION_INVALID'],
      ['no body, JSON', post(dec, undefined, { 'content-type': 'application/json' }), 400, 'BODY_MISSING'],
      ['JSON array', post(dec, '[1,2]', { 'content-type': 'application/json' }), 400, 'BODY_INVALID'],
      ['broken JSON', post(dec, '{"decision":', { 'content-type': 'application/json' }), 400, 'BAD_JSON'],
      ['decision is a number', post(dec, JSON.stringify({ decision: 1, csrf: page.csrf }), { 'content-type': 'application/json' }), 400, 'FIELD_INVALID'],
      ['decision missing', post(dec, formBody({ csrf: page.csrf! })), 400, 'DECISION_INVALID'],
      ['decision unknown', post(dec, formBody({ decision: 'maybe', csrf: page.csrf! })), 400, 'DECISION_INVALID'],
      ['decision twice', post(dec, `decision=approve&decision=deny&csrf=${page.csrf}`), 400, 'FIELD_REPEATED'],
      ['comment too long', post(dec, formBody({ decision: 'approve', csrf: page.csrf!, comment: 'x'.repeat(2001) })), 400, 'COMMENT_TOO_LONG'],
      ['csrf missing', post(dec, formBody({ decision: 'approve' })), 400, 'CSRF_MISSING'],
      ['list with a bad status', rawRequest(s.url, 'GET', '/api/approvals?status=bogus'), 400, 'STATUS_INVALID'],
      ['page of an unknown approval', rawRequest(s.url, 'GET', '/approvals/not-an-id', { headers: { accept: 'application/json' } }), 404, 'NOT_FOUND'],
    ];
    for (const [what, p, status, code] of cases) {
      const r = await p;
      assert.equal(r.status, status, `${what}: ${r.text}`);
      assert.match(r.text, /^\{/, `${what} answers JSON: ${r.text.slice(0, 80)}`);
      assert.equal(JSON.parse(r.text).error.code, code, what);
      assert.ok(JSON.parse(r.text).error.message.length > 10, `${what} says why`);
    }
    const html = await post(dec, formBody({ decision: 'maybe', csrf: page.csrf! }), { ...FORM });
    assert.equal(html.status, 400);
    assert.deepEqual(await state(a), before);
    assert.equal(await s.runtime.audit.count(), auditBefore, 'malformed requests are not even audited');
    // and the form token was not used up by any of them
    assert.equal((await decide(a, 'approve', { email: 'bob@example.com', csrf: page.csrf })).status, 200);
  });
});

describe('expiry and reminders', () => {
  test('timeout follows onTimeout: deny, approve, continue (audited as approval.expired)', async () => {
    const posts = [
      ['Timeout deny', 'timeout-deny', 'denied'],
      ['Timeout approve', 'timeout-approve', 'succeeded'],
      ['Timeout continue', 'timeout-continue', 'succeeded'],
    ] as const;
    for (const [rule] of posts) assert.equal((await s.postAlerts(shellAlert({ rule, uuid: `to-${rule.replace(' ', '-')}` }))).status, 202);
    for (const [rule, playbook, status] of posts) {
      const run = await waitUntil(async () => (await s.runtime.runs.list({ limit: 1000 })).find((r) => r.meta.alertId === `to-${rule.replace(' ', '-')}` && r.state.status !== 'running'), `${playbook} to end`, 30_000);
      assert.equal(run.state.status, status, playbook);
      const audit = await s.runtime.audit.list({ runId: run.meta.id });
      const expired = audit.find((r) => r.action === 'approval.expired');
      assert.ok(expired, `${playbook}: approval.expired audited`);
      assert.equal((expired.details as any).onTimeout, playbook.replace('timeout-', ''));
      assert.equal(run.state.context.steps.approve?.status, { 'timeout-deny': 'denied', 'timeout-approve': 'approved', 'timeout-continue': 'timedout' }[playbook]);
      assert.equal(effects(playbook).length, status === 'succeeded' ? 1 : 0);
    }
    // the deny case posts its outcome to its channel
    await waitUntil(() => sink.received.find((r) => r.path === '/chat' && JSON.parse(r.body).kind === 'decided' && JSON.parse(r.body).title.startsWith('Expired')), 'expiry message');
  });

  test('a decision recorded but never delivered (crash between vote and event) is delivered by the expiry timer', async () => {
    assert.equal((await s.postAlerts(shellAlert({ rule: 'Cut short', uuid: 'cut-1' }))).status, 202);
    const a = await s.approvalFor('cut-1', 'cut-short');
    const view = (await s.approvals.service.store.get(a.id))!;
    // the vote lands in Redis, then "the process dies": no audit, no DECISION event
    const r = await s.approvals.service.store.vote(view, { person: 'alice@example.com', decision: 'approved', via: 'personal-link', at: new Date().toISOString() }, new Date());
    assert.deepEqual(r, { outcome: 'decided', status: 'approved' });
    const run = await waitUntil(async () => {
      const x = await s.runtime.runs.get(a.runId);
      return x?.state.status !== 'running' ? x : undefined;
    }, 'the run to move on at expiry', 30_000);
    assert.equal(run!.state.status, 'succeeded', 'approved, not timed out');
    assert.equal(run!.state.context.steps.approve?.status, 'approved');
    const audit = await s.runtime.audit.list({ runId: a.runId });
    assert.equal(audit.some((x) => x.action === 'approval.expired'), false);
    assert.ok(audit.some((x) => x.action === 'run.transition' && (x.details as any).event === 'DECISION'));
    assert.equal(effects('cut-short').length, 1);
  });

  test('a reminder goes out before expiry to the channel and to approvers who have not voted', async () => {
    assert.equal((await s.postAlerts(shellAlert({ rule: 'Remind me', uuid: 'remind-1' }))).status, 202);
    const a = await s.approvalFor('remind-1', 'remind');
    const reminders = await waitUntil(() => {
      const r = sink.received.filter((x) => x.body.includes(a.id) && JSON.parse(x.body).kind === 'reminder');
      return r.length >= 2 ? r : undefined;
    }, 'reminders', 20_000);
    assert.deepEqual(reminders.map((r) => r.path).sort(), ['/alice', '/chat']);
    assert.match(JSON.parse(reminders.find((r) => r.path === '/alice')!.body).links[0].url, /\?t=/);
    const audit = await s.runtime.audit.list({ runId: a.runId });
    assert.ok(audit.some((r) => r.action === 'approval.reminder'));
    await waitUntil(async () => (await s.runtime.runs.get(a.runId))?.state.status === 'denied', 'reminded run to time out', 30_000);
  });
});

describe('CLI', () => {
  test('riposte approvals list and approve: audited with the OS user, the run goes on', async () => {
    assert.equal((await s.postAlerts(shellAlert({ rule: 'CLI shell', uuid: 'cli-1' }))).status, 202);
    const a = await s.approvalFor('cli-1', 'cli');
    const env = {
      RIPOSTE_REDIS_URL: await testRedisUrl(),
      RIPOSTE_REDIS_PREFIX: s.config.redis.prefix,
      RIPOSTE_APPROVALS_PEOPLE: JSON.stringify({ 'ops@example.com': { osUser: OS_USER } }),
      RIPOSTE_SERVER_PUBLIC_URL: s.url,
    };
    const list = await runCli(['approvals', 'list'], env);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, new RegExp(a.id.slice(0, 8)));
    const show = await runCli(['approvals', 'show', a.id.slice(0, 8)], env);
    assert.match(show.stdout, /if approved:\n {4}1\. POST a JSON notification/);
    const denied = await runCli(['approvals', 'approve', a.id.slice(0, 8)], { ...env, RIPOSTE_APPROVALS_PEOPLE: '{}' });
    assert.equal(denied.code, 1);
    assert.match(denied.stderr, /NOT_AN_APPROVER/);
    const ok = await runCli(['approvals', 'approve', a.id.slice(0, 10), '--comment', 'from the terminal'], env);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /approved by ops@example\.com/);
    await waitUntil(async () => (await s.runtime.runs.get(a.runId))?.state.status === 'succeeded', 'CLI-approved run to succeed', 30_000);
    const vote = (await s.runtime.audit.list({ runId: a.runId })).find((r) => r.action === 'approval.vote')!;
    assert.deepEqual(vote.actor, { type: 'person', name: 'ops@example.com', via: 'cli-os-user' });
    assert.equal((vote.details as any).osUser, OS_USER);
    assert.equal((vote.details as any).comment, 'from the terminal');
    assert.equal(effects('cli').length, 1);
  });
});
