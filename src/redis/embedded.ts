// SPDX-License-Identifier: Apache-2.0
/**
 * The embedded default: a private redis-server child on a free loopback port,
 * AOF on, data under the state directory, stopped when Riposte exits. Its URL
 * is written to `<stateDir>/redis/url` so CLI commands on the same machine find it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Redis } from 'ioredis';

export interface EmbeddedRedis {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

async function killStale(pidFile: string): Promise<void> {
  let pid: number;
  try {
    pid = Number((await readFile(pidFile, 'utf8')).trim());
  } catch {
    return;
  }
  try {
    const cmd = await readFile(`/proc/${pid}/cmdline`, 'utf8');
    if (cmd.includes('redis-server')) process.kill(pid, 'SIGTERM');
  } catch {
    // not running
  }
}

export async function startEmbeddedRedis(opts: { stateDir: string; binary?: string; log?: (msg: string) => void }): Promise<EmbeddedRedis> {
  const dir = join(opts.stateDir, 'redis');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await killStale(join(dir, 'redis.pid'));
  const binary = opts.binary ?? 'redis-server';
  let lastError = '';
  for (let tries = 0; tries < 5; tries++) {
    const port = await freePort();
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--protected-mode', 'yes', '--dir', dir, '--appendonly', 'yes', '--appendfsync', 'everysec', '--save', '', '--daemonize', 'no', '--pidfile', join(dir, 'redis.pid'), '--logfile', join(dir, 'redis.log')];
    let child: ChildProcess;
    try {
      child = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    } catch (err) {
      throw new Error(embeddedHelp(binary, (err as Error).message));
    }
    const spawnError = await new Promise<string | undefined>((resolve) => {
      child.once('error', (err) => resolve((err as NodeJS.ErrnoException).code === 'ENOENT' ? `${binary} not found` : err.message));
      child.once('spawn', () => resolve(undefined));
    });
    if (spawnError) throw new Error(embeddedHelp(binary, spawnError));
    const url = `redis://127.0.0.1:${port}`;
    const ok = await waitReady(url, child, 10_000);
    if (!ok) {
      child.kill('SIGKILL');
      lastError = await readFile(join(dir, 'redis.log'), 'utf8').then((t) => t.split('\n').slice(-5).join('\n')).catch(() => 'no log');
      continue;
    }
    await writeFile(join(dir, 'url'), `${url}\n`, { mode: 0o600 });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const onExit = () => child.kill('SIGTERM');
    process.once('exit', onExit);
    return {
      url,
      pid: child.pid!,
      async stop() {
        process.off('exit', onExit);
        if (child.exitCode === null) {
          child.kill('SIGTERM');
          const t = setTimeout(() => child.kill('SIGKILL'), 5000);
          await exited;
          clearTimeout(t);
        }
        await rm(join(dir, 'url'), { force: true });
      },
    };
  }
  throw new Error(embeddedHelp(binary, `it did not become ready: ${lastError}`));
}

async function waitReady(url: string, child: ChildProcess, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) return false;
    const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    r.on('error', () => {});
    try {
      await r.connect();
      if ((await r.ping()) === 'PONG') return true;
    } catch {
      // not yet
    } finally {
      r.disconnect();
    }
    await new Promise((res) => setTimeout(res, 50));
  }
  return false;
}

function embeddedHelp(binary: string, why: string): string {
  return `cannot start the embedded Redis ${binary} (${why}). Either install it (apt-get install redis-server) or point Riposte at a Redis server with RIPOSTE_REDIS_URL=redis://host:6379 (or redis.url in riposte.yaml).`;
}

/** The URL of the embedded Redis of a running `riposte start` on this machine, if any. */
export async function embeddedRedisUrl(stateDir: string): Promise<string | undefined> {
  try {
    return (await readFile(join(stateDir, 'redis', 'url'), 'utf8')).trim() || undefined;
  } catch {
    return undefined;
  }
}
