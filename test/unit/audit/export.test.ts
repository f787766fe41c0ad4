// SPDX-License-Identifier: Apache-2.0
// NDJSON export: rotation by size, pruning by count, cursor resume, filters, stream back-pressure, stdout in maintenance.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { after, before, test } from 'node:test';
import { Redis } from 'ioredis';
import { CheckpointStore } from '../../../src/audit/checkpoints.ts';
import { AuditExporter, fileCursor, RotatingNdjsonWriter, streamWriter, toNdjsonLine } from '../../../src/audit/export.ts';
import { AuditLog } from '../../../src/audit/log.ts';
import { startAuditMaintenance } from '../../../src/audit/maintenance.ts';
import type { AuditRecord } from '../../../src/audit/record.ts';
import { verifyChain } from '../../../src/audit/verify.ts';
import { silentLogger } from '../../../src/common/log.ts';
import { defaults } from '../../../src/config/load.ts';
import { makeKeys } from '../../../src/redis/keys.ts';
import { stopTestRedis, testRedisUrl, uniquePrefix } from '../../helpers/redis.ts';

let redis: Redis;
let dir: string;
before(async () => {
  redis = new Redis(await testRedisUrl());
  dir = await mkdtemp(join(tmpdir(), 'riposte-export-'));
});
after(async () => {
  redis.disconnect();
  await rm(dir, { recursive: true, force: true });
  await stopTestRedis();
});

async function newLog(n: number) {
  const keys = makeKeys(uniquePrefix('ex'));
  const log = new AuditLog(redis, keys);
  for (let i = 1; i <= n; i++) await log.append({ actor: { type: 'system', name: i % 2 ? 'engine' : 'ingest' }, action: i % 3 ? 'step.started' : 'run.finished', outcome: 'info', details: { i } });
  return { keys, log };
}
const readLines = async (d: string, files: string[]) => (await Promise.all(files.map((f) => readFile(join(d, f), 'utf8')))).join('').split('\n').filter(Boolean).map((l) => JSON.parse(l) as AuditRecord);

test('the rotating writer starts a new file at the size limit and keeps the newest files', async () => {
  const d = join(dir, 'rot');
  let t = Date.parse('2024-05-01T00:00:00Z');
  const tick = () => {
    t += 1000;
    return new Date(t);
  };
  const w = new RotatingNdjsonWriter({ dir: d, maxBytes: 100, maxFiles: 3, now: tick });
  for (let i = 0; i < 10; i++) w.write(`${JSON.stringify({ i, pad: 'x'.repeat(30) })}\n`); // ~45 bytes: two lines per file
  w.close();
  const files = w.files();
  assert.equal(files.length, 3);
  assert.deepEqual(files, [...files].sort());
  assert.match(files[0]!, /^audit-20240501T\d{9}Z\.ndjson$/);
  const lines = (await Promise.all(files.map((f) => readFile(join(d, f), 'utf8')))).join('').trim().split('\n');
  assert.deepEqual(lines.map((l) => JSON.parse(l).i), [4, 5, 6, 7, 8, 9], 'the oldest files were pruned, the newest kept whole');
  for (const f of files) assert.ok((await readFile(join(d, f))).length <= 100);
});

test('file names sort in write order even when the clock stands still or steps back', async () => {
  const d = join(dir, 'still');
  const times = [Date.parse('2024-05-01T00:00:00.500Z'), Date.parse('2024-05-01T00:00:00.500Z'), Date.parse('2024-05-01T00:00:00.100Z')];
  let k = 0;
  const w = new RotatingNdjsonWriter({ dir: d, maxBytes: 10, maxFiles: 10, now: () => new Date(times[Math.min(k++, times.length - 1)]!) });
  for (let i = 0; i < 5; i++) w.write(`${JSON.stringify({ i })}\n`); // one line per file
  w.close();
  const files = (await readdir(d)).filter((f) => f.endsWith('.ndjson')).sort();
  assert.equal(files.length, 5);
  assert.deepEqual(files, w.files());
  assert.deepEqual((await readLines(d, files)).map((r) => (r as unknown as { i: number }).i), [0, 1, 2, 3, 4]);
  assert.deepEqual(files.slice(0, 2), ['audit-20240501T000000500Z.ndjson', 'audit-20240501T000000501Z.ndjson']);
});

