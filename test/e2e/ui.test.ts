// SPDX-License-Identifier: Apache-2.0
// The web UI in a real headless Chromium: an incident watched live through its run, approved from
// the page, finished; the audit page, filters and export; verify (CLI and UI) catching a record
// edited in Redis and a forged checkpoint; playbooks and approvals pages; login and proxy identity;
// accessibility basics and keyboard use; a screenshot of each page in test-results/screenshots/.
import assert from 'node:assert/strict';
import { after, before, type TestContext, test } from 'node:test';
import type { Page } from 'playwright-core';
import { hashPassword } from '../../src/ui/auth.ts';
import { runCli } from '../helpers/process.ts';
import { stopTestRedis, testRedisUrl } from '../helpers/redis.ts';
import { shellAlert } from '../helpers/riposte.ts';
import { waitUntil } from '../helpers/wait.ts';
import { a11yProblems, type Browser, seen, launchBrowser, rawGet, screenshot, startUiRiposte, tabTo, type UiRiposte } from './harness.ts';

const ALICE = 'alice@example.com';
const PLAYBOOK = `
apiVersion: riposte.dev/v1
kind: Playbook
metadata: { name: ui-contain, description: Contain a shell in a container once a person approves }
trigger:
  rules: ["Terminal shell*"]
steps:
  - id: note
    action: log
    with: { message: 'shell in {{field "container.id"}}' }
  - id: settle
    wait: 3s
  - id: gate
    approval:
      approvers: { users: [${ALICE}] }
      timeout: 10m
      message: Contain the pod?
  - id: contain
    action: log
    with: { message: contained }
`;
const BROKEN = `
apiVersion: riposte.dev/v1
kind: Playbook
metadata: { name: broken }
trigger: { rules: [x] }
steps:
  - id: a
    action: no.such.action
`;

let rp: UiRiposte;
let b: Browser | { skip: string } | undefined;

/** The browser, or undefined once the test is marked skipped (no Chromium, outside CI). */
function browser(t: TestContext): Browser | undefined {
  if (!b) throw new Error('Chromium did not start: see the before hook');
  if ('skip' in b) {
    t.skip(b.skip);
    return undefined;
  }
  return b;
}
let incidentId = '';

before(async () => {
  rp = await startUiRiposte({ playbooks: { 'contain.yaml': PLAYBOOK, 'broken.yaml': BROKEN }, ui: { approvers: [ALICE] } });
  b = await launchBrowser({ headers: { 'X-Auth-Request-Email': ALICE } });
});
after(async () => {
  if (b && !('skip' in b)) await b.close();
  await rp?.close();
  await stopTestRedis();
});

const timelineCount = (p: Page) => p.locator('ol.timeline li').count();
// page scripts are strings: the project's TypeScript has no DOM types
const sameDocument = (p: Page) => p.evaluate('window.__sameDocument === true');
const markDocument = (p: Page) => p.evaluate('window.__sameDocument = true');

