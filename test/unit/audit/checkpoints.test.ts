// SPDX-License-Identifier: Apache-2.0
// Signed checkpoints: sign/verify, bad signatures, a rewritten chain caught by a checkpoint, retention behind checkpoints.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Redis } from 'ioredis';
import { CheckpointStore, Checkpointer, keyRing, loadOrCreateSigningKey, signCheckpoint, signerFromPrivateKey, verifyCheckpoint, type AuditSigner } from '../../../src/audit/checkpoints.ts';
import { AuditLog } from '../../../src/audit/log.ts';
import { hashRecord, type AuditRecord } from '../../../src/audit/record.ts';
import { applyRetention } from '../../../src/audit/retention.ts';
import { verifyAudit, verifyStored } from '../../../src/audit/verify.ts';
import { makeKeys, type Keys } from '../../../src/redis/keys.ts';
import { stopTestRedis, testRedisUrl, uniquePrefix } from '../../helpers/redis.ts';

let redis: Redis;
let dir: string;
const newSigner = (): AuditSigner => signerFromPrivateKey(generateKeyPairSync('ed25519').privateKey);

before(async () => {
  redis = new Redis(await testRedisUrl());
  dir = await mkdtemp(join(tmpdir(), 'riposte-audit-'));
});
after(async () => {
  redis.disconnect();
  await rm(dir, { recursive: true, force: true });
  await stopTestRedis();
});

/** A fresh log with `n` records, its clock advancing one minute per record from `start`. */
async function fixture(n: number, start = Date.parse('2024-05-01T00:00:00Z')) {
  const keys = makeKeys(uniquePrefix('cp'));
  let t = start;
  const tick = () => {
    t += 60_000;
    return new Date(t);
  };
  const log = new AuditLog(redis, keys, { now: tick });
  for (let i = 0; i < n; i++) await log.append({ actor: { type: 'system', name: 'engine' }, action: 'step.started', outcome: 'info', details: { i } });
  return { keys, log, store: new CheckpointStore(redis, keys), clock: () => new Date(t) };
}

const rehash = async (keys: Keys, log: AuditLog, edit: (r: AuditRecord) => void, fromSeq: number) => {
  // an attacker with Redis access edits one record and recomputes every later hash and the head
  const records = (await log.range()) as AuditRecord[];
  let prev = records.find((r) => r.seq === fromSeq - 1)?.hash ?? records[0]!.prevHash;
  for (const [i, r] of records.entries()) {
    if (r.seq < fromSeq) continue;
    if (r.seq === fromSeq) edit(r);
    const { hash: _h, ...body } = r;
    body.prevHash = prev;
    const next = { ...body, hash: hashRecord(body) };
    await redis.lset(keys.auditList, i, JSON.stringify(next));
    prev = next.hash;
  }
  await redis.set(keys.auditHead, JSON.stringify({ seq: records.at(-1)!.seq, hash: prev }));
};

test('a checkpoint signature verifies with its key and fails when anything in it changes', () => {
  const s = newSigner();
  const ring = keyRing([s.publicKeyPem]);
  const cp = signCheckpoint(s, { seq: 7, hash: 'a'.repeat(64), time: '2024-05-01T00:00:00.000Z' });
  assert.equal(verifyCheckpoint(cp, ring), 'ok');
  assert.equal(verifyCheckpoint({ ...cp, seq: 8 }, ring), 'bad-signature');
  assert.equal(verifyCheckpoint({ ...cp, hash: 'b'.repeat(64) }, ring), 'bad-signature');
  assert.equal(verifyCheckpoint({ ...cp, signature: 'garbage' }, ring), 'bad-signature');
  assert.equal(verifyCheckpoint(cp, keyRing([newSigner().publicKeyPem])), 'unknown-key');
});

test('the signing key is generated once in the state dir (0600) and reloaded after', async () => {
  const a = await loadOrCreateSigningKey({ stateDir: dir });
  assert.ok(a?.generated);
  assert.equal((await stat(a.file)).mode & 0o777, 0o600);
  const b = await loadOrCreateSigningKey({ stateDir: dir });
  assert.equal(b?.generated, false);
  assert.equal(b?.signer.keyId, a.signer.keyId);
  assert.equal(await loadOrCreateSigningKey({ stateDir: join(dir, 'none'), generate: false }), undefined);
  await assert.rejects(loadOrCreateSigningKey({ stateDir: dir, file: join(dir, 'missing.pem') }), /missing\.pem: ENOENT/);
  assert.match(await readFile(a.file, 'utf8'), /BEGIN PRIVATE KEY/);
});

