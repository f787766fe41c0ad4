// SPDX-License-Identifier: Apache-2.0
/** Synthetic DetectorEvents for the rule-language tests. */
import type { DetectorEvent, FdInfo, ProcessInfo } from '../../../detector/fields/index.ts';
import { renderOpenFlags } from '../../../detector/fields/index.ts';

export const O_RDONLY = 0;
export const O_WRONLY = 1;
export const O_RDWR = 2;
export const O_CREAT = 0o100;
export const O_TRUNC = 0o1000;

const init: ProcessInfo = { pid: 1, ppid: 0, name: 'systemd', exe: '/sbin/init', exepath: '/usr/lib/systemd/systemd', args: [] };

export function proc(name: string, opts: Partial<ProcessInfo> = {}): ProcessInfo {
  return { pid: 1000, ppid: 999, name, exe: name, exepath: `/usr/bin/${name}`, args: [], cwd: '/', tty: 0, parent: init, ...opts };
}

/** A host event by a process `cat` (child of bash, child of sshd, child of systemd). */
export function event(overrides: Partial<DetectorEvent> = {}): DetectorEvent {
  const sshd = proc('sshd', { pid: 500, ppid: 1, exepath: '/usr/sbin/sshd', parent: init });
  const bash = proc('bash', { pid: 999, ppid: 500, parent: sshd });
  const p = proc('cat', { pid: 1000, ppid: 999, parent: bash, args: ['/tmp/x'] });
  return {
    type: 'execve',
    timeNs: 1_732_800_000_123_456_789n,
    num: 1,
    pid: p.pid,
    tid: p.pid,
    ppid: p.ppid,
    comm: p.name,
    cgroupId: 4242n,
    res: 0,
    args: {},
    proc: p,
    user: { uid: 1000, name: 'alice', loginuid: 1000 },
    group: { gid: 1000, name: 'alice' },
    container: { id: 'host' },
    ...overrides,
  };
}

export const CONTAINER = {
  container: { id: '3ad7b2c91f0e', name: 'api', image: { repository: 'docker.io/library/nginx', tag: '1.27' } },
  k8s: { ns: 'payments', pod: { name: 'api-7f9c', uid: 'u-1', labels: { app: 'api', tier: 'web' } } },
} satisfies Partial<DetectorEvent>;

/** execve of `name` with args, optionally in a container. */
export function exec(name: string, args: string[] = [], opts: { proc?: Partial<ProcessInfo>; container?: boolean; parent?: ProcessInfo } = {}): DetectorEvent {
  const parent = opts.parent ?? proc('containerd-shim', { pid: 900, ppid: 1, parent: init });
  const p = proc(name, { pid: 1001, ppid: parent.pid, args, parent, ...opts.proc });
  return event({ type: 'execve', pid: p.pid, tid: p.pid, ppid: p.ppid, comm: name, proc: p, args: { filename: p.exepath }, ...(opts.container ? CONTAINER : {}) });
}

export function open(path: string, flags: number, opts: { name?: string; type?: 'openat' | 'open' | 'openat2' | 'creat'; container?: boolean; fdType?: FdInfo['type'] } = {}): DetectorEvent {
  const p = proc(opts.name ?? 'cat', { pid: 1002 });
  return event({
    type: opts.type ?? 'openat',
    proc: p,
    pid: p.pid,
    openFlags: flags,
    args: { fd: 3, name: path, flags: renderOpenFlags(flags), mode: 0 },
    fd: { num: 3, type: opts.fdType ?? 'file', name: path },
    ...(opts.container ? CONTAINER : {}),
  });
}

export function connect(ip: string, port: number, opts: { name?: string; container?: boolean; res?: number } = {}): DetectorEvent {
  const p = proc(opts.name ?? 'curl', { pid: 1003 });
  const v6 = ip.includes(':');
  return event({
    type: 'connect',
    proc: p,
    pid: p.pid,
    res: opts.res ?? 0,
    args: { fd: 4 },
    fd: { num: 4, type: v6 ? 'ipv6' : 'ipv4', l4proto: 'tcp', lip: v6 ? 'fd00::2' : '10.1.2.3', lport: 40000, rip: ip, rport: port, role: 'client' },
    ...(opts.container ? CONTAINER : {}),
  });
}
