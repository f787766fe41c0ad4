// SPDX-License-Identifier: Apache-2.0
/**
 * The field table: every field the detector can evaluate, self-described.
 * The same entries drive condition compilation (getters), validation (types,
 * arguments), "unsupported field" warnings and the field reference in
 * docs/rules.md. Names, types and meanings follow Falco's syscall fields.
 */
import type { Getter } from '../condition/index.ts';
import type { DetectorEvent, FdInfo, ProcessInfo } from './event.ts';
import { isOpenCreate, isOpenRead, isOpenWrite, renderResult } from './flags.ts';
import { ipValue } from './ipaddr.ts';

export type FieldType = 'string' | 'charbuf' | 'uint64' | 'int64' | 'bool' | 'ipaddr' | 'port' | 'list';

export interface FieldDef {
  name: string;
  type: FieldType;
  description: string;
  /** Whether the field takes `[arg]`. */
  arg: 'required' | 'optional' | 'none';
  /** Also written `name.ARG` (`evt.arg.flags`, `k8s.pod.label.app`). */
  dotArg?: boolean;
  /** What the argument is, for docs and errors. */
  argHelp?: string;
  source: 'syscall';
  /** Builds the getter once per (field, argument); `{error}` for a bad argument. */
  getter(arg: string | undefined): Getter<DetectorEvent> | { error: string };
  /** Renders a value in output text (default: plain text). */
  format?(v: unknown): string;
}

type Plain = (ev: DetectorEvent) => unknown;

function plain(name: string, type: FieldType, description: string, get: Plain, extra: Partial<FieldDef> = {}): FieldDef {
  return { name, type, description, arg: 'none', source: 'syscall', getter: () => get, ...extra };
}

function withArg(
  name: string,
  type: FieldType,
  description: string,
  arg: 'required' | 'optional',
  argHelp: string,
  bind: (arg: string | undefined) => Getter<DetectorEvent> | { error: string },
  extra: Partial<FieldDef> = {},
): FieldDef {
  return { name, type, description, arg, argHelp, source: 'syscall', getter: bind, ...extra };
}

const MAX_ANCESTORS = 64;

/** The Nth ancestor (0 = the process itself). */
function ancestor(p: ProcessInfo, n: number): ProcessInfo | undefined {
  let cur: ProcessInfo | undefined = p;
  for (let i = 0; i < n && cur; i++) {
    cur = cur.parent;
    if (cur === p) return undefined;
  }
  return cur;
}

function ancestors(p: ProcessInfo): ProcessInfo[] {
  const out: ProcessInfo[] = [];
  let cur = p.parent;
  while (cur && out.length < MAX_ANCESTORS && cur !== p) {
    out.push(cur);
    cur = cur.parent;
  }
  return out;
}

function cmdline(p: ProcessInfo): string {
  return p.args.length ? `${p.name} ${p.args.join(' ')}` : p.name;
}

function ancestorField(name: string, what: string, type: FieldType, read: (p: ProcessInfo) => unknown): FieldDef {
  return withArg(
    name,
    type,
    `${what} of an ancestor: [1] is the parent, [2] the grandparent, [0] the process itself; without an argument, a list of every ancestor's value (a check matches when any ancestor matches).`,
    'optional',
    'N, the ancestor level (0..63)',
    (arg) => {
      if (arg === undefined) return (ev) => ancestors(ev.proc).map(read);
      if (!/^\d+$/.test(arg) || Number(arg) >= MAX_ANCESTORS) return { error: `'${name}[${arg}]': the argument must be an ancestor level 0..${MAX_ANCESTORS - 1}` };
      const n = Number(arg);
      return (ev) => {
        const a = ancestor(ev.proc, n);
        return a ? read(a) : undefined;
      };
    },
  );
}

const FD_TYPECHAR: Record<string, string> = {
  file: 'f',
  directory: 'd',
  ipv4: '4',
  ipv6: '6',
  unix: 'u',
  pipe: 'p',
  event: 'e',
  signalfd: 's',
  eventpoll: 'l',
  inotify: 'i',
  timerfd: 't',
  netlink: 'n',
  bpf: 'b',
  memfd: 'm',
  pidfd: 'P',
  io_uring: 'r',
  userfaultfd: 'U',
  other: 'o',
};

