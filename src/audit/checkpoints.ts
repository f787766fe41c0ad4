// SPDX-License-Identifier: Apache-2.0
/**
 * Signed checkpoints over the audit chain. The hash chain alone proves that
 * records were not edited *unless* someone with write access to Redis rewrote
 * every later hash too; a checkpoint `{seq, hash}` signed with an Ed25519 key
 * that Redis never sees closes that gap: a rewritten chain no longer matches
 * the signed hash. Checkpoints are also the anchors retention trims behind, so
 * a trimmed log still verifies from its first kept record.
 *
 * Stored in a sorted set scored by `seq`; at most one checkpoint per `seq`,
 * so several engine processes checkpointing the same record write it once.
 *
 * @example
 *   const key = await loadOrCreateSigningKey({ stateDir: '/var/lib/riposte' });
 *   const cp = signCheckpoint(key.signer, { seq: 100, hash, time: new Date().toISOString() });
 *   verifyCheckpoint(cp, keyRing([key.publicKeyPem])); // 'ok'
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, sign, verify } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Redis } from 'ioredis';
import { canonicalJson } from '../common/canonical-json.ts';
import type { Keys } from '../redis/keys.ts';
import type { AuditLog } from './log.ts';
import { GENESIS_HASH } from './record.ts';
import { verifyChain } from './verify.ts';

export interface AuditCheckpoint {
  v: 1;
  /** The checkpointed record's sequence number and hash. */
  seq: number;
  hash: string;
  time: string;
  /** First 16 hex digits of sha256(SPKI DER of the public key). */
  keyId: string;
  /** Ed25519 signature (base64) over `checkpointPayload`. */
  signature: string;
}

export interface AuditSigner {
  keyId: string;
  publicKeyPem: string;
  sign(data: Buffer): Buffer;
}

/** The public keys a verifier trusts, by key id. */
export type KeyRing = ReadonlyMap<string, KeyObject>;

/** The default key file `riposte start` generates for single-machine use. */
export const DEFAULT_KEY_FILE = 'audit-signing-key.pem';

/** The exact bytes that are signed: canonical JSON of everything but the signature. */
export function checkpointPayload(c: Omit<AuditCheckpoint, 'signature'>): Buffer {
  return Buffer.from(canonicalJson({ v: c.v, seq: c.seq, hash: c.hash, time: c.time, keyId: c.keyId }));
}

export function keyIdOf(publicKey: KeyObject): string {
  return createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('hex').slice(0, 16);
}

export function signerFromPrivateKey(privateKey: KeyObject): AuditSigner {
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new Error(`audit signing key must be Ed25519, got ${privateKey.asymmetricKeyType}`);
  const pub = createPublicKey(privateKey);
  return {
    keyId: keyIdOf(pub),
    publicKeyPem: pub.export({ type: 'spki', format: 'pem' }).toString(),
    sign: (data) => sign(null, data, privateKey),
  };
}

/** A public key from PEM text; a private key PEM is accepted too (its public half is used). */
export function publicKeyFromPem(pem: string): KeyObject {
  const key = pem.includes('PRIVATE KEY') ? createPublicKey(createPrivateKey(pem)) : createPublicKey(pem);
  if (key.asymmetricKeyType !== 'ed25519') throw new Error(`expected an Ed25519 key, got ${key.asymmetricKeyType}`);
  return key;
}

export function keyRing(pems: Iterable<string>): KeyRing {
  const ring = new Map<string, KeyObject>();
  for (const pem of pems) {
    const k = publicKeyFromPem(pem);
    ring.set(keyIdOf(k), k);
  }
  return ring;
}

/**
 * Loads the Ed25519 signing key from `file`, or (when no file is configured and
 * `generate` allows it) from `<stateDir>/audit-signing-key.pem`, creating it
 * with mode 0600 the first time. Returns undefined when there is no key and
 * generating is not allowed.
 */
