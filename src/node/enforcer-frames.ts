// SPDX-License-Identifier: Apache-2.0
/**
 * The TypeScript mirror of bpf/enforcer.h: frame types, policy flags and the
 * byte layout of the records riposte-enforcer writes to stdout, plus the
 * decoder. test/node/enforcer-layout.test.ts compares these offsets with the
 * BTF of bpf/.output/enforcer.bpf.o.
 *
 * Every frame: u32 len (prefix included) · u16 type · u16 version, then
 *   hello (0xf001):  u32 abi · u32 flags (1 persist) · i64 boot→realtime ns · u32 pid ·
 *                    u32 exec mechanism · string version · string why-no-bpf-lsm
 *   reply (0xf003):  u32 ok · string message
 *   packet (1):      struct rp_enf_packet, then cap_len bytes from the IP header on
 *   exec denied (2): struct rp_enf_exec
 * strings are u16 length + bytes. Little-endian throughout.
 */

export const ENF_ABI_VERSION = 1;

export const ENF_FRAME = { packet: 1, execDenied: 2, hello: 0xf001, reply: 0xf003 } as const;

export const ENF_FLAG = { isolate: 1, pcap: 2, execDeny: 4, execAllowOnly: 8 } as const;

export const ENF_PATH_KIND = { listed: 1, interp: 2 } as const;

export const ENF_EXEC_MECHANISM = ['none', 'bpf-lsm', 'fanotify'] as const;
export type ExecMechanism = (typeof ENF_EXEC_MECHANISM)[number];

export const ENF_SNAP_MAX = 2048;
export const ENF_PATH_MAX = 256;

/** Byte offsets and sizes (name → [offset, size]) of the C structs. */
export const ENF_LAYOUT = {
  rp_enf_prefix: { size: 8, fields: { len: [0, 4], type: [4, 2], version: [6, 2] } },
  rp_enf_packet: { size: 40, fields: { p: [0, 8], ts_ns: [8, 8], cgroup_id: [16, 8], wire_len: [24, 4], cap_len: [28, 4], dir: [32, 1], dropped: [33, 1], proto: [34, 2], pad: [36, 4] } },
  rp_enf_exec: { size: 312, fields: { p: [0, 8], ts_ns: [8, 8], cgroup_id: [16, 8], pid: [24, 4], tid: [28, 4], uid: [32, 4], ret: [36, 4], comm: [40, 16], path: [56, 256] } },
  rp_enf_policy: { size: 40, fields: { flags: [0, 4], snaplen: [4, 4], dropped_ingress: [8, 8], dropped_egress: [16, 8], execs_denied: [24, 8], pcap_lost: [32, 8] } },
  rp_enf_net_key: { size: 28, fields: { prefixlen: [0, 4], cgroup_id: [4, 8], addr: [12, 16] } },
  rp_enf_path_key: { size: 264, fields: { cgroup_id: [0, 8], path: [8, 256] } },
} as const satisfies Record<string, { size: number; fields: Record<string, readonly [number, number]> }>;

export interface EnforcerHello {
  kind: 'hello';
  abi: number;
  persist: boolean;
  bootToRealtimeNs: bigint;
  pid: number;
  execMechanism: ExecMechanism;
  version: string;
  /** why bpf lsm is not used, when it is not */
  lsmUnavailable: string;
}

export interface EnforcerReply {
  kind: 'reply';
  ok: boolean;
  message: string;
}

export interface PacketRecord {
  kind: 'packet';
  /** CLOCK_BOOTTIME ns */
  ts: bigint;
  cgroupId: bigint;
  wireLen: number;
  egress: boolean;
  dropped: boolean;
  /** ETH_P_IP (0x0800) or ETH_P_IPV6 (0x86dd) */
  proto: number;
  /** the captured bytes, from the IP header on (a copy) */
  data: Buffer;
}

