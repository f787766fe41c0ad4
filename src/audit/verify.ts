// SPDX-License-Identifier: Apache-2.0
/**
 * Verifies the hash chain and names the first bad record and why:
 * edited (its hash does not match its content), deleted (a sequence gap),
 * reordered (a sequence going backwards) or truncated (the head is ahead of the list).
 */
import { GENESIS_HASH, hashRecord, type AuditRecord } from './record.ts';
import type { AuditHead } from './log.ts';

export type VerifyProblem = 'edited' | 'deleted' | 'reordered' | 'truncated' | 'unparseable';

export interface VerifyResult {
  ok: boolean;
  /** Records checked, and the last sequence number verified good. */
  checked: number;
  verifiedUpTo: number;
  problem?: { kind: VerifyProblem; seq: number; index: number; message: string };
}

export function verifyChain(records: readonly unknown[], head?: AuditHead): VerifyResult {
  let prevHash = GENESIS_HASH;
  let expectSeq = 1;
  let verifiedUpTo = 0;
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
