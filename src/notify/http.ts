// SPDX-License-Identifier: Apache-2.0
/**
 * One notification POST with retries. Retries network errors, timeouts, 408,
 * 429 (honouring Retry-After, capped) and 5xx with exponential backoff; any
 * other 4xx is a configuration problem and fails at once. Messages name the
 * notifier and the status, never the URL: chat webhook URLs are credentials.
 */

export class NotifyError extends Error {
  readonly status?: number;
  readonly retryable: boolean;
  readonly attempts: number;
  constructor(message: string, opts: { status?: number; retryable: boolean; attempts: number }) {
    super(message);
    this.name = 'NotifyError';
    this.status = opts.status;
    this.retryable = opts.retryable;
    this.attempts = opts.attempts;
  }
}

export interface PostOptions {
  /** Used in messages instead of the URL, e.g. `slack notifier "oncall"`. */
  what: string;
  headers?: Record<string, string>;
  timeoutMs?: number;
  attempts?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
  signal?: AbortSignal;
  /** Extra headers computed from the exact body text (signatures); called per attempt. */
  sign?: (body: string) => Record<string, string>;
}

export interface PostResult {
  status: number;
  attempts: number;
}

const defaultSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function retryAfterMs(header: string | null, max: number): number | undefined {
  if (!header) return undefined;
  const secs = Number(header);
  if (Number.isFinite(secs)) return Math.min(max, Math.max(0, secs * 1000));
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.min(max, Math.max(0, at - Date.now()));
}

export async function postJson(url: string, body: unknown, o: PostOptions): Promise<PostResult> {
  const doFetch = o.fetch ?? fetch;
  const sleep = o.sleep ?? defaultSleep;
  const attempts = Math.max(1, o.attempts ?? 4);
  const base = o.baseDelayMs ?? 500;
  const maxDelay = o.maxDelayMs ?? 30_000;
  const text = JSON.stringify(body);
  let last: NotifyError | undefined;
  for (let i = 1; i <= attempts; i++) {
    let delay = Math.min(maxDelay, base * 2 ** (i - 1));
    try {
      const res = await doFetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'riposte', ...(o.headers ?? {}), ...(o.sign?.(text) ?? {}) },
        body: text,
        redirect: 'error',
        signal: o.signal ? AbortSignal.any([o.signal, AbortSignal.timeout(o.timeoutMs ?? 10_000)]) : AbortSignal.timeout(o.timeoutMs ?? 10_000),
      });
      await res.body?.cancel();
      if (res.ok) return { status: res.status, attempts: i };
      const retryable = res.status >= 500 || res.status === 429 || res.status === 408;
      last = new NotifyError(`${o.what} answered HTTP ${res.status}`, { status: res.status, retryable, attempts: i });
      if (!retryable) throw last;
      delay = retryAfterMs(res.headers.get('retry-after'), maxDelay) ?? delay;
    } catch (err) {
      if (err instanceof NotifyError && !err.retryable) throw err;
      if (!(err instanceof NotifyError)) {
        if (o.signal?.aborted) throw new NotifyError(`${o.what}: cancelled`, { retryable: true, attempts: i });
        const cause = (err as Error & { cause?: { code?: string; message?: string } }).cause;
        const why = (err as Error).name === 'TimeoutError' ? 'timed out' : (cause?.code ?? cause?.message ?? (err as Error).message);
        last = new NotifyError(`${o.what} could not be reached: ${why}`, { retryable: true, attempts: i });
      }
    }
    if (i < attempts) await sleep(delay);
  }
  throw new NotifyError(`${last?.message ?? `${o.what} failed`} (after ${attempts} attempts)`, { status: last?.status, retryable: true, attempts });
}
