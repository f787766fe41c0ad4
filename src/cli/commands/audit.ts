// SPDX-License-Identifier: Apache-2.0
/**
 * `riposte audit list|show|verify|export` — read, check and export the audit log
 * straight from Redis (no running engine needed, so an auditor can verify a
 * copy of the data). `verify` checks checkpoint signatures against a public key
 * the verifier trusts, never one read from Redis.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_KEY_FILE, keyRing, type KeyRing } from '../../audit/checkpoints.ts';
import { AuditExporter, fileCursor, RotatingNdjsonWriter, streamWriter, toNdjsonLine } from '../../audit/export.ts';
import { type AuditFilter, AuditLog } from '../../audit/log.ts';
import { hashRecord, type AuditRecord } from '../../audit/record.ts';
import { problemLabel, verifyStored } from '../../audit/verify.ts';
import { CheckpointStore } from '../../audit/checkpoints.ts';
import { OUTCOMES, parseTime } from '../../audit/filter.ts';
import { ErrorCodes, RiposteError } from '../../common/errors.ts';
import type { LoadedConfig } from '../../config/load.ts';
import { createRedis } from '../../redis/connect.ts';
import { makeKeys } from '../../redis/keys.ts';
import { clientRedisUrl, configFromFlags, parse } from '../options.ts';

const USAGE = `usage: riposte audit list   [FILTERS] [--limit N] [--json]
       riposte audit show   ID|SEQ [--json]
       riposte audit verify [--public-key FILE]... [--json]
       riposte audit export [FILTERS] [--out DIR [--max-bytes N] [--max-files N]] [--after-seq N] [--follow]

FILTERS: --since TIME --until TIME (ISO time, or a duration ago like 2h) --incident ID --run ID
         --actor NAME --action NAME (prefix* allowed) --outcome success|failure|info|refused|skipped --search TEXT
export writes NDJSON to stdout unless --out is given (rotating files, resumes from DIR/.cursor).
verify checks checkpoint signatures with --public-key (PEM, public or private), else audit.signingKeyFile,
else <stateDir>/${DEFAULT_KEY_FILE} when present.
`;

function line(r: AuditRecord): string {
  const who = r.actor ? `${r.actor.name}${r.actor.via ? ` (${r.actor.via})` : ''}` : '?';
  const ids = [r.incidentId && `incident=${r.incidentId.slice(0, 8)}`, r.runId && `run=${r.runId.slice(0, 8)}`, r.stepId && `step=${r.stepId}`].filter(Boolean).join(' ');
  return `${String(r.seq).padStart(6)} ${r.time} ${r.action.padEnd(16)} ${r.outcome.padEnd(8)} ${who.padEnd(14)} ${r.target ?? ''} ${ids}`;
}

/** A time flag: an ISO time, or a duration meaning "that long ago". */
function parseTimeFlag(s: string | undefined, name: string): Date | undefined {
  try {
    return parseTime(s, `--${name}`);
  } catch (err) {
    throw new RiposteError(ErrorCodes.CONFIG_INVALID, (err as Error).message);
  }
}

function intFlag(s: string | undefined, name: string): number | undefined {
  if (s === undefined) return undefined;
  const n = Number(s);
  if (!Number.isInteger(n) || n < 0) throw new RiposteError(ErrorCodes.CONFIG_INVALID, `--${name}: expected a whole number, got "${s}"`);
  return n;
}

