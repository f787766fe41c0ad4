// SPDX-License-Identifier: Apache-2.0
/**
 * The whole test suite: type-check, lint, then every tier of tests with node's
 * test runner against one real redis-server started here (on a free loopback
 * port, in a temporary directory) and stopped at the end.
 *
 *   node scripts/run-tests.ts [--only unit,integration] [extra node --test args]
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbeddedRedis } from '../src/redis/embedded.ts';

const TIERS: Record<string, string> = {
  unit: 'test/unit/**/*.test.ts',
  integration: 'test/integration/**/*.test.ts',
  bpf: 'test/bpf/**/*.test.ts',
  node: 'test/node/**/*.test.ts',
  k8s: 'test/k8s/**/*.test.ts',
  e2e: 'test/e2e/**/*.test.ts',
};

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: 'inherit', env });
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  const onlyIdx = argv.indexOf('--only');
  const only = onlyIdx >= 0 ? argv.splice(onlyIdx, 2)[1]!.split(',') : Object.keys(TIERS);
  const bin = (name: string) => join('node_modules', '.bin', name);

  if (!process.env.RIPOSTE_SKIP_STATIC) {
    process.stdout.write('== type-check (tsc)\n');
    if ((await run(bin('tsc'), ['-p', 'tsconfig.json', '--noEmit'])) !== 0) return 1;
    process.stdout.write('== lint (biome)\n');
    if ((await run(bin('biome'), ['check', '.'])) !== 0) return 1;
  }

  const dir = await mkdtemp(join(tmpdir(), 'riposte-tests-'));
  const redis = await startEmbeddedRedis({ stateDir: dir });
  process.stdout.write(`== tests (redis-server ${redis.url})\n`);
  try {
    const globs = only.map((t) => {
      const g = TIERS[t];
      if (!g) throw new Error(`unknown tier ${t}; tiers: ${Object.keys(TIERS).join(', ')}`);
      return g;
    });
    return await run(process.execPath, ['--test', '--test-concurrency=2', '--test-reporter=spec', ...argv, ...globs], { ...process.env, RIPOSTE_TEST_REDIS_URL: redis.url });
  } finally {
    await redis.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`${(err as Error).stack}\n`);
    process.exit(1);
  },
);
