// SPDX-License-Identifier: Apache-2.0
/**
 * `riposte start` — engine and HTTP in one process; with no Redis URL it runs a
 * private redis-server. `riposte engine` — the same against a configured Redis
 * (the Deployment role; run as many as you like).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { defaultRegistry } from '../../actions/index.ts';
import { startApprovals } from '../../approvals/wiring.ts';
import { parseDuration } from '../../common/duration.ts';
import { formatDiagnostic } from '../../common/errors.ts';
import { createLogger, type Logger } from '../../common/log.ts';
import type { LoadedConfig } from '../../config/load.ts';
import { startEngine } from '../../engine/engine.ts';
import { kubernetesServices } from '../../kube/service.ts';
import { startAgent, type Agent } from '../../agent/agent.ts';
import { buildServer } from '../../http/server.ts';
import { type LoadContext, loadPlaybookPaths, type LoadedPlaybook, type LoadResult } from '../../playbooks/load.ts';
import { pingRedis } from '../../redis/connect.ts';
import { startEmbeddedRedis, type EmbeddedRedis } from '../../redis/embedded.ts';
import { openRuntime } from '../../runtime.ts';
import { loadOrCreateSigningKey } from '../../audit/checkpoints.ts';
import { startAuditMaintenance } from '../../audit/maintenance.ts';
import { uiAuthFromConfig } from '../../ui/auth.ts';
import { configFromFlags, parse } from '../options.ts';

export const DEFAULT_PROTECTED_NAMESPACES = ['kube-system', 'riposte-system'];

/** Reads the ingest token, or creates one (0600, in the state dir) so ingest is never open. */
async function ensureIngestToken(loaded: LoadedConfig, log: Logger, allowGenerate: boolean): Promise<string | undefined> {
  if (loaded.secrets.ingestToken) return loaded.secrets.ingestToken;
  const file = join(loaded.config.stateDir, 'ingest-token');
  try {
    return (await readFile(file, 'utf8')).trim();
  } catch {
    if (!allowGenerate) return undefined;
  }
  const token = randomBytes(32).toString('base64url');
  await writeFile(file, `${token}\n`, { mode: 0o600 });
  log.info('generated an ingest token for POST /v1/alerts', { tokenFile: file });
  return token;
}

/** Every file of the last (re)load, valid or not: the UI's playbooks page shows the rejected ones and why. */
let playbookResults: LoadResult[] = [];

async function loadPlaybooks(paths: string[], log: Logger, refs: Pick<LoadContext, 'notifiers' | 'groups'> = {}): Promise<LoadedPlaybook[]> {
  const results = await loadPlaybookPaths(paths, { registry: defaultRegistry(), ...refs });
  playbookResults = results;
  for (const r of results) for (const d of r.diagnostics) log[d.severity === 'error' ? 'error' : 'warn']('playbook problem', { diagnostic: formatDiagnostic(d) });
  const ok = results.flatMap((r) => (r.playbook ? [r.playbook] : []));
  log.info('playbooks loaded', { loaded: ok.map((p) => p.playbook.metadata.name), rejected: results.filter((r) => !r.playbook).map((r) => r.file) });
  return ok;
}

