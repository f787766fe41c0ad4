// SPDX-License-Identifier: Apache-2.0
/**
 * Tokens of approval pages: personal links (`?t=`, bound to one approver) and
 * form tokens (CSRF: bound to one approval and one person, single use).
 *
 * A token is `<selector>.<secret>`: the 96-bit selector finds the Redis entry,
 * the 256-bit secret is checked against the stored SHA-256 with a
 * constant-time compare, so neither lookup timing nor a leaked Redis dump
 * gives a usable token. Entries expire in Redis a little after their own
 * `exp`, so an expired token is reported as expired rather than unknown.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { safeEqual } from '../http/auth.ts';
import type { Keys } from '../redis/keys.ts';

export type TokenKind = 'link' | 'form';

export interface TokenEntry {
  kind: TokenKind;
  approvalId: string;
  person: string;
  /** sha256(secret), hex. */
  verifier: string;
  /** Expiry, ms since the epoch. */
  exp: number;
}

export type TokenCheck = { ok: true; entry: TokenEntry; selector: string; raw: string } | { ok: false; reason: 'malformed' | 'unknown' | 'expired' | 'wrong-approval' | 'wrong-kind' };

const TOKEN_RE = /^([A-Za-z0-9_-]{16})\.([A-Za-z0-9_-]{43})$/;
const GRACE_MS = 10 * 60_000;

// KEYS[1] token. ARGV[1] the exact entry read when checking: delete only that
const CONSUME_LUA = `
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) return 1 end
return 0
`;

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

export class TokenStore {
  private readonly redis: Redis;
  private readonly keys: Keys;
  private readonly now: () => Date;
  constructor(redis: Redis, keys: Keys, now: () => Date = () => new Date()) {
    this.redis = redis;
    this.keys = keys;
    this.now = now;
  }

  async issue(kind: TokenKind, approvalId: string, person: string, ttlMs: number): Promise<{ token: string; exp: number }> {
    const selector = randomBytes(12).toString('base64url');
    const secret = randomBytes(32).toString('base64url');
    const exp = this.now().getTime() + Math.max(1, ttlMs);
    const entry: TokenEntry = { kind, approvalId, person, verifier: sha256(secret), exp };
    await this.redis.set(this.keys.approvalToken(selector), JSON.stringify(entry), 'PX', Math.max(1, ttlMs) + GRACE_MS);
    return { token: `${selector}.${secret}`, exp };
  }

  /** Checks a token without using it up. */
  async check(token: unknown, kind: TokenKind, approvalId: string): Promise<TokenCheck> {
    if (typeof token !== 'string') return { ok: false, reason: 'malformed' };
    const m = TOKEN_RE.exec(token);
    if (!m) return { ok: false, reason: 'malformed' };
    const selector = m[1]!;
    const raw = await this.redis.get(this.keys.approvalToken(selector));
    // the compare runs even when nothing is stored, so timing does not tell a known selector from an unknown one
    const entry = raw ? (JSON.parse(raw) as TokenEntry) : undefined;
    const match = safeEqual(sha256(m[2]!), entry?.verifier ?? '');
    if (!entry || !raw || !match) return { ok: false, reason: 'unknown' };
    if (entry.kind !== kind) return { ok: false, reason: 'wrong-kind' };
    if (entry.approvalId !== approvalId) return { ok: false, reason: 'wrong-approval' };
    if (entry.exp <= this.now().getTime()) return { ok: false, reason: 'expired' };
    return { ok: true, entry, selector, raw };
  }

  /** Uses a checked token up; false when someone else used it first. */
  async consume(check: Extract<TokenCheck, { ok: true }>): Promise<boolean> {
    return (await this.redis.eval(CONSUME_LUA, 1, this.keys.approvalToken(check.selector), check.raw)) === 1;
  }
}

export function tokenProblem(reason: Exclude<TokenCheck, { ok: true }>['reason'], what: 'link' | 'form'): string {
  const thing = what === 'link' ? 'personal link' : 'form';
  switch (reason) {
    case 'malformed':
      return what === 'link' ? 'the personal link is incomplete: open the whole link from your message' : 'the form token is missing or malformed: reload the approval page';
    case 'unknown':
      return what === 'link' ? 'this personal link is not valid' : 'this form was already used or is not valid: reload the approval page';
    case 'expired':
      return `this ${thing} has expired${what === 'form' ? ': reload the approval page' : ''}`;
    case 'wrong-approval':
      return `this ${thing} belongs to another approval`;
    case 'wrong-kind':
      return `this is not a ${thing} token`;
  }
}
