// SPDX-License-Identifier: Apache-2.0
/**
 * Verifies the hash chain and names the first bad record and why:
 * edited (its hash does not match its content, or it no longer matches a signed
 * checkpoint), deleted (a sequence gap, or records gone from the start without
 * a retention trim behind a signed checkpoint), reordered (a sequence going
 * backwards), truncated (the head or a checkpoint is ahead of the list) or
 * bad signature (a checkpoint whose Ed25519 signature does not verify).
 */
import type { AuditCheckpoint, CheckpointStore, KeyRing } from './checkpoints.ts';
import { verifyCheckpoint } from './checkpoints.ts';
import type { AuditHead, AuditLog } from './log.ts';
import { GENESIS_HASH, hashRecord, type AuditRecord } from './record.ts';

export type VerifyProblem = 'edited' | 'deleted' | 'reordered' | 'truncated' | 'unparseable' | 'bad-signature';

export interface VerifyResult {
  ok: boolean;
  /** Records checked, and the last sequence number verified good. */
  checked: number;
  verifiedUpTo: number;
  /** Oldest stored record (records before it were trimmed by retention). */
  firstSeq?: number;
  /** Highest sequence number covered by a checkpoint whose signature verified. */
  signedUpTo?: number;
  checkpoints?: { total: number; valid: number; signatures: 'verified' | 'unchecked'; keyIds: string[] };
  problem?: { kind: VerifyProblem; seq: number; index: number; message: string };
}

/** What a problem kind is called in messages ("bad signature", not "bad-signature"). */
export const problemLabel = (k: VerifyProblem) => k.replace('-', ' ');

/**
 * Checks the links of `records`. `anchor` is the (seq, hash) the first record
 * must follow (genesis by default); `signed` maps sequence numbers to the hash
 * a valid checkpoint vouches for.
 */
export function verifyChain(records: readonly unknown[], head?: AuditHead, anchor: { seq: number; hash: string } = { seq: 0, hash: GENESIS_HASH }, signed?: ReadonlyMap<number, string>): VerifyResult {
  let prevHash = anchor.hash;
  let expectSeq = anchor.seq + 1;
  let verifiedUpTo = anchor.seq;
  let lastSigned = anchor.seq;
  for (let i = 0; i < records.length; i++) {
    const r = records[i] as AuditRecord & { unparseable?: string };
    const fail = (kind: VerifyProblem, message: string): VerifyResult => ({ ok: false, checked: i, verifiedUpTo, problem: { kind, seq: typeof r.seq === 'number' ? r.seq : expectSeq, index: i, message } });
    if (r.unparseable !== undefined || typeof r.seq !== 'number' || typeof r.hash !== 'string') return fail('unparseable', `record at position ${i + 1} is not a valid audit record`);
    if (r.seq < expectSeq) return fail('reordered', `record seq ${r.seq} appears after seq ${expectSeq - 1}`);
    if (r.seq > expectSeq) {
      const missing = r.seq - expectSeq;
      return fail('deleted', `${missing} record(s) missing before seq ${r.seq} (expected seq ${expectSeq})`);
    }
    const { hash, ...body } = r;
    if (hashRecord(body) !== hash) return fail('edited', `record seq ${r.seq} was modified: its content no longer matches its hash`);
    if (r.prevHash !== prevHash) return fail('edited', `record seq ${r.seq} does not link to the previous record's hash`);
    const vouched = signed?.get(r.seq);
    if (vouched !== undefined && vouched !== hash) return fail('edited', `record seq ${r.seq} differs from the signed checkpoint at seq ${r.seq}: the chain was rewritten somewhere in seq ${lastSigned + 1}..${r.seq}`);
    if (vouched !== undefined) lastSigned = r.seq;
    prevHash = hash;
    verifiedUpTo = r.seq;
    expectSeq++;
  }
  if (head && head.seq !== verifiedUpTo) {
    if (head.seq > verifiedUpTo) return { ok: false, checked: records.length, verifiedUpTo, problem: { kind: 'truncated', seq: verifiedUpTo + 1, index: records.length, message: `the log ends at seq ${verifiedUpTo} but its head says ${head.seq}: records were deleted from the end` } };
  }
  if (head && head.seq === verifiedUpTo && head.hash !== prevHash) {
    return { ok: false, checked: records.length, verifiedUpTo, problem: { kind: 'edited', seq: verifiedUpTo, index: records.length - 1, message: `the last record does not match the head hash` } };
  }
  return { ok: true, checked: records.length, verifiedUpTo };
}

