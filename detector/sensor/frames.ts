// SPDX-License-Identifier: Apache-2.0
/**
 * Decoder for the riposte-sensor byte stream (format: docs/sensor.md).
 * Frames are cut from arbitrary chunks, fixed fields are read at the offsets
 * of layout.ts, strings are u16-length-prefixed; no JSON anywhere.
 *
 * @example
 * const dec = new FrameDecoder({ event: (e) => console.log(e.type, e.pid) });
 * child.stdout.on('data', (chunk) => dec.push(chunk));
 */
import {
  ABI_VERSION,
  EVENT_TYPE,
  EXEC_FLAG,
  type EventTypeName,
  LOADER_FRAME,
  typeName,
  VARIANT_SYSCALL,
} from './event-types.ts';
import { type FieldLayout, PAYLOAD_OF, PREFIX_SIZE, STRUCTS, type StructLayout } from './layout.ts';

/** Fields every kernel event carries (struct rp_header). */
export interface EventHeader {
  /** event type name (EVENT_TYPE key) */
  type: EventTypeName;
  /** numeric type code */
  code: number;
  version: number;
  /** Falco-style syscall name: openat, execve, connect, ... */
  syscall: string;
  /** CLOCK_BOOTTIME nanoseconds */
  ts: bigint;
  /** epoch nanoseconds (ts + the loader's boot-to-realtime offset; 0n before the hello frame) */
  time: bigint;
  cgroupId: bigint;
  ret: number;
  pid: number;
  tid: number;
  ppid: number;
  uid: number;
  gid: number;
  /** syscall within the family; the syscall number for raw records */
  variant: number;
  cpu: number;
  comm: string;
}

export interface ExecEvent extends EventHeader {
  type: 'exec';
  euid: number;
  egid: number;
  /** 4294967295 when unset */
  loginuid: number;
  /** tty_nr as in /proc/pid/stat, 0 = none */
  tty: number;
  flags: number;
  argc: number;
  filename: string;
  exe: string;
  args: string[];
  cwd: string;
  upperLayer: boolean;
  fromMemfd: boolean;
  argsTruncated: boolean;
}
export interface ForkEvent extends EventHeader {
  type: 'fork';
  childPid: number;
  childTid: number;
  flags: number;
}
export interface ExitEvent extends EventHeader {
  type: 'exit';
  /** raw wait status (rp_exit.code) */
  status: number;
  exitCode: number;
  signal: number;
}
export interface OpenEvent extends EventHeader {
  type: 'open';
  dfd: number;
  flags: number;
  mode: number;
  path: string;
  /** what the new fd points at, only for relative paths that opened */
  resolved: string;
}
export interface SockEvent extends EventHeader {
  type: 'connect' | 'accept';
  fd: number;
  family: number;
  proto: number;
  sport: number;
  dport: number;
  /** local address, text form ('' when unknown) */
  saddr: string;
  /** remote address, text form */
  daddr: string;
  /** AF_UNIX path, abstract names start with '@' */
  unixPath: string;
}
export interface PtraceEvent extends EventHeader {
  type: 'ptrace';
  request: number;
  target: number;
}
export interface SetidEvent extends EventHeader {
  type: 'setuid' | 'setgid';
  /** ids as passed; -1 = unchanged / not an argument */
  ids: number[];
}
export interface MemfdEvent extends EventHeader {
  type: 'memfd_create';
  flags: number;
  name: string;
}
export interface MountEvent extends EventHeader {
  type: 'mount';
  flags: number;
  source: string;
  target: string;
  fstype: string;
}
export interface UnlinkEvent extends EventHeader {
  type: 'unlink';
  dfd: number;
  flags: number;
  path: string;
}
export interface Path2Event extends EventHeader {
  type: 'rename' | 'link' | 'symlink';
  olddfd: number;
  newdfd: number;
  flags: number;
  /** rename/link: source; symlink: the link target text */
  oldpath: string;
  newpath: string;
}
export interface ChmodEvent extends EventHeader {
  type: 'chmod';
  fd: number;
  mode: number;
  flags: number;
  path: string;
}
export interface BpfEvent extends EventHeader {
  type: 'bpf';
  cmd: number;
  progType: number;
  mapType: number;
}
export interface ModuleEvent extends EventHeader {
  type: 'module';
  fd: number;
  flags: number;
  len: number;
  params: string;
  path: string;
}
export interface RawEnterEvent extends EventHeader {
  type: 'raw_enter';
  args: bigint[];
}
export interface RawExitEvent extends EventHeader {
  type: 'raw_exit';
}

