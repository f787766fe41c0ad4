// SPDX-License-Identifier: Apache-2.0
/**
 * Byte layout of the C records in bpf/sensor.h, as data. The decoder in
 * frames.ts reads every fixed field through these offsets, and
 * test/bpf/layout.test.ts compares them with the BTF of the compiled
 * bpf/.output/sensor.bpf.o, so a change on either side fails the test.
 *
 * @example
 * import { STRUCTS } from './layout.ts';
 * STRUCTS.rp_header.size; // 72
 */

/** How a field is read. Sizes: u8 1, u16 2, u32/i32 4, u64/i64 8, arrays: count * element. */
export type FieldKind = 'u16' | 'u32' | 'i32' | 'u64' | 'i64' | 'comm' | 'addr' | 'u32x3' | 'u64x6';

export interface FieldLayout {
  /** C member name in bpf/sensor.h */
  readonly c: string;
  /** property name on the decoded event (omitted: not exposed, e.g. padding) */
  readonly js?: string;
  readonly offset: number;
  readonly kind: FieldKind;
}

export interface StructLayout {
  readonly size: number;
  readonly fields: readonly FieldLayout[];
  /** names of the u16-length-prefixed strings that follow, in order */
  readonly strings: readonly string[];
}

export const KIND_SIZE: Readonly<Record<FieldKind, number>> = {
  u16: 2,
  u32: 4,
  i32: 4,
  u64: 8,
  i64: 8,
  comm: 16,
  addr: 16,
  u32x3: 12,
  u64x6: 48,
};

const f = (c: string, offset: number, kind: FieldKind, js?: string): FieldLayout =>
  js === undefined ? { c, offset, kind } : { c, offset, kind, js };