test('an incident: the run progresses live, is approved from the page and finishes, its audit records appearing without a reload', { timeout: 120_000 }, async (t) => {
  const br = browser(t);
  if (!br) return;
  const page = await br.newPage();
  assert.equal(await rp.postAlert(shellAlert({ uuid: 'ui-e2e-1' })), 202);
  const incident = await waitUntil(async () => (await rp.runtime.incidents.list())[0], 'the incident');
  incidentId = incident.id;
  const link = `a[href="/ui/incidents/${incident.id}"]`;

  await page.goto(`${rp.url}/`);
  await page.waitForSelector(link);
  assert.match(await seen(page.locator('#incidents-table tbody tr').first()), /warning[\s\S]*Terminal shell in container[\s\S]*ui-contain[\s\S]*node-1/);
  await screenshot(page, 'incidents');

  // keyboard only: Tab to the incident and open it with Enter
  await tabTo(page, link);
  await Promise.all([page.waitForURL(`**/ui/incidents/${incident.id}`), page.keyboard.press('Enter')]);
  await markDocument(page);
  const before = await timelineCount(page);
  assert.equal(await page.locator('g.node.current[data-node="step:gate"]').count(), 0, 'the run has not reached the approval yet');

  // the run leaves the wait and stops at the approval: the diagram, steps and timeline follow live
  await page.waitForSelector('g.node.current[data-node="step:gate"]', { timeout: 20_000 });
  await page.waitForSelector('ol.timeline li[data-action="approval.requested"], ol.timeline li[data-step], .card.approval');
  assert.ok((await timelineCount(page)) > before, 'new audit records appeared in the timeline');
  assert.ok(await sameDocument(page), 'no reload happened');
  assert.ok(Number(await page.evaluate('document.documentElement.dataset.liveRefreshes')) > 0);
  assert.equal(await page.locator('g.node.visited[data-node="step:settle"]').count(), 1);
  assert.match(await seen(page.locator('tr[data-step="gate"]')), /waiting|pending/);
  await page.waitForSelector('.card.approval a.button.primary[href^="/approvals/"]');
  await screenshot(page, 'incident-waiting');

  // a second tab stays open on the incident, never reloaded, to watch the finish
  const watcher = await br.newPage();
  await watcher.goto(page.url());
  await markDocument(watcher);

  // approve from the page, with the keyboard
  await tabTo(page, '.card.approval a.button.primary');
  await Promise.all([page.waitForURL('**/approvals/**'), page.keyboard.press('Enter')]);
  await page.waitForSelector('form[action$="/decision"]');
  assert.deepEqual(await a11yProblems(page), [], 'approval page accessibility');
  await screenshot(page, 'approval');
  await page.fill('#comment', 'contain it');
  await Promise.all([page.waitForLoadState('load'), page.click('button[name="decision"][value="approve"]')]);
  assert.match(await seen(page.locator('h1')), /You approved/);

  await watcher.waitForSelector('.run-state[data-status="succeeded"]', { timeout: 20_000 });
  await watcher.waitForSelector('ol.timeline li[data-action="run.finished"]');
  assert.ok(await sameDocument(watcher), 'the watcher tab was never reloaded');
  assert.equal(await watcher.locator('g.node.current.end-succeeded').count(), 1);
  assert.match(await seen(watcher.locator('.card.approval')), new RegExp(`${ALICE}[\\s\\S]*approved[\\s\\S]*proxy-header[\\s\\S]*contain it`));
  assert.match(await seen(watcher.locator('.incident-status')), /succeeded/);

  // an action that produced an artifact (recorded with its hash) shows up live too
  const run = (await rp.runtime.runs.byIncident(incident.id))[0]!;
  const sha = 'ab'.repeat(32);
  await rp.runtime.audit.append({ actor: { type: 'system', name: 'agent@node-1' }, action: 'step.succeeded', target: 'snapshot', outcome: 'success', incidentId: incident.id, runId: run.meta.id, stepId: 'contain', details: { snapshot: { path: '/var/lib/riposte/artifacts/api-7f9c.tar', sha256: sha, size: 4096 } } });
  await watcher.waitForSelector(`table.artifacts code.hash:text("${sha}")`, { timeout: 10_000 });
  assert.ok(await sameDocument(watcher));
  await screenshot(watcher, 'incident-finished');
  assert.deepEqual(await a11yProblems(watcher), [], 'incident page accessibility');
  await watcher.close();
  await page.close();
});

