// SPDX-License-Identifier: Apache-2.0
/**
 * Audit export as NDJSON (one record per line, exactly as stored, so exported
 * lines keep their hashes and can be verified offline): to rotating files
 * (size-bounded, oldest deleted past a count) or to a stream such as stdout
 * for log shippers. The exporter follows the Redis list by sequence number and
 * keeps a cursor, so a restart resumes where it stopped instead of duplicating
 * or skipping records.
 *
 * @example
 *   const writer = new RotatingNdjsonWriter({ dir: '/var/log/riposte', maxBytes: 64 << 20, maxFiles: 20 });
 *   const exp = new AuditExporter({ log, write: (r) => writer.write(toNdjsonLine(r)), cursor: fileCursor('/var/log/riposte/.cursor') });
 *   await exp.drain();
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { type AuditFilter, type AuditLog, matchesFilter } from './log.ts';
import type { AuditRecord } from './record.ts';

export const toNdjsonLine = (r: AuditRecord) => `${JSON.stringify(r)}\n`;

export interface RotatingOptions {
  dir: string;
  /** File names are `<prefix>-<UTC time>.ndjson`. */
  prefix?: string;
  /** Start a new file before one grows past this many bytes. */
  maxBytes?: number;
  /** Keep at most this many files; the oldest go first. */
  maxFiles?: number;
  now?: () => Date;
}

/** 20240501T120000123Z: an ISO time without separators, milliseconds kept. */
const fileStamp = (d: Date): string => d.toISOString().replace(/[-:.]/g, '');
const stampTime = (stamp: string): number | undefined => {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(\d{3})Z$/.exec(stamp);
  return m ? Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!, +m[7]!) : undefined;
};

/** Appends lines to the current file and rotates by size; synchronous so a line is never half-written by an overlapping call. */
export class RotatingNdjsonWriter {
  private readonly o: Required<Omit<RotatingOptions, 'now'>> & { now: () => Date };
  private fd?: number;
  private size = 0;
  private file?: string;

  constructor(o: RotatingOptions) {
    this.o = { prefix: 'audit', maxBytes: 64 * 1024 * 1024, maxFiles: 20, now: () => new Date(), ...o };
    mkdirSync(this.o.dir, { recursive: true, mode: 0o700 });
  }

  get currentFile(): string | undefined {
    return this.file;
  }

  write(line: string): void {
    const bytes = Buffer.byteLength(line);
    if (this.fd !== undefined && this.size > 0 && this.size + bytes > this.o.maxBytes) this.rotate();
    if (this.fd === undefined) this.openNext();
    writeSync(this.fd!, line);
    this.size += bytes;
  }

  /** Closes the current file; the next write opens a new one. */
  rotate(): void {
    if (this.fd === undefined) return;
    fsyncSync(this.fd);
    closeSync(this.fd);
    this.fd = undefined;
    this.prune();
  }

  close(): void {
    this.rotate();
  }

  /** Export files in this directory, oldest first. */
  files(): string[] {
    const re = new RegExp(`^${this.o.prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-\\d{8}T\\d{9}Z\\.ndjson$`);
    return readdirSync(this.o.dir)
      .filter((f) => re.test(f))
      .sort();
  }

  private openNext(): void {
    // Names sort in creation order as plain strings (what `ls` and log shippers do): when the clock has not moved past the
    // newest file's stamp (several rotations in one millisecond, or a clock step back), the new file takes that stamp + 1 ms.
    let t = this.o.now().getTime();
    const newest = this.files().at(-1);
    const newestTime = newest ? stampTime(newest.slice(this.o.prefix.length + 1, -'.ndjson'.length)) : undefined;
    if (newestTime !== undefined && t <= newestTime) t = newestTime + 1;
    const name = `${this.o.prefix}-${fileStamp(new Date(t))}.ndjson`;
    this.file = join(this.o.dir, name);
    this.fd = openSync(this.file, 'a', 0o600);
    this.size = 0;
    this.prune();
  }

  private prune(): void {
    const files = this.files();
    const current = this.file ? this.file.slice(this.o.dir.length + 1) : undefined;
    for (const f of files.slice(0, Math.max(0, files.length - this.o.maxFiles))) if (f !== current) rmSync(join(this.o.dir, f), { force: true });
  }
}

/** Where an exporter remembers the last sequence number it wrote. */
export interface ExportCursor {
  load(): number | undefined;
  save(seq: number): void;
}

/** A cursor in a small file, replaced atomically (write + rename). */
export function fileCursor(path: string): ExportCursor {
  return {
    load() {
      try {
        const n = Number(readFileSync(path, 'utf8').trim());
        return Number.isInteger(n) && n >= 0 ? n : undefined;
      } catch {
        return undefined;
      }
    },
    save(seq) {
      writeFileSync(`${path}.tmp`, `${seq}\n`, { mode: 0o600 });
      renameSync(`${path}.tmp`, path);
    },
  };
}

/** Writes lines to a stream, waiting when it pushes back (a slow log shipper on a pipe). */
export function streamWriter(stream: Writable): (rec: AuditRecord) => Promise<void> {
  return (rec) =>
    new Promise<void>((resolve, reject) => {
      if (stream.write(toNdjsonLine(rec))) return resolve();
      const onDrain = () => {
        stream.off('error', onError);
        resolve();
      };
      const onError = (err: Error) => {
        stream.off('drain', onDrain);
        reject(err);
      };
      stream.once('drain', onDrain);
      stream.once('error', onError);
    });
}

export interface ExporterOptions {
  log: AuditLog;
  write: (rec: AuditRecord) => void | Promise<void>;
  /** Export records after this seq (default: the cursor, else from the oldest stored record). */
  afterSeq?: number;
  cursor?: ExportCursor;
  filter?: AuditFilter;
  pollMs?: number;
  /** Records between these sequence numbers were trimmed before they were exported. */
  onGap?: (fromSeq: number, toSeq: number) => void;
  onError?: (err: Error) => void;
}

/** Follows the audit list by sequence number and hands every (matching) record to `write`, in order. */
export class AuditExporter {
  private readonly o: ExporterOptions;
  private last: number;
  private timer?: NodeJS.Timeout;
  private running?: Promise<number>;

  constructor(o: ExporterOptions) {
    this.o = o;
    this.last = o.afterSeq ?? o.cursor?.load() ?? 0;
  }

  /** The last sequence number handed to `write` (or skipped by the filter). */
  get lastSeq(): number {
    return this.last;
  }

  /** Exports everything appended since the last call; resolves to the number of records written. */
  drain(): Promise<number> {
    this.running ??= this.drainOnce().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async drainOnce(): Promise<number> {
    let written = 0;
    for (;;) {
      const batch = await this.o.log.rangeBySeq(this.last + 1, this.last + 1000);
      if (batch.length === 0) return written;
      if (batch[0]!.seq > this.last + 1) this.o.onGap?.(this.last + 1, batch[0]!.seq - 1);
      for (const r of batch) {
        if (!this.o.filter || matchesFilter(r, this.o.filter)) {
          await this.o.write(r);
          written++;
        }
        this.last = r.seq;
      }
      this.o.cursor?.save(this.last);
    }
  }

  start(): void {
    this.timer = setInterval(() => {
      this.drain().catch((err: Error) => this.o.onError?.(err));
    }, this.o.pollMs ?? 1000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running?.catch(() => {});
  }
}