const isSocket = (fd: FdInfo | undefined): fd is FdInfo => fd !== undefined && (fd.type === 'ipv4' || fd.type === 'ipv6');
/** The event's fd when it is a network socket. */
const sock = (ev: DetectorEvent): FdInfo | undefined => (isSocket(ev.fd) ? ev.fd : undefined);
const isServer = (fd: FdInfo): boolean => fd.role === 'server';

function fdName(fd: FdInfo | undefined): string | undefined {
  if (!fd) return undefined;
  if (fd.name !== undefined) return fd.name;
  if (isSocket(fd) && fd.lip !== undefined && fd.rip !== undefined) {
    const [c, s] = isServer(fd) ? [`${fd.rip}:${fd.rport}`, `${fd.lip}:${fd.lport}`] : [`${fd.lip}:${fd.lport}`, `${fd.rip}:${fd.rport}`];
    return `${c}->${s}`;
  }
  return undefined;
}

const isPathFd = (fd: FdInfo | undefined): fd is FdInfo & { name: string } =>
  fd !== undefined && (fd.type === 'file' || fd.type === 'directory' || fd.type === 'memfd') && fd.name !== undefined;

function dirname(p: string): string {
  const i = p.lastIndexOf('/');
  return i <= 0 ? (p.startsWith('/') ? '/' : '.') : p.slice(0, i);
}

function stdioFields(which: 'stdin' | 'stdout' | 'stderr', n: number): FieldDef[] {
  return [
    plain(`proc.${which}.type`, 'string', `fd.type of file descriptor ${n} (${which}) of the process: ipv4, ipv6, unix, pipe, file, ... (reverse shells have a socket here).`, (ev) => ev.proc.stdio?.[which]?.type),
    plain(`proc.${which}.name`, 'string', `fd.name of file descriptor ${n} (${which}) of the process.`, (ev) => fdName(ev.proc.stdio?.[which])),
  ];
}

function two(n: number): string {
  return String(n).padStart(2, '0');
}

/** `13:45:12.123456789` (UTC), Falco's evt.time text. */
export function formatClock(ns: bigint): string {
  const ms = Number(ns / 1_000_000n);
  const d = new Date(ms);
  const frac = String(ns % 1_000_000_000n).padStart(9, '0');
  return `${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())}.${frac}`;
}

/** `2024-11-28T13:45:12.123456789Z` */
export function formatIso(ns: bigint): string {
  const d = new Date(Number(ns / 1_000_000n));
  const frac = String(ns % 1_000_000_000n).padStart(9, '0');
  return `${d.toISOString().slice(0, 19)}.${frac}Z`;
}

const asNs = (v: unknown): bigint => (typeof v === 'bigint' ? v : BigInt(Math.trunc(Number(v))));

function renderArg(v: unknown): string {
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('latin1');
  return String(v);
}