test('the audit page: chain status, search, filters (keyboard), export of what is filtered', { timeout: 60_000 }, async (t) => {
  const br = browser(t);
  if (!br) return;
  const page = await br.newPage();
  await page.goto(`${rp.url}/ui/audit`);
  assert.match(await seen(page.locator('#chain-status')), /Chain verified up to record \d+\. Signed checkpoints verified up to record \d+/);
  await screenshot(page, 'audit');
  assert.deepEqual(await a11yProblems(page), [], 'audit page accessibility');

  // typing narrows the table at once; Enter submits the same search to the server
  await tabTo(page, '#f-q');
  await page.keyboard.type('run.finished');
  const visible = await page.locator('#audit-table tbody tr:not(.filtered-out)').count();
  assert.equal(visible, 1);
  await Promise.all([page.waitForURL('**/ui/audit?q=run.finished*'), page.keyboard.press('Enter')]);
  assert.equal(await page.locator('#audit-table tbody tr').count(), 1);

  await page.goto(`${rp.url}/ui/audit`);
  await page.selectOption('#f-outcome', 'success');
  await page.fill('#f-actor', ALICE);
  await Promise.all([page.waitForURL('**/ui/audit?*outcome=success*'), page.click('form.filters button[type="submit"]')]);
  const rows = await page.locator('#audit-table tbody tr').allInnerTexts();
  assert.ok(rows.length >= 1 && rows.every((r) => r.includes(ALICE) && r.includes('success')), rows.join('\n'));
  const href = await page.locator('a[download]').getAttribute('href');
  assert.match(href!, /^\/api\/audit\/export\?.*actor=alice%40example\.com.*outcome=success/);
  const res = await page.request.get(`${rp.url}${href}`);
  assert.equal(res.headers()['content-type'], 'application/x-ndjson; charset=utf-8');
  const lines = (await res.text()).trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines.length, rows.length);
  assert.ok(lines.every((r) => r.actor.name === ALICE && r.outcome === 'success'));

  await page.goto(`${rp.url}/ui/audit?since=banana`);
  assert.match(await seen(page.locator('[role="alert"]')), /since: expected a time/);
  await page.close();
});

test('playbooks and approvals pages; accessibility basics and no CSP violations on every page', { timeout: 60_000 }, async (t) => {
  const br = browser(t);
  if (!br) return;
  const page = await br.newPage();
  await page.goto(`${rp.url}/ui/playbooks`);
  assert.match(await seen(page.locator('#playbooks-table')), /ui-contain[\s\S]*valid/);
  assert.match(await seen(page.locator('#rejected-table')), /broken\.yaml[\s\S]*no\.such\.action/);
  await screenshot(page, 'playbooks');
  await Promise.all([page.waitForURL('**/ui/playbooks/ui-contain'), page.click('a[href="/ui/playbooks/ui-contain"]')]);
  assert.equal(await page.locator('svg.dg g.node').count(), 8, 'start, 4 steps, succeeded, failed, denied');
  assert.match((await page.locator('svg.dg > title').textContent())!, /ui-contain/);
  await screenshot(page, 'playbook');
  await page.goto(`${rp.url}/ui/approvals`);
  assert.match(await seen(page.locator('#decided-table')), new RegExp(`approved[\\s\\S]*${ALICE}`));
  await screenshot(page, 'approvals');

  for (const path of ['/', `/ui/incidents/${incidentId}`, '/ui/audit', '/ui/playbooks', '/ui/playbooks/ui-contain', '/ui/approvals']) {
    await page.goto(`${rp.url}${path}`);
    assert.deepEqual(await a11yProblems(page), [], `accessibility of ${path}`);
    // the skip link is the first stop of the keyboard and moves focus to the main content
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate('document.activeElement?.textContent'), 'Skip to content');
    await page.keyboard.press('Enter');
    assert.equal(await page.evaluate('document.activeElement?.id'), 'main');
  }
  const headers = (await page.request.get(`${rp.url}/ui/audit`)).headers();
  assert.match(headers['content-security-policy']!, /default-src 'none'; script-src 'self'; style-src 'self'/);
  assert.deepEqual(br.problems, [], 'no CSP violations or page errors');
  await page.close();
});

