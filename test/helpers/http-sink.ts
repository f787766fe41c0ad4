// SPDX-License-Identifier: Apache-2.0
/** A real HTTP server on loopback that records what it receives (webhooks, chat). */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';

export interface Received {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface HttpSink {
  url: string;
  received: Received[];
  /** Resolves when `n` requests have arrived (or rejects after `ms`). */
  waitFor(n: number, ms?: number): Promise<Received[]>;
  /** Status to answer with (default 200). */
  status: number;
  /** Per-request answer, when set: status and an optional delay before answering. */
  respond?: (req: Received, countForPath: number) => { status: number; delayMs?: number };
  close(): Promise<void>;
}

export async function startHttpSink(): Promise<HttpSink> {
  const received: Received[] = [];
  const waiters: (() => void)[] = [];
  const sink = { status: 200 } as HttpSink;
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      const r: Received = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body };
      received.push(r);
      const answer = sink.respond?.(r, received.filter((x) => x.path === r.path).length) ?? { status: sink.status };
      setTimeout(() => {
        res.statusCode = answer.status;
        res.end('ok');
      }, answer.delayMs ?? 0);
      for (const w of waiters.splice(0)) w();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  return Object.assign(sink, {
    url: `http://127.0.0.1:${port}`,
    received,
    async waitFor(n: number, ms = 10_000) {
      const deadline = Date.now() + ms;
      while (received.length < n) {
        if (Date.now() > deadline) throw new Error(`expected ${n} requests, got ${received.length}`);
        await new Promise<void>((r) => {
          waiters.push(r);
          setTimeout(r, 100);
        });
      }
      return received;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  });
}
