// SPDX-License-Identifier: Apache-2.0
/**
 * `riposte demo [--approve]` — run in a second terminal while `riposte start`
 * runs (as root). Without --approve it waits for you to decide in the browser
 * or with `riposte approvals approve`; with --approve it approves itself.
 */
import { fileURLToPath } from 'node:url';
import { nodeName } from '../../agent/agent.ts';
import { createRedis } from '../../redis/connect.ts';
import { makeKeys } from '../../redis/keys.ts';
import { cliRunner, runDemo } from '../../demo/demo.ts';
import { clientRedisUrl, configFromFlags, parse } from '../options.ts';

export async function run(argv: string[]): Promise<number> {
  const { values } = parse(argv, { approve: { type: 'boolean' }, url: { type: 'string' }, timeout: { type: 'string' }, 'pool-port': { type: 'string' } });
  if (process.getuid?.() !== 0) {
    process.stderr.write('riposte demo creates a sandbox container (cgroups, mounts, namespaces): run it as root\n');
    return 2;
  }
  const loaded = await configFromFlags(values);
  const { config } = loaded;
  const baseUrl = values.url ?? config.server.publicUrl ?? `http://${config.server.host === '0.0.0.0' ? '127.0.0.1' : config.server.host}:${config.server.port}`;
  const redis = createRedis(await clientRedisUrl(loaded));
  const passThrough = [...(values.config ? ['--config', values.config] : []), ...(values['state-dir'] ? ['--state-dir', values['state-dir']] : [])];
  try {
    const r = await runDemo({
      baseUrl,
      redis,
      keys: makeKeys(config.redis.prefix),
      node: nodeName(),
      approve: values.approve ? 'cli' : 'wait',
      cli: cliRunner(fileURLToPath(new URL('../main.ts', import.meta.url)), passThrough),
      out: (l) => process.stdout.write(`${l}\n`),
      timeoutMs: values.timeout ? Number(values.timeout) * 1000 : values.approve ? 180_000 : 1_800_000,
      miningPort: values['pool-port'] ? Number(values['pool-port']) : undefined,
    });
    if (values.json) process.stdout.write(`${JSON.stringify(r)}\n`);
    return r.contained && r.auditOk ? 0 : 1;
  } catch (err) {
    process.stderr.write(`riposte demo: ${(err as Error).message}\n`);
    return 1;
  } finally {
    redis.disconnect();
  }
}