test('the checkpointer signs every N records and on its timer, once per seq', async () => {
  const { log, store } = await fixture(0);
  const signer = newSigner();
  const cpr = new Checkpointer({ log, store, signer, every: 5, intervalMs: 3_600_000 });
  cpr.start();
  for (let i = 0; i < 12; i++) await log.append({ actor: { type: 'system', name: 'engine' }, action: 'x', outcome: 'info' });
  await cpr.stop();
  assert.deepEqual((await store.list()).map((c) => c.seq), [5, 10]);
  const t = await cpr.tick();
  assert.equal(t?.seq, 12);
  assert.equal(await cpr.tick(), undefined, 'nothing new since the last checkpoint');
  assert.equal(await store.add(signCheckpoint(signer, { seq: 12, hash: 'x', time: 'y' })), false, 'one checkpoint per seq');
  const r = await verifyStored(log, store, keyRing([signer.publicKeyPem]));
  assert.equal(r.ok, true, JSON.stringify(r.problem));
  assert.equal(r.signedUpTo, 12);
  assert.deepEqual(r.checkpoints, { total: 3, valid: 3, signatures: 'verified', keyIds: [signer.keyId] });
});

test('the checkpointer refuses to sign a chain that is already broken', async () => {
  const { keys, log, store } = await fixture(4);
  const raw = JSON.parse((await redis.lindex(keys.auditList, 1))!);
  await redis.lset(keys.auditList, 1, JSON.stringify({ ...raw, outcome: 'success' }));
  const cpr = new Checkpointer({ log, store, signer: newSigner(), every: 100, intervalMs: 3_600_000 });
  await assert.rejects(cpr.tick(), /broken at seq 2 \(edited\)/);
  assert.equal((await store.list()).length, 0);
});

test('verify reports a forged or altered checkpoint as a bad signature', async () => {
  const { log, store } = await fixture(6);
  const signer = newSigner();
  const cpr = new Checkpointer({ log, store, signer, every: 100, intervalMs: 3_600_000 });
  await cpr.checkpointAt(3);
  const [cp] = await store.list();
  const input = { records: await log.range(), head: await log.head(), ring: keyRing([signer.publicKeyPem]) };
  const altered = verifyAudit({ ...input, checkpoints: [{ ...cp!, time: '2030-01-01T00:00:00.000Z' }] });
  assert.equal(altered.problem?.kind, 'bad-signature');
  assert.equal(altered.problem?.seq, 3);
  assert.equal(altered.verifiedUpTo, 2);
  const forged = verifyAudit({ ...input, checkpoints: [signCheckpoint(newSigner(), { seq: 3, hash: cp!.hash, time: cp!.time })] });
  assert.equal(forged.problem?.kind, 'bad-signature');
  assert.match(forged.problem!.message, /not a trusted audit key/);
  const unchecked = verifyAudit({ ...input, ring: undefined, checkpoints: [cp!] });
  assert.equal(unchecked.ok, true);
  assert.equal(unchecked.checkpoints?.signatures, 'unchecked');
});

test('a chain rewritten with recomputed hashes still verifies link by link, but not against its signed checkpoint', async () => {
  const { keys, log, store } = await fixture(10);
  const signer = newSigner();
  await new Checkpointer({ log, store, signer, every: 100, intervalMs: 3_600_000 }).checkpointAt(8);
  await rehash(keys, log, (r) => Object.assign(r, { outcome: 'success' }), 4);
  const ring = keyRing([signer.publicKeyPem]);
  const withoutCheckpoints = verifyAudit({ records: await log.range(), head: await log.head() });
  assert.equal(withoutCheckpoints.ok, true, 'the hash chain alone cannot see a full rewrite');
  const r = await verifyStored(log, store, ring);
  assert.equal(r.ok, false);
  assert.equal(r.problem?.kind, 'edited');
  assert.equal(r.problem?.seq, 8);
  assert.match(r.problem!.message, /signed checkpoint.*rewritten/);
});

