// SPDX-License-Identifier: Apache-2.0
/**
 * Who is looking at the UI, and what they may do. Two sources of identity:
 * - a trusted reverse proxy (oauth2-proxy and friends) sets an identity header;
 *   it is honoured only when the TCP peer is in `server.trustedProxies`, because
 *   anyone else can send the same header;
 * - the optional built-in login for single-machine use: one user whose scrypt
 *   password hash comes from the environment or a file, and a session cookie
 *   (HttpOnly, SameSite=Strict, Secure over https) backed by Redis so every
 *   engine replica accepts it and logout ends it everywhere.
 * Roles: `viewer` reads everything; `approver` may also act on approvals.
 *
 * @example
 *   const hash = hashPassword('correct horse');   // put this in RIPOSTE_UI_PASSWORD_HASH
 *   verifyPassword('correct horse', hash);         // true
 */
import { createHash, randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Redis } from 'ioredis';
import { IdentityResolver } from '../approvals/identity.ts';
import { normIdentity } from '../approvals/model.ts';
import { parseDuration } from '../common/duration.ts';
import type { RiposteConfig, RiposteSecrets } from '../config/schema.ts';
import type { Keys } from '../redis/keys.ts';

export type Role = 'viewer' | 'approver';

export interface Identity {
  name: string;
  /** Where the identity came from (also what audit records say as `actor.via`). */
  via: 'proxy-header' | 'login' | 'anonymous';
  role: Role;
  groups: string[];
}

export interface UiAuthConfig {
  /** Role of requests nobody vouches for; `none` sends them to the login page. */
  anonymousRole: 'none' | Role;
  trustedProxies: string[];
  /** Identity headers honoured from trusted proxies; the first present wins. */
  identityHeaders: string[];
  groupHeaders: string[];
  /** Names with the approver role; `*` for everyone identified; `group:NAME` for a group. */
  approvers: string[];
  /** Named groups of identities (approvals.groups), usable as `group:NAME`. */
  groups: Record<string, string[]>;
  login?: { user: string; role: Role; passwordHash: string };
  sessionTtlMs: number;
  /** Mark cookies Secure; `auto` does so when the request came over https. */
  secureCookies: boolean | 'auto';
}

export const DEFAULT_IDENTITY_HEADERS = ['X-Auth-Request-Email', 'X-Forwarded-User'];
export const DEFAULT_GROUP_HEADERS = ['X-Auth-Request-Groups', 'X-Forwarded-Groups'];
export const SESSION_COOKIE = 'riposte_session';

export function uiAuthFromConfig(config: RiposteConfig, secrets: RiposteSecrets): UiAuthConfig {
  const approvals = (config as { approvals?: { identityHeaders?: string[]; groups?: Record<string, string[]> } }).approvals;
  return {
    anonymousRole: config.ui.anonymousRole,
    trustedProxies: config.server.trustedProxies,
    identityHeaders: approvals?.identityHeaders?.length ? approvals.identityHeaders : DEFAULT_IDENTITY_HEADERS,
    groupHeaders: DEFAULT_GROUP_HEADERS,
    approvers: config.ui.approvers,
    groups: approvals?.groups ?? {},
    ...(secrets.uiPasswordHash ? { login: { user: config.ui.loginUser, role: config.ui.loginRole, passwordHash: secrets.uiPasswordHash } } : {}),
    sessionTtlMs: parseDuration(config.ui.sessionTtl),
    secureCookies: config.server.publicUrl?.startsWith('https://') ? true : 'auto',
  };
}

/** The default for in-process servers without configuration: everyone is an anonymous viewer. */
export const ANONYMOUS_VIEWER: UiAuthConfig = { anonymousRole: 'viewer', trustedProxies: [], identityHeaders: DEFAULT_IDENTITY_HEADERS, groupHeaders: DEFAULT_GROUP_HEADERS, approvers: [], groups: {}, sessionTtlMs: 12 * 3_600_000, secureCookies: 'auto' };

const SCRYPT = { N: 16384, r: 8, p: 1, keylen: 32 };

/** `scrypt$N$r$p$salt$hash` (base64url), for RIPOSTE_UI_PASSWORD_HASH or ui.passwordHashFile. */
export function hashPassword(password: string): string {
  const salt = randomBytes(16);
  const hash = scryptSync(password, salt, SCRYPT.keylen, { N: SCRYPT.N, r: SCRYPT.r, p: SCRYPT.p });
  return `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${salt.toString('base64url')}$${hash.toString('base64url')}`;
}

export function verifyPassword(password: string, stored: string): boolean {
  const m = /^scrypt\$(\d+)\$(\d+)\$(\d+)\$([A-Za-z0-9_-]+)\$([A-Za-z0-9_-]+)$/.exec(stored.trim());
  if (!m) return false;
  const expected = Buffer.from(m[5]!, 'base64url');
  const N = Number(m[1]);
  const r = Number(m[2]);
  const p = Number(m[3]);
  if (N > 2 ** 20 || r > 32 || p > 16 || expected.length < 16) return false;
  const got = scryptSync(password, Buffer.from(m[4]!, 'base64url'), expected.length, { N, r, p, maxmem: 256 * N * r + 1024 * 1024 });
  return timingSafeEqual(got, expected);
}

const peerAddress = (req: FastifyRequest) => req.socket.remoteAddress ?? '';

