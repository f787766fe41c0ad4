// SPDX-License-Identifier: Apache-2.0
/**
 * Loads riposte.yaml, applies defaults, then environment overrides, then CLI
 * flags. Every leaf key `a.bC` has the variable `RIPOSTE_A_B_C`.
 *
 * @example
 *   const { config, secrets } = await loadConfig({ file: 'riposte.yaml', env: process.env, flags: { port: 9000 } });
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { ErrorCodes, RiposteError, throwIfErrors, type Diagnostic } from '../common/errors.ts';
import { schemaDiagnostics } from '../common/schema-check.ts';
import { parseYamlSource } from '../common/yaml-source.ts';
import { configSchema, type RiposteConfig, type RiposteSecrets } from './schema.ts';

export function defaultStateDir(env: NodeJS.ProcessEnv): string {
  if (process.getuid?.() === 0) return '/var/lib/riposte';
  return join(env.XDG_STATE_HOME || join(homedir(), '.local', 'state'), 'riposte');
}

export function defaults(env: NodeJS.ProcessEnv): RiposteConfig {
  return {
    stateDir: defaultStateDir(env),
    log: { level: 'info' },
    server: { host: '127.0.0.1', port: 8080, bodyLimit: 1024 * 1024, trustedProxies: [] },
    redis: { prefix: 'riposte', serverBinary: 'redis-server' },
    ingest: { maxAlertsPerRequest: 1000 },
    playbooks: { paths: ['playbooks'] },
    rules: { paths: ['detector/rules'], matching: 'all', throttleWindow: '1m', throttleBurst: 5 },
    engine: { dryRun: false, concurrency: 8, alertRetention: '7d' },
    audit: { checkpointEvery: 100, checkpointInterval: '5m', retention: {}, export: { maxFileBytes: 64 * 1024 * 1024, maxFiles: 20, stdout: false } },
    ui: { anonymousRole: 'viewer', loginUser: 'admin', loginRole: 'approver', approvers: [], sessionTtl: '12h' },
    notifiers: {},
    kubernetes: { inCluster: 'auto', podMetadata: 'auto' },
    approvals: { groups: {}, people: {}, reminders: [], linkTtl: '24h', formTtl: '15m', identityHeaders: ['X-Auth-Request-Email', 'X-Forwarded-User'] },
  };
}

type SchemaNode = { type?: string | readonly string[]; properties?: Record<string, SchemaNode>; items?: SchemaNode };

/** Every leaf of the schema with its environment variable name. */
export function envBindings(schema: SchemaNode = configSchema as unknown as SchemaNode, path: string[] = []): { path: string[]; env: string; type: string }[] {
  const out: { path: string[]; env: string; type: string }[] = [];
  for (const [key, node] of Object.entries(schema.properties ?? {})) {
    const p = [...path, key];
    if (node.type === 'object' && node.properties) out.push(...envBindings(node, p));
    else {
      const env = `RIPOSTE_${p.map((s) => s.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()).join('_')}`;
      out.push({ path: p, env, type: String(node.type) });
    }
  }
  return out;
}

function coerce(type: string, raw: string): unknown {
  switch (type) {
    case 'integer':
      return /^-?\d+$/.test(raw.trim()) ? Number(raw) : raw;
    case 'boolean':
      return /^(1|true|yes|on)$/i.test(raw) ? true : /^(0|false|no|off)$/i.test(raw) ? false : raw;
    case 'array':
      return raw.split(',').map((s) => s.trim()).filter(Boolean);
    case 'object':
      // maps (notifiers, approvals.groups, …) come as JSON; anything else is left for the schema to reject
      try {
        return JSON.parse(raw) as unknown;
      } catch {
        return raw;
      }
    default:
      return raw;
  }
}

function setIn(obj: Record<string, unknown>, path: string[], value: unknown): void {
  let cur = obj;
  for (const k of path.slice(0, -1)) {
    if (typeof cur[k] !== 'object' || cur[k] === null) cur[k] = {};
    cur = cur[k] as Record<string, unknown>;
  }
  cur[path[path.length - 1]!] = value;
}

function merge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] = v && typeof v === 'object' && !Array.isArray(v) && b && typeof b === 'object' && !Array.isArray(b) ? merge(b as Record<string, unknown>, v as Record<string, unknown>) : v;
  }
  return out;
}

export interface LoadConfigOptions {
  file?: string;
  env?: NodeJS.ProcessEnv;
  flags?: { port?: number; stateDir?: string; redisUrl?: string };
  cwd?: string;
  /** Look for ./riposte.yaml when no file is named (default true). */
  defaultFile?: boolean;
}

export interface LoadedConfig {
  config: RiposteConfig;
  secrets: RiposteSecrets;
  file?: string;
}

