// SPDX-License-Identifier: Apache-2.0
/** `riposte audit list|verify` — read the audit log and check its hash chain. */
import { AuditLog } from '../../audit/log.ts';
import type { AuditRecord } from '../../audit/record.ts';
import { verifyChain } from '../../audit/verify.ts';
import { createRedis } from '../../redis/connect.ts';
import { makeKeys } from '../../redis/keys.ts';
import { clientRedisUrl, configFromFlags, parse } from '../options.ts';

function line(r: AuditRecord): string {
  const who = r.actor ? `${r.actor.name}${r.actor.via ? ` (${r.actor.via})` : ''}` : '?';
  const ids = [r.incidentId && `incident=${r.incidentId.slice(0, 8)}`, r.runId && `run=${r.runId.slice(0, 8)}`, r.stepId && `step=${r.stepId}`].filter(Boolean).join(' ');
  return `${String(r.seq).padStart(6)} ${r.time} ${r.action.padEnd(16)} ${r.outcome.padEnd(8)} ${who.padEnd(14)} ${r.target ?? ''} ${ids}`;
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
  });
  const sub = positionals[0];
  if (sub !== 'list' && sub !== 'verify') {
    process.stderr.write('usage: riposte audit list [--limit N] [--incident ID] [--run ID] [--actor NAME] [--action NAME] [--outcome O] [--since TIME] [--until TIME] [--json]\n       riposte audit verify [--json]\n');
    return 2;
  }
  const loaded = await configFromFlags(values);
  const redis = createRedis(await clientRedisUrl(loaded));
  try {
    const log = new AuditLog(redis, makeKeys(loaded.config.redis.prefix));
    if (sub === 'verify') {
      const result = verifyChain(await log.range(), await log.head());
      if (values.json) process.stdout.write(`${JSON.stringify(result)}\n`);
      else if (result.ok) process.stdout.write(`audit log OK: ${result.checked} records, chain verified up to seq ${result.verifiedUpTo}\n`);
      else process.stdout.write(`audit log BROKEN at seq ${result.problem!.seq} (${result.problem!.kind}): ${result.problem!.message}\nverified up to seq ${result.verifiedUpTo}\n`);
      return result.ok ? 0 : 1;
    }
    const date = (s: string | undefined, name: string) => {
      if (!s) return undefined;
      const d = new Date(s);
      if (Number.isNaN(d.getTime())) throw new Error(`--${name}: expected a time like 2024-05-01T12:00:00Z`);
      return d;
    };
    const records = await log.list({
      limit: values.limit ? Number(values.limit) : undefined,
      incidentId: values.incident,
      runId: values.run,
      actor: values.actor,
      action: values.action,
      outcome: values.outcome,
      since: date(values.since, 'since'),
      until: date(values.until, 'until'),
    });
    for (const r of records) process.stdout.write(values.json ? `${JSON.stringify(r)}\n` : `${line(r)}\n`);
    return 0;
  } finally {
    redis.disconnect();
  }
}