export async function loadOrCreateSigningKey(opts: { file?: string; stateDir: string; generate?: boolean }): Promise<{ signer: AuditSigner; file: string; generated: boolean } | undefined> {
  const file = opts.file ?? join(opts.stateDir, DEFAULT_KEY_FILE);
  let pem: string | undefined;
  try {
    pem = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || opts.file) throw new Error(`audit signing key ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  if (pem !== undefined) return { signer: signerFromPrivateKey(createPrivateKey(pem)), file, generated: false };
  if (opts.generate === false) return undefined;
  const { privateKey } = generateKeyPairSync('ed25519');
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  // 'wx': never overwrite a key another process created meanwhile
  try {
    await writeFile(file, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return loadOrCreateSigningKey({ ...opts, generate: false });
    throw err;
  }
  return { signer: signerFromPrivateKey(privateKey), file, generated: true };
}

export function signCheckpoint(signer: AuditSigner, at: { seq: number; hash: string; time: string }): AuditCheckpoint {
  const body = { v: 1 as const, seq: at.seq, hash: at.hash, time: at.time, keyId: signer.keyId };
  return { ...body, signature: signer.sign(checkpointPayload(body)).toString('base64') };
}

/** `ok`, `bad-signature` (signature does not match the content) or `unknown-key` (signed by a key not in the ring). */
export function verifyCheckpoint(c: AuditCheckpoint, ring: KeyRing): 'ok' | 'bad-signature' | 'unknown-key' {
  const key = ring.get(c.keyId);
  if (!key) return 'unknown-key';
  try {
    return verify(null, checkpointPayload(c), key, Buffer.from(String(c.signature), 'base64')) ? 'ok' : 'bad-signature';
  } catch {
    return 'bad-signature';
  }
}

const ADD_LUA = `
if #redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[1], ARGV[1], 'LIMIT', 0, 1) > 0 then return 0 end
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
return 1
`;

/** Checkpoints in Redis, ordered by sequence number. */
export class CheckpointStore {
  private readonly redis: Redis;
  private readonly key: string;
  constructor(redis: Redis, keys: Keys) {
    this.redis = redis;
    this.key = keys.auditCheckpoints;
  }

  /** Adds a checkpoint unless one exists for that seq already; true when added. */
  async add(c: AuditCheckpoint): Promise<boolean> {
    return (await this.redis.eval(ADD_LUA, 1, this.key, String(c.seq), JSON.stringify(c))) === 1;
  }

  async list(fromSeq = 0, toSeq = Number.MAX_SAFE_INTEGER): Promise<AuditCheckpoint[]> {
    const raw = await this.redis.zrangebyscore(this.key, fromSeq, toSeq === Number.MAX_SAFE_INTEGER ? '+inf' : toSeq);
    return raw.flatMap((r) => {
      try {
        return [JSON.parse(r) as AuditCheckpoint];
      } catch {
        return [];
      }
    });
  }

  async latest(): Promise<AuditCheckpoint | undefined> {
    const [raw] = await this.redis.zrevrange(this.key, 0, 0);
    return raw ? (JSON.parse(raw) as AuditCheckpoint) : undefined;
  }
}

export interface CheckpointerOptions {
  log: AuditLog;
  store: CheckpointStore;
  signer: AuditSigner;
  /** Checkpoint every N records... */
  every: number;
  /** ...or this often when fewer records arrived (and at least one did). */
  intervalMs: number;
  now?: () => Date;
  onError?: (err: Error) => void;
}

/**
 * Writes checkpoints: on every N-th record this process appends, and on a timer
 * for the records appended since the last one (so a quiet log, or records
 * appended by a process that died before checkpointing, still get signed).
 * Before signing it re-verifies the links since the previous checkpoint: a key
 * must never vouch for a chain that is already broken.
 */
export class Checkpointer {
  private readonly o: CheckpointerOptions;
  private timer?: NodeJS.Timeout;
  private unsubscribe?: () => void;
  private busy: Promise<unknown> = Promise.resolve();

  constructor(o: CheckpointerOptions) {
    this.o = o;
  }

  start(): void {
    this.unsubscribe = this.o.log.subscribe((rec) => {
      if (rec.seq % this.o.every === 0) void this.enqueue(() => this.checkpointAt(rec.seq));
    });
    this.timer = setInterval(() => void this.enqueue(() => this.tick()), this.o.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    if (this.timer) clearInterval(this.timer);
    await this.busy;
  }

  private enqueue(fn: () => Promise<unknown>): Promise<unknown> {
    this.busy = this.busy.then(fn).catch((err: Error) => this.o.onError?.(err));
    return this.busy;
  }

  /** Checkpoints the head when anything arrived since the last checkpoint. */
  async tick(): Promise<AuditCheckpoint | undefined> {
    const head = await this.o.log.head();
    const last = await this.o.store.latest();
    if (head.seq === 0 || (last && last.seq >= head.seq)) return undefined;
    return this.checkpointAt(head.seq);
  }

  /** Verifies the records since the previous checkpoint and signs record `seq`. */
  async checkpointAt(seq: number): Promise<AuditCheckpoint | undefined> {
    const prev = (await this.o.store.list(0, seq)).at(-1);
    if (prev?.seq === seq) return prev;
    const first = await this.o.log.firstSeq();
    const from = prev && prev.seq >= first - 1 ? prev.seq + 1 : first;
    const records = await this.o.log.rangeBySeq(from, seq);
    const anchor = prev && prev.seq === from - 1 ? { seq: prev.seq, hash: prev.hash } : from === 1 ? { seq: 0, hash: GENESIS_HASH } : undefined;
    if (!anchor) {
      // no checkpoint behind the oldest record (trimmed without one, or a key change): start the links from that record
      const r0 = records[0];
      if (!r0) return undefined;
      const check = verifyChain(records.slice(1), undefined, { seq: r0.seq, hash: r0.hash });
      if (!check.ok) throw new Error(`audit chain broken at seq ${check.problem?.seq} (${check.problem?.kind}); not signing a checkpoint`);
    } else {
      const check = verifyChain(records, undefined, anchor);
      if (!check.ok) throw new Error(`audit chain broken at seq ${check.problem?.seq} (${check.problem?.kind}); not signing a checkpoint`);
    }
    const rec = records.at(-1);
    if (!rec || rec.seq !== seq) return undefined;
    const cp = signCheckpoint(this.o.signer, { seq: rec.seq, hash: rec.hash, time: (this.o.now?.() ?? new Date()).toISOString() });
    await this.o.store.add(cp);
    return cp;
  }
}