export type SensorEvent =
  | ExecEvent
  | ForkEvent
  | ExitEvent
  | OpenEvent
  | SockEvent
  | PtraceEvent
  | SetidEvent
  | MemfdEvent
  | MountEvent
  | UnlinkEvent
  | Path2Event
  | ChmodEvent
  | BpfEvent
  | ModuleEvent
  | RawEnterEvent
  | RawExitEvent;

export interface HelloFrame {
  kind: 'hello';
  abi: number;
  ncpus: number;
  bootToRealtimeNs: bigint;
  loaderPid: number;
  loaderVersion: string;
}
export interface StatsFrame {
  kind: 'stats';
  ncpus: number;
  /** frames the loader wrote so far */
  frames: number;
  /** bpf program runs the kernel skipped (recursion on one cpu) */
  recursionMisses: number;
  /** ring buffer reservation failures per cpu */
  dropsPerCpu: number[];
  perType: Array<{ code: number; type: string; events: number; drops: number }>;
}
export interface ReplyFrame {
  kind: 'reply';
  ok: boolean;
  message: string;
}
export type LoaderFrame = HelloFrame | StatsFrame | ReplyFrame;

export interface FrameHandlers {
  event?: (e: SensorEvent) => void;
  loader?: (f: LoaderFrame) => void;
}

/** Thrown for a byte stream that cannot be a frame stream (bad length, wrong ABI). */
export class FrameError extends Error {
  override name = 'FrameError';
}

const HEADER = STRUCTS.rp_header;
const HSIZE = HEADER.size;
/** header offsets by C name, straight from the layout table */
const H: Record<string, number> = Object.fromEntries(HEADER.fields.map((x) => [x.c, x.offset]));
const H_TYPE = H.type!;
const H_VERSION = H.version!;
const H_TS = H.ts_ns!;
const H_CGROUP = H.cgroup_id!;
const H_RET = H.ret!;
const H_PID = H.pid!;
const H_TID = H.tid!;
const H_PPID = H.ppid!;
const H_UID = H.uid!;
const H_GID = H.gid!;
const H_VARIANT = H.variant!;
const H_CPU = H.cpu!;
const H_COMM = H.comm!;
const TWO32 = 4294967296;

const u64n = (b: Buffer, o: number): number => b.readUInt32LE(o + 4) * TWO32 + b.readUInt32LE(o);
const i64n = (b: Buffer, o: number): number => b.readInt32LE(o + 4) * TWO32 + b.readUInt32LE(o);
const idOrMinus = (v: number): number => (v === 0xffffffff ? -1 : v);

function cstr(b: Buffer, start: number, max: number): string {
  let end = start;
  const stop = start + max;
  while (end < stop && b[end] !== 0) end++;
  return b.toString('utf8', start, end);
}

