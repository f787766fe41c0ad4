// SPDX-License-Identifier: Apache-2.0
/**
 * Turning the executables a playbook names into the strings the kernel side
 * compares: the path as the container's processes see it, with symlinks
 * resolved inside the container's root (so `/bin/sh` also covers
 * `/usr/bin/dash` when one links to the other), and each binary's ELF
 * interpreter (needed by the fanotify fallback in allow-only mode).
 */
import { open, readlink, lstat } from 'node:fs/promises';

const MAX_LINKS = 40;

/**
 * Resolves `path` inside `root` (e.g. /proc/<pid>/root) the way the
 * container's processes would: absolute symlink targets restart at the
 * container's root, never the host's. Returns the container-side path, or
 * null when a component is missing.
 */
export async function resolveInRoot(root: string, path: string): Promise<string | null> {
  if (!path.startsWith('/')) return null;
  const todo = path.split('/').filter(Boolean);
  const done: string[] = [];
  let links = 0;
  while (todo.length) {
    const part = todo.shift()!;
    if (part === '.') continue;
    if (part === '..') {
      done.pop();
      continue;
    }
    const here = `/${[...done, part].join('/')}`;
    let st: Awaited<ReturnType<typeof lstat>>;
    try {
      st = await lstat(`${root}${here}`);
    } catch {
      return null;
    }
    if (st.isSymbolicLink()) {
      if (++links > MAX_LINKS) return null;
      const target = await readlink(`${root}${here}`);
      if (target.startsWith('/')) done.length = 0;
      todo.unshift(...target.split('/').filter(Boolean));
      continue;
    }
    done.push(part);
  }
  return `/${done.join('/')}`;
}

/** The PT_INTERP of an ELF executable (e.g. /lib64/ld-linux-x86-64.so.2), or null (static, script, not ELF). */
export async function elfInterpreter(file: string): Promise<string | null> {
  let fh: Awaited<ReturnType<typeof open>> | undefined;
  try {
    fh = await open(file, 'r');
    const head = Buffer.alloc(64);
    await fh.read(head, 0, 64, 0);
    if (head.readUInt32BE(0) !== 0x7f454c46 || head[4] !== 2 || head[5] !== 1) return null; // 64-bit little-endian only
    const phoff = Number(head.readBigUInt64LE(32));
    const phentsize = head.readUInt16LE(54);
    const phnum = head.readUInt16LE(56);
    const ph = Buffer.alloc(phentsize * phnum);
    await fh.read(ph, 0, ph.length, phoff);
    for (let i = 0; i < phnum; i++) {
      const o = i * phentsize;
      if (ph.readUInt32LE(o) !== 3) continue; // PT_INTERP
      const off = Number(ph.readBigUInt64LE(o + 8));
      const size = Number(ph.readBigUInt64LE(o + 32));
      if (size <= 1 || size > 4096) return null;
      const s = Buffer.alloc(size);
      await fh.read(s, 0, size, off);
      return s.subarray(0, s.indexOf(0) < 0 ? size : s.indexOf(0)).toString('utf8');
    }
    return null;
  } catch {
    return null;
  } finally {
    await fh?.close();
  }
}
