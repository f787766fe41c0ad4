// SPDX-License-Identifier: Apache-2.0
/** Options every command shares, and how client commands find a Riposte to talk to. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadConfig, type LoadedConfig } from '../config/load.ts';
import { embeddedRedisUrl } from '../redis/embedded.ts';
import { ErrorCodes, RiposteError } from '../common/errors.ts';

export const COMMON_OPTIONS = {
  config: { type: 'string' },
  port: { type: 'string' },
  'state-dir': { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

export function parse<O extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: O) {
  return parseArgs({ args: argv, options: { ...COMMON_OPTIONS, ...options }, allowPositionals: true, strict: true });
}

export async function configFromFlags(values: { config?: string; port?: string; 'state-dir'?: string }): Promise<LoadedConfig> {
  let port: number | undefined;
  if (values.port !== undefined) {
    port = Number(values.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RiposteError(ErrorCodes.CONFIG_INVALID, `--port: expected a port number 0-65535, got "${values.port}"`);
  }
  return loadConfig({ file: values.config, flags: { port, stateDir: values['state-dir'] } });
}

/** Redis for client commands: configured URL, else the embedded one of a running `riposte start`. */
export async function clientRedisUrl(loaded: LoadedConfig): Promise<string> {
  const url = loaded.config.redis.url ?? (await embeddedRedisUrl(loaded.config.stateDir));
  if (!url) {
    throw new RiposteError(ErrorCodes.REDIS_UNAVAILABLE, `no Redis to read from: set RIPOSTE_REDIS_URL, or run this on the machine where "riposte start" is running (state dir ${loaded.config.stateDir})`);
  }
  return url;
}

/** The ingest token for client commands: environment, token file, or the one `riposte start` generated. */
export async function clientIngestToken(loaded: LoadedConfig): Promise<string | undefined> {
  if (loaded.secrets.ingestToken) return loaded.secrets.ingestToken;
  try {
    return (await readFile(join(loaded.config.stateDir, 'ingest-token'), 'utf8')).trim();
  } catch {
    return undefined;
  }
}
