// SPDX-License-Identifier: Apache-2.0
/**
 * Live updates for open pages over Server-Sent Events. Every change the UI
 * shows (an alert, a transition, a step, a vote) appends an audit record, so
 * the audit head is the one thing to watch. One poll of the head per process
 * (not per browser) while anyone is connected; it also sees records appended
 * by other engine replicas, which an in-process listener would miss.
 */
import type { ServerResponse } from 'node:http';

export interface LiveHubOptions {
  head: () => Promise<{ seq: number }>;
  pollMs?: number;
  heartbeatMs?: number;
}

export class LiveHub {
  private readonly o: Required<LiveHubOptions>;
  private readonly clients = new Set<ServerResponse>();
  private timer?: NodeJS.Timeout;
  private heartbeat?: NodeJS.Timeout;
  private last = -1;
  private polling = false;

  constructor(o: LiveHubOptions) {
    this.o = { pollMs: 500, heartbeatMs: 15_000, ...o };
  }

  get size(): number {
    return this.clients.size;
  }

  /** Takes over a response as an event stream until the client goes away. */
  add(res: ServerResponse): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
      'x-content-type-options': 'nosniff',
    });
    res.write(`retry: 2000\nevent: hello\ndata: ${JSON.stringify({ seq: this.last })}\n\n`);
    this.clients.add(res);
    res.on('close', () => {
      this.clients.delete(res);
      if (this.clients.size === 0) this.pause();
    });
    this.resume();
  }

  private resume(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.poll(), this.o.pollMs);
    this.heartbeat = setInterval(() => this.send(': ping\n\n'), this.o.heartbeatMs);
    this.timer.unref();
    this.heartbeat.unref();
  }

  private pause(): void {
    clearInterval(this.timer);
    clearInterval(this.heartbeat);
    this.timer = undefined;
    this.heartbeat = undefined;
  }

  private async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      const { seq } = await this.o.head();
      // pages carry the seq they were rendered at and refresh only when this is newer
      if (seq !== this.last) {
        this.last = seq;
        this.send(`event: audit\ndata: ${JSON.stringify({ seq })}\n\n`);
      }
    } catch {
      // Redis unreachable: say nothing; the next poll tries again
    } finally {
      this.polling = false;
    }
  }

  private send(chunk: string): void {
    for (const c of this.clients) c.write(chunk);
  }

  /** Ends every stream (server shutdown: open streams would otherwise hold it up). */
  close(): void {
    this.pause();
    for (const c of this.clients) c.end();
    this.clients.clear();
  }
}
