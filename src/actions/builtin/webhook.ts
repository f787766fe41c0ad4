// SPDX-License-Identifier: Apache-2.0
/**
 * `notify.webhook`: HTTP POST of a rendered JSON body. Sends an
 * `Idempotency-Key` header so a receiver can drop the duplicate that an
 * at-least-once re-execution may cause.
 */
import { ActionError, type ActionDefinition } from '../types.ts';

export interface WebhookParams {
  url: string;
  body: unknown;
  headers?: Record<string, string>;
  timeout?: string;
}

export const webhookAction: ActionDefinition<WebhookParams> = {
  name: 'notify.webhook',
  description: 'POST a JSON body (a template) to a URL.',
  params: {
    type: 'object',
    additionalProperties: false,
    required: ['url', 'body'],
    properties: {
      url: { type: 'string', pattern: '^https?://', description: 'an http(s) URL' },
      body: { description: 'JSON value; strings inside are templates.' },
      headers: { type: 'object', additionalProperties: { type: 'string' } },
    },
  },
  runsOn: 'engine',
  destructive: false,
  idempotent: false,
  rbac: [],
  describe: (p) => `POST a JSON notification to ${new URL(p.url).host}`,
  async execute(p, ctx) {
    const doFetch = ctx.services.fetch ?? fetch;
    const body = JSON.stringify(p.body);
    let res: Response;
    try {
      res = await doFetch(p.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': ctx.idempotencyKey, 'user-agent': 'riposte', ...(p.headers ?? {}) },
        body,
        signal: AbortSignal.any([ctx.signal, AbortSignal.timeout(10_000)]),
        redirect: 'error',
      });
    } catch (err) {
      throw new ActionError(`POST to ${new URL(p.url).host} failed: ${(err as Error).message}`, { retryable: true });
    }
    await res.body?.cancel();
    if (!res.ok) throw new ActionError(`POST to ${new URL(p.url).host} answered ${res.status}`, { retryable: res.status >= 500 || res.status === 429 });
    return { output: { status: res.status }, summary: `POST ${new URL(p.url).host} → ${res.status}`, details: { host: new URL(p.url).host, status: res.status, bytes: body.length } };
  },
};
