// SPDX-License-Identifier: Apache-2.0
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { test } from 'node:test';
import { parseSlackAction, slackSignature, verifySlackRequest } from '../../../src/approvals/slack.ts';

// Slack's documented example: secret 8f742231b10e8888abcd99yyyzzz85a5, timestamp 1531420618
const SECRET = '8f742231b10e8888abcd99yyyzzz85a5';
const BODY = 'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c';
const TS = '1531420618';
const EXPECTED = 'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503';

test("the signature matches Slack's documented example", () => {
  assert.equal(slackSignature(SECRET, TS, BODY), EXPECTED);
  assert.deepEqual(verifySlackRequest(SECRET, { 'x-slack-request-timestamp': TS, 'x-slack-signature': EXPECTED }, BODY, Number(TS) + 10), { ok: true });
});

test('refused: wrong signature, changed body, missing headers, outside the 5-minute window', () => {
  const h = { 'x-slack-request-timestamp': TS, 'x-slack-signature': EXPECTED };
  assert.equal(verifySlackRequest('other', h, BODY, Number(TS)).ok, false);
  assert.equal(verifySlackRequest(SECRET, h, `${BODY}&x=1`, Number(TS)).ok, false);
  assert.equal(verifySlackRequest(SECRET, { 'x-slack-signature': EXPECTED }, BODY, Number(TS)).ok, false);
  assert.equal(verifySlackRequest(SECRET, { ...h, 'x-slack-signature': 'v1=abc' }, BODY, Number(TS)).ok, false);
  assert.match((verifySlackRequest(SECRET, h, BODY, Number(TS) + 301) as { reason: string }).reason, /5 minutes/);
  assert.match((verifySlackRequest(SECRET, h, BODY, Number(TS) - 301) as { reason: string }).reason, /5 minutes/);
  assert.equal(verifySlackRequest(SECRET, h, BODY, Number(TS) + 300).ok, true);
  // a signature over another timestamp does not verify
  const other = `v0=${createHmac('sha256', SECRET).update(`v0:${Number(TS) + 1}:${BODY}`).digest('hex')}`;
  assert.equal(verifySlackRequest(SECRET, { ...h, 'x-slack-signature': other }, BODY, Number(TS)).ok, false);
});

test('block_actions payloads: Approve/Deny clicks are read, everything else is ignored', () => {
  const body = (p: unknown) => new URLSearchParams({ payload: JSON.stringify(p) }).toString();
  const click = { type: 'block_actions', user: { id: 'U1', username: 'alice' }, actions: [{ action_id: 'riposte_deny', value: 'abc' }], response_url: 'https://hooks.slack.com/actions/T/1/x' };
  assert.deepEqual(parseSlackAction(body(click)), { decision: 'denied', approvalId: 'abc', slackUserId: 'U1', slackUserName: 'alice', responseUrl: 'https://hooks.slack.com/actions/T/1/x' });
  assert.equal(parseSlackAction(body({ ...click, response_url: 'http://evil.example/' }))?.responseUrl, undefined, 'response_url only to Slack');
  assert.equal(parseSlackAction(body({ ...click, actions: [{ action_id: 'riposte_open_0' }] })), undefined);
  assert.equal(parseSlackAction(body({ ...click, type: 'view_submission' })), undefined);
  assert.equal(parseSlackAction('payload=%7Bbroken'), undefined);
  assert.equal(parseSlackAction('nothing=here'), undefined);
});
