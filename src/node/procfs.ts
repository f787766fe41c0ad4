// SPDX-License-Identifier: Apache-2.0
/**
 * What /proc says about a container's processes: the process list, open
 * files, network connections (per network namespace, with the owning pid/fd),
 * and the root overlay's upper directory from mountinfo. Read-only; a process
 * that exits while being read is simply left out.
 */
import { readdir, readFile, readlink, stat } from 'node:fs/promises';

export interface ProcessInfo {
  pid: number;
  ppid: number;
  state: string;
  comm: string;
  cmdline: string[];
  exe: string | null;
  cwd: string | null;
  root: string | null;
  uid: number[];
  gid: number[];
  cgroup: string | null;
  /** start time in clock ticks since boot (/proc/pid/stat field 22) */
  startTicks: number;
}

export interface OpenFile {
  pid: number;
  fd: number;
  target: string;
  pos?: number;
  flags?: string;
}

export interface Connection {
  proto: 'tcp' | 'tcp6' | 'udp' | 'udp6';
  local: string;
  remote: string;
  state: string;
  inode: number;
  uid: number;
  /** pid and fd holding the socket, when one of the container's processes does */
  pid?: number;
  fd?: number;
}

const TCP_STATES = ['', 'ESTABLISHED', 'SYN_SENT', 'SYN_RECV', 'FIN_WAIT1', 'FIN_WAIT2', 'TIME_WAIT', 'CLOSE', 'CLOSE_WAIT', 'LAST_ACK', 'LISTEN', 'CLOSING', 'NEW_SYN_RECV'];

const orNull = <T>(p: Promise<T>): Promise<T | null> => p.catch(() => null);

export async function processInfo(pid: number): Promise<ProcessInfo | null> {
  const stat = await orNull(readFile(`/proc/${pid}/stat`, 'utf8'));
  if (!stat) return null;
  // comm is in parentheses and may hold spaces or parentheses itself
  const open = stat.indexOf('(');
  const close = stat.lastIndexOf(')');
  const rest = stat.slice(close + 2).split(' ');
  const status = (await orNull(readFile(`/proc/${pid}/status`, 'utf8'))) ?? '';
  const ids = (k: string) => (status.match(new RegExp(`^${k}:\\s+(.*)$`, 'm'))?.[1] ?? '').split(/\s+/).filter(Boolean).map(Number);
  const cmd = (await orNull(readFile(`/proc/${pid}/cmdline`))) ?? Buffer.alloc(0);
  const cg = (await orNull(readFile(`/proc/${pid}/cgroup`, 'utf8'))) ?? '';
  return {
    pid,
    ppid: Number(rest[1]),
    state: rest[0] ?? '?',
    comm: stat.slice(open + 1, close),
    cmdline: cmd.length ? cmd.toString('utf8').replace(/\0$/, '').split('\0') : [],
    exe: await orNull(readlink(`/proc/${pid}/exe`)),
    cwd: await orNull(readlink(`/proc/${pid}/cwd`)),
    root: await orNull(readlink(`/proc/${pid}/root`)),
    uid: ids('Uid'),
    gid: ids('Gid'),
    cgroup: cg.split('\n').find((l) => l.startsWith('0::'))?.slice(3) ?? null,
    startTicks: Number(rest[19]),
  };
}

export async function openFiles(pid: number): Promise<OpenFile[]> {
  const fds = await orNull(readdir(`/proc/${pid}/fd`));
  const out: OpenFile[] = [];
  for (const f of fds ?? []) {
    const target = await orNull(readlink(`/proc/${pid}/fd/${f}`));
    if (target === null) continue;
    const info = (await orNull(readFile(`/proc/${pid}/fdinfo/${f}`, 'utf8'))) ?? '';
    const pos = info.match(/^pos:\s+(\d+)/m)?.[1];
    const flags = info.match(/^flags:\s+(\d+)/m)?.[1];
    out.push({ pid, fd: Number(f), target, ...(pos ? { pos: Number(pos) } : {}), ...(flags ? { flags } : {}) });
  }
  return out;
}

/** "0100007F:1F90" (little-endian hex IPv4, hex port) or the 32-hex-digit IPv6 form → "127.0.0.1:8080". */
export function decodeSockAddr(hex: string): string {
  const [a, p] = hex.split(':');
  const port = Number.parseInt(p ?? '0', 16);
  if (!a) return `?:${port}`;
  if (a.length === 8) {
    const b = Buffer.from(a, 'hex').reverse();
    return `${[...b].join('.')}:${port}`;
  }
  // four little-endian 32-bit words
  const words: string[] = [];
  for (let i = 0; i < 32; i += 8) words.push(Buffer.from(a.slice(i, i + 8), 'hex').reverse().toString('hex'));
  const groups = words.join('').match(/.{4}/g) ?? [];
  const v4mapped = groups.slice(0, 5).every((g) => g === '0000') && groups[5] === 'ffff';
  if (v4mapped) {
    const tail = Buffer.from(`${groups[6]}${groups[7]}`, 'hex');
    return `[::ffff:${[...tail].join('.')}]:${port}`;
  }
  return `[${compressV6(groups.map((g) => g.replace(/^0+(?=.)/, '')))}]:${port}`;
}