test('retention trims only behind a signed checkpoint, and the trimmed log still verifies', async () => {
  const { keys, log, store, clock } = await fixture(30);
  const signer = newSigner();
  const ring = keyRing([signer.publicKeyPem]);
  const policy = { maxRecords: 10 };
  const none = await applyRetention({ log, store, redis, keys, policy, now: clock(), ring });
  assert.equal(none.removed, 0);
  assert.match(none.reason!, /no signed checkpoint/);

  const cpr = new Checkpointer({ log, store, signer, every: 100, intervalMs: 3_600_000 });
  await cpr.checkpointAt(12);
  await cpr.checkpointAt(25);
  const r = await applyRetention({ log, store, redis, keys, policy, now: clock(), ring });
  assert.deepEqual(r, { removed: 12, trimmedThrough: 12 }, 'seq 20 is the limit, 12 is the nearest checkpoint at or before it');
  assert.equal(await log.firstSeq(), 13);
  assert.deepEqual((await store.list()).map((c) => c.seq), [12, 25], 'the anchor checkpoint is kept');
  const trimmed = (await log.list({ action: 'audit.trimmed' }))[0]!;
  assert.deepEqual({ from: trimmed.details!.fromSeq, through: trimmed.details!.throughSeq }, { from: 1, through: 12 });

  const v = await verifyStored(log, store, ring);
  assert.equal(v.ok, true, JSON.stringify(v.problem));
  assert.equal(v.firstSeq, 13);
  assert.equal(v.verifiedUpTo, 31);
  assert.equal(v.signedUpTo, 25);

  // records after the anchor are still protected: an edit there is found
  const raw = JSON.parse((await redis.lindex(keys.auditList, 2))!);
  await redis.lset(keys.auditList, 2, JSON.stringify({ ...raw, outcome: 'failure' }));
  const e = await verifyStored(log, store, ring);
  assert.equal(e.problem?.kind, 'edited');
  assert.equal(e.problem?.seq, 15);
  const refused = await applyRetention({ log, store, redis, keys, policy: { maxRecords: 1 }, now: clock(), ring });
  assert.equal(refused.removed, 0);
  assert.match(refused.reason!, /refusing to trim: record seq 15/);
});

test('retention by age keeps young records', async () => {
  const { keys, log, store, clock } = await fixture(20);
  const signer = newSigner();
  const cpr = new Checkpointer({ log, store, signer, every: 5, intervalMs: 3_600_000 });
  for (const s of [5, 10, 15, 20]) await cpr.checkpointAt(s);
  // records are one minute apart; the last is at clock(); keep the last 7.5 minutes
  const r = await applyRetention({ log, store, redis, keys, policy: { maxAgeMs: 7.5 * 60_000 }, now: clock() });
  assert.equal(r.trimmedThrough, 10, 'seq 12 is the youngest old record; 10 the nearest checkpoint');
  assert.equal(await log.firstSeq(), 11);
  assert.equal((await verifyStored(log, store, keyRing([signer.publicKeyPem]))).ok, true);
});

test('records deleted from the start without a retention trim are reported as deleted', async () => {
  const { keys, log, store } = await fixture(10);
  const signer = newSigner();
  await new Checkpointer({ log, store, signer, every: 100, intervalMs: 3_600_000 }).checkpointAt(4);
  await redis.ltrim(keys.auditList, 4, -1); // someone removes seq 1..4 right behind the checkpoint
  const r = await verifyStored(log, store, keyRing([signer.publicKeyPem]));
  assert.equal(r.problem?.kind, 'deleted');
  assert.match(r.problem!.message, /no audit\.trimmed record/);
  await redis.ltrim(keys.auditList, 1, -1); // and with no checkpoint behind the new start at all
  const r2 = await verifyStored(log, store, keyRing([signer.publicKeyPem]));
  assert.equal(r2.problem?.kind, 'deleted');
  assert.match(r2.problem!.message, /no valid signed checkpoint at seq 5/);
});

test('a checkpoint past the end of the log means records were cut from the end', async () => {
  const { keys, log, store } = await fixture(6);
  const signer = newSigner();
  await new Checkpointer({ log, store, signer, every: 100, intervalMs: 3_600_000 }).checkpointAt(6);
  await redis.rpop(keys.auditList);
  const last = JSON.parse((await redis.lindex(keys.auditList, -1))!) as AuditRecord;
  await redis.set(keys.auditHead, JSON.stringify({ seq: last.seq, hash: last.hash })); // head moved back too
  const r = await verifyStored(log, store, keyRing([signer.publicKeyPem]));
  assert.equal(r.problem?.kind, 'truncated');
  assert.equal(r.verifiedUpTo, 5);
});