/** Public keys to verify with: flags, else the configured key file, else the state dir's generated key. */
async function trustedKeys(files: string[], loaded: LoadedConfig): Promise<{ ring?: KeyRing; from: string[] }> {
  const candidates = files.length ? files : [loaded.config.audit.signingKeyFile ?? join(loaded.config.stateDir, DEFAULT_KEY_FILE)].filter((f) => files.length || existsSync(f));
  if (!candidates.length) return { from: [] };
  const pems: string[] = [];
  for (const f of candidates) {
    try {
      pems.push(await readFile(f, 'utf8'));
    } catch (err) {
      throw new RiposteError(ErrorCodes.CONFIG_INVALID, `public key ${f}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
  }
  try {
    return { ring: keyRing(pems), from: candidates };
  } catch (err) {
    throw new RiposteError(ErrorCodes.CONFIG_INVALID, `public key: ${(err as Error).message}`);
  }
}

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    limit: { type: 'string' },
    incident: { type: 'string' },
    run: { type: 'string' },
    actor: { type: 'string' },
    action: { type: 'string' },
    outcome: { type: 'string' },
    since: { type: 'string' },
    until: { type: 'string' },
    search: { type: 'string' },
    'public-key': { type: 'string', multiple: true },
    out: { type: 'string' },
    'max-bytes': { type: 'string' },
    'max-files': { type: 'string' },
    'after-seq': { type: 'string' },
    follow: { type: 'boolean' },
  });
  const sub = positionals[0];
  if (values.help || !sub || !['list', 'show', 'verify', 'export'].includes(sub)) {
    (values.help ? process.stdout : process.stderr).write(USAGE);
    return values.help ? 0 : 2;
  }
  if (sub === 'show' && !positionals[1]) {
    process.stderr.write(`riposte audit show: which record? give its id or sequence number\n\n${USAGE}`);
    return 2;
  }
  if (values.outcome && !(OUTCOMES as readonly string[]).includes(values.outcome)) throw new RiposteError(ErrorCodes.CONFIG_INVALID, `--outcome: expected one of ${OUTCOMES.join(', ')}, got "${values.outcome}"`);
  const filter: AuditFilter = {
    limit: intFlag(values.limit, 'limit'),
    incidentId: values.incident,
    runId: values.run,
    actor: values.actor,
    action: values.action,
    outcome: values.outcome,
    q: values.search,
    since: parseTimeFlag(values.since, 'since'),
    until: parseTimeFlag(values.until, 'until'),
  };
  const loaded = await configFromFlags(values);
  const redis = createRedis(await clientRedisUrl(loaded));
  try {
    const keys = makeKeys(loaded.config.redis.prefix);
    const log = new AuditLog(redis, keys);
    switch (sub) {
      case 'verify':
        return await verify(log, new CheckpointStore(redis, keys), await trustedKeys(values['public-key'] ?? [], loaded), values.json === true);
      case 'show': {
        const r = await log.get(positionals[1]!);
        if (!r) {
          process.stderr.write(`riposte audit show: no record ${positionals[1]}\n`);
          return 1;
        }
        if (values.json) process.stdout.write(`${JSON.stringify(r)}\n`);
        else {
          const { hash, ...body } = r;
          process.stdout.write(`${JSON.stringify(r, null, 2)}\n${hashRecord(body) === hash ? 'hash matches the content' : 'HASH MISMATCH: this record was edited'} (run "riposte audit verify" to check the whole chain)\n`);
        }
        return 0;
      }
      case 'export':
        return await exportRecords(log, filter, values);
      default: {
        for (const r of await log.list(filter)) process.stdout.write(values.json ? toNdjsonLine(r) : `${line(r)}\n`);
        return 0;
      }
    }
  } finally {
    redis.disconnect();
  }
}

async function verify(log: AuditLog, store: CheckpointStore, keys: { ring?: KeyRing; from: string[] }, json: boolean): Promise<number> {
  const r = await verifyStored(log, store, keys.ring);
  if (json) {
    process.stdout.write(`${JSON.stringify(r)}\n`);
    return r.ok ? 0 : 1;
  }
  const cps = r.checkpoints!;
  const span = r.firstSeq && r.firstSeq > 1 ? ` (seq ${r.firstSeq}.., older records trimmed behind a signed checkpoint)` : '';
  const sigs = cps.total === 0 ? 'no signed checkpoints yet' : cps.signatures === 'verified' ? `${cps.valid}/${cps.total} checkpoint signatures verified (key ${keys.from.join(', ')}), signed up to seq ${r.signedUpTo}` : `${cps.total} checkpoints, signatures NOT checked: no public key (pass --public-key FILE or set audit.signingKeyFile)`;
  if (r.ok) process.stdout.write(`audit log OK: ${r.checked} records${span}, chain verified up to seq ${r.verifiedUpTo}; ${sigs}\n`);
  else process.stdout.write(`audit log BROKEN at seq ${r.problem!.seq} (${problemLabel(r.problem!.kind)}): ${r.problem!.message}\nverified up to seq ${r.verifiedUpTo}; ${sigs}\n`);
  return r.ok ? 0 : 1;
}

async function exportRecords(log: AuditLog, filter: AuditFilter, v: { out?: string; 'max-bytes'?: string; 'max-files'?: string; 'after-seq'?: string; follow?: boolean }): Promise<number> {
  const { limit: _limit, ...f } = filter;
  const afterSeq = intFlag(v['after-seq'], 'after-seq');
  let writer: RotatingNdjsonWriter | undefined;
  let exporter: AuditExporter;
  if (v.out) {
    const w = new RotatingNdjsonWriter({ dir: v.out, maxBytes: intFlag(v['max-bytes'], 'max-bytes'), maxFiles: intFlag(v['max-files'], 'max-files') });
    writer = w;
    exporter = new AuditExporter({ log, filter: f, afterSeq, cursor: fileCursor(join(v.out, '.cursor')), write: (r) => w.write(toNdjsonLine(r)), onGap: (a, b) => process.stderr.write(`warning: records ${a}..${b} were trimmed before they were exported\n`) });
  } else {
    exporter = new AuditExporter({ log, filter: f, afterSeq, write: streamWriter(process.stdout) });
  }
  let total = await exporter.drain();
  if (v.follow) {
    let stop = false;
    const onSignal = () => {
      stop = true;
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    while (!stop) {
      await new Promise((r) => setTimeout(r, 500));
      total += await exporter.drain();
    }
  }
  writer?.close();
  if (v.out) process.stderr.write(`exported ${total} records to ${v.out} (through seq ${exporter.lastSeq})\n`);
  return 0;
}