async function serve(argv: string[], role: 'start' | 'engine'): Promise<number> {
  const { values } = parse(argv, {});
  const loaded = await configFromFlags(values);
  const { config } = loaded;
  const log = createLogger({ level: config.log.level, base: { role } });
  await mkdir(config.stateDir, { recursive: true, mode: 0o700 });

  // before Redis: a cluster misconfiguration fails the start at once, with nothing to close
  const kubernetes = await kubernetesServices(config.kubernetes, log);
  let embedded: EmbeddedRedis | undefined;
  let redisUrl = config.redis.url;
  if (!redisUrl) {
    if (role === 'engine') {
      log.error('riposte engine needs a Redis: set RIPOSTE_REDIS_URL (or redis.url); use "riposte start" for the embedded default');
      return 2;
    }
    embedded = await startEmbeddedRedis({ stateDir: config.stateDir, binary: config.redis.serverBinary });
    redisUrl = embedded.url;
    log.info('embedded redis started', { pid: embedded.pid, dataDir: join(config.stateDir, 'redis') });
  }
  const runtime = openRuntime(config, redisUrl);
  if (!(await pingRedis(runtime.redis, 3000))) {
    await runtime.close();
    await embedded?.stop();
    log.error(`cannot reach Redis at ${redisUrl.replace(/\/\/[^@]*@/, '//***@')}: check that it runs and RIPOSTE_REDIS_URL is right, or unset it to let "riposte start" run its own`);
    return 1;
  }
  const ingestToken = await ensureIngestToken(loaded, log, role === 'start');
  // audit checkpoints are signed with audit.signingKeyFile; `start` (one machine) generates a key in the state dir
  const auditKey = await loadOrCreateSigningKey({ file: config.audit.signingKeyFile, stateDir: config.stateDir, generate: role === 'start' });
  if (!auditKey) log.warn('no audit signing key (audit.signingKeyFile): audit checkpoints are not signed and retention is off');
  else if (auditKey.generated) log.info('generated an audit signing key', { keyFile: auditKey.file, keyId: auditKey.signer.keyId });
  const auditMaintenance = startAuditMaintenance({ audit: runtime.audit, checkpoints: runtime.checkpoints, redis: runtime.redis, keys: runtime.keys, config: config.audit, signer: auditKey?.signer, log });
  // notifier and group names are checked against the configuration once there is one to check against
  const refs = {
    ...(Object.keys(config.notifiers).length ? { notifiers: new Set(Object.keys(config.notifiers)) } : {}),
    ...(Object.keys(config.approvals.groups).length ? { groups: new Set(Object.keys(config.approvals.groups)) } : {}),
  };
  let playbooks = await loadPlaybooks(config.playbooks.paths, log, refs);
  const registry = defaultRegistry();
  let listenUrl = '';
  const approvals = await startApprovals({ runtime, config, secrets: loaded.secrets, log, registry, publicUrl: () => config.server.publicUrl ?? listenUrl }).catch(async (err: unknown) => {
    // bad notifier configuration: stop what was started before saying so
    await runtime.close();
    await embedded?.stop();
    throw err;
  });
  const engine = startEngine({
    runtime,
    registry,
    playbooks: () => playbooks,
    log,
    concurrency: config.engine.concurrency,
    dryRun: () => config.engine.dryRun,
    guardrails: { protectedNamespaces: DEFAULT_PROTECTED_NAMESPACES },
    ...approvals.engineHooks,
    ...(config.engine.lockDuration ? { lockDurationMs: parseDuration(config.engine.lockDuration) } : {}),
    ...(config.engine.rateLimit?.runs ? { limits: { rateLimit: { runs: config.engine.rateLimit.runs, window: config.engine.rateLimit.window ?? '1s' } } } : {}),
    services: { ...kubernetes },
  });
  // `start` is both roles in one process: the agent takes this node's node-local steps
  const agent: Agent | undefined = role === 'start' ? await startAgent({ runtime, registry, log: log.child({ role: 'agent' }), detection: { rulesPaths: config.rules.paths, required: false, matching: config.rules.matching, throttle: { windowMs: parseDuration(config.rules.throttleWindow), burst: config.rules.throttleBurst } }, kubernetes: config.kubernetes, nodeActions: { stateDir: config.stateDir } }) : undefined;
  const app = buildServer({ runtime, log, ingestToken: () => ingestToken, maxAlertsPerRequest: config.ingest.maxAlertsPerRequest, bodyLimit: config.server.bodyLimit, trustProxy: config.server.trustedProxies, approvals: approvals.http, playbooks: () => playbooks, playbookProblems: () => playbookResults, auditPublicKeyPem: auditKey?.signer.publicKeyPem, uiAuth: uiAuthFromConfig(config, loaded.secrets) });
  approvals.attach(engine.driver);
  const address = await app.listen({ host: config.server.host, port: config.server.port });
  listenUrl = address;
  if (!config.server.publicUrl && Object.keys(config.notifiers).length) log.warn('server.publicUrl is not set: approval links in messages use the listen address', { listen: address });
  log.info('riposte is running', { listen: address, stateDir: config.stateDir, dryRun: config.engine.dryRun, redis: embedded ? 'embedded' : 'external', playbooks: playbooks.length });
  process.stdout.write(`riposte ${role}: listening on ${address} (alerts: POST ${address}/v1/alerts)\n`);

  const reload = async () => {
    playbooks = await loadPlaybooks(config.playbooks.paths, log, refs);
  };
  process.on('SIGHUP', () => void reload());
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  log.info('shutting down');
  await app.close();
  await agent?.close();
  await engine.close();
  await auditMaintenance.close();
  await approvals.close();
  await runtime.close();
  await embedded?.stop();
  return 0;
}

export const runStart = (argv: string[]) => serve(argv, 'start');
export const runEngine = (argv: string[]) => serve(argv, 'engine');