export interface VerifyAuditInput {
  records: readonly unknown[];
  head?: AuditHead;
  checkpoints?: readonly AuditCheckpoint[];
  /** Trusted public keys; without them signatures are reported as unchecked. */
  ring?: KeyRing;
}

/**
 * Full verification: checkpoint signatures, the anchor of a trimmed log, the
 * chain, and every record a checkpoint vouches for. Reports the problem with
 * the lowest sequence number.
 */
export function verifyAudit(input: VerifyAuditInput): VerifyResult {
  const { records, head, ring } = input;
  const cps = [...(input.checkpoints ?? [])].sort((a, b) => a.seq - b.seq);
  const valid = new Map<number, AuditCheckpoint>();
  let badSig: { seq: number; message: string } | undefined;
  for (const cp of cps) {
    const v = ring ? verifyCheckpoint(cp, ring) : 'ok';
    if (v === 'ok') valid.set(cp.seq, cp);
    else badSig ??= { seq: cp.seq, message: v === 'unknown-key' ? `checkpoint at seq ${cp.seq} is signed by key ${cp.keyId}, which is not a trusted audit key` : `checkpoint at seq ${cp.seq} has a bad signature (key ${cp.keyId}): it was forged or altered` };
  }
  const summary = { total: cps.length, valid: valid.size, signatures: ring ? ('verified' as const) : ('unchecked' as const), keyIds: [...new Set(cps.map((c) => c.keyId))] };

  const first = records[0] as Partial<AuditRecord> | undefined;
  const firstSeq = typeof first?.seq === 'number' ? first.seq : head && head.seq > 0 && records.length === 0 ? head.seq + 1 : 1;
  let anchor = { seq: 0, hash: GENESIS_HASH };
  let result: VerifyResult | undefined;
  if (firstSeq > 1) {
    const cp = valid.get(firstSeq - 1);
    const trimmed = records.some((r) => {
      const rec = r as Partial<AuditRecord>;
      return rec.action === 'audit.trimmed' && Number((rec.details as { throughSeq?: unknown } | undefined)?.throughSeq) >= firstSeq - 1;
    });
    if (!cp) result = { ok: false, checked: 0, verifiedUpTo: 0, problem: { kind: 'deleted', seq: 1, index: 0, message: `records 1..${firstSeq - 1} are missing and no valid signed checkpoint at seq ${firstSeq - 1} anchors seq ${firstSeq}` } };
    else if (!trimmed) result = { ok: false, checked: 0, verifiedUpTo: 0, problem: { kind: 'deleted', seq: 1, index: 0, message: `records 1..${firstSeq - 1} were removed, but no audit.trimmed record says retention removed them` } };
    else anchor = { seq: cp.seq, hash: cp.hash };
  }
  result ??= verifyChain(records, head, anchor, new Map([...valid].map(([s, c]) => [s, c.hash])));
  if (result.ok) {
    const beyond = [...valid.values()].find((c) => c.seq > result!.verifiedUpTo);
    if (beyond) result = { ok: false, checked: result.checked, verifiedUpTo: result.verifiedUpTo, problem: { kind: 'truncated', seq: result.verifiedUpTo + 1, index: records.length, message: `a signed checkpoint vouches for seq ${beyond.seq} but the log ends at seq ${result.verifiedUpTo}: records were deleted from the end` } };
  }
  if (badSig && (result.ok || badSig.seq <= result.problem!.seq)) {
    const upTo = Math.min(result.verifiedUpTo, badSig.seq - 1);
    result = { ok: false, checked: result.checked, verifiedUpTo: upTo, problem: { kind: 'bad-signature', seq: badSig.seq, index: Math.max(0, badSig.seq - firstSeq), message: badSig.message } };
  }
  let signedUpTo = 0;
  for (const s of valid.keys()) if (s <= result.verifiedUpTo && s >= firstSeq - 1) signedUpTo = Math.max(signedUpTo, s);
  return { ...result, firstSeq, signedUpTo, checkpoints: summary };
}

/**
 * Reads and verifies the stored log. Checkpoints are read first, then the head,
 * then the records, so appends racing the read only ever make the list longer
 * than what the head and checkpoints describe (never a false "truncated").
 */
export async function verifyStored(log: AuditLog, checkpoints: CheckpointStore, ring?: KeyRing): Promise<VerifyResult> {
  const cps = await checkpoints.list();
  const head = await log.head();
  const records = await log.range();
  return verifyAudit({ records, head, checkpoints: cps, ring });
}