/** Text form of a 16-byte address field for an address family. */
export function formatAddr(b: Buffer, o: number, family: number): string {
  if (family === 2) return `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`;
  if (family !== 10) return '';
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push(b.readUInt16BE(o + i * 2));
  // ipv4-mapped
  if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff)
    return `::ffff:${b[o + 12]}.${b[o + 13]}.${b[o + 14]}.${b[o + 15]}`;
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = g.map((x) => x.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

type Obj = Record<string, unknown>;

function readFields(b: Buffer, base: number, fields: readonly FieldLayout[], out: Obj): void {
  for (const fl of fields) {
    if (fl.js === undefined) continue;
    const o = base + fl.offset;
    switch (fl.kind) {
      case 'u16':
        out[fl.js] = b.readUInt16LE(o);
        break;
      case 'u32':
        out[fl.js] = b.readUInt32LE(o);
        break;
      case 'i32':
        out[fl.js] = b.readInt32LE(o);
        break;
      case 'u64':
        out[fl.js] = u64n(b, o);
        break;
      case 'i64':
        out[fl.js] = i64n(b, o);
        break;
      case 'comm':
        out[fl.js] = cstr(b, o, 16);
        break;
      case 'addr':
        // formatted after the family is known
        out[fl.js] = '';
        break;
      case 'u32x3':
        out[fl.js] = [idOrMinus(b.readUInt32LE(o)), idOrMinus(b.readUInt32LE(o + 4)), idOrMinus(b.readUInt32LE(o + 8))];
        break;
      case 'u64x6': {
        const a: bigint[] = [];
        for (let i = 0; i < 6; i++) a.push(b.readBigUInt64LE(o + i * 8));
        out[fl.js] = a;
        break;
      }
    }
  }
}

interface TypeDecoder {
  name: EventTypeName;
  syscalls: readonly string[];
  payload: StructLayout | null;
  post?: (e: Obj, b: Buffer, payloadAt: number) => void;
}

const POST: Partial<Record<EventTypeName, TypeDecoder['post']>> = {
  exec(e) {
    const raw = e.args as string;
    const parts = raw.length === 0 ? [] : raw.split('\0');
    if (parts.length > 0 && parts[parts.length - 1] === '') parts.pop();
    e.args = parts;
    const fl = e.flags as number;
    e.upperLayer = (fl & EXEC_FLAG.upperLayer) !== 0;
    e.fromMemfd = (fl & EXEC_FLAG.fromMemfd) !== 0;
    e.argsTruncated = (fl & EXEC_FLAG.argsTruncated) !== 0;
  },
  exit(e) {
    const c = e.status as number;
    e.exitCode = (c >> 8) & 0xff;
    e.signal = c & 0x7f;
  },
  connect: sockPost,
  accept: sockPost,
};

function sockPost(e: Obj, b: Buffer, at: number): void {
  const fam = e.family as number;
  e.saddr = formatAddr(b, at + 16, fam);
  e.daddr = formatAddr(b, at + 32, fam);
  let p = e.unixPath as string;
  if (p.length > 0) {
    if (p.charCodeAt(0) === 0) p = `@${p.slice(1)}`;
    const nul = p.indexOf('\0');
    e.unixPath = nul >= 0 ? p.slice(0, nul) : p;
  }
}

const DECODERS: Array<TypeDecoder | undefined> = [];
for (const [name, code] of Object.entries(EVENT_TYPE)) {
  const n = name as EventTypeName;
  const ps = PAYLOAD_OF[n];
  const dec: TypeDecoder = {
    name: n,
    syscalls: VARIANT_SYSCALL[n] ?? [n],
    payload: ps === null ? null : STRUCTS[ps],
  };
  const post = POST[n];
  if (post) dec.post = post;
  DECODERS[code] = dec;
}

/**
 * Incremental decoder: push() any chunk split, handlers run once per frame.
 * Unknown kernel types are counted in `unknown` and skipped.
 */
export class FrameDecoder {
  /** boot-to-realtime offset, set from the hello frame */
  bootToRealtimeNs = 0n;
  unknown = 0;
  private pending: Buffer | null = null;
  private readonly handlers: FrameHandlers;

  constructor(handlers: FrameHandlers) {
    this.handlers = handlers;
  }

  /** Bytes waiting for the rest of their frame. */
  get buffered(): number {
    return this.pending ? this.pending.length : 0;
  }

  push(chunk: Buffer): void {
    let b = chunk;
    if (this.pending) {
      b = Buffer.concat([this.pending, chunk]);
      this.pending = null;
    }
    const n = b.length;
    let off = 0;
    while (off + PREFIX_SIZE <= n) {
      const len = b.readUInt32LE(off);
      if (len < PREFIX_SIZE) throw new FrameError(`frame at byte ${off}: length ${len} < ${PREFIX_SIZE}`);
      if (off + len > n) break;
      this.frame(b, off, len);
      off += len;
    }
    if (off < n) this.pending = Buffer.from(b.subarray(off));
  }

  private frame(b: Buffer, off: number, len: number): void {
    const type = b.readUInt16LE(off + 4);
    const version = b.readUInt16LE(off + 6);
    if (version !== ABI_VERSION) throw new FrameError(`frame type ${type}: abi version ${version}, decoder knows ${ABI_VERSION}`);
    if (type >= 0xf000) {
      const f = decodeLoaderFrame(b, off, len, type);
      if (f === null) {
        this.unknown++;
        return;
      }
      if (f.kind === 'hello') this.bootToRealtimeNs = f.bootToRealtimeNs;
      this.handlers.loader?.(f);
      return;
    }
    const dec = DECODERS[type];
    if (dec === undefined || len < HSIZE) {
      this.unknown++;
      return;
    }
    const e = decodeEvent(b, off, len, dec, this.bootToRealtimeNs);
    this.handlers.event?.(e);
  }
}

function decodeEvent(b: Buffer, off: number, len: number, dec: TypeDecoder, boot: bigint): SensorEvent {
  const variant = b.readUInt16LE(off + H_VARIANT);
  const ts = b.readBigUInt64LE(off + H_TS);
  const e: Obj = {
    type: dec.name,
    code: b.readUInt16LE(off + H_TYPE),
    version: b.readUInt16LE(off + H_VERSION),
    syscall: dec.syscalls[variant] ?? dec.name,
    ts,
    time: boot === 0n ? 0n : ts + boot,
    cgroupId: b.readBigUInt64LE(off + H_CGROUP),
    ret: i64n(b, off + H_RET),
    pid: b.readUInt32LE(off + H_PID),
    tid: b.readUInt32LE(off + H_TID),
    ppid: b.readUInt32LE(off + H_PPID),
    uid: b.readUInt32LE(off + H_UID),
    gid: b.readUInt32LE(off + H_GID),
    variant,
    cpu: b.readUInt16LE(off + H_CPU),
    comm: cstr(b, off + H_COMM, 16),
  };
  const p = dec.payload;
  if (p !== null) {
    const at = off + HSIZE;
    readFields(b, at, p.fields, e);
    let s = at + p.size;
    const end = off + len;
    for (const name of p.strings) {
      if (s + 2 > end) {
        e[name] = '';
        continue;
      }
      const sl = b.readUInt16LE(s);
      const stop = Math.min(s + 2 + sl, end);
      e[name] = b.toString('utf8', s + 2, stop);
      s = stop;
    }
    dec.post?.(e, b, at);
  }
  return e as unknown as SensorEvent;
}

function readStr(b: Buffer, o: number, end: number): [string, number] {
  if (o + 2 > end) return ['', end];
  const l = b.readUInt16LE(o);
  const stop = Math.min(o + 2 + l, end);
  return [b.toString('utf8', o + 2, stop), stop];
}

function decodeLoaderFrame(b: Buffer, off: number, len: number, type: number): LoaderFrame | null {
  const p = off + PREFIX_SIZE;
  const end = off + len;
  switch (type) {
    case LOADER_FRAME.hello:
      return {
        kind: 'hello',
        abi: b.readUInt32LE(p),
        ncpus: b.readUInt32LE(p + 4),
        bootToRealtimeNs: b.readBigInt64LE(p + 8),
        loaderPid: b.readUInt32LE(p + 16),
        loaderVersion: readStr(b, p + 24, end)[0],
      };
    case LOADER_FRAME.reply:
      return { kind: 'reply', ok: b.readUInt32LE(p) === 1, message: readStr(b, p + 4, end)[0] };
    case LOADER_FRAME.stats: {
      const ncpus = b.readUInt32LE(p);
      const ntypes = b.readUInt32LE(p + 4);
      const frames = u64n(b, p + 8);
      const recursionMisses = u64n(b, p + 16);
      let o = p + 24;
      const dropsPerCpu: number[] = [];
      for (let i = 0; i < ncpus; i++, o += 8) dropsPerCpu.push(u64n(b, o));
      const perType: StatsFrame['perType'] = [];
      for (let i = 0; i < ntypes && o + 24 <= end; i++, o += 24) {
        const code = b.readUInt16LE(o);
        perType.push({ code, type: typeName(code) ?? `type${code}`, events: u64n(b, o + 8), drops: u64n(b, o + 16) });
      }
      return { kind: 'stats', ncpus, frames, recursionMisses, dropsPerCpu, perType };
    }
    default:
      return null;
  }
}
