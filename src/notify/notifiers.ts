// SPDX-License-Identifier: Apache-2.0
/**
 * Notifiers from riposte.yaml `notifiers:`. Each has a type (slack, mattermost,
 * teams, discord, webhook) and a URL that is a secret, read from an environment
 * variable (`urlEnv`) or a file (`urlFile`) at start-up and never logged.
 *
 * @example
 *   const notifiers = await loadNotifiers({ oncall: { type: 'slack', urlEnv: 'SLACK_URL' } }, process.env);
 *   await notifiers.get('oncall')!.send(message);
 */
import { createHmac } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { ErrorCodes, RiposteError } from '../common/errors.ts';
import { parseDuration } from '../common/duration.ts';
import type { NotifierConfig, NotifierType } from '../config/schema.ts';
import { formatPayload } from './formats.ts';
import { postJson, type PostResult } from './http.ts';
import type { NotificationMessage } from './message.ts';

export interface Notifier {
  name: string;
  type: NotifierType;
  /** Slack only: messages carry Approve/Deny buttons. */
  interactive: boolean;
  send(msg: NotificationMessage, signal?: AbortSignal): Promise<PostResult>;
}

export interface NotifierRuntime {
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
  /** Attempts per send (default 4: now, +0.5s, +1s, +2s). */
  attempts?: number;
  baseDelayMs?: number;
}

async function secret(name: string, what: string, envName: string | undefined, file: string | undefined, env: NodeJS.ProcessEnv, problems: string[]): Promise<string | undefined> {
  if (envName) {
    const v = env[envName]?.trim();
    if (!v) problems.push(`notifiers.${name}.${what}Env: environment variable ${envName} is not set`);
    return v || undefined;
  }
  if (file) {
    try {
      const v = (await readFile(file, 'utf8')).trim();
      if (!v) problems.push(`notifiers.${name}.${what}File: ${file} is empty`);
      return v || undefined;
    } catch (err) {
      problems.push(`notifiers.${name}.${what}File: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
  }
  return undefined;
}

/** Builds every configured notifier; throws one error listing all problems. */
export async function loadNotifiers(config: Record<string, NotifierConfig>, env: NodeJS.ProcessEnv = process.env, rt: NotifierRuntime = {}): Promise<Map<string, Notifier>> {
  const out = new Map<string, Notifier>();
  const problems: string[] = [];
  for (const [name, c] of Object.entries(config)) {
    if (c.type === 'log') {
      // no chat on this machine: the message goes to stdout as one JSON line, links included
      out.set(name, {
        name,
        type: 'log',
        interactive: false,
        send: async (msg) => {
          process.stdout.write(`${JSON.stringify({ notifier: name, kind: msg.kind, title: msg.title, text: msg.text, links: msg.links })}\n`);
          return { status: 200, attempts: 1 };
        },
      });
      continue;
    }
    if (!c.urlEnv && !c.urlFile) {
      problems.push(`notifiers.${name}: set urlEnv (an environment variable) or urlFile (a file) holding the webhook URL; URLs are secrets and are not read from riposte.yaml`);
      continue;
    }
    const url = await secret(name, 'url', c.urlEnv, c.urlFile, env, problems);
    if (!url) continue;
    try {
      const u = new URL(url);
      if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new Error('not http(s)');
    } catch {
      problems.push(`notifiers.${name}: the URL in ${c.urlEnv ?? c.urlFile} is not an http(s) URL`);
      continue;
    }
    const key = c.type === 'webhook' ? await secret(name, 'secret', c.secretEnv, c.secretFile, env, problems) : undefined;
    const timeoutMs = c.timeout ? parseDuration(c.timeout) : 10_000;
    const what = `${c.type} notifier "${name}"`;
    out.set(name, {
      name,
      type: c.type,
      interactive: c.type === 'slack' && c.interactive === true,
      send: (msg, signal) =>
        postJson(url, formatPayload(c.type, msg, { username: c.username, channel: c.channel, interactive: c.interactive }), {
          what,
          timeoutMs,
          signal,
          attempts: rt.attempts,
          baseDelayMs: rt.baseDelayMs,
          fetch: rt.fetch,
          sleep: rt.sleep,
          headers: c.type === 'webhook' ? { 'idempotency-key': msg.key, ...(c.headers ?? {}) } : undefined,
          sign: key
            ? (body) => {
                const ts = String(Math.floor(Date.now() / 1000));
                return { 'x-riposte-timestamp': ts, 'x-riposte-signature': `v1=${createHmac('sha256', key).update(`${ts}.${body}`).digest('hex')}` };
              }
            : undefined,
        }),
    });
  }
  if (problems.length) throw new RiposteError(ErrorCodes.CONFIG_INVALID, `invalid notifiers:\n${problems.join('\n')}`);
  return out;
}
