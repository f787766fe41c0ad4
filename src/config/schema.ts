// SPDX-License-Identifier: Apache-2.0
/**
 * The schema of riposte.yaml (JSON Schema draft-07). It drives validation,
 * environment-variable overrides (every leaf key has one) and docs/configuration.md.
 * Secrets are deliberately absent: they come only from the environment or files.
 */
import { DURATION_PATTERN } from '../common/duration.ts';

const duration = { type: 'string', pattern: DURATION_PATTERN, description: 'a duration like 5m' } as const;

export const configSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'https://riposte.dev/schemas/riposte-config.json',
  title: 'riposte.yaml',
  type: 'object',
  additionalProperties: false,
  properties: {
    stateDir: { type: 'string', description: 'Directory for the embedded Redis data, artifacts and keys.' },
    log: {
      type: 'object',
      additionalProperties: false,
      properties: { level: { type: 'string', enum: ['debug', 'info', 'warn', 'error'] } },
    },
    server: {
      type: 'object',
      additionalProperties: false,
      properties: {
        host: { type: 'string', description: 'Address the HTTP server binds.' },
        port: { type: 'integer', minimum: 0, maximum: 65535 },
        bodyLimit: { type: 'integer', minimum: 1024, description: 'Largest accepted request body in bytes.' },
        publicUrl: { type: 'string', description: 'Base URL people reach the UI and approval pages on.' },
        trustedProxies: { type: 'array', items: { type: 'string' }, description: 'Addresses whose identity headers are honoured.' },
      },
    },
    redis: {
      type: 'object',
      additionalProperties: false,
      properties: {
        url: { type: 'string', description: 'redis:// URL; when unset, `riposte start` runs a private redis-server.' },
        prefix: { type: 'string', pattern: '^[A-Za-z0-9_.-]+$', description: 'a key prefix of letters, digits, _ . -' },
        serverBinary: { type: 'string', description: 'redis-server used for the embedded default.' },
      },
    },
    ingest: {
      type: 'object',
      additionalProperties: false,
      properties: {
        tokenFile: { type: 'string', description: 'File holding the bearer token for POST /v1/alerts.' },
        maxAlertsPerRequest: { type: 'integer', minimum: 1 },
      },
    },
    playbooks: {
      type: 'object',
      additionalProperties: false,
      properties: { paths: { type: 'array', items: { type: 'string' } } },
    },
    rules: {
      type: 'object',
      additionalProperties: false,
      properties: { paths: { type: 'array', items: { type: 'string' } } },
    },
    engine: {
      type: 'object',
      additionalProperties: false,
      properties: {
        dryRun: { type: 'boolean', description: 'Global dry-run: actions describe what they would do and change nothing.' },
        concurrency: { type: 'integer', minimum: 1, maximum: 256 },
        alertRetention: duration,
      },
    },
    audit: {
      type: 'object',
      additionalProperties: false,
      properties: {
        signingKeyFile: { type: 'string', description: 'Ed25519 private key (PEM) for checkpoints.' },
        checkpointEvery: { type: 'integer', minimum: 1 },
      },
    },
  },
} as const;

export interface RiposteConfig {
  stateDir: string;
  log: { level: 'debug' | 'info' | 'warn' | 'error' };
  server: { host: string; port: number; bodyLimit: number; publicUrl?: string; trustedProxies: string[] };
  redis: { url?: string; prefix: string; serverBinary: string };
  ingest: { tokenFile?: string; maxAlertsPerRequest: number };
  playbooks: { paths: string[] };
  rules: { paths: string[] };
  engine: { dryRun: boolean; concurrency: number; alertRetention: string };
  audit: { signingKeyFile?: string; checkpointEvery: number };
}

/** Secrets resolved from the environment or files; never part of the config object, never logged. */
export interface RiposteSecrets {
  ingestToken?: string;
}