/** RFC 5952 text: the longest run (2+) of zero groups becomes "::". */
function compressV6(groups: string[]): string {
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < groups.length; ) {
    let j = i;
    while (j < groups.length && groups[j] === '0') j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j > i ? j : i + 1;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}

/** Parses /proc/<pid>/net/{tcp,tcp6,udp,udp6} text. */
export function parseNetTable(proto: Connection['proto'], text: string): Connection[] {
  const out: Connection[] = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10) continue;
    const st = Number.parseInt(f[3] ?? '0', 16);
    out.push({ proto, local: decodeSockAddr(f[1]!), remote: decodeSockAddr(f[2]!), state: proto.startsWith('tcp') ? (TCP_STATES[st] ?? String(st)) : st === 7 ? 'UNCONN' : st === 1 ? 'ESTABLISHED' : String(st), uid: Number(f[7]), inode: Number(f[9]) });
  }
  return out;
}

/**
 * Connections seen from the container's network namespaces (one read per
 * namespace), each matched to the pid/fd holding it when one does.
 */
export async function connections(pids: number[], files: OpenFile[]): Promise<Connection[]> {
  const byInode = new Map<number, OpenFile>();
  for (const f of files) {
    const m = /^socket:\[(\d+)\]$/.exec(f.target);
    if (m) byInode.set(Number(m[1]), f);
  }
  const seenNs = new Set<string>();
  const out: Connection[] = [];
  for (const pid of pids) {
    const ns = await orNull(readlink(`/proc/${pid}/ns/net`));
    if (!ns || seenNs.has(ns)) continue;
    seenNs.add(ns);
    // a namespace shared with the host lists every socket of the host: keep the container's own
    const shared = await sharesHostNet(pid);
    for (const proto of ['tcp', 'tcp6', 'udp', 'udp6'] as const) {
      const text = await orNull(readFile(`/proc/${pid}/net/${proto}`, 'utf8'));
      if (!text) continue;
      for (const c of parseNetTable(proto, text)) {
        const owner = byInode.get(c.inode);
        if (!owner && shared) continue;
        out.push(owner ? { ...c, pid: owner.pid, fd: owner.fd } : c);
      }
    }
  }
  return out;
}

let hostNet: Promise<string | null> | undefined;
async function sharesHostNet(pid: number): Promise<boolean> {
  hostNet ??= orNull(readlink('/proc/self/ns/net'));
  const mine = await hostNet;
  return mine !== null && mine === (await orNull(readlink(`/proc/${pid}/ns/net`)));
}

/** Splits mount options at commas not escaped with a backslash. */
function splitOptions(s: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '\\' && i + 1 < s.length) {
      cur += s[++i];
    } else if (c === ',') {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out;
}

const unescapeMountinfo = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));

export interface RootOverlay {
  upperdir: string;
  lowerdir?: string;
  workdir?: string;
  /** the line it came from */
  mountinfo: string;
}

/** The overlay mounted at the process's `/`, from /proc/<pid>/mountinfo; null when `/` is not an overlay. */
export async function rootOverlay(pid: number): Promise<RootOverlay | null> {
  const text = await orNull(readFile(`/proc/${pid}/mountinfo`, 'utf8'));
  if (!text) return null;
  for (const line of text.split('\n')) {
    const dash = line.indexOf(' - ');
    if (dash < 0) continue;
    const left = line.slice(0, dash).split(' ');
    const [fstype, , superopts] = line.slice(dash + 3).split(' ');
    if (unescapeMountinfo(left[4] ?? '') !== '/' || fstype !== 'overlay') continue;
    const opts = Object.fromEntries(splitOptions(superopts ?? '').map((o) => [o.slice(0, o.indexOf('=') < 0 ? o.length : o.indexOf('=')), o.slice(o.indexOf('=') + 1)]));
    // the first overlay at / is the runtime's (mount ids ascend): one the container stacked
    // on top later names its own upper dir, which the agent must not go and read
    if (opts.upperdir) return { upperdir: unescapeMountinfo(opts.upperdir), ...(opts.lowerdir ? { lowerdir: unescapeMountinfo(opts.lowerdir) } : {}), ...(opts.workdir ? { workdir: unescapeMountinfo(opts.workdir) } : {}), mountinfo: line };
  }
  return null;
}

/** The upper directory as reachable from here: directly, or through the host's root (agent in its own mount namespace). */
export async function reachableDir(path: string): Promise<string | null> {
  for (const p of [path, `/proc/1/root${path}`]) {
    const s = await orNull(stat(p));
    if (s?.isDirectory()) return p;
  }
  return null;
}
