// SPDX-License-Identifier: Apache-2.0
/**
 * Classic pcap files (the libpcap format tcpdump and Wireshark read):
 * a 24-byte global header, then per packet a 16-byte record header and the
 * captured bytes. The enforcer's cgroup skb programs see packets from the IP
 * header on, so the link type is LINKTYPE_RAW (101): IPv4 and IPv6 alike,
 * told apart by the version nibble.
 *
 * @example
 *   const pcap = new PcapWriter(stream, { snaplen: 2048 });
 *   pcap.packet(Date.now() * 1e6, ipBytes, ipBytes.length);
 */
import type { Writable } from 'node:stream';

export const PCAP_MAGIC_US = 0xa1b2c3d4;
export const PCAP_MAGIC_NS = 0xa1b23c4d;
export const LINKTYPE_RAW = 101;

export class PcapWriter {
  private readonly out: Writable;
  packets = 0;
  bytes = 0;

  /** Writes the global header (nanosecond timestamps, little-endian). */
  constructor(out: Writable, opts: { snaplen: number }) {
    this.out = out;
    const h = Buffer.alloc(24);
    h.writeUInt32LE(PCAP_MAGIC_NS, 0);
    h.writeUInt16LE(2, 4);
    h.writeUInt16LE(4, 6);
    h.writeInt32LE(0, 8); // thiszone
    h.writeUInt32LE(0, 12); // sigfigs
    h.writeUInt32LE(opts.snaplen, 16);
    h.writeUInt32LE(LINKTYPE_RAW, 20);
    this.write(h);
  }

  /** One packet: wall time in epoch nanoseconds, captured bytes, original length. Returns false when the stream wants a pause. */
  packet(epochNs: bigint, data: Buffer, wireLen: number): boolean {
    const h = Buffer.alloc(16);
    h.writeUInt32LE(Number(epochNs / 1_000_000_000n), 0);
    h.writeUInt32LE(Number(epochNs % 1_000_000_000n), 4);
    h.writeUInt32LE(data.length, 8);
    h.writeUInt32LE(wireLen, 12);
    this.packets++;
    this.write(h);
    return this.write(data);
  }

  private write(b: Buffer): boolean {
    this.bytes += b.length;
    return this.out.write(b);
  }
}
