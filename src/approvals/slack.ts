// SPDX-License-Identifier: Apache-2.0
/**
 * Slack interactive buttons (optional). Slack signs each request:
 * `X-Slack-Signature: v0=hex(HMAC-SHA256(signing secret, "v0:" + timestamp + ":" + raw body))`
 * with `X-Slack-Request-Timestamp`. A request is accepted only when the
 * signature matches (constant-time compare) and the timestamp is within five
 * minutes of now, which stops a captured request from being replayed later.
 */
import { createHmac } from 'node:crypto';
import { safeEqual } from '../http/auth.ts';

export const SLACK_WINDOW_S = 300;

export type SlackCheck = { ok: true } | { ok: false; reason: string };

export function slackSignature(secret: string, timestamp: string, body: string): string {
  return `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
}

export function verifySlackRequest(secret: string, headers: Record<string, string | string[] | undefined>, rawBody: string, nowS: number = Math.floor(Date.now() / 1000)): SlackCheck {
  const ts = headers['x-slack-request-timestamp'];
  const sig = headers['x-slack-signature'];
  if (typeof ts !== 'string' || !/^\d{1,12}$/.test(ts)) return { ok: false, reason: 'missing or malformed X-Slack-Request-Timestamp' };
  if (typeof sig !== 'string' || !/^v0=[0-9a-f]{64}$/.test(sig)) return { ok: false, reason: 'missing or malformed X-Slack-Signature' };
  if (Math.abs(nowS - Number(ts)) > SLACK_WINDOW_S) return { ok: false, reason: 'request timestamp is more than 5 minutes away from now' };
  if (!safeEqual(slackSignature(secret, ts, rawBody), sig)) return { ok: false, reason: 'signature does not match' };
  return { ok: true };
}

export interface SlackAction {
  decision: 'approved' | 'denied';
  approvalId: string;
  slackUserId: string;
  slackUserName?: string;
  responseUrl?: string;
}

/** The Approve/Deny click in a `block_actions` payload; undefined for anything else (link buttons also post here). */
export function parseSlackAction(rawBody: string): SlackAction | undefined {
  const payload = new URLSearchParams(rawBody).get('payload');
  if (!payload) return undefined;
  let p: { type?: string; user?: { id?: string; username?: string; name?: string }; actions?: { action_id?: string; value?: string }[]; response_url?: string };
  try {
    p = JSON.parse(payload);
  } catch {
    return undefined;
  }
  if (p.type !== 'block_actions' || !p.user?.id) return undefined;
  const a = p.actions?.find((x) => x.action_id === 'riposte_approve' || x.action_id === 'riposte_deny');
  if (!a || typeof a.value !== 'string') return undefined;
  return {
    decision: a.action_id === 'riposte_approve' ? 'approved' : 'denied',
    approvalId: a.value,
    slackUserId: p.user.id,
    slackUserName: p.user.username ?? p.user.name,
    responseUrl: typeof p.response_url === 'string' && p.response_url.startsWith('https://hooks.slack.com/') ? p.response_url : undefined,
  };
}