export const FIELDS: readonly FieldDef[] = [
  // evt: the event itself
  plain('evt.type', 'string', "Event name, as Falco names it: execve, openat, connect, ptrace, init_module, ... (see the event types list).", (ev) => ev.type),
  plain('evt.time', 'uint64', 'Event time in nanoseconds since the epoch; rendered in outputs as HH:MM:SS.nnnnnnnnn (UTC).', (ev) => ev.timeNs, {
    format: (v) => formatClock(asNs(v)),
  }),
  plain('evt.time.iso8601', 'string', 'Event time as ISO 8601 with nanoseconds (UTC).', (ev) => formatIso(ev.timeNs)),
  plain('evt.rawtime', 'uint64', 'Event time in nanoseconds since the epoch.', (ev) => ev.timeNs),
  plain('evt.num', 'uint64', 'Event sequence number, when the decoder numbers events (never 0).', (ev) => ev.num),
  plain('evt.dir', 'string', "Direction: '<' for a syscall exit (every sensor event), '>' for an enter.", (ev) => ev.dir ?? '<'),
  withArg(
    'evt.arg',
    'charbuf',
    "A syscall argument by Falco name (evt.arg.flags, evt.arg[flags]) or by position (evt.arg[0]); values are rendered like Falco (flags as 'O_WRONLY|O_CREAT', ptrace requests as 'PTRACE_ATTACH').",
    'required',
    'argument name or 0-based position',
    (arg) => {
      const a = arg as string;
      if (/^\d+$/.test(a)) {
        const i = Number(a);
        return (ev) => Object.values(ev.args)[i];
      }
      return (ev) => ev.args[a];
    },
    { dotArg: true, format: renderArg },
  ),
  plain('evt.args', 'string', "Every argument as 'name=value name=value'.", (ev) =>
    Object.entries(ev.args)
      .filter(([, v]) => v !== undefined && v !== null)
      .map(([k, v]) => `${k}=${renderArg(v)}`)
      .join(' '),
  ),
  plain('evt.rawres', 'int64', 'Syscall return value (negative errno on failure).', (ev) => ev.res),
  plain('evt.res', 'string', "'SUCCESS' when the syscall succeeded, else the errno name (ENOENT, EACCES, ...).", (ev) => (ev.res === undefined ? undefined : renderResult(ev.res))),
  plain('evt.failed', 'bool', 'True when the syscall returned an error.', (ev) => (ev.res === undefined ? undefined : ev.res < 0)),
  plain('evt.is_open_read', 'bool', 'For open events: true when the file was opened for reading (O_RDONLY or O_RDWR). Absent for other events.', (ev) =>
    ev.openFlags === undefined ? undefined : isOpenRead(ev.openFlags),
  ),
  plain('evt.is_open_write', 'bool', 'For open events: true when the file was opened for writing (O_WRONLY or O_RDWR). Absent for other events.', (ev) =>
    ev.openFlags === undefined ? undefined : isOpenWrite(ev.openFlags),
  ),
  plain('evt.is_open_create', 'bool', 'For open events: true when the open may create the file (O_CREAT or O_TMPFILE). Absent for other events.', (ev) =>
    ev.openFlags === undefined ? undefined : isOpenCreate(ev.openFlags),
  ),
  plain('evt.cpu', 'uint64', 'CPU the event happened on.', (ev) => ev.cpu),

  // proc / thread: the process that made the syscall
  plain('proc.pid', 'int64', 'Process id (thread group id).', (ev) => ev.pid),
  plain('proc.ppid', 'int64', 'Parent process id.', (ev) => ev.ppid),
  plain('thread.tid', 'int64', 'Thread id (equals proc.pid for the main thread).', (ev) => ev.tid),
  plain('proc.name', 'string', 'Name of the executable (base name; the kernel comm when only that is known).', (ev) => ev.proc.name),
  plain('proc.exe', 'string', 'First command-line argument (argv[0]) as passed to execve.', (ev) => ev.proc.exe),
  plain('proc.exepath', 'string', 'Full path of the executable.', (ev) => ev.proc.exepath),
  plain('proc.args', 'string', 'Command-line arguments after argv[0], joined by spaces.', (ev) => ev.proc.args.join(' ')),
  plain('proc.cmdline', 'string', "proc.name followed by the arguments: 'bash -i'.", (ev) => cmdline(ev.proc)),
  plain('proc.cwd', 'string', 'Current working directory.', (ev) => ev.proc.cwd),
  plain('proc.tty', 'int64', 'Controlling terminal (0 when the process has none).', (ev) => ev.proc.tty ?? 0),
  plain('proc.is_exe_upper_layer', 'bool', "True when the executable lives on an overlayfs upper layer: written after the container started ('drop and execute').", (ev) =>
    Boolean(ev.proc.isExeUpperLayer),
  ),
  plain('proc.is_exe_from_memfd', 'bool', 'True when the executable is a memfd (fileless execution).', (ev) => Boolean(ev.proc.isExeFromMemfd)),
  plain('proc.pname', 'string', 'Name of the parent process.', (ev) => ev.proc.parent?.name),
  plain('proc.pexe', 'string', 'argv[0] of the parent process.', (ev) => ev.proc.parent?.exe),
  plain('proc.pexepath', 'string', 'Full executable path of the parent process.', (ev) => ev.proc.parent?.exepath),
  plain('proc.pcmdline', 'string', 'Command line of the parent process.', (ev) => (ev.proc.parent ? cmdline(ev.proc.parent) : undefined)),
  ancestorField('proc.aname', 'Name', 'string', (p) => p.name),
  ancestorField('proc.apid', 'Process id', 'int64', (p) => p.pid),
  ancestorField('proc.aexepath', 'Executable path', 'string', (p) => p.exepath),
  ancestorField('proc.acmdline', 'Command line', 'string', cmdline),
  ...stdioFields('stdin', 0),
  ...stdioFields('stdout', 1),
  ...stdioFields('stderr', 2),

  // user / group
  plain('user.uid', 'uint64', 'Real user id.', (ev) => ev.user.uid),
  plain('user.name', 'string', 'User name (from the passwd database of the host or container, when known).', (ev) => ev.user.name),
  plain('user.loginuid', 'int64', 'Audit login user id (-1 when unset, e.g. for daemons).', (ev) => ev.user.loginuid ?? -1),
  plain('group.gid', 'uint64', 'Real group id.', (ev) => ev.group.gid),
  plain('group.name', 'string', 'Group name, when known.', (ev) => ev.group.name),

  // fd: the file descriptor the syscall acted on
  plain('fd.num', 'int64', 'File descriptor number (-1 when none was created).', (ev) => ev.fd?.num),
  plain('fd.type', 'string', 'Type of the fd: file, directory, ipv4, ipv6, unix, pipe, memfd, ...', (ev) => ev.fd?.type),
  plain('fd.typechar', 'string', "Type as one character: f file, d directory, 4 ipv4, 6 ipv6, u unix, p pipe, e event, s signalfd, l eventpoll, i inotify, t timerfd, n netlink, b bpf, m memfd, o other.", (ev) =>
    ev.fd ? (FD_TYPECHAR[ev.fd.type] ?? 'o') : undefined,
  ),
  plain('fd.name', 'string', "Full path for files; 'cip:cport->sip:sport' for network sockets.", (ev) => fdName(ev.fd)),
  plain('fd.directory', 'string', 'For files, the directory holding the file; for directories, the directory itself.', (ev) =>
    isPathFd(ev.fd) ? (ev.fd.type === 'directory' ? ev.fd.name : dirname(ev.fd.name)) : undefined,
  ),
  plain('fd.filename', 'string', 'For files, the base name of the file.', (ev) => (isPathFd(ev.fd) && ev.fd.type !== 'directory' ? ev.fd.name.slice(ev.fd.name.lastIndexOf('/') + 1) : undefined)),
  plain('fd.l4proto', 'string', 'Transport protocol of a socket: tcp, udp, icmp, raw.', (ev) => ev.fd?.l4proto),
  plain('fd.sockfamily', 'string', "Socket family: 'ip' or 'unix'.", (ev) => (sock(ev) ? 'ip' : ev.fd?.type === 'unix' ? 'unix' : undefined)),
  plain('fd.is_server', 'bool', 'True when the process is the server end of the socket (accept).', (ev) => (isSocket(ev.fd) ? isServer(ev.fd) : undefined)),
  plain('fd.cip', 'ipaddr', 'Client IP address.', (ev) => (isSocket(ev.fd) ? (isServer(ev.fd) ? ev.fd.rip : ev.fd.lip) : undefined)),
  plain('fd.cport', 'port', 'Client port.', (ev) => (isSocket(ev.fd) ? (isServer(ev.fd) ? ev.fd.rport : ev.fd.lport) : undefined)),
  plain('fd.sip', 'ipaddr', 'Server IP address.', (ev) => (isSocket(ev.fd) ? (isServer(ev.fd) ? ev.fd.lip : ev.fd.rip) : undefined)),
  plain('fd.sport', 'port', 'Server port.', (ev) => (isSocket(ev.fd) ? (isServer(ev.fd) ? ev.fd.lport : ev.fd.rport) : undefined)),
  plain('fd.lip', 'ipaddr', 'Local IP address.', (ev) => (isSocket(ev.fd) ? ev.fd.lip : undefined)),
  plain('fd.lport', 'port', 'Local port.', (ev) => (isSocket(ev.fd) ? ev.fd.lport : undefined)),
  plain('fd.rip', 'ipaddr', 'Remote IP address.', (ev) => (isSocket(ev.fd) ? ev.fd.rip : undefined)),
  plain('fd.rport', 'port', 'Remote port.', (ev) => (isSocket(ev.fd) ? ev.fd.rport : undefined)),
  plain('fd.ip', 'list', 'Client and server IP addresses: fd.ip = X matches either end; fd.ip != X holds when neither is X. Also compares with CIDRs.', (ev) => {
    const f = sock(ev);
    return f ? [ipValue(f.lip), ipValue(f.rip)].filter((x) => x !== undefined) : undefined;
  }),
  plain('fd.port', 'list', 'Client and server ports: fd.port = N matches either end.', (ev) => {
    const f = sock(ev);
    return f ? [f.lport, f.rport].filter((x) => x !== undefined) : undefined;
  }),
  plain('fd.net', 'list', 'Client and server addresses for CIDR matching: fd.net = "127.0.0.0/8" matches either end.', (ev) => {
    const f = sock(ev);
    return f ? [ipValue(f.lip), ipValue(f.rip)].filter((x) => x !== undefined) : undefined;
  }),
  plain('fd.cnet', 'ipaddr', 'Client address, compared with IPs or CIDRs (fd.cnet in ("10.0.0.0/8")).', (ev) => {
    const f = sock(ev);
    return f ? ipValue(isServer(f) ? f.rip : f.lip) : undefined;
  }),
  plain('fd.snet', 'ipaddr', 'Server address, compared with IPs or CIDRs.', (ev) => {
    const f = sock(ev);
    return f ? ipValue(isServer(f) ? f.lip : f.rip) : undefined;
  }),
  plain('fd.lnet', 'ipaddr', 'Local address, compared with IPs or CIDRs.', (ev) => ipValue(sock(ev)?.lip)),
  plain('fd.rnet', 'ipaddr', 'Remote address, compared with IPs or CIDRs.', (ev) => ipValue(sock(ev)?.rip)),

  // container and Kubernetes
  plain('container.id', 'string', "Container id (12 hex characters), 'host' for processes outside containers.", (ev) => ev.container.id),
  plain('container.name', 'string', 'Container name.', (ev) => ev.container.name),
  plain('container.image', 'string', "Image as 'repository:tag'.", (ev) => {
    const i = ev.container.image;
    return i?.repository === undefined ? undefined : i.tag ? `${i.repository}:${i.tag}` : i.repository;
  }),
  plain('container.image.repository', 'string', "Image repository, e.g. 'docker.io/library/nginx'.", (ev) => ev.container.image?.repository),
  plain('container.image.tag', 'string', "Image tag, e.g. '1.27'.", (ev) => ev.container.image?.tag),
  plain('container.image.id', 'string', 'Image id or digest.', (ev) => ev.container.image?.id),
  plain('k8s.ns.name', 'string', 'Kubernetes namespace of the pod.', (ev) => ev.k8s?.ns),
  plain('k8s.pod.name', 'string', 'Kubernetes pod name.', (ev) => ev.k8s?.pod?.name),
  plain('k8s.pod.uid', 'string', 'Kubernetes pod UID.', (ev) => ev.k8s?.pod?.uid),
  plain('k8s.pod.labels', 'list', "Pod labels as a list of 'key:value' (k8s.pod.labels intersects (\"app:api\")).", (ev) => {
    const l = ev.k8s?.pod?.labels;
    return l ? Object.entries(l).map(([k, v]) => `${k}:${v}`) : undefined;
  }),
  withArg('k8s.pod.label', 'string', 'Value of one pod label: k8s.pod.label[app] (or k8s.pod.label.app).', 'required', 'label key', (arg) => (ev) => ev.k8s?.pod?.labels?.[arg as string], {
    dotArg: true,
  }),
];
