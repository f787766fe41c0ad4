// SPDX-License-Identifier: Apache-2.0
/**
 * `riposte pause` / `riposte resume` — the kill switch. While paused, new runs
 * are held (persisted and counted, started in order on resume) and runs in
 * flight start no new step. Both commands say how many runs wait. Audited
 * with the OS user.
 */
import { userInfo } from 'node:os';
import { AuditLog } from '../../audit/log.ts';
import { admissionStatus, setPaused } from '../../engine/admission.ts';
import { createRedis } from '../../redis/connect.ts';
import { makeKeys } from '../../redis/keys.ts';
import { clientRedisUrl, configFromFlags, parse } from '../options.ts';

const plural = (n: number) => `${n} run${n === 1 ? '' : 's'}`;

function breakdown(by: Record<string, number>): string {
  const e = Object.entries(by);
  return e.length ? ` (${e.map(([p, n]) => `${p}: ${n}`).join(', ')})` : '';
}

async function toggle(argv: string[], pause: boolean): Promise<number> {
  const { values } = parse(argv, { reason: { type: 'string' }, status: { type: 'boolean' } });
  if (values.help) {
    process.stdout.write(pause ? 'usage: riposte pause [--reason TEXT] [--status] [--json]\n' : 'usage: riposte resume [--json]\n');
    return 0;
  }
  const loaded = await configFromFlags(values);
  const redis = createRedis(await clientRedisUrl(loaded));
  const keys = makeKeys(loaded.config.redis.prefix);
  try {
    const before = await admissionStatus(redis, keys);
    const osUser = userInfo().username;
    if (!values.status && before.paused !== pause) {
      await setPaused(redis, keys, pause, osUser, values.reason);
      await new AuditLog(redis, keys).append({
        actor: { type: 'person', name: osUser, via: 'cli-os-user' },
        action: pause ? 'engine.paused' : 'engine.resumed',
        target: 'automation',
        outcome: 'success',
        details: { held: before.held, ...(values.reason ? { reason: values.reason } : {}) },
      });
    }
    const now = await admissionStatus(redis, keys);
    if (values.json) {
      process.stdout.write(`${JSON.stringify(now)}\n`);
      return 0;
    }
    if (values.status || (pause && before.paused)) {
      process.stdout.write(now.paused ? `paused${now.pausedBy ? ` by ${now.pausedBy}` : ''}${now.pausedAt ? ` at ${now.pausedAt}` : ''}${now.reason ? ` (${now.reason})` : ''}: ${plural(now.held)} waiting${breakdown(now.byPlaybook)}\n` : `running: ${plural(now.held)} waiting${breakdown(now.byPlaybook)}\n`);
    } else if (pause) {
      process.stdout.write(`paused: new runs are held and runs in flight start no new step; ${plural(now.held)} waiting${breakdown(now.byPlaybook)}. Resume with "riposte resume".\n`);
    } else if (!before.paused) {
      process.stdout.write(`not paused; ${plural(now.held)} waiting${breakdown(now.byPlaybook)} (for concurrency or rate limits)\n`);
    } else {
      process.stdout.write(`resumed: ${plural(before.held)} held will start now${breakdown(before.byPlaybook)}\n`);
    }
    return 0;
  } finally {
    redis.disconnect();
  }
}

export const runPause = (argv: string[]) => toggle(argv, true);
export const runResume = (argv: string[]) => toggle(argv, false);