/** Every struct of bpf/sensor.h that crosses the wire, keyed by its C name. */
export const STRUCTS = {
  rp_header: {
    size: 72,
    fields: [
      f('len', 0, 'u32', 'len'),
      f('type', 4, 'u16', 'code'),
      f('version', 6, 'u16', 'version'),
      f('ts_ns', 8, 'u64', 'ts'),
      f('cgroup_id', 16, 'u64', 'cgroupId'),
      f('ret', 24, 'i64', 'ret'),
      f('pid', 32, 'u32', 'pid'),
      f('tid', 36, 'u32', 'tid'),
      f('ppid', 40, 'u32', 'ppid'),
      f('uid', 44, 'u32', 'uid'),
      f('gid', 48, 'u32', 'gid'),
      f('variant', 52, 'u16', 'variant'),
      f('cpu', 54, 'u16', 'cpu'),
      f('comm', 56, 'comm', 'comm'),
    ],
    strings: [],
  },
  rp_exec: {
    size: 24,
    fields: [
      f('euid', 0, 'u32', 'euid'),
      f('egid', 4, 'u32', 'egid'),
      f('loginuid', 8, 'u32', 'loginuid'),
      f('tty', 12, 'u32', 'tty'),
      f('flags', 16, 'u32', 'flags'),
      f('argc', 20, 'u32', 'argc'),
    ],
    strings: ['filename', 'exe', 'args', 'cwd'],
  },
  rp_fork: {
    size: 16,
    fields: [
      f('child_pid', 0, 'u32', 'childPid'),
      f('child_tid', 4, 'u32', 'childTid'),
      f('flags', 8, 'u32', 'flags'),
      f('pad', 12, 'u32'),
    ],
    strings: [],
  },
  rp_exit: {
    size: 8,
    fields: [f('code', 0, 'i32', 'status'), f('pad', 4, 'u32')],
    strings: [],
  },
  rp_open: {
    size: 16,
    fields: [
      f('dfd', 0, 'i32', 'dfd'),
      f('flags', 4, 'u32', 'flags'),
      f('mode', 8, 'u32', 'mode'),
      f('pad', 12, 'u32'),
    ],
    strings: ['path', 'resolved'],
  },
  rp_sock: {
    size: 48,
    fields: [
      f('fd', 0, 'i32', 'fd'),
      f('family', 4, 'u16', 'family'),
      f('proto', 6, 'u16', 'proto'),
      f('sport', 8, 'u16', 'sport'),
      f('dport', 10, 'u16', 'dport'),
      f('pad', 12, 'u32'),
      f('saddr', 16, 'addr', 'saddr'),
      f('daddr', 32, 'addr', 'daddr'),
    ],
    strings: ['unixPath'],
  },
  rp_ptrace: {
    size: 16,
    fields: [f('request', 0, 'i64', 'request'), f('target', 8, 'i32', 'target'), f('pad', 12, 'u32')],
    strings: [],
  },
  rp_setid: {
    size: 16,
    fields: [f('id', 0, 'u32x3', 'ids'), f('pad', 12, 'u32')],
    strings: [],
  },
  rp_memfd: {
    size: 8,
    fields: [f('flags', 0, 'u32', 'flags'), f('pad', 4, 'u32')],
    strings: ['name'],
  },
  rp_mount: {
    size: 8,
    fields: [f('flags', 0, 'u64', 'flags')],
    strings: ['source', 'target', 'fstype'],
  },
  rp_unlink: {
    size: 8,
    fields: [f('dfd', 0, 'i32', 'dfd'), f('flags', 4, 'u32', 'flags')],
    strings: ['path'],
  },
  rp_path2: {
    size: 16,
    fields: [
      f('olddfd', 0, 'i32', 'olddfd'),
      f('newdfd', 4, 'i32', 'newdfd'),
      f('flags', 8, 'u32', 'flags'),
      f('pad', 12, 'u32'),
    ],
    strings: ['oldpath', 'newpath'],
  },
  rp_chmod: {
    size: 16,
    fields: [
      f('fd', 0, 'i32', 'fd'),
      f('mode', 4, 'u32', 'mode'),
      f('flags', 8, 'u32', 'flags'),
      f('pad', 12, 'u32'),
    ],
    strings: ['path'],
  },
  rp_bpf: {
    size: 16,
    fields: [
      f('cmd', 0, 'u32', 'cmd'),
      f('prog_type', 4, 'u32', 'progType'),
      f('map_type', 8, 'u32', 'mapType'),
      f('pad', 12, 'u32'),
    ],
    strings: [],
  },
  rp_module: {
    size: 16,
    fields: [f('fd', 0, 'i32', 'fd'), f('flags', 4, 'u32', 'flags'), f('len', 8, 'u64', 'len')],
    strings: ['params', 'path'],
  },
  rp_raw_enter: {
    size: 48,
    fields: [f('args', 0, 'u64x6', 'args')],
    strings: [],
  },
  rp_counter: {
    size: 16,
    fields: [f('events', 0, 'u64'), f('drops', 8, 'u64')],
    strings: [],
  },
} as const satisfies Record<string, StructLayout>;

export type StructName = keyof typeof STRUCTS;

/** Payload struct per kernel event type name; null = header only. */
export const PAYLOAD_OF = {
  exec: 'rp_exec',
  fork: 'rp_fork',
  exit: 'rp_exit',
  open: 'rp_open',
  unlink: 'rp_unlink',
  rename: 'rp_path2',
  chmod: 'rp_chmod',
  symlink: 'rp_path2',
  link: 'rp_path2',
  mount: 'rp_mount',
  memfd_create: 'rp_memfd',
  connect: 'rp_sock',
  accept: 'rp_sock',
  ptrace: 'rp_ptrace',
  setuid: 'rp_setid',
  setgid: 'rp_setid',
  bpf: 'rp_bpf',
  module: 'rp_module',
  raw_enter: 'rp_raw_enter',
  raw_exit: null,
} as const satisfies Record<string, StructName | null>;

/** Frame prefix shared by kernel and loader frames: u32 len, u16 type, u16 version. */
export const PREFIX_SIZE = 8;
