// SPDX-License-Identifier: Apache-2.0
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GENESIS_HASH, hashRecord, type AuditRecord } from '../../../src/audit/record.ts';
import { verifyChain } from '../../../src/audit/verify.ts';

function chain(n: number): AuditRecord[] {
  const out: AuditRecord[] = [];
  let prev = GENESIS_HASH;
  for (let i = 1; i <= n; i++) {
    const body = { id: `id-${i}`, seq: i, time: new Date(i * 1000).toISOString(), prevHash: prev, actor: { type: 'system' as const, name: 'engine' }, action: 'step.started', outcome: 'info' as const, details: { i } };
    const rec = { ...body, hash: hashRecord(body) };
    out.push(rec);
    prev = rec.hash;
  }
  return out;
}
const head = (c: AuditRecord[]) => ({ seq: c.at(-1)!.seq, hash: c.at(-1)!.hash });

test('an untouched chain verifies', () => {
  const c = chain(10);
  assert.deepEqual(verifyChain(c, head(c)), { ok: true, checked: 10, verifiedUpTo: 10 });
  assert.deepEqual(verifyChain([], { seq: 0, hash: GENESIS_HASH }), { ok: true, checked: 0, verifiedUpTo: 0 });
});

test('an edited record is found, with the records before it still verified', () => {
  const c = chain(10);
  c[4] = { ...c[4]!, outcome: 'success' };
  const r = verifyChain(c, head(c));
  assert.equal(r.ok, false);
  assert.deepEqual([r.problem?.kind, r.problem?.seq, r.verifiedUpTo], ['edited', 5, 4]);
});

test('an edited record whose hash was recomputed breaks the next link', () => {
  const c = chain(10);
  const { hash: _h, ...body } = { ...c[4]!, details: { i: 99 } };
  c[4] = { ...body, hash: hashRecord(body) };
  const r = verifyChain(c, head(c));
  assert.deepEqual([r.problem?.kind, r.problem?.seq], ['edited', 6]);
});

test('a deleted record, reordered records and a truncated tail are each named', () => {
  const del = chain(10);
  del.splice(3, 1);
  assert.deepEqual([verifyChain(del, head(del)).problem?.kind, verifyChain(del).problem?.seq], ['deleted', 5]);
  const re = chain(10);
  [re[6], re[7]] = [re[7]!, re[6]!];
  assert.equal(verifyChain(re).problem?.kind, 'deleted', 'seq 8 where 7 was expected');
  const re2 = chain(10);
  re2.splice(8, 0, re2[2]!);
  assert.equal(verifyChain(re2).problem?.kind, 'reordered');
  const full = chain(10);
  const cut = full.slice(0, 8);
  assert.deepEqual([verifyChain(cut, head(full)).problem?.kind, verifyChain(cut, head(full)).verifiedUpTo], ['truncated', 8]);
  assert.equal(verifyChain([...cut.slice(0, 7), { unparseable: 'garbage' } as never], head(full)).problem?.kind, 'unparseable');
});