async function readSecret(envValue: string | undefined, file: string | undefined, what: string): Promise<string | undefined> {
  if (envValue) return envValue.trim();
  if (!file) return undefined;
  try {
    const v = (await readFile(file, 'utf8')).trim();
    if (!v) throw new RiposteError(ErrorCodes.CONFIG_INVALID, `${what}: file ${file} is empty`);
    return v;
  } catch (err) {
    if (err instanceof RiposteError) throw err;
    throw new RiposteError(ErrorCodes.CONFIG_INVALID, `${what}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
}

export async function loadConfig(opts: LoadConfigOptions = {}): Promise<LoadedConfig> {
  const env = opts.env ?? process.env;
  const cwd = opts.cwd ?? process.cwd();
  // --config, then RIPOSTE_CONFIG, then ./riposte.yaml when there is one
  const file = opts.file ?? env.RIPOSTE_CONFIG ?? (opts.defaultFile !== false && existsSync(resolve(cwd, 'riposte.yaml')) ? resolve(cwd, 'riposte.yaml') : undefined);
  let fromFile: Record<string, unknown> = {};
  if (file) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      throw new RiposteError(ErrorCodes.CONFIG_INVALID, `config file ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'not found' : String(err)}`);
    }
    const src = parseYamlSource(file, text);
    const diags = [...src.diagnostics];
    if (src.value !== undefined && src.value !== null) {
      if (typeof src.value === 'object' && src.value !== null && 'ingest' in src.value) {
        const ingest = (src.value as { ingest?: Record<string, unknown> }).ingest;
        if (ingest && typeof ingest === 'object' && 'token' in ingest) {
          diags.push(src.diag(['ingest', 'token'], 'secrets are not read from the config file: set RIPOSTE_INGEST_TOKEN or ingest.tokenFile', { key: true }));
          delete ingest.token;
        }
      }
      diags.push(...schemaDiagnostics(configSchema, src.value, src));
      fromFile = src.value as Record<string, unknown>;
    }
    throwIfErrors(ErrorCodes.CONFIG_INVALID, `invalid config ${file}`, diags);
  }

  // environment overrides, each checked against the same schema
  const fromEnv: Record<string, unknown> = {};
  const envDiags: Diagnostic[] = [];
  for (const b of envBindings()) {
    const raw = env[b.env];
    if (raw === undefined || raw === '') continue;
    setIn(fromEnv, b.path, coerce(b.type, raw));
  }
  envDiags.push(
    ...schemaDiagnostics(configSchema, fromEnv, {
      // a problem inside a JSON-valued variable (RIPOSTE_NOTIFIERS …) names the variable and the path in it
      diag: (path, message) => {
        const p = path.join('.');
        const b = envBindings().find((x) => p === x.path.join('.') || p.startsWith(`${x.path.join('.')}.`));
        return { file: 'environment', line: 0, col: 0, path: b ? (p === b.path.join('.') ? b.env : `${b.env} (${p})`) : p, message, severity: 'error' };
      },
    }),
  );
  if (envDiags.length) {
    throw new RiposteError(ErrorCodes.CONFIG_INVALID, `invalid environment:\n${envDiags.map((d) => `${d.path}: ${d.message}`).join('\n')}`, envDiags);
  }

  let merged = merge(merge(defaults(env) as unknown as Record<string, unknown>, fromFile), fromEnv);
  const flags: Record<string, unknown> = {};
  if (opts.flags?.port !== undefined) setIn(flags, ['server', 'port'], opts.flags.port);
  if (opts.flags?.stateDir !== undefined) setIn(flags, ['stateDir'], opts.flags.stateDir);
  if (opts.flags?.redisUrl !== undefined) setIn(flags, ['redis', 'url'], opts.flags.redisUrl);
  merged = merge(merged, flags);
  const config = merged as unknown as RiposteConfig;

  // relative paths are relative to the config file's directory (or cwd)
  const base = file ? resolve(cwd, file, '..') : cwd;
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(base, p));
  config.stateDir = abs(config.stateDir);
  config.playbooks.paths = config.playbooks.paths.map(abs);
  config.rules.paths = config.rules.paths.map(abs);
  if (config.ingest.tokenFile) config.ingest.tokenFile = abs(config.ingest.tokenFile);
  if (config.audit.signingKeyFile) config.audit.signingKeyFile = abs(config.audit.signingKeyFile);
  if (config.kubernetes.kubeconfig) config.kubernetes.kubeconfig = abs(config.kubernetes.kubeconfig);
  if (config.audit.export.dir) config.audit.export.dir = abs(config.audit.export.dir);
  if (config.ui.passwordHashFile) config.ui.passwordHashFile = abs(config.ui.passwordHashFile);
  if (config.approvals.slackSigningSecretFile) config.approvals.slackSigningSecretFile = abs(config.approvals.slackSigningSecretFile);
  for (const n of Object.values(config.notifiers)) {
    if (n.urlFile) n.urlFile = abs(n.urlFile);
    if (n.secretFile) n.secretFile = abs(n.secretFile);
  }

  const ingestToken = await readSecret(env.RIPOSTE_INGEST_TOKEN, config.ingest.tokenFile, 'ingest token');
  const slackSigningSecret = await readSecret(env.RIPOSTE_SLACK_SIGNING_SECRET, config.approvals.slackSigningSecretFile, 'slack signing secret');
  const uiPasswordHash = await readSecret(env.RIPOSTE_UI_PASSWORD_HASH, config.ui.passwordHashFile, 'ui password hash');
  return { config, secrets: { ingestToken, slackSigningSecret, uiPasswordHash }, file };
}
