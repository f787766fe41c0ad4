// SPDX-License-Identifier: Apache-2.0
/**
 * The one message shape every notifier formats: approval requests, reminders,
 * decisions and `notify` steps all become a NotificationMessage, and each chat
 * format (src/notify/formats.ts) turns it into its own payload. Keeping the
 * content separate from the format is what lets one test check all five.
 */

export type MessageKind = 'approval' | 'reminder' | 'decided' | 'notify';

export interface MessageLink {
  label: string;
  url: string;
  style?: 'primary' | 'danger';
}

export interface NotificationMessage {
  kind: MessageKind;
  /** One line: what happened or what is asked. */
  title: string;
  /** Plain text (never markup): formats escape it for their own markup. */
  text: string;
  /** Alert priority or step severity; picks the colour. */
  severity?: string;
  facts: { label: string; value: string }[];
  links: MessageLink[];
  /** Set on approval requests, so Slack can add interactive buttons. */
  approvalId?: string;
  /** Stable per logical message: the Idempotency-Key of generic webhooks and the delivered-once marker. */
  key: string;
  time: string;
}

export function severityColour(severity: string | undefined): 'danger' | 'warning' | 'info' {
  const s = (severity ?? '').toLowerCase();
  if (['emergency', 'alert', 'critical', 'error', 'high', 'denied'].includes(s)) return 'danger';
  if (['warning', 'warn', 'medium', 'notice'].includes(s)) return 'warning';
  return 'info';
}
