// SPDX-License-Identifier: Apache-2.0
/**
 * Where node actions keep what they collect (snapshots, traces, packet
 * captures). An artifact is written as a stream, hashed (sha256) while it is
 * written, and becomes visible under its key only when committed — so a
 * crash never leaves half an artifact that looks whole. The key layout is
 * `<kind>/<container>/<name>`; an S3-compatible store maps it to an object
 * key and the writer to a multipart upload, behind the same interface.
 *
 * @example
 *   const store = new LocalArtifactStore('/var/lib/riposte/artifacts');
 *   const w = await store.create('snapshots/3f1c0a9b2d4e/x.tar.gz', { contentType: 'application/gzip' });
 *   w.stream.end(Buffer.from('…'));
 *   const ref = await w.commit();  // { uri: 'file:///…', sha256, size }
 */
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { type Readable, Writable } from 'node:stream';
import { pathToFileURL } from 'node:url';

export interface ArtifactRef {
  /** store kind: 'local', later 's3' */
  store: string;
  key: string;
  /** where to fetch it: file:// for the local store, s3:// for an object store */
  uri: string;
  size: number;
  sha256: string;
  contentType: string;
  createdAt: string;
  /** free-form facts written with it (container, node, …) */
  meta?: Record<string, unknown>;
}

export interface ArtifactWriter {
  readonly key: string;
  /** write here; backpressure as for any Writable */
  readonly stream: Writable;
  /** bytes accepted so far */
  readonly bytes: number;
  /** ends the stream if needed, makes the artifact visible, returns its ref */
  commit(meta?: Record<string, unknown>): Promise<ArtifactRef>;
  /** drops what was written */
  abort(): Promise<void>;
}

export interface ArtifactStore {
  readonly kind: string;
  create(key: string, opts: { contentType: string }): Promise<ArtifactWriter>;
  put(key: string, data: Buffer | string, opts: { contentType: string; meta?: Record<string, unknown> }): Promise<ArtifactRef>;
  /** the committed artifact's ref, if any */
  head(key: string): Promise<ArtifactRef | undefined>;
  read(key: string): Promise<Readable>;
  list(prefix?: string): Promise<ArtifactRef[]>;
  delete(key: string): Promise<void>;
}

const KEY = /^[A-Za-z0-9][A-Za-z0-9._-]*(\/[A-Za-z0-9][A-Za-z0-9._-]*)*$/;

/** Throws unless the key is relative, without `..`, in the safe character set. */
export function checkKey(key: string): string {
  if (!KEY.test(key) || key.split('/').some((p) => p === '..' || p.endsWith('.meta.json')) || key.length > 512) throw new Error(`bad artifact key ${JSON.stringify(key)}`);
  return key;
}

/** A directory on the node (default `<stateDir>/artifacts`); refs sit next to the data as `<key>.meta.json`. */
export class LocalArtifactStore implements ArtifactStore {
  readonly kind = 'local';
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  async create(key: string, opts: { contentType: string }): Promise<ArtifactWriter> {
    checkKey(key);
    const partialDir = join(this.dir, '.partial');
    await mkdir(partialDir, { recursive: true, mode: 0o700 });
    const tmp = join(partialDir, `${randomUUID()}`);
    const fh = await open(tmp, 'wx', 0o600);
    const hash = createHash('sha256');
    let bytes = 0;
    let failed: Error | undefined;
    const stream = new Writable({
      write(chunk: Buffer, _enc, cb) {
        hash.update(chunk);
        bytes += chunk.length;
        fh.write(chunk).then(
          () => cb(),
          (err: Error) => {
            failed = err;
            cb(err);
          },
        );
      },
    });
    const finished = new Promise<void>((res, rej) => {
      stream.on('finish', res);
      stream.on('error', rej);
    });
    finished.catch(() => {});
    const final = join(this.dir, key);
    let done = false;
    return {
      key,
      stream,
      get bytes() {
        return bytes;
      },
      async commit(meta) {
        if (done) throw new Error(`artifact ${key} already committed or aborted`);
        done = true;
        if (!stream.writableEnded) stream.end();
        try {
          await finished;
          if (failed) throw failed;
          await fh.sync();
        } finally {
          await fh.close();
        }
        const ref: ArtifactRef = { store: 'local', key, uri: pathToFileURL(final).href, size: bytes, sha256: hash.digest('hex'), contentType: opts.contentType, createdAt: new Date().toISOString(), ...(meta ? { meta } : {}) };
        await mkdir(dirname(final), { recursive: true, mode: 0o700 });
        await rename(tmp, final);
        await writeFile(`${final}.meta.json`, `${JSON.stringify(ref, null, 2)}\n`, { mode: 0o600 });
        return ref;
      },
      async abort() {
        if (done) return;
        done = true;
        stream.destroy();
        await fh.close().catch(() => {});
        await rm(tmp, { force: true });
      },
    };
  }

  async put(key: string, data: Buffer | string, opts: { contentType: string; meta?: Record<string, unknown> }): Promise<ArtifactRef> {
    const w = await this.create(key, opts);
    w.stream.end(data);
    return w.commit(opts.meta);
  }

  async head(key: string): Promise<ArtifactRef | undefined> {
    checkKey(key);
    try {
      return JSON.parse(await readFile(join(this.dir, `${key}.meta.json`), 'utf8')) as ArtifactRef;
    } catch {
      return undefined;
    }
  }

  async read(key: string): Promise<Readable> {
    checkKey(key);
    if (!(await this.head(key))) throw new Error(`no artifact ${key}`);
    return createReadStream(join(this.dir, key));
  }

  async list(prefix = ''): Promise<ArtifactRef[]> {
    const out: ArtifactRef[] = [];
    const walk = async (d: string): Promise<void> => {
      const entries = await readdir(d, { withFileTypes: true }).catch(() => []);
      for (const e of entries) {
        const p = join(d, e.name);
        if (e.isDirectory() && e.name !== '.partial') await walk(p);
        else if (e.name.endsWith('.meta.json')) {
          const key = relative(this.dir, p).slice(0, -'.meta.json'.length);
          if (key.startsWith(prefix)) {
            const ref = await this.head(key);
            if (ref) out.push(ref);
          }
        }
      }
    };
    await walk(this.dir);
    return out.sort((a, b) => a.key.localeCompare(b.key));
  }

  async delete(key: string): Promise<void> {
    checkKey(key);
    await rm(join(this.dir, `${key}.meta.json`), { force: true });
    await rm(join(this.dir, key), { force: true });
  }
}