test('built-in login (cookie HttpOnly + SameSite=Strict) and proxy identity only from trusted proxies', { timeout: 60_000 }, async (t) => {
  const br = browser(t);
  if (!br) return;
  const locked = await startUiRiposte({ playbooks: { 'contain.yaml': PLAYBOOK }, ui: { anonymousRole: 'none', login: { user: 'admin', role: 'approver', passwordHash: hashPassword('s3cret-pass') } } });
  const anon = await launchBrowser();
  assert.ok(!('skip' in anon));
  try {
    // identity headers count only from a trusted proxy (127.0.0.1 here; 127.0.0.2 is not one)
    assert.equal(await rawGet(locked.url, '/api/incidents', {}), 401);
    assert.equal(await rawGet(locked.url, '/api/incidents', { 'X-Forwarded-User': 'mallory' }, '127.0.0.2'), 401);
    assert.equal(await rawGet(locked.url, '/api/incidents', { 'X-Forwarded-User': 'bob' }), 200);

    const page = await anon.newPage();
    await page.goto(`${locked.url}/ui/audit`);
    assert.match(page.url(), /\/ui\/login\?next=%2Fui%2Faudit$/);
    assert.deepEqual(await a11yProblems(page), [], 'login page accessibility');
    await screenshot(page, 'login');
    await page.fill('#login-user', 'admin');
    await page.fill('#login-password', 'wrong');
    await Promise.all([page.waitForLoadState('load'), page.click('button[type="submit"]')]);
    assert.match(await seen(page.locator('#login-error')), /Wrong user name or password/);
    await page.fill('#login-password', 's3cret-pass');
    await page.locator('#login-password').press('Enter');
    await page.waitForURL('**/ui/audit');
    assert.match(await seen(page.locator('header .user')), /admin \(approver\)/);
    const [cookie] = await anon.context.cookies(locked.url);
    assert.equal(cookie?.name, 'riposte_session');
    assert.equal(cookie?.httpOnly, true);
    assert.equal(cookie?.sameSite, 'Strict');
    assert.match(await seen(page.locator('#audit-table')), /ui\.login[\s\S]*refused|ui\.login[\s\S]*success/);
    await Promise.all([page.waitForURL('**/ui/login'), page.click('form.logout button')]);
    await page.goto(`${locked.url}/`);
    assert.match(page.url(), /\/ui\/login/);
    const logins = await locked.runtime.audit.list({ action: 'ui.*' });
    assert.deepEqual(logins.map((r) => [r.action, r.outcome]), [['ui.login', 'refused'], ['ui.login', 'success'], ['ui.logout', 'success']]);
  } finally {
    await anon.close();
    await locked.close();
  }
});

