// SPDX-License-Identifier: Apache-2.0
/**
 * The audit log's background work in an engine process: signed checkpoints,
 * retention behind them, export to rotating NDJSON files and to stdout. Every
 * piece is safe with several engine processes: checkpoints are written once per
 * seq, trimming is a guarded compare-and-trim, stdout prints only the records
 * this process appended (so across replicas each record is printed once).
 *
 * @example
 *   const m = startAuditMaintenance({ audit, checkpoints, redis, keys, config: config.audit, signer, log });
 *   await m.close();
 */
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import type { Redis } from 'ioredis';
import { parseDuration } from '../common/duration.ts';
import type { Logger } from '../common/log.ts';
import type { RiposteConfig } from '../config/schema.ts';
import type { Keys } from '../redis/keys.ts';
import { type AuditSigner, type CheckpointStore, Checkpointer, keyRing } from './checkpoints.ts';
import { AuditExporter, fileCursor, RotatingNdjsonWriter, toNdjsonLine } from './export.ts';
import type { AuditLog } from './log.ts';
import { applyRetention } from './retention.ts';

export interface AuditMaintenanceOptions {
  audit: AuditLog;
  checkpoints: CheckpointStore;
  redis: Redis;
  keys: Keys;
  config: RiposteConfig['audit'];
  /** Without a signer there are no checkpoints, hence no retention either. */
  signer?: AuditSigner;
  log: Logger;
  now?: () => Date;
  stdout?: Writable;
}

export interface AuditMaintenance {
  checkpointer?: Checkpointer;
  exporter?: AuditExporter;
  /** Runs one retention pass now (also run on the checkpoint interval). */
  retain(): Promise<void>;
  close(): Promise<void>;
}

export function startAuditMaintenance(o: AuditMaintenanceOptions): AuditMaintenance {
  const c = o.config;
  const now = o.now ?? (() => new Date());
  const intervalMs = parseDuration(c.checkpointInterval);
  const stops: (() => Promise<void> | void)[] = [];

  let checkpointer: Checkpointer | undefined;
  if (o.signer) {
    checkpointer = new Checkpointer({ log: o.audit, store: o.checkpoints, signer: o.signer, every: c.checkpointEvery, intervalMs, now, onError: (err) => o.log.error('audit checkpoint failed', { error: err.message }) });
    checkpointer.start();
    stops.push(() => checkpointer!.stop());
  }

  const policy = { ...(c.retention.maxAge ? { maxAgeMs: parseDuration(c.retention.maxAge) } : {}), ...(c.retention.maxRecords ? { maxRecords: c.retention.maxRecords } : {}) };
  const wantsRetention = policy.maxAgeMs !== undefined || policy.maxRecords !== undefined;
  if (wantsRetention && !o.signer) o.log.warn('audit retention is configured but there is no signing key: records are only trimmed behind signed checkpoints, so nothing will be trimmed');
  const ring = o.signer ? keyRing([o.signer.publicKeyPem]) : undefined;
  const retain = async () => {
    if (!wantsRetention || !o.signer) return;
    const r = await applyRetention({ log: o.audit, store: o.checkpoints, redis: o.redis, keys: o.keys, policy, now: now(), ring });
    if (r.removed > 0) o.log.info('audit retention trimmed records', { removed: r.removed, through: r.trimmedThrough });
    else if (r.reason?.startsWith('refusing')) o.log.error('audit retention refused', { reason: r.reason });
  };
  if (wantsRetention && o.signer) {
    const t = setInterval(() => retain().catch((err: Error) => o.log.error('audit retention failed', { error: err.message })), intervalMs);
    t.unref();
    stops.push(() => clearInterval(t));
  }

  let exporter: AuditExporter | undefined;
  if (c.export.dir) {
    const dir = c.export.dir;
    const writer = new RotatingNdjsonWriter({ dir, maxBytes: c.export.maxFileBytes, maxFiles: c.export.maxFiles, now });
    exporter = new AuditExporter({
      log: o.audit,
      write: (r) => writer.write(toNdjsonLine(r)),
      cursor: fileCursor(join(dir, '.cursor')),
      onGap: (from, to) => o.log.warn('audit records were trimmed before they were exported', { from, to, dir }),
      onError: (err) => o.log.error('audit export failed', { error: err.message, dir }),
    });
    exporter.start();
    stops.push(async () => {
      await exporter!.stop();
      await exporter!.drain().catch(() => {});
      writer.close();
    });
  }

  if (c.export.stdout) {
    const out = o.stdout ?? process.stdout;
    stops.push(o.audit.subscribe((r) => out.write(toNdjsonLine(r))));
  }

  return {
    checkpointer,
    exporter,
    retain,
    async close() {
      for (const s of stops.reverse()) await s();
    },
  };
}