test('the exporter writes every record once, in order, and resumes from its cursor', async () => {
  const { log } = await newLog(25);
  const d = join(dir, 'resume');
  const cursor = fileCursor(join(d, '.cursor'));
  const w1 = new RotatingNdjsonWriter({ dir: d, maxBytes: 4096 });
  const e1 = new AuditExporter({ log, cursor, write: (r) => w1.write(toNdjsonLine(r)) });
  assert.equal(await e1.drain(), 25);
  w1.close();
  for (let i = 0; i < 5; i++) await log.append({ actor: { type: 'system', name: 'engine' }, action: 'late', outcome: 'info' });
  const w2 = new RotatingNdjsonWriter({ dir: d, maxBytes: 4096 });
  const e2 = new AuditExporter({ log, cursor, write: (r) => w2.write(toNdjsonLine(r)) });
  assert.equal(e2.lastSeq, 25, 'a new exporter picks the cursor up');
  assert.equal(await e2.drain(), 5);
  assert.equal(await e2.drain(), 0);
  w2.close();
  const files = (await readdir(d)).filter((f) => f.endsWith('.ndjson')).sort();
  assert.ok(files.length >= 2, 'rotated by size');
  const records = await readLines(d, files);
  assert.deepEqual(records.map((r) => r.seq), Array.from({ length: 30 }, (_, i) => i + 1));
  assert.equal(verifyChain(records).ok, true, 'exported lines keep their hashes and verify offline');
});

test('filters apply to the export, and a trimmed gap is reported', async () => {
  const { keys, log } = await newLog(12);
  const got: AuditRecord[] = [];
  const gaps: [number, number][] = [];
  await new AuditExporter({ log, filter: { action: 'run.*' }, write: (r) => void got.push(r) }).drain();
  assert.deepEqual(got.map((r) => r.seq), [3, 6, 9, 12]);
  await redis.ltrim(keys.auditList, 5, -1);
  got.length = 0;
  await new AuditExporter({ log, afterSeq: 2, onGap: (a, b) => void gaps.push([a, b]), write: (r) => void got.push(r) }).drain();
  assert.deepEqual(gaps, [[3, 5]]);
  assert.equal(got[0]!.seq, 6);
});

test('the stream writer waits for a slow reader', async () => {
  const chunks: string[] = [];
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const slow = new Writable({
    highWaterMark: 10,
    write(chunk, _enc, cb) {
      chunks.push(String(chunk));
      void gate.then(() => cb());
    },
  });
  const write = streamWriter(slow);
  const rec = { id: 'a', seq: 1, time: 't', prevHash: 'p', hash: 'h', actor: { type: 'system', name: 'x' }, action: 'a', outcome: 'info' } as AuditRecord;
  let done = false;
  const p = write(rec).then(() => (done = true));
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(done, false, 'held until the stream drains');
  release();
  await p;
  assert.equal(chunks.join(''), toNdjsonLine(rec));
});

test('maintenance exports to files and prints this process\'s appends to stdout', async () => {
  const keys = makeKeys(uniquePrefix('mt'));
  const log = new AuditLog(redis, keys);
  const out = new PassThrough();
  let printed = '';
  out.on('data', (d) => (printed += d));
  const config = defaults(process.env).audit;
  const d = join(dir, 'maint');
  config.export = { ...config.export, dir: d, stdout: true };
  const m = startAuditMaintenance({ audit: log, checkpoints: new CheckpointStore(redis, keys), redis, keys, config, log: silentLogger, stdout: out });
  for (let i = 0; i < 3; i++) await log.append({ actor: { type: 'system', name: 'engine' }, action: 'x', outcome: 'info' });
  await m.close();
  assert.deepEqual(printed.trim().split('\n').map((l) => JSON.parse(l).seq), [1, 2, 3]);
  const files = (await readdir(d)).filter((f) => f.endsWith('.ndjson'));
  assert.deepEqual((await readLines(d, files)).map((r) => r.seq), [1, 2, 3]);
  assert.equal((await readFile(join(d, '.cursor'), 'utf8')).trim(), '3');
});