test('verify, from the CLI and the UI, finds a record edited directly in Redis and a forged checkpoint', { timeout: 60_000 }, async (t) => {
  const br = browser(t);
  if (!br) return;
  const env = { RIPOSTE_REDIS_URL: await testRedisUrl(), RIPOSTE_REDIS_PREFIX: rp.prefix, RIPOSTE_STATE_DIR: rp.config.stateDir };
  await waitUntil(async () => (await rp.runtime.checkpoints.list()).length >= 2, 'two signed checkpoints', 10_000);
  const ok = await runCli(['audit', 'verify', '--public-key', rp.keyFile], env);
  assert.equal(ok.code, 0, ok.stdout + ok.stderr);
  assert.match(ok.stdout, /audit log OK: .* checkpoint signatures verified/);
  await rp.maintenance.close(); // no more checkpoints from here: the chain is about to be broken on purpose

  // a checkpoint whose hash was changed (its signature no longer matches)
  const keys = rp.runtime.keys;
  const [raw] = await rp.runtime.redis.zrangebyscore(keys.auditCheckpoints, 5, 5);
  await rp.runtime.redis.zrem(keys.auditCheckpoints, raw!);
  await rp.runtime.redis.zadd(keys.auditCheckpoints, 5, JSON.stringify({ ...JSON.parse(raw!), hash: 'f'.repeat(64) }));
  const forged = await runCli(['audit', 'verify'], env); // the key is found in the state dir
  assert.equal(forged.code, 1);
  assert.match(forged.stdout, /BROKEN at seq 5 \(bad signature\)/);

  // LSET: someone edits record 3 in place; the earlier problem wins
  const rec = JSON.parse((await rp.runtime.redis.lindex(keys.auditList, 2))!);
  await rp.runtime.redis.lset(keys.auditList, 2, JSON.stringify({ ...rec, outcome: 'failure' }));
  const edited = await runCli(['audit', 'verify', '--public-key', rp.keyFile], env);
  assert.equal(edited.code, 1);
  assert.match(edited.stdout, /audit log BROKEN at seq 3 \(edited\): record seq 3 was modified/);
  assert.match(edited.stdout, /verified up to seq 2/);
  const json = JSON.parse((await runCli(['audit', 'verify', '--json'], env)).stdout);
  assert.deepEqual([json.ok, json.problem.kind, json.problem.seq], [false, 'edited', 3]);

  const page = await br.newPage();
  await page.goto(`${rp.url}/ui/audit`);
  await tabTo(page, '#verify-now');
  await Promise.all([page.waitForURL('**/ui/audit?verify=now'), page.keyboard.press('Enter')]);
  const status = page.locator('#chain-status');
  assert.equal(await status.getAttribute('role'), 'alert');
  assert.match(await seen(status), /Chain BROKEN at record 3 \(edited\)[\s\S]*Verified up to record 2/);
  assert.match(await seen(page.locator('#audit-table tr.tampered')), /^3\s+edited/);
  await screenshot(page, 'audit-broken');
  const api = await (await page.request.get(`${rp.url}/api/audit/verify`)).json();
  assert.equal(api.problem.kind, 'edited');
  await page.close();
});

test('the built-in login identifies an approver on the approval page (single machine, no proxy)', { timeout: 90_000 }, async (t) => {
  const br = browser(t);
  if (!br) return;
  const gate = PLAYBOOK.replace(`approvers: { users: [${ALICE}] }`, 'approvers: { users: [admin] }').replace('wait: 3s', 'wait: 100ms');
  const solo = await startUiRiposte({ playbooks: { 'contain.yaml': gate }, ui: { anonymousRole: 'none', login: { user: 'admin', role: 'approver', passwordHash: hashPassword('s3cret-pass') } } });
  const own = await launchBrowser();
  assert.ok(!('skip' in own));
  try {
    assert.equal(await solo.postAlert(shellAlert({ uuid: 'ui-login-approve' })), 202);
    const approval = await waitUntil(async () => (await solo.approvals.service.list())[0], 'the approval');
    const page = await own.newPage();
    // not signed in: the page shows what is asked but offers no decision
    await page.goto(`${solo.url}/approvals/${approval.id}`);
    assert.equal(await page.locator('button[name="decision"]').count(), 0);
    await page.goto(`${solo.url}/ui/login?next=${encodeURIComponent(`/approvals/${approval.id}`)}`);
    await page.fill('#login-user', 'admin');
    await page.fill('#login-password', 's3cret-pass');
    await Promise.all([page.waitForURL(`**/approvals/${approval.id}`), page.locator('#login-password').press('Enter')]);
    await page.waitForSelector('form[action$="/decision"]');
    await Promise.all([page.waitForLoadState('load'), page.click('button[name="decision"][value="approve"]')]);
    assert.match(await seen(page.locator('h1')), /You approved/);
    const run = await waitUntil(async () => (await solo.runtime.runs.list()).find((r) => r.state.status === 'succeeded'), 'the run to finish');
    assert.equal(run.state.context.steps.gate?.status, 'approved');
    const votes = await solo.runtime.audit.list({ action: 'approval.vote' });
    assert.deepEqual(votes.map((v) => [v.actor.name, v.actor.via]), [['admin', 'login']]);
  } finally {
    await own.close();
    await solo.close();
  }
});
