// SPDX-License-Identifier: Apache-2.0
/**
 * The process table: every live process with what rules ask about it (name,
 * exe, args, cwd, tty, parent chain). Seeded from /proc at start, then kept
 * current by fork, exec and exit events. `parent` is resolved through the table
 * at read time, so `proc.aname[N]` always follows the current ancestors.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { basename } from 'node:path';
import type { FdInfo, ProcessInfo } from '../fields/index.ts';

export class ProcEntry implements ProcessInfo {
  pid: number;
  ppid: number;
  name: string;
  exe: string;
  exepath: string;
  args: readonly string[];
  cwd?: string;
  tty?: number;
  loginuid?: number;
  isExeUpperLayer?: boolean;
  isExeFromMemfd?: boolean;
  private stdioValue?: ProcessInfo['stdio'];
  private stdioRead = false;
  private readonly table: ProcessTable;

  constructor(table: ProcessTable, init: Omit<ProcessInfo, 'parent'> & { loginuid?: number }) {
    this.table = table;
    this.pid = init.pid;
    this.ppid = init.ppid;
    this.name = init.name;
    this.exe = init.exe;
    this.exepath = init.exepath;
    this.args = init.args;
    this.cwd = init.cwd;
    this.tty = init.tty;
    this.loginuid = init.loginuid;
    this.isExeUpperLayer = init.isExeUpperLayer;
    this.isExeFromMemfd = init.isExeFromMemfd;
    if (init.stdio) {
      this.stdioValue = init.stdio;
      this.stdioRead = true;
    }
  }

  /**
   * What fd 0/1/2 point at, read from /proc the first time a rule asks (only
   * rules about shells do), which for a fresh exec is right after the event.
   */
  get stdio(): ProcessInfo['stdio'] {
    if (!this.stdioRead) {
      this.stdioRead = true;
      this.stdioValue = this.table.readStdio(this.pid);
    }
    return this.stdioValue;
  }

  get parent(): ProcessInfo | undefined {
    return this.ppid > 0 && this.ppid !== this.pid ? this.table.get(this.ppid) : undefined;
  }
}

export interface ExecFacts {
  pid: number;
  ppid: number;
  comm: string;
  filename: string;
  exe: string;
  args: string[];
  cwd: string;
  tty: number;
  loginuid: number;
  upperLayer: boolean;
  fromMemfd: boolean;
}

/** Parses /proc/PID/stat: fields after the comm in parentheses. */
function parseStat(text: string): { comm: string; ppid: number; tty: number } | undefined {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < 0) return undefined;
  const rest = text.slice(close + 2).split(' ');
  return { comm: text.slice(open + 1, close), ppid: Number(rest[1]), tty: Number(rest[4]) };
}

export class ProcessTable {
  private readonly procs = new Map<number, ProcEntry>();
  /** exited processes stay readable a little while (children may still name them as parent) */
  private readonly graveyard: { pid: number; at: number }[] = [];
  private readonly gone = new Set<number>();
  private readonly procRoot: string;
  private readonly maxEntries: number;
  private readonly graceMs: number;

  constructor(opts: { procRoot?: string; maxEntries?: number; exitGraceMs?: number } = {}) {
    this.procRoot = opts.procRoot ?? '/proc';
    this.maxEntries = opts.maxEntries ?? 200_000;
    this.graceMs = opts.exitGraceMs ?? 5000;
  }

  get size(): number {
    return this.procs.size;
  }

  get(pid: number): ProcEntry | undefined {
    return this.procs.get(pid);
  }

  /** Reads one process from /proc (seeding, or a process first seen mid-life). */
  readProc(pid: number): ProcEntry | undefined {
    const dir = `${this.procRoot}/${pid}`;
    let stat: ReturnType<typeof parseStat>;
    try {
      stat = parseStat(readFileSync(`${dir}/stat`, 'utf8'));
    } catch {
      return undefined;
    }
    if (!stat) return undefined;
    const safe = <T>(fn: () => T, fallback: T): T => {
      try {
        return fn();
      } catch {
        return fallback;
      }
    };
    const argv = safe(() => readFileSync(`${dir}/cmdline`, 'utf8').split('\0').filter((s, i, a) => s !== '' || i < a.length - 1), [] as string[]);
    const exepath = safe(() => readlinkSync(`${dir}/exe`), '');
    const loginuid = safe(() => Number(readFileSync(`${dir}/loginuid`, 'utf8')), -1);
    const e = new ProcEntry(this, {
      pid,
      ppid: stat.ppid,
      name: exepath ? basename(exepath.replace(/ \(deleted\)$/, '')) : stat.comm,
      exe: argv[0] ?? stat.comm,
      exepath,
      args: argv.slice(1),
      cwd: safe(() => readlinkSync(`${dir}/cwd`), undefined),
      tty: stat.tty,
      loginuid: loginuid === 4294967295 ? -1 : loginuid,
    });
    this.procs.set(pid, e);
    return e;
  }

  /** Seeds the table from /proc; returns how many processes were read. */
  seed(): number {
    let n = 0;
    for (const name of readdirSync(this.procRoot)) {
      if (!/^\d+$/.test(name)) continue;
      if (this.readProc(Number(name))) n++;
    }
    return n;
  }

