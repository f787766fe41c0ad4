// SPDX-License-Identifier: Apache-2.0
// Notifiers over real HTTP: each chat format as its service expects it, retries with backoff, failed
// notifications audited without failing the run (unless the playbook says so), and Slack interactive
// buttons accepted only with a valid X-Slack-Signature inside the 5-minute window.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, test } from 'node:test';
import { slackSignature } from '../../src/approvals/slack.ts';
import { stopTestRedis } from '../helpers/redis.ts';
import { shellAlert } from '../helpers/riposte.ts';
import { waitUntil } from '../helpers/wait.ts';
import { FORM, rawRequest, type Stack, startStack } from './approvals-stack.ts';

/** A chat service stand-in: records posts per path; `/flaky…` paths fail their first two posts, `/down…` always. */
interface Chat {
  url: string;
  posts: { path: string; headers: Record<string, unknown>; body: any; at: number }[];
  close(): Promise<void>;
}
async function startChat(): Promise<Chat> {
  const posts: Chat['posts'] = [];
  const seen = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      const path = req.url ?? '';
      const n = (seen.get(path) ?? 0) + 1;
      seen.set(path, n);
      posts.push({ path, headers: req.headers, body: body ? JSON.parse(body) : undefined, at: Date.now() });
      if (path.startsWith('/down') || (path.startsWith('/flaky') && n <= 2)) {
        res.statusCode = path.startsWith('/flaky') && n === 1 ? 429 : 503;
        if (res.statusCode === 429) res.setHeader('retry-after', '0');
        return res.end('unavailable');
      }
      res.statusCode = path.startsWith('/discord') ? 204 : 200;
      res.end(path.startsWith('/discord') ? undefined : 'ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, posts, close: () => new Promise<void>((r) => server.close(() => r())) };
}

const SECRET = 'slack-signing-secret-for-tests';
let chat: Chat;
let s: Stack;

const notifyPb = (name: string, rule: string, to: string[], extra = '') => `
apiVersion: riposte.dev/v1
kind: Playbook
metadata: { name: ${name} }
trigger: { rules: ["${rule}"] }
steps:
  - id: tell
    notify:
      to: [${to.join(', ')}]
      message: 'Shell in {{field "k8s.ns.name"}}/{{field "k8s.pod.name"}}: <!channel> [click](http://evil.example) @here'
${extra}  - id: after
    action: log
    with: { message: done }
`;

before(async () => {
  chat = await startChat();
  s = await startStack({
    playbooks: {
      'all.yaml': notifyPb('all-formats', 'All formats', ['slack', 'mattermost', 'teams', 'discord', 'hook']),
      'flaky.yaml': notifyPb('flaky', 'Flaky chat', ['flaky']),
      'down.yaml': notifyPb('down-lenient', 'Chat down', ['down', 'hook']),
      'strict.yaml': notifyPb('down-strict', 'Chat down strict', ['down'], '    onError: fail\n'),
      'gate.yaml': `
apiVersion: riposte.dev/v1
kind: Playbook
metadata: { name: slack-gate }
trigger: { rules: ["Slack gate"] }
steps:
  - id: approve
    approval: { approvers: { users: [alice@example.com] }, timeout: 5m, notify: [slack] }
  - id: after
    action: log
    with: { message: approved }
`,
    },
    configure: (c) => {
      c.notifiers = {
        slack: { type: 'slack', urlEnv: 'SLACK_URL', interactive: true },
        mattermost: { type: 'mattermost', urlEnv: 'MM_URL', username: 'riposte', channel: 'security' },
        teams: { type: 'teams', urlEnv: 'TEAMS_URL' },
        discord: { type: 'discord', urlEnv: 'DISCORD_URL', username: 'Riposte' },
        hook: { type: 'webhook', urlEnv: 'HOOK_URL', secretEnv: 'HOOK_SECRET', headers: { 'x-team': 'sec' } },
        flaky: { type: 'webhook', urlEnv: 'FLAKY_URL' },
        down: { type: 'slack', urlEnv: 'DOWN_URL' },
      };
      c.approvals.people = { 'alice@example.com': { slackUserId: 'U0ALICE' } };
    },
    env: {
      SLACK_URL: `${chat.url}/slack`,
      MM_URL: `${chat.url}/mattermost`,
      TEAMS_URL: `${chat.url}/teams`,
      DISCORD_URL: `${chat.url}/discord`,
      HOOK_URL: `${chat.url}/hook`,
      HOOK_SECRET: 'hmac-key',
      FLAKY_URL: `${chat.url}/flaky`,
      DOWN_URL: `${chat.url}/down`,
    },
    secrets: { slackSigningSecret: SECRET },
  });
});
after(async () => {
  await s.close();
  await chat.close();
  await stopTestRedis();
});

const runOf = (alertId: string) => waitUntil(async () => (await s.runtime.runs.list({ limit: 100 })).find((r) => r.meta.alertId === alertId && r.state.status !== 'running'), `run of ${alertId} to end`, 30_000);

test('a notify step reaches Slack, Mattermost, Teams, Discord and a generic webhook in their own formats, escaped', async () => {
  assert.equal((await s.postAlerts(shellAlert({ rule: 'All formats', uuid: 'fmt-1' }))).status, 202);
  const run = await runOf('fmt-1');
  assert.equal(run.state.status, 'succeeded');
  const by = (p: string) => chat.posts.find((x) => x.path === p)!;
  const slack = by('/slack').body;
  assert.equal(slack.blocks[0].type, 'header');
  assert.match(slack.blocks[1].text.text, /Shell in payments\/api-7f9c: &lt;!channel&gt;/, 'Slack control characters are escaped');
  const mm = by('/mattermost').body;
  assert.equal(mm.username, 'riposte');
  assert.equal(mm.channel, 'security');
  assert.match(mm.attachments[0].text, /\\\[click\\\]\\\(http:\/\/evil\.example\\\)/, 'markdown links are neutralised');
  assert.match(mm.attachments[0].text, /@\u200bhere/, 'mentions are broken');
  const teams = by('/teams').body;
  assert.equal(teams.type, 'message');
  assert.equal(teams.attachments[0].contentType, 'application/vnd.microsoft.card.adaptive');
  assert.equal(teams.attachments[0].content.type, 'AdaptiveCard');
  assert.ok(teams.attachments[0].content.body.some((b: any) => b.type === 'FactSet'));
  const discord = by('/discord').body;
  assert.deepEqual(discord.allowed_mentions, { parse: [] });
  assert.equal(discord.embeds[0].fields[0].name, 'Target');
  const hook = by('/hook');
  assert.equal(hook.body.kind, 'notify');
  assert.equal(hook.headers['x-team'], 'sec');
  assert.match(String(hook.headers['idempotency-key']), /:tell:v1$/);
  assert.match(String(hook.headers['x-riposte-signature']), /^v1=[0-9a-f]{64}$/);
  const sent = (await s.runtime.audit.list({ runId: run.meta.id })).filter((r) => r.action === 'notification.sent');
  assert.deepEqual(sent.map((r) => (r.details as any).notifier).sort(), ['discord', 'hook', 'mattermost', 'slack', 'teams']);
  assert.equal(JSON.stringify(sent).includes(chat.url), false, 'webhook URLs (secrets) are never audited');
});

test('a notifier that fails twice (429 with Retry-After, then 503) is retried with backoff and delivered once', async () => {
  assert.equal((await s.postAlerts(shellAlert({ rule: 'Flaky chat', uuid: 'flaky-1' }))).status, 202);
  const run = await runOf('flaky-1');
  assert.equal(run.state.status, 'succeeded');
  const posts = chat.posts.filter((p) => p.path === '/flaky');
  assert.equal(posts.length, 3);
  assert.ok(posts[2]!.at - posts[1]!.at >= 30, 'backoff between attempts');
  const sent = (await s.runtime.audit.list({ runId: run.meta.id })).find((r) => r.action === 'notification.sent')!;
  assert.equal((sent.details as any).attempts, 3);
});

test('a failed notification is audited and does not fail the run, unless the step says onError', async () => {
  assert.equal((await s.postAlerts([shellAlert({ rule: 'Chat down', uuid: 'down-1' }), shellAlert({ rule: 'Chat down strict', uuid: 'down-2' })])).status, 202);
  const lenient = await runOf('down-1');
  assert.equal(lenient.state.status, 'succeeded');
  assert.deepEqual((lenient.state.context.steps.tell!.output as any).delivered, ['hook']);
  const failed = (await s.runtime.audit.list({ runId: lenient.meta.id })).find((r) => r.action === 'notification.failed')!;
  assert.match(String((failed.details as any).error), /slack notifier "down" answered HTTP 503 \(after 4 attempts\)/);
  const strict = await runOf('down-2');
  assert.equal(strict.state.status, 'failed');
  assert.match(String(strict.state.context.error), /notification failed/);
});

test('Slack interactive buttons: signed clicks vote; bad signatures and stale timestamps are refused', async () => {
  assert.equal((await s.postAlerts(shellAlert({ rule: 'Slack gate', uuid: 'slack-1' }))).status, 202);
  const a = await s.approvalFor('slack-1', 'slack-gate');
  const msg = await waitUntil(() => chat.posts.find((p) => p.path === '/slack' && JSON.stringify(p.body).includes(a.id)), 'slack approval message');
  const buttons = msg.body.blocks.find((b: any) => b.type === 'actions').elements;
  assert.deepEqual(
    buttons.map((b: any) => b.action_id),
    ['riposte_open_0', 'riposte_approve', 'riposte_deny'],
  );
  const payload = (user: string) => new URLSearchParams({ payload: JSON.stringify({ type: 'block_actions', user: { id: user, username: user.toLowerCase() }, actions: [{ action_id: 'riposte_approve', value: a.id }] }) }).toString();
  const now = () => String(Math.floor(Date.now() / 1000));
  const post = (body: string, ts: string, sig: string) => rawRequest(s.url, 'POST', '/v1/slack/interactions', { headers: { ...FORM, 'x-slack-request-timestamp': ts, 'x-slack-signature': sig }, body });

  const body = payload('U0ALICE');
  const forged = await post(body, now(), slackSignature('wrong-secret', now(), body));
  assert.equal(forged.status, 401);
  assert.equal(JSON.parse(forged.text).error.code, 'SLACK_SIGNATURE_INVALID');
  const old = String(Math.floor(Date.now() / 1000) - 301);
  const stale = await post(body, old, slackSignature(SECRET, old, body));
  assert.equal(stale.status, 401);
  const tampered = await post(payload('U0MALLORY'), now(), slackSignature(SECRET, now(), body));
  assert.equal(tampered.status, 401);
  const unknown = payload('U0STRANGER');
  const r0 = await post(unknown, now(), slackSignature(SECRET, now(), unknown));
  assert.equal(r0.status, 200);
  assert.match(JSON.parse(r0.text).text, /not linked/);
  assert.equal((await s.approvals.service.store.get(a.id))?.votes.length, 0);

  const ts = now();
  const ok = await post(body, ts, slackSignature(SECRET, ts, body));
  assert.equal(ok.status, 200, ok.text);
  await waitUntil(async () => (await s.runtime.runs.get(a.runId))?.state.status === 'succeeded', 'slack-approved run', 30_000);
  const vote = (await s.runtime.audit.list({ runId: a.runId })).find((r) => r.action === 'approval.vote')!;
  assert.deepEqual(vote.actor, { type: 'person', name: 'alice@example.com', via: 'slack-interactive' });
});