function parseCookies(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (header ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0) out[part.slice(0, i).trim()] = decodeURIComponent(part.slice(i + 1).trim());
  }
  return out;
}

const identities = new WeakMap<FastifyRequest, Identity>();

/** The identity `UiAuth.identify` attached to this request, if any. */
export function requestIdentity(req: FastifyRequest): Identity | undefined {
  return identities.get(req);
}

export class UiAuth {
  readonly config: UiAuthConfig;
  private readonly redis: Redis;
  private readonly sessionPrefix: string;
  /** The approvals module's resolver: the UI and the approval pages trust the same proxies and headers. */
  private readonly proxies: IdentityResolver;
  private readonly failures = new Map<string, { count: number; until: number }>();

  constructor(redis: Redis, keys: Keys, config: UiAuthConfig) {
    this.redis = redis;
    this.config = config;
    this.sessionPrefix = `${keys.bullPrefix}:ui:session:`;
    this.proxies = new IdentityResolver(config.trustedProxies, config.identityHeaders);
  }

  get loginEnabled(): boolean {
    return this.config.login !== undefined;
  }

  /** Identities compare case-insensitively, as approvals do. */
  roleOf(name: string, groups: string[]): Role {
    const n = normIdentity(name);
    const a = this.config.approvers;
    if (a.includes('*') || a.some((x) => normIdentity(x) === n)) return 'approver';
    for (const entry of a) {
      if (!entry.startsWith('group:')) continue;
      const g = entry.slice(6);
      if (groups.includes(g) || this.config.groups[g]?.some((m) => normIdentity(m) === n)) return 'approver';
    }
    return 'viewer';
  }

  /** Resolves (and remembers on the request) who is asking: proxy header, session, or anonymous. */
  async identify(req: FastifyRequest): Promise<Identity | undefined> {
    const known = identities.get(req);
    if (known) return known;
    let id: Identity | undefined;
    const proxied = this.proxies.fromProxy(peerAddress(req), req.headers);
    if (proxied) {
      const groups = this.config.groupHeaders.flatMap((g) => String(req.headers[g.toLowerCase()] ?? '').split(',')).map((s) => s.trim()).filter(Boolean);
      id = { name: proxied.person, via: 'proxy-header', role: this.roleOf(proxied.person, groups), groups };
    }
    if (!id) {
      const token = parseCookies(req.headers.cookie)[SESSION_COOKIE];
      if (token && /^[A-Za-z0-9_-]{20,100}$/.test(token)) {
        const raw = await this.redis.get(this.sessionKey(token));
        if (raw) {
          const s = JSON.parse(raw) as { name: string; role: Role };
          id = { name: s.name, via: 'login', role: s.role, groups: [] };
        }
      }
    }
    if (!id && this.config.anonymousRole !== 'none') id = { name: 'anonymous', via: 'anonymous', role: this.config.anonymousRole, groups: [] };
    if (id) identities.set(req, id);
    return id;
  }

  private sessionKey(token: string): string {
    return this.sessionPrefix + createHash('sha256').update(token).digest('hex');
  }

  private secure(req: FastifyRequest): boolean {
    return this.config.secureCookies === 'auto' ? req.protocol === 'https' : this.config.secureCookies;
  }

  private cookie(req: FastifyRequest, value: string, maxAgeS: number): string {
    return `${SESSION_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeS}${this.secure(req) ? '; Secure' : ''}`;
  }

  /**
   * Checks the built-in login. Too many failures from one address in five
   * minutes are refused without checking (`throttled`), slowing password guessing.
   */
  async login(req: FastifyRequest, reply: FastifyReply, user: string, password: string): Promise<'ok' | 'bad' | 'throttled' | 'disabled'> {
    const login = this.config.login;
    if (!login) return 'disabled';
    const ip = peerAddress(req);
    const now = Date.now();
    const f = this.failures.get(ip);
    if (f && f.until > now && f.count >= 5) return 'throttled';
    const ok = user === login.user && verifyPassword(password, login.passwordHash);
    if (!ok) {
      this.failures.set(ip, { count: f && f.until > now ? f.count + 1 : 1, until: now + 5 * 60_000 });
      return 'bad';
    }
    this.failures.delete(ip);
    const token = randomBytes(32).toString('base64url');
    await this.redis.set(this.sessionKey(token), JSON.stringify({ name: login.user, role: login.role, created: new Date().toISOString() }), 'PX', this.config.sessionTtlMs);
    reply.header('set-cookie', this.cookie(req, token, Math.floor(this.config.sessionTtlMs / 1000)));
    return 'ok';
  }

  async logout(req: FastifyRequest, reply: FastifyReply): Promise<void> {
    const token = parseCookies(req.headers.cookie)[SESSION_COOKIE];
    if (token) await this.redis.del(this.sessionKey(token));
    reply.header('set-cookie', this.cookie(req, '', 0));
  }

  /**
   * POSTs from the UI must come from our own pages. Browsers say so in
   * Sec-Fetch-Site; Origin is the fallback, but under our Referrer-Policy
   * (no-referrer) browsers send `Origin: null` even for same-origin forms.
   */
  sameOrigin(req: FastifyRequest): boolean {
    const site = req.headers['sec-fetch-site'];
    if (site !== undefined) return site === 'same-origin';
    const origin = req.headers.origin;
    if (!origin) return true;
    try {
      return new URL(origin).host === req.headers.host;
    } catch {
      return false;
    }
  }
}
