// SPDX-License-Identifier: Apache-2.0
/**
 * IP address values for the fd.*net / fd.ip fields: equal to the same address
 * (IPv4-mapped IPv6 included) or to a CIDR containing it (`fd.snet in
 * ("10.0.0.0/8", "192.168.0.0/16")`).
 */
import { BlockList, isIP } from 'node:net';
import type { Comparable } from '../condition/index.ts';

const cidrCache = new Map<string, BlockList | null>();

function cidr(text: string): BlockList | null {
  let b = cidrCache.get(text);
  if (b !== undefined) return b;
  b = null;
  const m = /^([^/]+)\/(\d{1,3})$/.exec(text.trim());
  if (m) {
    const fam = isIP(m[1]!);
    const bits = Number(m[2]);
    if (fam && bits <= (fam === 4 ? 32 : 128)) {
      b = new BlockList();
      b.addSubnet(m[1]!, bits, fam === 4 ? 'ipv4' : 'ipv6');
    }
  }
  if (cidrCache.size > 4096) cidrCache.clear();
  cidrCache.set(text, b);
  return b;
}

function canonical(ip: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  return (m ? m[1]! : ip).toLowerCase();
}

export class IpValue implements Comparable {
  readonly ip: string;
  private readonly family: 'ipv4' | 'ipv6';
  constructor(ip: string) {
    this.ip = canonical(ip);
    this.family = isIP(this.ip) === 6 ? 'ipv6' : 'ipv4';
  }
  matchesLiteral(text: string): boolean {
    if (text.includes('/')) return cidr(text)?.check(this.ip, this.family) ?? false;
    return canonical(text) === this.ip;
  }
  toString(): string {
    return this.ip;
  }
}

export function ipValue(ip: string | undefined): IpValue | undefined {
  return ip === undefined || ip === '' ? undefined : new IpValue(ip);
}
