// SPDX-License-Identifier: Apache-2.0
/**
 * container.snapshot: a container's filesystem changes and its live state in
 * one tar.gz, plus a manifest listing every archived file with its size, mode
 * and sha256 (inside the archive as `manifest.json`, and stored next to it).
 *
 * Archive layout:
 *   fs/<path>            files, directories and symlinks of the overlay upper
 *                        directory (what the container wrote); deletions
 *                        (whiteouts) are listed in the manifest, not archived
 *   exe/<pid>-<name>     each distinct executable of a running process, read
 *                        through /proc/<pid>/exe (works for deleted ones too)
 *   proc/processes.json  process list; proc/open-files.json; proc/connections.json
 *   manifest.json        last entry
 *
 * Without an overlay at the container's `/`, the `paths` given are taken
 * through /proc/<pid>/root instead. Caps: `maxBytes` bounds the archive
 * (content is counted uncompressed, so the gzip output stays under it) and
 * `timeoutMs` the time spent; what does not fit is listed as skipped.
 */
import { createReadStream } from 'node:fs';
import { lstat, readdir, readlink, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { createGzip } from 'node:zlib';
import type { ArtifactRef, ArtifactStore } from './artifacts.ts';
import { cgroupPids, type ContainerCgroup } from './cgroups.ts';
import { resolveInRoot } from './exec-paths.ts';
import { connections, openFiles, processInfo, type OpenFile, type ProcessInfo, reachableDir, rootOverlay } from './procfs.ts';
import { TarWriter } from './tar.ts';

export interface SnapshotOptions {
  store: ArtifactStore;
  /** artifact key of the archive (the manifest goes to `<key>.manifest.json` beside it) */
  key: string;
  maxBytes?: number;
  timeoutMs?: number;
  /** fallback when no overlay upper directory is found */
  paths?: string[];
  node?: string;
  signal?: AbortSignal;
}

export interface ManifestEntry {
  /** path inside the archive */
  path: string;
  /** where it came from: the container path, or /proc/<pid>/exe */
  source: string;
  type: 'file' | 'dir' | 'symlink';
  size: number;
  /** permission bits in octal text, e.g. "0644" */
  mode: string;
  uid: number;
  gid: number;
  mtime: string;
  sha256?: string;
  linkname?: string;
  /** the file changed size while it was read */
  changedWhileReading?: boolean;
}

export interface Manifest {
  version: 1;
  container: string;
  cgroup: string;
  node?: string;
  createdAt: string;
  source: { kind: 'overlay-upper'; upperdir: string } | { kind: 'paths'; root: string; paths: string[] } | { kind: 'none'; reason: string };
  files: ManifestEntry[];
  /** container paths deleted from the image (overlay whiteouts) */
  deleted: string[];
  skipped: { source: string; reason: string }[];
  truncated: boolean;
  processes: number;
}

export interface SnapshotResult {
  archive: ArtifactRef;
  manifest: ArtifactRef;
  files: number;
  truncated: boolean;
  source: Manifest['source']['kind'];
}

const DEFAULT_MAX = 256 * 1024 * 1024;
const HEADROOM = 64 * 1024;

const modeText = (m: number) => (m & 0o7777).toString(8).padStart(4, '0');

export async function snapshotContainer(cg: ContainerCgroup, o: SnapshotOptions): Promise<SnapshotResult> {
  const maxBytes = o.maxBytes ?? DEFAULT_MAX;
  const deadline = Date.now() + (o.timeoutMs ?? 120_000);
  const pids = (await cgroupPids(cg.dir)).sort((a, b) => a - b);
  const procs = (await Promise.all(pids.map(processInfo))).filter((p): p is ProcessInfo => p !== null);
  // the oldest process whose / is an overlay speaks for the container's filesystem (a runtime's
  // helper in the cgroup, like the sandbox's unshare, may still have the host's /)
  const byAge = [...procs].sort((a, b) => a.startTicks - b.startTicks);
  let first = byAge.find((p) => p.root !== '/') ?? byAge[0];
  let ov: Awaited<ReturnType<typeof rootOverlay>> = null;
  for (const p of byAge) {
    ov = await rootOverlay(p.pid);
    if (ov) {
      first = p;
      break;
    }
  }

  let source: Manifest['source'];
  let fsRoot: string | null = null;
  if (!first) source = { kind: 'none', reason: 'the container has no running process, so its filesystem cannot be located' };
  else {
    const upper = ov ? await reachableDir(ov.upperdir) : null;
    if (ov && upper) {
      source = { kind: 'overlay-upper', upperdir: ov.upperdir };
      fsRoot = upper;
    } else if (o.paths?.length) {
      source = { kind: 'paths', root: `/proc/${first.pid}/root`, paths: o.paths };
      fsRoot = `/proc/${first.pid}/root`;
    } else source = { kind: 'none', reason: ov ? `upper directory ${ov.upperdir} is not reachable from the agent` : "the container's / is not an overlay and no paths were given" };
  }

  const writer = await o.store.create(o.key, { contentType: 'application/gzip' });
  const gz = createGzip({ level: 6 });
  gz.pipe(writer.stream, { end: false });
  const gzDone = new Promise<void>((res, rej) => {
    gz.on('end', res);
    gz.on('error', rej);
  });
  const tar = new TarWriter(gz);
  const manifest: Manifest = { version: 1, container: cg.container, cgroup: cg.path, ...(o.node ? { node: o.node } : {}), createdAt: new Date().toISOString(), source, files: [], deleted: [], skipped: [], truncated: false, processes: procs.length };
  const budget = () => maxBytes - HEADROOM - tar.written;
  const stop = (): string | null => (o.signal?.aborted ? 'aborted' : Date.now() > deadline ? 'time cap reached' : null);

  const addFile = async (archivePath: string, from: string, st: { size: number; mode: number; uid: number; gid: number; mtimeMs: number }, sourceName: string) => {
    const why = stop() ?? (st.size + 1024 > budget() ? 'size cap reached' : null);
    if (why) {
      manifest.skipped.push({ source: sourceName, reason: why });
      manifest.truncated = true;
      return;
    }
    const r = await tar.addStream({ name: archivePath, mode: st.mode, uid: st.uid, gid: st.gid, mtime: Math.floor(st.mtimeMs / 1000) }, st.size, createReadStream(from, { highWaterMark: 1 << 20 }));
    manifest.files.push({ path: archivePath, source: sourceName, type: 'file', size: r.size, mode: modeText(st.mode), uid: st.uid, gid: st.gid, mtime: new Date(st.mtimeMs).toISOString(), sha256: r.sha256, ...(r.changed ? { changedWhileReading: true } : {}) });
  };

  const addTree = async (hostPath: string, containerPath: string): Promise<void> => {
    let st: Awaited<ReturnType<typeof lstat>>;
    try {
      st = await lstat(hostPath);
    } catch (err) {
      manifest.skipped.push({ source: containerPath, reason: (err as NodeJS.ErrnoException).code ?? String(err) });
      return;
    }
    const archivePath = `fs${containerPath === '/' ? '' : containerPath}`;
    const meta = { mode: modeText(st.mode), uid: st.uid, gid: st.gid, mtime: new Date(st.mtimeMs).toISOString() };
    if (st.isCharacterDevice() && st.rdev === 0) {
      manifest.deleted.push(containerPath); // overlay whiteout
    } else if (st.isSymbolicLink()) {
      const target = await readlink(hostPath);
      await tar.add({ name: archivePath, type: 'symlink', linkname: target, mode: st.mode, uid: st.uid, gid: st.gid, mtime: Math.floor(st.mtimeMs / 1000) });
      manifest.files.push({ path: archivePath, source: containerPath, type: 'symlink', size: 0, linkname: target, ...meta });
    } else if (st.isDirectory()) {
      if (containerPath !== '/') {
        await tar.add({ name: `${archivePath}/`, type: 'dir', mode: st.mode, uid: st.uid, gid: st.gid, mtime: Math.floor(st.mtimeMs / 1000) });
        manifest.files.push({ path: `${archivePath}/`, source: containerPath, type: 'dir', size: 0, ...meta });
      }
      const names = (await readdir(hostPath).catch(() => [])).sort();
      for (const n of names) await addTree(join(hostPath, n), containerPath === '/' ? `/${n}` : `${containerPath}/${n}`);
    } else if (st.isFile()) {
      await addFile(archivePath, hostPath, { size: Number(st.size), mode: st.mode, uid: st.uid, gid: st.gid, mtimeMs: st.mtimeMs }, containerPath);
    } else {
      manifest.skipped.push({ source: containerPath, reason: 'not a regular file, directory or symlink' });
    }
  };

  try {
    // 1. the filesystem changes
    if (source.kind === 'overlay-upper' && fsRoot) await addTree(fsRoot, '/');
    else if (source.kind === 'paths' && fsRoot) {
      for (const p of source.paths) {
        if (!p.startsWith('/') || p.split('/').includes('..')) {
          manifest.skipped.push({ source: p, reason: 'paths must be absolute, without ..' });
          continue;
        }
        // resolve inside the container's root first: an absolute symlink there must not lead the walk to the host's files
        const real = await resolveInRoot(fsRoot, p);
        if (real === null) {
          manifest.skipped.push({ source: p, reason: 'not found in the container' });
          continue;
        }
        await addTree(`${fsRoot}${real}`, p.replace(/\/+$/, '') || '/');
      }
    }
    // 2. live state
    const files: OpenFile[] = [];
    for (const p of procs) files.push(...(await openFiles(p.pid)));
    const conns = await connections(pids, files);
    const json = (v: unknown) => Buffer.from(`${JSON.stringify(v, null, 2)}\n`);
    const now = Math.floor(Date.now() / 1000);
    for (const [name, v] of [['proc/processes.json', procs], ['proc/open-files.json', files], ['proc/connections.json', conns]] as const) {
      const data = json(v);
      const r = await tar.add({ name, data, mtime: now });
      manifest.files.push({ path: name, source: name.replace('proc/', 'procfs:').replace('.json', ''), type: 'file', size: r.size, mode: '0644', uid: 0, gid: 0, mtime: new Date(now * 1000).toISOString(), sha256: r.sha256 });
    }
    // 3. one copy of each distinct executable
    const seen = new Set<string>();
    for (const p of procs) {
      const exe = `/proc/${p.pid}/exe`;
      const st = await stat(exe).catch(() => null);
      if (!st?.isFile()) continue;
      const id = `${st.dev}:${st.ino}`;
      if (seen.has(id)) continue;
      seen.add(id);
      await addFile(`exe/${p.pid}-${basename((p.exe ?? 'exe').replace(/ \(deleted\)$/, '')) || 'exe'}`, exe, { size: Number(st.size), mode: st.mode, uid: st.uid, gid: st.gid, mtimeMs: st.mtimeMs }, `${exe} (${p.exe ?? '?'})`);
    }
    // 4. the manifest, last
    const manifestData = json(manifest);
    await tar.add({ name: 'manifest.json', data: manifestData, mtime: now });
    await tar.finish();
    gz.end();
    await gzDone;
    const meta = { container: cg.container, cgroup: cg.path, ...(o.node ? { node: o.node } : {}), files: manifest.files.length, truncated: manifest.truncated };
    const archive = await writer.commit(meta);
    const manifestRef = await o.store.put(`${o.key}.manifest.json`, manifestData, { contentType: 'application/json', meta: { ...meta, archive: archive.key, archiveSha256: archive.sha256 } });
    return { archive, manifest: manifestRef, files: manifest.files.length, truncated: manifest.truncated, source: source.kind };
  } catch (err) {
    gz.destroy();
    await writer.abort();
    throw err;
  }
}
