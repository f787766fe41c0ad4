// SPDX-License-Identifier: Apache-2.0
/**
 * `riposte agent` — the per-node role (DaemonSet): takes this node's node-local
 * steps from its queue and runs them. Needs RIPOSTE_REDIS_URL; the node name is
 * RIPOSTE_NODE_NAME (or NODE_NAME from the downward API, or the hostname).
 */
import { defaultRegistry } from '../../actions/index.ts';
import { parseDuration } from '../../common/duration.ts';
import { startAgent } from '../../agent/agent.ts';
import { createLogger } from '../../common/log.ts';
import { pingRedis } from '../../redis/connect.ts';
import { openRuntime } from '../../runtime.ts';
import { configFromFlags, parse } from '../options.ts';

export async function run(argv: string[]): Promise<number> {
  const { values } = parse(argv, { node: { type: 'string' }, 'no-sensor': { type: 'boolean' } });
  const { config } = await configFromFlags(values);
  const log = createLogger({ level: config.log.level, base: { role: 'agent' } });
  if (!config.redis.url) {
    log.error('riposte agent needs a Redis: set RIPOSTE_REDIS_URL (or redis.url); "riposte start" runs the agent together with the engine');
    return 2;
  }
  const runtime = openRuntime(config, config.redis.url);
  if (!(await pingRedis(runtime.redis, 3000))) {
    log.error('cannot reach Redis: check RIPOSTE_REDIS_URL');
    await runtime.close();
    return 1;
  }
  const agent = await startAgent({ runtime, registry: defaultRegistry(), log, node: values.node, kubernetes: config.kubernetes, nodeActions: { stateDir: config.stateDir }, ...(values['no-sensor'] ? {} : { detection: { rulesPaths: config.rules.paths, required: true, matching: config.rules.matching, throttle: { windowMs: parseDuration(config.rules.throttleWindow), burst: config.rules.throttleBurst } } }) });
  process.stdout.write(`riposte agent: node ${agent.node} ready${agent.detection ? ` (sensor on, ${agent.detection.ruleset.rules.length} rules)` : ' (sensor off)'}\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await agent.close();
  await runtime.close();
  return 0;
}
