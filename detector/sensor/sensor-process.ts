// SPDX-License-Identifier: Apache-2.0
/**
 * Runs the riposte-sensor loader as a child process: decodes its stdout
 * into events, sends control commands on its stdin, stops it cleanly.
 * No restart policy: the caller decides what a dead sensor means.
 *
 * @example
 * const sensor = await SensorProcess.start({ events: ['exec', 'open'] });
 * for await (const e of sensor.events()) if (e.type === 'exec') console.log(e.exe, e.args);
 * await sensor.stop();
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { EventTypeName } from './event-types.ts';
import { FrameDecoder, type HelloFrame, type ReplyFrame, type SensorEvent, type StatsFrame } from './frames.ts';

export interface SensorOptions {
  /** loader binary; default $RIPOSTE_SENSOR_BIN or bpf/.output/riposte-sensor of this checkout */
  binary?: string;
  /** event types to enable at start (default: all) */
  events?: readonly EventTypeName[] | 'all';
  /** ring buffer size in MiB, a power of two (default 8) */
  ringbufMb?: number;
  /** ask for stats every N ms and emit 'stats' (and 'drops' when drops grew); 0 = never */
  statsIntervalMs?: number;
  /** how long to wait for the hello frame (default 10 s) */
  startTimeoutMs?: number;
  /** each stderr line of the loader (default: kept in `stderrTail`) */
  onStderr?: (line: string) => void;
}

export interface SensorExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Default path of the loader built by `make -C bpf`. */
export function sensorBinaryPath(): string {
  const env = process.env.RIPOSTE_SENSOR_BIN;
  if (env) return env;
  const here = dirname(fileURLToPath(import.meta.url));
  return resolve(here, '../../bpf/.output/riposte-sensor');
}