export interface ExecDeniedRecord {
  kind: 'exec-denied';
  ts: bigint;
  cgroupId: bigint;
  pid: number;
  tid: number;
  /** 0xffffffff when not known (fanotify) */
  uid: number;
  ret: number;
  comm: string;
  path: string;
}

export type EnforcerFrame = EnforcerHello | EnforcerReply | PacketRecord | ExecDeniedRecord;

const cstr = (b: Buffer) => {
  const z = b.indexOf(0);
  return b.subarray(0, z < 0 ? b.length : z).toString('utf8');
};

/** Incremental decoder: push stdout chunks, get frames. Unknown types are skipped by length. */
export class EnforcerDecoder {
  private buf: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): EnforcerFrame[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const out: EnforcerFrame[] = [];
    let off = 0;
    while (this.buf.length - off >= 8) {
      const len = this.buf.readUInt32LE(off);
      if (len < 8) throw new Error(`riposte-enforcer: bad frame length ${len}`);
      if (this.buf.length - off < len) break;
      const f = this.buf.subarray(off, off + len);
      const type = f.readUInt16LE(4);
      const version = f.readUInt16LE(6);
      if (version !== ENF_ABI_VERSION) throw new Error(`riposte-enforcer: frame version ${version}, expected ${ENF_ABI_VERSION}`);
      const frame = decodeFrame(type, f);
      if (frame) out.push(frame);
      off += len;
    }
    this.buf = this.buf.subarray(off);
    return out;
  }
}

function decodeFrame(type: number, f: Buffer): EnforcerFrame | undefined {
  let o = 8;
  const str = () => {
    const n = f.readUInt16LE(o);
    const s = f.subarray(o + 2, o + 2 + n).toString('utf8');
    o += 2 + n;
    return s;
  };
  switch (type) {
    case ENF_FRAME.hello: {
      const abi = f.readUInt32LE(8);
      const flags = f.readUInt32LE(12);
      const off = f.readBigInt64LE(16);
      const pid = f.readUInt32LE(24);
      const mech = f.readUInt32LE(28);
      o = 32;
      const version = str();
      const why = o < f.length ? str() : '';
      return { kind: 'hello', abi, persist: (flags & 1) !== 0, bootToRealtimeNs: off, pid, execMechanism: ENF_EXEC_MECHANISM[mech] ?? 'none', version, lsmUnavailable: why };
    }
    case ENF_FRAME.reply: {
      const ok = f.readUInt32LE(8) === 1;
      o = 12;
      return { kind: 'reply', ok, message: str() };
    }
    case ENF_FRAME.packet: {
      const L = ENF_LAYOUT.rp_enf_packet.fields;
      const cap = f.readUInt32LE(L.cap_len[0]);
      return {
        kind: 'packet',
        ts: f.readBigUInt64LE(L.ts_ns[0]),
        cgroupId: f.readBigUInt64LE(L.cgroup_id[0]),
        wireLen: f.readUInt32LE(L.wire_len[0]),
        egress: f.readUInt8(L.dir[0]) === 1,
        dropped: f.readUInt8(L.dropped[0]) === 1,
        proto: f.readUInt16LE(L.proto[0]),
        data: Buffer.from(f.subarray(ENF_LAYOUT.rp_enf_packet.size, ENF_LAYOUT.rp_enf_packet.size + cap)),
      };
    }
    case ENF_FRAME.execDenied: {
      const L = ENF_LAYOUT.rp_enf_exec.fields;
      return {
        kind: 'exec-denied',
        ts: f.readBigUInt64LE(L.ts_ns[0]),
        cgroupId: f.readBigUInt64LE(L.cgroup_id[0]),
        pid: f.readUInt32LE(L.pid[0]),
        tid: f.readUInt32LE(L.tid[0]),
        uid: f.readUInt32LE(L.uid[0]),
        ret: f.readInt32LE(L.ret[0]),
        comm: cstr(f.subarray(L.comm[0], L.comm[0] + L.comm[1])),
        path: cstr(f.subarray(L.path[0], L.path[0] + L.path[1])),
      };
    }
    default:
      return undefined;
  }
}
