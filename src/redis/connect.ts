// SPDX-License-Identifier: Apache-2.0
/** Redis connections: one for commands, BullMQ makes its own from the same options. */
import { Redis } from 'ioredis';

export interface RedisTarget {
  url: string;
}

export function connectionOptions(url: string): { url: string; maxRetriesPerRequest: null } {
  return { url, maxRetriesPerRequest: null };
}

export function createRedis(url: string, opts: { lazy?: boolean } = {}): Redis {
  return new Redis(url, { maxRetriesPerRequest: 3, lazyConnect: opts.lazy ?? false, enableOfflineQueue: true });
}

/** Pings with a deadline; used by /readyz and start-up checks. */
export async function pingRedis(redis: Redis, timeoutMs = 1000): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const r = await Promise.race([redis.ping(), new Promise<never>((_, rej) => (timer = setTimeout(() => rej(new Error('timeout')), timeoutMs)))]);
    return r === 'PONG';
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}