/** Run `riposte-sensor --check`: can this kernel load and attach the sensor? */
export async function checkSensor(binary = sensorBinaryPath()): Promise<{ ok: boolean; reason: string }> {
  if (!existsSync(binary)) return { ok: false, reason: `${binary} not built (make -C bpf)` };
  return new Promise((done) => {
    const child = spawn(binary, ['--check'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.on('error', (err) => done({ ok: false, reason: err.message }));
    child.on('close', (code) => {
      const lines = out.trim().split('\n');
      const reason =
        code === 0
          ? (lines.at(-1) ?? 'ok')
          : lines.filter((l) => /riposte-sensor:|^fail:/.test(l)).join('; ') || `exit ${code}`;
      done({ ok: code === 0, reason });
    });
  });
}

interface Pending {
  resolve: (r: ReplyFrame) => void;
  reject: (e: Error) => void;
}

/**
 * The loader child. Events: 'event' (SensorEvent), 'stats' (StatsFrame),
 * 'drops' ({ total, delta }), 'exit' (SensorExit), 'error' (Error).
 */
export class SensorProcess extends EventEmitter {
  /** the loader's hello frame (abi, cpus, clock offset, version) */
  hello!: HelloFrame;
  /** last stderr lines of the loader, for error reports */
  readonly stderrTail: string[] = [];
  /** resolves when the child has exited */
  readonly exited: Promise<SensorExit>;

  private readonly child: ChildProcess;
  private readonly decoder: FrameDecoder;
  private readonly pending: Pending[] = [];
  private lastStats: StatsFrame | null = null;
  private lastDrops = 0;
  private statsTimer: NodeJS.Timeout | null = null;
  private exitInfo: SensorExit | null = null;
  private iterating = false;
  private queue: SensorEvent[] = [];
  private wake: (() => void) | null = null;
  private highWater = 4096;

  private constructor(child: ChildProcess, opts: SensorOptions) {
    super();
    this.child = child;
    this.decoder = new FrameDecoder({
      event: (e) => this.onEvent(e),
      loader: (f) => {
        if (f.kind === 'hello') {
          this.hello = f;
          this.emit('hello', f);
        } else if (f.kind === 'stats') {
          this.lastStats = f;
          this.onStats(f);
        } else {
          const p = this.pending.shift();
          p?.resolve(f);
        }
      },
    });
    child.stdout!.on('data', (chunk: Buffer) => {
      try {
        this.decoder.push(chunk);
      } catch (err) {
        this.emit('error', err);
        child.kill('SIGTERM');
      }
    });
    let partial = '';
    child.stderr!.on('data', (d: Buffer) => {
      const lines = (partial + d.toString()).split('\n');
      partial = lines.pop() ?? '';
      for (const l of lines) {
        this.stderrTail.push(l);
        if (this.stderrTail.length > 50) this.stderrTail.shift();
        opts.onStderr?.(l);
      }
    });
    child.stdin!.on('error', () => {
      // the loader went away; 'exit' reports it
    });
    this.exited = new Promise((res) => {
      child.on('close', (code, signal) => {
        this.exitInfo = { code, signal };
        if (this.statsTimer) clearInterval(this.statsTimer);
        const err = new Error(`riposte-sensor exited (${signal ?? code}): ${this.stderrTail.slice(-3).join(' | ')}`);
        for (const p of this.pending.splice(0)) p.reject(err);
        this.wake?.();
        this.emit('exit', this.exitInfo);
        res(this.exitInfo);
      });
    });
    if (opts.statsIntervalMs && opts.statsIntervalMs > 0) {
      this.statsTimer = setInterval(() => {
        this.stats().catch(() => {});
      }, opts.statsIntervalMs);
      this.statsTimer.unref();
    }
  }

  /** Spawn the loader and wait for its hello frame. */
  static async start(opts: SensorOptions = {}): Promise<SensorProcess> {
    const binary = opts.binary ?? sensorBinaryPath();
    const args: string[] = [];
    const ev = opts.events ?? 'all';
    args.push('--events', ev === 'all' ? 'all' : ev.length === 0 ? 'none' : ev.join(','));
    if (opts.ringbufMb) args.push('--ringbuf-mb', String(opts.ringbufMb));
    const child = spawn(binary, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const sp = new SensorProcess(child, opts);
    const timeout = opts.startTimeoutMs ?? 10_000;
    await new Promise<void>((res, rej) => {
      const t = setTimeout(() => {
        child.kill('SIGTERM');
        rej(new Error(`riposte-sensor: no hello within ${timeout} ms`));
      }, timeout);
      const fail = (why: string) => {
        clearTimeout(t);
        rej(new Error(`riposte-sensor failed to start: ${why}`));
      };
      child.once('error', (e) => fail(e.message));
      sp.once('exit', (x: SensorExit) => fail(`${sp.stderrTail.slice(-3).join(' | ') || `exit ${x.code ?? x.signal}`}`));
      sp.once('hello', () => {
        clearTimeout(t);
        res();
      });
    });
    return sp;
  }

  /** Loader process id. */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Send one control line; resolves with the loader's reply, rejects when it says no. */
  async command(line: string): Promise<string> {
    if (this.exitInfo) throw new Error('riposte-sensor is not running');
    if (line.includes('\n')) throw new Error('control command must be one line');
    const reply = await new Promise<ReplyFrame>((resolve, reject) => {
      this.pending.push({ resolve, reject });
      this.child.stdin!.write(`${line}\n`);
    });
    if (!reply.ok) throw new Error(`riposte-sensor: ${reply.message}`);
    return reply.message;
  }

  /** Set exactly the enabled event types (adaptive selection: only what the rules need). */
  setEvents(types: readonly EventTypeName[] | 'all'): Promise<string> {
    const list = types === 'all' ? 'all' : types.length === 0 ? 'none' : types.join(',');
    return this.command(`events ${list}`);
  }

  /** Turn raw per-syscall tracing of one cgroup (v2 id) on or off. */
  /**
   * Reports read-only opens of absolute paths only under these prefixes
   * (writes, creates and relative paths always); `null` reports every open.
   */
  setOpenFilter(prefixes: readonly string[] | null): Promise<string> {
    return this.command(`open-filter ${prefixes === null ? 'off' : prefixes.join(',')}`);
  }

  setCgroupVerbose(cgroupId: bigint | number | string, on: boolean): Promise<string> {
    return this.command(`cgroup ${BigInt(cgroupId)} verbose ${on ? 'on' : 'off'}`);
  }

  /** Counters: per-type events and drops, per-cpu drops, frames written. */
  async stats(): Promise<StatsFrame> {
    await this.command('stats');
    if (!this.lastStats) throw new Error('riposte-sensor: no stats frame');
    return this.lastStats;
  }

  /**
   * Async iterator over events with backpressure: the loader's stdout is
   * paused while more than `highWaterMark` events wait. Use either this or
   * the 'event' listener for the full stream.
   */
  events(opts: { highWaterMark?: number } = {}): AsyncIterableIterator<SensorEvent> {
    if (this.iterating) throw new Error('events() already being iterated');
    this.iterating = true;
    this.highWater = opts.highWaterMark ?? 4096;
    const self = this;
    const it: AsyncIterableIterator<SensorEvent> = {
      [Symbol.asyncIterator]() {
        return it;
      },
      async next(): Promise<IteratorResult<SensorEvent>> {
        for (;;) {
          const e = self.queue.shift();
          if (e) {
            if (self.queue.length < self.highWater / 2 && self.child.stdout!.isPaused()) self.child.stdout!.resume();
            return { value: e, done: false };
          }
          if (self.exitInfo) {
            self.iterating = false;
            return { value: undefined, done: true };
          }
          await new Promise<void>((r) => {
            self.wake = r;
          });
          self.wake = null;
        }
      },
      async return(): Promise<IteratorResult<SensorEvent>> {
        self.iterating = false;
        self.queue = [];
        if (self.child.stdout!.isPaused()) self.child.stdout!.resume();
        return { value: undefined, done: true };
      },
    };
    return it;
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<SensorEvent> {
    return this.events();
  }

  /** Ask the loader to quit (then SIGTERM, then SIGKILL after timeoutMs each). */
  async stop(timeoutMs = 3000): Promise<SensorExit> {
    if (this.exitInfo) return this.exitInfo;
    const child = this.child;
    if (child.stdout!.isPaused()) child.stdout!.resume();
    this.queue = [];
    child.stdin!.end('quit\n');
    const waitFor = (ms: number) =>
      Promise.race([this.exited, new Promise<null>((r) => setTimeout(() => r(null), ms).unref())]);
    if ((await waitFor(timeoutMs)) === null) {
      child.kill('SIGTERM');
      if ((await waitFor(timeoutMs)) === null) child.kill('SIGKILL');
    }
    return this.exited;
  }

  private onEvent(e: SensorEvent): void {
    this.emit('event', e);
    if (!this.iterating) return;
    this.queue.push(e);
    if (this.queue.length > this.highWater && !this.child.stdout!.isPaused()) this.child.stdout!.pause();
    this.wake?.();
  }

  private onStats(s: StatsFrame): void {
    this.emit('stats', s);
    const total = s.dropsPerCpu.reduce((a, b) => a + b, 0);
    if (total > this.lastDrops) this.emit('drops', { total, delta: total - this.lastDrops, stats: s });
    this.lastDrops = total;
  }
}
