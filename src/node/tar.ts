// SPDX-License-Identifier: Apache-2.0
/**
 * A small POSIX tar (ustar + pax extended headers) writer: regular files,
 * directories, symlinks and character devices (overlay whiteouts), written
 * to any Writable with backpressure — in practice a gzip stream into an
 * artifact. Names longer than ustar allows, non-ASCII names and link targets
 * go into a pax header, so GNU tar, bsdtar and Python's tarfile read them.
 *
 * @example
 *   const gz = createGzip(); gz.pipe(out);
 *   const tar = new TarWriter(gz);
 *   await tar.add({ name: 'a.txt', data: Buffer.from('hi\n') });
 *   await tar.finish(); gz.end();
 */
import { createHash } from 'node:crypto';
import type { Writable } from 'node:stream';

export type TarEntryType = 'file' | 'dir' | 'symlink' | 'chardev';

export interface TarEntry {
  name: string;
  type?: TarEntryType;
  /** permission bits (and setuid/setgid/sticky); default 0644 files, 0755 dirs */
  mode?: number;
  uid?: number;
  gid?: number;
  /** seconds since the epoch */
  mtime?: number;
  /** file content (small files) */
  data?: Buffer;
  /** symlink target */
  linkname?: string;
  devmajor?: number;
  devminor?: number;
}

const BLOCK = 512;
const TYPEFLAG: Record<TarEntryType, string> = { file: '0', symlink: '2', chardev: '3', dir: '5' };

function octal(n: number, width: number): string {
  // width includes the trailing NUL
  return n.toString(8).padStart(width - 1, '0');
}

function fitsUstar(s: string, max: number): boolean {
  return Buffer.byteLength(s) <= max && /^[\x20-\x7e]*$/.test(s);
}

function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let len = Buffer.byteLength(body) + 1;
  while (String(len).length + Buffer.byteLength(body) !== len) len = String(len).length + Buffer.byteLength(body);
  return `${len}${body}`;
}

function header(e: Required<Pick<TarEntry, 'mode' | 'uid' | 'gid' | 'mtime'>> & { name: string; size: number; typeflag: string; linkname: string; devmajor: number; devminor: number }): Buffer {
  const h = Buffer.alloc(BLOCK);
  h.write(e.name, 0, 100, 'utf8');
  h.write(`${octal(e.mode & 0o7777, 8)}\0`, 100, 8, 'ascii');
  h.write(`${octal(Math.min(e.uid, 0o7777777), 8)}\0`, 108, 8, 'ascii');
  h.write(`${octal(Math.min(e.gid, 0o7777777), 8)}\0`, 116, 8, 'ascii');
  h.write(`${octal(e.size, 12)}\0`, 124, 12, 'ascii');
  h.write(`${octal(Math.max(0, Math.floor(e.mtime)), 12)}\0`, 136, 12, 'ascii');
  h.write('        ', 148, 8, 'ascii');
  h.write(e.typeflag, 156, 1, 'ascii');
  h.write(e.linkname, 157, 100, 'utf8');
  h.write('ustar\0', 257, 6, 'ascii');
  h.write('00', 263, 2, 'ascii');
  h.write('root', 265, 32, 'ascii');
  h.write('root', 297, 32, 'ascii');
  h.write(`${octal(e.devmajor, 8)}\0`, 329, 8, 'ascii');
  h.write(`${octal(e.devminor, 8)}\0`, 337, 8, 'ascii');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${octal(sum, 7)}\0 `, 148, 8, 'ascii');
  return h;
}

export class TarWriter {
  private readonly out: Writable;
  /** bytes written to `out` so far (headers, data, padding) */
  written = 0;

  constructor(out: Writable) {
    this.out = out;
  }

  private async write(buf: Buffer): Promise<void> {
    this.written += buf.length;
    if (!this.out.write(buf)) {
      await new Promise<void>((resolve, reject) => {
        const onErr = (err: Error) => {
          this.out.off('drain', onDrain);
          reject(err);
        };
        const onDrain = () => {
          this.out.off('error', onErr);
          resolve();
        };
        this.out.once('drain', onDrain);
        this.out.once('error', onErr);
      });
    }
  }

  private async writeHeader(e: TarEntry, size: number): Promise<void> {
    const type = e.type ?? 'file';
    const linkname = e.linkname ?? '';
    const pax: string[] = [];
    let name = e.name;
    if (!fitsUstar(name, 100)) {
      pax.push(paxRecord('path', name));
      name = Buffer.from(name).subarray(0, 99).toString('latin1').replace(/[^\x20-\x7e]/g, '_');
    }
    let link = linkname;
    if (!fitsUstar(link, 100)) {
      pax.push(paxRecord('linkpath', link));
      link = '';
    }
    if (size > 0o77777777777) pax.push(paxRecord('size', String(size)));
    const common = { mode: e.mode ?? (type === 'dir' ? 0o755 : 0o644), uid: e.uid ?? 0, gid: e.gid ?? 0, mtime: e.mtime ?? Math.floor(Date.now() / 1000), devmajor: e.devmajor ?? 0, devminor: e.devminor ?? 0 };
    if (pax.length) {
      const body = Buffer.from(pax.join(''));
      await this.write(header({ ...common, name: 'PaxHeaders/entry', size: body.length, typeflag: 'x', linkname: '' }));
      await this.write(body);
      await this.pad(body.length);
    }
    await this.write(header({ ...common, name, size: size > 0o77777777777 ? 0 : size, typeflag: TYPEFLAG[type], linkname: link }));
  }

  private async pad(size: number): Promise<void> {
    const rest = size % BLOCK;
    if (rest) await this.write(Buffer.alloc(BLOCK - rest));
  }

  /** Adds an entry whose content (if any) is in memory. Returns the content's sha256. */
  async add(e: TarEntry): Promise<{ size: number; sha256: string }> {
    const data = e.type === undefined || e.type === 'file' ? (e.data ?? Buffer.alloc(0)) : Buffer.alloc(0);
    await this.writeHeader(e, data.length);
    if (data.length) {
      await this.write(data);
      await this.pad(data.length);
    }
    return { size: data.length, sha256: createHash('sha256').update(data).digest('hex') };
  }

  /**
   * Adds a regular file of a size known up front from a chunk source (a file
   * being read). The archive holds exactly `size` bytes: a source that turns
   * out shorter is zero-filled, a longer one cut — `changed` says so.
   * The sha256 is of the bytes archived.
   */
  async addStream(e: TarEntry, size: number, source: AsyncIterable<Buffer>): Promise<{ size: number; sha256: string; changed: boolean }> {
    await this.writeHeader({ ...e, type: 'file' }, size);
    const hash = createHash('sha256');
    let n = 0;
    let changed = false;
    for await (const chunk of source) {
      if (n >= size) {
        changed = true;
        break;
      }
      const part = chunk.length > size - n ? chunk.subarray(0, size - n) : chunk;
      if (part.length < chunk.length) changed = true;
      hash.update(part);
      await this.write(part);
      n += part.length;
    }
    if (n < size) {
      changed = true;
      const zeros = Buffer.alloc(size - n);
      hash.update(zeros);
      await this.write(zeros);
    }
    await this.pad(size);
    return { size, sha256: hash.digest('hex'), changed };
  }

  /** The end-of-archive marker (two zero blocks). */
  async finish(): Promise<void> {
    await this.write(Buffer.alloc(BLOCK * 2));
  }
}
