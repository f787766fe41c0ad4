// SPDX-License-Identifier: Apache-2.0
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatPayload, mdEscape, slackEscape } from '../../../src/notify/formats.ts';
import type { NotificationMessage } from '../../../src/notify/message.ts';

const msg = (over: Partial<NotificationMessage> = {}): NotificationMessage => ({
  kind: 'approval',
  title: 'Approval needed: kill container abc123',
  text: 'Shell in payments/api-7f9c <@U123> <!channel> [x](http://evil) @everyone',
  severity: 'critical',
  facts: [
    { label: 'Target', value: 'payments/api-7f9c' },
    { label: 'Alert', value: 'Terminal shell in container (critical)' },
  ],
  links: [{ label: 'Review and decide', url: 'https://riposte.example/approvals/1', style: 'primary' }],
  approvalId: '11111111-2222-3333-4444-555555555555',
  key: 'approval:1:request',
  time: '2024-05-01T12:00:00.000Z',
  ...over,
});

test('Slack: Block Kit header, escaped mrkdwn, fields, link button; interactive adds Approve/Deny with confirm', () => {
  const p = formatPayload('slack', msg()) as any;
  assert.equal(p.blocks[0].type, 'header');
  assert.equal(p.blocks[0].text.type, 'plain_text');
  assert.equal(p.blocks[1].text.text, 'Shell in payments/api-7f9c &lt;@U123&gt; &lt;!channel&gt; [x](http://evil) @everyone');
  assert.equal(p.blocks[2].fields.length, 2);
  const actions = p.blocks.find((b: any) => b.type === 'actions');
  assert.deepEqual(actions.elements, [{ type: 'button', action_id: 'riposte_open_0', text: { type: 'plain_text', text: 'Review and decide' }, url: 'https://riposte.example/approvals/1', style: 'primary' }]);
  assert.match(p.text, /approvals\/1/, 'fallback text carries the link');
  const i = formatPayload('slack', msg(), { interactive: true }) as any;
  const els = i.blocks.find((b: any) => b.type === 'actions').elements;
  assert.deepEqual(
    els.map((e: any) => [e.action_id, e.value, e.style]),
    [
      ['riposte_open_0', undefined, 'primary'],
      ['riposte_approve', msg().approvalId, 'primary'],
      ['riposte_deny', msg().approvalId, 'danger'],
    ],
  );
  assert.equal(els[1].confirm.confirm.text, 'Approve');
  const decided = formatPayload('slack', msg({ kind: 'decided' }), { interactive: true }) as any;
  assert.equal(decided.blocks.find((b: any) => b.type === 'actions').elements.length, 1, 'no vote buttons on an outcome');
});

test('Slack limits: header 150, section 3000 characters', () => {
  const p = formatPayload('slack', msg({ title: 't'.repeat(400), text: 'x'.repeat(5000) })) as any;
  assert.equal(p.blocks[0].text.text.length, 150);
  assert.equal(p.blocks[1].text.text.length, 3000);
});

test('Teams Workflows: an Adaptive Card attachment with a FactSet and Action.OpenUrl', () => {
  const p = formatPayload('teams', msg()) as any;
  assert.equal(p.type, 'message');
  assert.equal(p.attachments.length, 1);
  const a = p.attachments[0];
  assert.equal(a.contentType, 'application/vnd.microsoft.card.adaptive');
  assert.equal(a.content.type, 'AdaptiveCard');
  assert.equal(a.content.$schema, 'http://adaptivecards.io/schemas/adaptive-card.json');
  assert.equal(a.content.version, '1.4');
  assert.equal(a.content.body[0].color, 'Attention');
  assert.deepEqual(a.content.body.find((b: any) => b.type === 'FactSet').facts[0], { title: 'Target', value: 'payments/api-7f9c' });
  assert.deepEqual(a.content.actions, [{ type: 'Action.OpenUrl', title: 'Review and decide', url: 'https://riposte.example/approvals/1', style: 'positive' }]);
});

test('Discord: content with the link, one embed, no mentions allowed', () => {
  const p = formatPayload('discord', msg(), { username: 'Riposte' }) as any;
  assert.deepEqual(p.allowed_mentions, { parse: [] });
  assert.equal(p.username, 'Riposte');
  assert.match(p.content, /<https:\/\/riposte\.example\/approvals\/1>/);
  assert.equal(p.embeds[0].url, 'https://riposte.example/approvals/1');
  assert.equal(p.embeds[0].color, 0xb42318);
  assert.match(p.embeds[0].description, /\\\[x\\\]\\\(http:\/\/evil\\\) @\u200beveryone/);
});

test('Mattermost: markdown text with the link, an attachment with fields, mentions broken', () => {
  const p = formatPayload('mattermost', msg(), { username: 'riposte', channel: 'sec' }) as any;
  assert.match(p.text, /^#### Approval needed: kill container abc123\n\[Review and decide\]\(https:\/\/riposte\.example\/approvals\/1\)$/);
  assert.equal(p.channel, 'sec');
  assert.equal(p.attachments[0].title_link, 'https://riposte.example/approvals/1');
  assert.equal(p.attachments[0].color, '#b42318');
  assert.match(p.attachments[0].text, /@\u200beveryone/);
  assert.deepEqual(p.attachments[0].fields[0], { short: true, title: 'Target', value: 'payments/api-7f9c' });
});

test('generic webhook: the message as JSON', () => {
  const p = formatPayload('webhook', msg()) as any;
  assert.equal(p.kind, 'approval');
  assert.equal(p.key, 'approval:1:request');
  assert.equal(p.links[0].url, 'https://riposte.example/approvals/1');
});

test('escaping helpers', () => {
  assert.equal(slackEscape('a & <b> c'), 'a &amp; &lt;b&gt; c');
  assert.equal(mdEscape('*bold* _it_ `code` [l](u) # > |'), '\\*bold\\* \\_it\\_ \\`code\\` \\[l\\]\\(u\\) \\# \\> \\|');
  assert.equal(mdEscape('ping @here and @Channel'), 'ping @\u200bhere and @\u200bChannel');
});
