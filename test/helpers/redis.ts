// SPDX-License-Identifier: Apache-2.0
/**
 * A real Redis for tests. The test command starts one redis-server and passes
 * RIPOSTE_TEST_REDIS_URL; a test file run on its own starts a private one.
 * Each test gets its own key prefix, so tests never see each other's data.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { startEmbeddedRedis, type EmbeddedRedis } from '../../src/redis/embedded.ts';

let shared: Promise<{ url: string; stop(): Promise<void> }> | undefined;

export async function testRedisUrl(): Promise<string> {
  if (process.env.RIPOSTE_TEST_REDIS_URL) return process.env.RIPOSTE_TEST_REDIS_URL;
  shared ??= (async () => {
    const dir = await mkdtemp(join(tmpdir(), 'riposte-test-redis-'));
    const r: EmbeddedRedis = await startEmbeddedRedis({ stateDir: dir });
    return {
      url: r.url,
      async stop() {
        await r.stop();
        await rm(dir, { recursive: true, force: true });
      },
    };
  })();
  return (await shared).url;
}

/** Stops the private Redis (if this file started one). Call in an `after` hook. */
export async function stopTestRedis(): Promise<void> {
  if (shared) {
    const s = await shared;
    shared = undefined;
    await s.stop();
  }
}

export function uniquePrefix(name = 't'): string {
  return `${name}-${randomBytes(6).toString('hex')}`;
}
