// SPDX-License-Identifier: Apache-2.0
/**
 * The TypeScript mirror of bpf/events.h: event type codes, syscall variants
 * and flag bits. `test/bpf/layout.test.ts` checks these against the header.
 *
 * @example
 * import { EVENT_TYPE, typeName } from './event-types.ts';
 * typeName(EVENT_TYPE.exec); // 'exec'
 */

/** Record layout version carried in every frame (RP_ABI_VERSION). */
export const ABI_VERSION = 1;

/** Kernel event type codes (enum rp_event_type), keyed by the name used in control commands. */
export const EVENT_TYPE = {
  exec: 1,
  fork: 2,
  exit: 3,
  open: 16,
  unlink: 17,
  rename: 18,
  chmod: 19,
  symlink: 20,
  link: 21,
  mount: 22,
  memfd_create: 23,
  connect: 32,
  accept: 33,
  ptrace: 48,
  setuid: 49,
  setgid: 50,
  bpf: 51,
  module: 52,
  raw_enter: 128,
  raw_exit: 129,
} as const;

export type EventTypeName = keyof typeof EVENT_TYPE;

/** Names the loader accepts in `events LIST` (raw records are switched per cgroup instead). */
export const CONTROLLABLE_TYPES: readonly EventTypeName[] = Object.keys(EVENT_TYPE).filter(
  (n) => !n.startsWith('raw_'),
) as EventTypeName[];

/** Size of the kernel's enabled/counters maps; codes at or above it never come from the kernel. */
export const KERNEL_TYPE_MAX = 256;

/** Frames the loader makes itself (0xf000 and up). */
export const LOADER_FRAME = {
  hello: 0xf001,
  stats: 0xf002,
  reply: 0xf003,
} as const;

/** Reserved ranges of bpf/events.h, for validation and docs. */
export const TYPE_RANGES = [
  { from: 1, to: 15, what: 'process lifecycle' },
  { from: 16, to: 31, what: 'files and mounts' },
  { from: 32, to: 47, what: 'network' },
  { from: 48, to: 63, what: 'privilege and kernel surface' },
  { from: 64, to: 127, what: 'reserved' },
  { from: 128, to: 143, what: 'raw syscall records' },
  { from: 144, to: 255, what: 'reserved' },
  { from: 0xf000, to: 0xffff, what: 'loader frames' },
] as const;

const NAME_BY_CODE: Array<EventTypeName | undefined> = [];
for (const [name, code] of Object.entries(EVENT_TYPE)) NAME_BY_CODE[code] = name as EventTypeName;

/** Name of a kernel event code, or undefined for unknown codes. */
export function typeName(code: number): EventTypeName | undefined {
  return NAME_BY_CODE[code];
}

/**
 * Syscall name per (type, header.variant), the way Falco names evt.type.
 * Index = variant (enum rp_variant).
 */
export const VARIANT_SYSCALL: Readonly<Partial<Record<EventTypeName, readonly string[]>>> = {
  exec: ['execve'],
  fork: ['clone'],
  exit: ['procexit'],
  open: ['open', 'openat', 'openat2', 'creat'],
  unlink: ['unlink', 'unlinkat', 'rmdir'],
  rename: ['rename', 'renameat', 'renameat2'],
  chmod: ['chmod', 'fchmod', 'fchmodat', 'fchmodat2'],
  symlink: ['symlink', 'symlinkat'],
  link: ['link', 'linkat'],
  mount: ['mount'],
  memfd_create: ['memfd_create'],
  connect: ['connect'],
  accept: ['accept', 'accept4'],
  ptrace: ['ptrace'],
  setuid: ['setuid', 'setreuid', 'setresuid', 'setfsuid'],
  setgid: ['setgid', 'setregid', 'setresgid', 'setfsgid'],
  bpf: ['bpf'],
  module: ['init_module', 'finit_module'],
};

/** exec flags (RP_EXEC_*). */
export const EXEC_FLAG = {
  upperLayer: 1 << 0,
  fromMemfd: 1 << 1,
  argsTruncated: 1 << 2,
  onOverlay: 1 << 3,
} as const;

/** per-cgroup flags (RP_CG_*), kernel map cgroup_flags. */
export const CGROUP_FLAG = { verbose: 1 << 0 } as const;
