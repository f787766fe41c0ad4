// SPDX-License-Identifier: Apache-2.0
/**
 * Payloads of each chat system's incoming webhook, built from one
 * NotificationMessage. Pure functions: tests compare them with what the real
 * services document. Alert text is attacker-influenced (process names, paths),
 * so every format escapes it for its markup: no injected links or mentions.
 *
 * @example
 *   formatPayload('slack', msg, { interactive: true })  // { text, blocks: [...] }
 */
import type { NotifierType } from '../config/schema.ts';
import { severityColour, type NotificationMessage } from './message.ts';

export interface FormatOptions {
  username?: string;
  channel?: string;
  /** Slack: add Approve/Deny buttons posting to the interactions endpoint. */
  interactive?: boolean;
}

const HEX = { danger: '#b42318', warning: '#b54708', info: '#1f5fbf' } as const;
const INT = { danger: 0xb42318, warning: 0xb54708, info: 0x1f5fbf } as const;

export const truncate = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

/** Slack mrkdwn: only &, < and > are control characters (they make links and mentions). */
export const slackEscape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Markdown (Mattermost, Discord, Teams): backslash-escape the syntax; break @mentions. */
export const mdEscape = (s: string) => s.replace(/([\\`*_{}[\]()#|~>])/g, '\\$1').replace(/@(here|channel|all|everyone)/gi, '@\u200b$1');

function slack(m: NotificationMessage, o: FormatOptions) {
  const blocks: Record<string, unknown>[] = [
    { type: 'header', text: { type: 'plain_text', text: truncate(m.title, 150), emoji: false } },
  ];
  if (m.text) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: truncate(slackEscape(m.text), 3000) } });
  if (m.facts.length) {
    blocks.push({ type: 'section', fields: m.facts.slice(0, 10).map((f) => ({ type: 'mrkdwn', text: truncate(`*${slackEscape(f.label)}*\n${slackEscape(f.value)}`, 2000) })) });
  }
  const elements: Record<string, unknown>[] = m.links.slice(0, 5).map((l, i) => ({
    type: 'button',
    action_id: `riposte_open_${i}`,
    text: { type: 'plain_text', text: truncate(l.label, 75) },
    url: l.url,
    ...(l.style ? { style: l.style } : {}),
  }));
  if (o.interactive && m.approvalId && m.kind !== 'decided') {
    const confirm = (verb: string) => ({
      title: { type: 'plain_text', text: `${verb}?` },
      text: { type: 'plain_text', text: truncate(`${verb}: ${m.title}`, 300) },
      confirm: { type: 'plain_text', text: verb },
      deny: { type: 'plain_text', text: 'Cancel' },
    });
    elements.push({ type: 'button', action_id: 'riposte_approve', value: m.approvalId, style: 'primary', text: { type: 'plain_text', text: 'Approve' }, confirm: confirm('Approve') });
    elements.push({ type: 'button', action_id: 'riposte_deny', value: m.approvalId, style: 'danger', text: { type: 'plain_text', text: 'Deny' }, confirm: confirm('Deny') });
  }
  if (elements.length) blocks.push({ type: 'actions', block_id: `riposte_${m.kind}`, elements });
  blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `Riposte · ${slackEscape(m.time)}` }] });
  return { text: truncate(slackEscape(`${m.title}${m.links[0] ? ` — ${m.links[0].url}` : ''}`), 3000), blocks, ...(o.username ? { username: o.username } : {}) };
}

function mattermost(m: NotificationMessage, o: FormatOptions) {
  const links = m.links.map((l) => `[${mdEscape(l.label)}](${l.url})`).join(' · ');
  return {
    text: truncate(`#### ${mdEscape(m.title)}${links ? `\n${links}` : ''}`, 4000),
    ...(o.username ? { username: o.username } : {}),
    ...(o.channel ? { channel: o.channel } : {}),
    attachments: [
      {
        fallback: truncate(`${m.title}${m.links[0] ? ` ${m.links[0].url}` : ''}`, 300),
        color: HEX[severityColour(m.severity)],
        title: truncate(m.title, 250),
        ...(m.links[0] ? { title_link: m.links[0].url } : {}),
        text: truncate(mdEscape(m.text), 4000),
        fields: m.facts.map((f) => ({ short: f.value.length < 40, title: f.label, value: truncate(mdEscape(f.value), 1000) })),
      },
    ],
  };
}

function teams(m: NotificationMessage) {
  const colour = severityColour(m.severity);
  return {
    type: 'message',
    attachments: [
      {
        contentType: 'application/vnd.microsoft.card.adaptive',
        contentUrl: null,
        content: {
          $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
          type: 'AdaptiveCard',
          version: '1.4',
          msteams: { width: 'Full' },
          body: [
            { type: 'TextBlock', text: truncate(mdEscape(m.title), 300), size: 'Large', weight: 'Bolder', wrap: true, color: colour === 'danger' ? 'Attention' : colour === 'warning' ? 'Warning' : 'Default' },
            ...(m.text ? [{ type: 'TextBlock', text: truncate(mdEscape(m.text), 4000), wrap: true }] : []),
            ...(m.facts.length ? [{ type: 'FactSet', facts: m.facts.map((f) => ({ title: f.label, value: truncate(mdEscape(f.value), 1000) })) }] : []),
            { type: 'TextBlock', text: `Riposte · ${m.time}`, isSubtle: true, size: 'Small', wrap: true },
          ],
          actions: m.links.slice(0, 5).map((l) => ({ type: 'Action.OpenUrl', title: truncate(l.label, 60), url: l.url, ...(l.style === 'primary' ? { style: 'positive' } : l.style === 'danger' ? { style: 'destructive' } : {}) })),
        },
      },
    ],
  };
}

function discord(m: NotificationMessage, o: FormatOptions) {
  const first = m.links[0];
  return {
    content: truncate(`**${mdEscape(m.title)}**${m.links.length ? `\n${m.links.map((l) => `${mdEscape(l.label)}: <${l.url}>`).join('\n')}` : ''}`, 2000),
    ...(o.username ? { username: truncate(o.username, 80) } : {}),
    allowed_mentions: { parse: [] },
    embeds: [
      {
        title: truncate(m.title, 256),
        ...(first ? { url: first.url } : {}),
        description: truncate(mdEscape(m.text), 4096),
        color: INT[severityColour(m.severity)],
        fields: m.facts.slice(0, 25).map((f) => ({ name: truncate(f.label, 256), value: truncate(mdEscape(f.value) || '-', 1024), inline: f.value.length < 40 })),
        timestamp: m.time,
        footer: { text: 'Riposte' },
      },
    ],
  };
}

function webhook(m: NotificationMessage) {
  return { kind: m.kind, title: m.title, text: m.text, severity: m.severity ?? null, facts: m.facts, links: m.links, approvalId: m.approvalId ?? null, key: m.key, time: m.time };
}

export function formatPayload(type: NotifierType, m: NotificationMessage, o: FormatOptions = {}): Record<string, unknown> {
  switch (type) {
    case 'slack':
      return slack(m, o);
    case 'mattermost':
      return mattermost(m, o);
    case 'teams':
      return teams(m);
    case 'discord':
      return discord(m, o);
    case 'webhook':
    case 'log':
      return webhook(m);
  }
}
