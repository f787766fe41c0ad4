// SPDX-License-Identifier: Apache-2.0
/**
 * Who is asking. Identity headers (oauth2-proxy's `X-Auth-Request-Email`,
 * `X-Forwarded-User`, …) are honoured only when the TCP peer is one of
 * `server.trustedProxies` (addresses or CIDR ranges): anyone else could
 * simply send the header. The peer is the socket address, never X-Forwarded-For.
 */
import { BlockList, isIP } from 'node:net';
import { normIdentity } from './model.ts';

const IDENTITY_RE = /^[^\s\x00-\x1f\x7f]{1,254}$/;

export class IdentityResolver {
  private readonly trusted = new BlockList();
  private readonly headers: string[];
  readonly hasProxies: boolean;

  constructor(trustedProxies: readonly string[], headers: readonly string[]) {
    for (const p of trustedProxies) {
      const [addr, bits] = p.trim().split('/');
      const family = isIP(addr ?? '');
      if (!family) throw new Error(`server.trustedProxies: "${p}" is not an IP address or CIDR range`);
      const type = family === 6 ? 'ipv6' : 'ipv4';
      if (bits !== undefined) {
        const n = Number(bits);
        if (!Number.isInteger(n) || n < 0 || n > (family === 6 ? 128 : 32)) throw new Error(`server.trustedProxies: "${p}" has a bad prefix length`);
        this.trusted.addSubnet(addr!, n, type);
      } else this.trusted.addAddress(addr!, type);
    }
    this.hasProxies = trustedProxies.length > 0;
    this.headers = headers.map((h) => h.toLowerCase());
  }

  isTrustedPeer(peer: string | undefined): boolean {
    if (!peer || !this.hasProxies) return false;
    const addr = peer.startsWith('::ffff:') && isIP(peer.slice(7)) === 4 ? peer.slice(7) : peer;
    const family = isIP(addr);
    if (!family) return false;
    return this.trusted.check(addr, family === 6 ? 'ipv6' : 'ipv4');
  }

  /** The proxy-asserted identity, or undefined (untrusted peer, no header, or an unusable value). */
  fromProxy(peer: string | undefined, headers: Record<string, string | string[] | undefined>): { person: string; header: string } | undefined {
    if (!this.isTrustedPeer(peer)) return undefined;
    for (const h of this.headers) {
      const raw = headers[h];
      const v = (Array.isArray(raw) ? raw[0] : raw)?.trim();
      if (v && IDENTITY_RE.test(v)) return { person: normIdentity(v), header: h };
    }
    return undefined;
  }
}