  /** The entry of `pid`, reading /proc when the table has not seen it yet. */
  getOrRead(pid: number): ProcEntry | undefined {
    const hit = this.procs.get(pid);
    if (hit) return hit;
    if (this.gone.has(pid)) return undefined;
    const e = this.readProc(pid);
    if (!e) {
      // not in /proc (already exited): do not look again until a fork or exec names it
      if (this.gone.size > 10_000) this.gone.clear();
      this.gone.add(pid);
    }
    return e;
  }

  onFork(parentPid: number, childPid: number): ProcEntry | undefined {
    if (childPid === parentPid || childPid <= 0) return undefined; // a thread
    const parent = this.getOrRead(parentPid);
    if (!parent) return this.readProc(childPid);
    const child = new ProcEntry(this, { pid: childPid, ppid: parentPid, name: parent.name, exe: parent.exe, exepath: parent.exepath, args: parent.args, cwd: parent.cwd, tty: parent.tty, loginuid: parent.loginuid, isExeUpperLayer: parent.isExeUpperLayer, isExeFromMemfd: parent.isExeFromMemfd });
    this.set(child);
    return child;
  }

  onExec(f: ExecFacts): ProcEntry {
    const exepath = f.fromMemfd ? f.exe : f.exe || f.filename;
    const e = new ProcEntry(this, {
      pid: f.pid,
      ppid: f.ppid,
      name: basename(exepath.replace(/ \(deleted\)$/, '')) || f.comm,
      exe: f.args[0] ?? f.filename,
      exepath,
      args: f.args.slice(1),
      cwd: f.cwd || this.procs.get(f.pid)?.cwd,
      tty: f.tty,
      loginuid: f.loginuid === 4294967295 ? -1 : f.loginuid,
      isExeUpperLayer: f.upperLayer,
      isExeFromMemfd: f.fromMemfd,
    });
    this.set(e);
    return e;
  }

  onExit(pid: number, nowMs: number): void {
    if (!this.procs.has(pid)) return;
    this.graveyard.push({ pid, at: nowMs });
    this.sweep(nowMs);
  }

  private sweep(nowMs: number): void {
    while (this.graveyard.length && nowMs - this.graveyard[0]!.at > this.graceMs) {
      const { pid } = this.graveyard.shift()!;
      this.procs.delete(pid);
    }
  }

  private set(e: ProcEntry): void {
    this.gone.delete(e.pid);
    if (this.procs.size >= this.maxEntries && !this.procs.has(e.pid)) {
      // bounded: drop the oldest entry rather than grow without limit
      const first = this.procs.keys().next().value;
      if (first !== undefined) this.procs.delete(first);
    }
    this.procs.set(e.pid, e);
  }

  /**
   * What stdin/stdout/stderr of a freshly exec'd process point at: a socket there
   * is how a reverse shell looks. Read from /proc right after the exec event.
   */
  readStdio(pid: number): ProcessInfo['stdio'] {
    const one = (fd: number): FdInfo | undefined => {
      let link: string;
      try {
        link = readlinkSync(`${this.procRoot}/${pid}/fd/${fd}`);
      } catch {
        return undefined;
      }
      const m = /^socket:\[(\d+)\]$/.exec(link);
      if (!m) return { num: fd, type: link.startsWith('pipe:') ? 'pipe' : link.startsWith('/') ? 'file' : 'other', name: link };
      return this.socketByInode(pid, m[1]!, fd);
    };
    const stdin = one(0);
    const stdout = one(1);
    const stderr = one(2);
    return stdin || stdout || stderr ? { stdin, stdout, stderr } : undefined;
  }

  private socketByInode(pid: number, inode: string, fd: number): FdInfo {
    for (const [file, type, l4] of [['tcp', 'ipv4', 'tcp'], ['tcp6', 'ipv6', 'tcp'], ['udp', 'ipv4', 'udp'], ['udp6', 'ipv6', 'udp']] as const) {
      let text: string;
      try {
        text = readFileSync(`${this.procRoot}/${pid}/net/${file}`, 'utf8');
      } catch {
        continue;
      }
      for (const line of text.split('\n').slice(1)) {
        const cols = line.trim().split(/\s+/);
        if (cols[9] !== inode) continue;
        const [lip, lport] = decodeAddr(cols[1]!, type);
        const [rip, rport] = decodeAddr(cols[2]!, type);
        return { num: fd, type, l4proto: l4, lip, lport, rip, rport, role: 'client' };
      }
    }
    return { num: fd, type: 'unix' };
  }
}

/** /proc/net/tcp addresses: little-endian hex words, `0100007F:1F90` → 127.0.0.1:8080. */
function decodeAddr(text: string, type: 'ipv4' | 'ipv6'): [string, number] {
  const [hex, port] = text.split(':') as [string, string];
  const p = Number.parseInt(port, 16);
  if (type === 'ipv4') {
    const n = Number.parseInt(hex, 16);
    return [`${n & 255}.${(n >>> 8) & 255}.${(n >>> 16) & 255}.${(n >>> 24) & 255}`, p];
  }
  const words: string[] = [];
  for (let i = 0; i < 4; i++) {
    const w = hex.slice(i * 8, i * 8 + 8);
    const le = w.match(/../g)!.reverse().join('');
    words.push(le.slice(0, 4), le.slice(4, 8));
  }
  const ip = words.map((w) => Number.parseInt(w, 16).toString(16)).join(':');
  return [ip.replace(/(^|:)0(:0)+(:|$)/, '::'), p];
}
