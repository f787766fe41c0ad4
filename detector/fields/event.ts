// SPDX-License-Identifier: Apache-2.0
/**
 * DetectorEvent: the normalised event the rule engine reads. The sensor
 * decoder and the process table (detector/sensor/) produce it; every getter in
 * detector/fields/ reads only this shape. One event per syscall exit.
 *
 * Conventions
 * - Optional members may be left out; a field reading them is then *absent*
 *   (every comparison on it is false, `not` of it true, as in Falco).
 * - Names follow Falco: `type` is Falco's event name (`execve`, `openat`,
 *   `connect`, ...), `args` keys are Falco's argument names rendered as Falco
 *   renders them (`flags: 'O_WRONLY|O_CREAT|O_TRUNC'`, `request: 'PTRACE_ATTACH'`).
 * - `proc` is the process *after* the syscall: for execve, the new program.
 * - Objects may be shared with the process table (no copy per event) as long
 *   as they are not mutated while the event is being evaluated.
 *
 * @example a shell exec inside a container
 *   const ev: DetectorEvent = {
 *     type: 'execve', timeNs: 1732790000000000000n, pid: 4242, tid: 4242, ppid: 4200,
 *     comm: 'bash', cgroupId: 9876n, res: 0,
 *     proc: { pid: 4242, ppid: 4200, name: 'bash', exe: '/bin/bash', exepath: '/usr/bin/bash',
 *             args: ['-i'], cwd: '/', tty: 34816,
 *             parent: { pid: 4200, ppid: 1, name: 'runc', exe: 'runc', exepath: '/usr/bin/runc', args: [] } },
 *     user: { uid: 0, name: 'root', loginuid: -1 }, group: { gid: 0, name: 'root' },
 *     args: { filename: '/bin/bash' },
 *     container: { id: '3ad7b2c91f0e', name: 'api', image: { repository: 'docker.io/library/nginx', tag: '1.27' } },
 *     k8s: { ns: 'payments', pod: { name: 'api-7f9c', labels: { app: 'api' } } },
 *   };
 */

/** Falco's fd.type names. */
export type FdType =
  | 'file'
  | 'directory'
  | 'ipv4'
  | 'ipv6'
  | 'unix'
  | 'pipe'
  | 'event'
  | 'signalfd'
  | 'eventpoll'
  | 'inotify'
  | 'timerfd'
  | 'netlink'
  | 'bpf'
  | 'memfd'
  | 'pidfd'
  | 'io_uring'
  | 'userfaultfd'
  | 'other';

/** A value of `evt.arg.*`: rendered like Falco (flags as `A|B`, enums by name). */
export type ArgValue = string | number | bigint | boolean | Uint8Array | null | undefined;

/** An open file descriptor: the one the syscall acted on, or a process's stdio. */
export interface FdInfo {
  /** fd number; -1 when the syscall failed before an fd existed. */
  num: number;
  type: FdType;
  /**
   * Full path for files and directories (resolved against cwd/dirfd when the
   * decoder can; Falco's fd.name). For sockets, may be left out: it is then
   * built as `cip:cport->sip:sport` (`->` path for unix sockets).
   */
  name?: string;
  /** Sockets: `tcp`, `udp`, `icmp`, `raw`. */
  l4proto?: 'tcp' | 'udp' | 'icmp' | 'raw';
  /** Sockets: local and remote ends. IPv6 in canonical text form (`::1`). */
  lip?: string;
  lport?: number;
  rip?: string;
  rport?: number;
  /**
   * Sockets: which end the process is. `client` for connect (local = client,
   * remote = server), `server` for accept (local = server, remote = client).
   */
  role?: 'client' | 'server';
}

/** One process, as known by the process table. */
export interface ProcessInfo {
  pid: number;
  ppid: number;
  /** proc.name: the executable's base name (comm when only that is known, up to 15 chars). */
  name: string;
  /** proc.exe: argv[0] as passed to execve. */
  exe: string;
  /** proc.exepath: full path of the executable (`/memfd:x (deleted)` for memfd). */
  exepath: string;
  /** proc.args as a list: argv[1..]. */
  args: readonly string[];
  /** Current working directory, ending without '/' except for the root. */
  cwd?: string;
  /** Controlling terminal (dev_t as in /proc/pid/stat); 0 = none. */
  tty?: number;
  /** Executable lives on an overlayfs upper layer (written after the container started). */
  isExeUpperLayer?: boolean;
  /** Executable is a memfd (fileless execution). */
  isExeFromMemfd?: boolean;
  /** fd 0/1/2 at the time of the event, when the decoder reports them (exec events). */
  stdio?: { stdin?: FdInfo; stdout?: FdInfo; stderr?: FdInfo };
  /** The parent process; ancestors are reached through it (`proc.aname[N]`). */
  parent?: ProcessInfo;
}

export interface ContainerInfo {
  /** 12-hex-char short id, or `host` for processes outside any container. */
  id: string;
  name?: string;
  image?: {
    /** `docker.io/library/nginx` */
    repository?: string;
    tag?: string;
    /** Image digest or id (`sha256:...`). */
    id?: string;
  };
}

export interface K8sInfo {
  ns?: string;
  pod?: { name?: string; uid?: string; labels?: Readonly<Record<string, string>> };
}

export interface DetectorEvent {
  /** Falco event name: `execve`, `openat`, `connect`, `ptrace`, `init_module`, ... */
  type: string;
  /** Direction: `<` exit (the default: the sensor reports exits), `>` enter. */
  dir?: '<' | '>';
  /** Wall-clock time of the event, nanoseconds since the Unix epoch. */
  timeNs: bigint;
  /** Sequence number of the event, from 1 (optional; Falco's `never_true` macro tests `evt.num=0`). */
  num?: number | bigint;
  pid: number;
  tid: number;
  ppid: number;
  /** Kernel comm of the thread (15 chars max). */
  comm: string;
  /** cgroup v2 id of the thread. */
  cgroupId: bigint;
  /** Syscall return value (negative errno on failure). */
  res?: number;
  cpu?: number;
  /** Syscall arguments by Falco name, rendered like Falco. */
  args: Readonly<Record<string, ArgValue>>;
  /** Raw open(2) flags of open/openat/openat2/creat events (drives evt.is_open_*). */
  openFlags?: number;
  proc: ProcessInfo;
  user: { uid: number; name?: string; /** -1 when unset */ loginuid?: number };
  group: { gid: number; name?: string };
  /** The fd the syscall produced or used (open, connect, accept, ...). */
  fd?: FdInfo;
  container: ContainerInfo;
  k8s?: K8sInfo;
}
