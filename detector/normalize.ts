// SPDX-License-Identifier: Apache-2.0
/**
 * Sensor records → DetectorEvent: the process table supplies the process and
 * its ancestors, the container resolver the container, and arguments are
 * named and rendered the way Falco does (`evt.arg.flags`, `evt.arg.request`).
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, posix } from 'node:path';
import type { ContainerResolver } from './container/resolver.ts';
import type { ArgValue, DetectorEvent, FdInfo, ProcessInfo } from './fields/index.ts';
import { renderOpenFlags, renderPtraceRequest } from './fields/index.ts';
import type { ProcessTable } from './process/table.ts';
import type { SensorEvent } from './sensor/frames.ts';

const O_TMPFILE = 0o20000000;

function loadNames(file: string): Map<number, string> {
  const m = new Map<number, string>();
  try {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const [name, , id] = line.split(':');
      if (name && id && /^\d+$/.test(id)) m.set(Number(id), name);
    }
  } catch {
    // no file: names stay absent
  }
  return m;
}

export interface NormalizerOptions {
  processes: ProcessTable;
  containers: ContainerResolver;
  passwd?: string;
  group?: string;
}

export class Normalizer {
  private readonly processes: ProcessTable;
  private readonly containers: ContainerResolver;
  private readonly users: Map<number, string>;
  private readonly groups: Map<number, string>;
  private num = 0;

  constructor(o: NormalizerOptions) {
    this.processes = o.processes;
    this.containers = o.containers;
    this.users = loadNames(o.passwd ?? '/etc/passwd');
    this.groups = loadNames(o.group ?? '/etc/group');
  }

  /**
   * Updates the process table from fork/exec/exit and returns the event for the
   * rules (undefined for records rules never see: raw verbose-trace records).
   */
  normalize(e: SensorEvent): DetectorEvent | undefined {
    const nowMs = Number(e.time / 1_000_000n);
    let proc: ProcessInfo | undefined;
    const args: Record<string, ArgValue> = {};
    let fd: FdInfo | undefined;
    let openFlags: number | undefined;
    let loginuid: number | undefined;
    switch (e.type) {
      case 'exec': {
        const entry = e.ret === 0 ? this.processes.onExec({ pid: e.pid, ppid: e.ppid, comm: e.comm, filename: e.filename, exe: e.exe, args: e.args, cwd: e.cwd, tty: e.tty, loginuid: e.loginuid, upperLayer: e.upperLayer, fromMemfd: e.fromMemfd }) : this.processes.getOrRead(e.pid);
        proc = entry;
        loginuid = entry?.loginuid;
        args.filename = e.filename;
        args.exe = e.exe;
        args.args = e.args.slice(1).join(' ');
        args.cwd = e.cwd;
        args.tty = e.tty;
        args.loginuid = e.loginuid === 4294967295 ? -1 : e.loginuid;
        break;
      }
      case 'fork': {
        this.processes.onFork(e.pid, e.childPid);
        args.pid = e.childPid;
        args.flags = e.flags;
        break;
      }
      case 'exit':
        args.status = e.exitCode;
        args.sig = e.signal;
        break;
      case 'open': {
        openFlags = e.flags;
        args.flags = renderOpenFlags(e.flags);
        args.mode = e.mode;
        args.dirfd = e.dfd;
        const entry = this.processes.getOrRead(e.pid);
        const name = e.resolved || (isAbsolute(e.path) ? e.path : posix.join(entry?.cwd ?? '/', e.path));
        args.name = name;
        args.fd = e.ret;
        fd = { num: e.ret, type: (e.flags & O_TMPFILE) === O_TMPFILE ? 'file' : 'file', name: posix.normalize(name) };
        break;
      }
      case 'connect':
      case 'accept': {
        const family = e.family === 2 ? 'ipv4' : e.family === 10 ? 'ipv6' : e.family === 1 ? 'unix' : 'other';
        const l4 = e.proto === 6 ? 'tcp' : e.proto === 17 ? 'udp' : e.proto === 255 || e.proto === 0 ? undefined : 'raw';
        const client = e.type === 'connect';
        fd =
          family === 'unix'
            ? { num: e.type === 'accept' ? e.ret : e.fd, type: 'unix', name: e.unixPath }
            : {
                num: e.type === 'accept' ? e.ret : e.fd,
                type: family,
                ...(l4 ? { l4proto: l4 } : {}),
                lip: e.saddr,
                lport: e.sport,
                rip: e.daddr,
                rport: e.dport,
                role: client ? 'client' : 'server',
              };
        args.fd = e.fd;
        args.tuple = family === 'unix' ? e.unixPath : `${e.saddr}:${e.sport}->${e.daddr}:${e.dport}`;
        break;
      }
      case 'ptrace':
        args.request = renderPtraceRequest(e.request);
        args.pid = e.target;
        break;
      case 'setuid':
        args.uid = e.ids[0] ?? -1;
        args.ruid = e.ids[0] ?? -1;
        args.euid = e.ids[1] ?? -1;
        break;
      case 'setgid':
        args.gid = e.ids[0] ?? -1;
        break;
      case 'memfd_create':
        args.name = e.name;
        args.flags = e.flags;
        fd = { num: e.ret, type: 'memfd', name: `/memfd:${e.name}` };
        break;
      case 'mount':
        args.dev = e.source;
        args.dir = e.target;
        args.type = e.fstype;
        args.flags = e.flags;
        break;
      case 'unlink':
        args.path = e.path;
        args.name = e.path;
        args.flags = e.flags;
        fd = { num: -1, type: 'file', name: e.path };
        break;
      case 'rename':
      case 'link':
        args.oldpath = e.oldpath;
        args.newpath = e.newpath;
        args.flags = e.flags;
        fd = { num: -1, type: 'file', name: e.newpath };
        break;
      case 'symlink':
        args.target = e.oldpath;
        args.linkpath = e.newpath;
        fd = { num: -1, type: 'file', name: e.newpath };
        break;
      case 'chmod':
        args.filename = e.path;
        args.mode = e.mode;
        args.fd = e.fd;
        fd = { num: e.fd, type: 'file', name: e.path };
        break;
      case 'bpf':
        args.cmd = e.cmd;
        args.prog_type = e.progType;
        args.map_type = e.mapType;
        break;
      case 'module':
        args.uargs = e.params;
        args.flags = e.flags;
        args.fd = e.fd;
        args.len = e.len;
        if (e.path) fd = { num: e.fd, type: 'file', name: e.path };
        break;
      case 'raw_enter':
      case 'raw_exit':
        return undefined;
    }
    if (e.type === 'exit') {
      proc = this.processes.get(e.pid);
      if (e.pid === e.tid) this.processes.onExit(e.pid, nowMs);
    }
    proc ??= this.processes.getOrRead(e.pid);
    const attribution = this.containers.resolve(e.cgroupId, e.pid);
    const ev: DetectorEvent = {
      type: e.syscall,
      dir: '<',
      timeNs: e.time,
      num: ++this.num,
      pid: e.pid,
      tid: e.tid,
      ppid: e.ppid,
      comm: e.comm,
      cgroupId: e.cgroupId,
      res: e.ret,
      cpu: e.cpu,
      args,
      ...(openFlags !== undefined ? { openFlags } : {}),
      proc: proc ?? { pid: e.pid, ppid: e.ppid, name: e.comm, exe: e.comm, exepath: '', args: [] },
      user: { uid: e.uid, name: this.users.get(e.uid), loginuid: loginuid ?? (proc as { loginuid?: number } | undefined)?.loginuid ?? -1 },
      group: { gid: e.gid, name: this.groups.get(e.gid) },
      ...(fd ? { fd } : {}),
      container: attribution.container,
      ...(attribution.k8s ? { k8s: attribution.k8s } : {}),
    };
    return ev;
  }
}
