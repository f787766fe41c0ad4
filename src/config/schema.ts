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
      properties: {
        paths: { type: 'array', items: { type: 'string' }, description: 'Falco-syntax rules files or directories, loaded in order.' },
        matching: { type: 'string', enum: ['all', 'first'], description: "Falco's rule_matching: every matching rule raises an alert, or only the first loaded." },
        throttleWindow: { ...duration, description: 'Per rule and container: after the burst, alerts in this window are counted into one summary alert.' },
        throttleBurst: { type: 'integer', minimum: 1, description: 'Alerts per rule and container sent at once in each window.' },
      },
    },
    engine: {
      type: 'object',
      additionalProperties: false,
      properties: {
        dryRun: { type: 'boolean', description: 'Global dry-run: actions describe what they would do and change nothing.' },
        concurrency: { type: 'integer', minimum: 1, maximum: 256 },
        alertRetention: duration,
        lockDuration: { ...duration, description: 'How long a dead worker holds its job before another takes it (default 10s).' },
        rateLimit: {
          type: 'object',
          additionalProperties: false,
          description: 'Global limit on run starts; runs over it wait (held, counted) and start when the window allows.',
          properties: { runs: { type: 'integer', minimum: 1 }, window: duration },
        },
      },
    },
    kubernetes: {
      type: 'object',
      additionalProperties: false,
      description: 'The cluster the Kubernetes actions act on (and where the agent finds pod metadata).',
      properties: {
        kubeconfig: { type: 'string', description: 'kubeconfig file for the cluster actions (wins over in-cluster credentials).' },
        context: { type: 'string', description: 'Context in that kubeconfig; default its current-context.' },
        inCluster: { type: 'string', enum: ['auto', 'always', 'never'], description: "auto: use the pod's ServiceAccount when running in a pod; always: require it; never: only a kubeconfig file." },
        podMetadata: { type: 'string', enum: ['auto', 'off'], description: "auto: with a cluster configured, the agent watches its node's pods so alerts carry k8s.ns.name, k8s.pod.name, k8s.pod.labels and the container's name and image; off: only metadata files." },
      },
    },
    audit: {
      type: 'object',
      additionalProperties: false,
      properties: {
        signingKeyFile: { type: 'string', description: 'Ed25519 private key (PEM) for checkpoints.' },
        checkpointEvery: { type: 'integer', minimum: 1 },
        checkpointInterval: { ...duration, description: 'Also checkpoint this often when fewer than checkpointEvery records arrived.' },
        retention: {
          type: 'object',
          additionalProperties: false,
          properties: {
            maxAge: { ...duration, description: 'Trim records older than this (only behind a signed checkpoint).' },
            maxRecords: { type: 'integer', minimum: 1, description: 'Keep about this many records (trimmed behind a signed checkpoint).' },
          },
        },
        export: {
          type: 'object',
          additionalProperties: false,
          properties: {
            dir: { type: 'string', description: 'Write every audit record to rotating NDJSON files in this directory.' },
            maxFileBytes: { type: 'integer', minimum: 1024, description: 'Rotate export files at this size.' },
            maxFiles: { type: 'integer', minimum: 1, description: 'Keep this many export files.' },
            stdout: { type: 'boolean', description: 'Print each record this process appends to stdout as NDJSON (for log shippers).' },
          },
        },
      },
    },
    notifiers: {
      type: 'object',
      description: 'Chat and webhook notifiers by name (JSON in RIPOSTE_NOTIFIERS). Their URLs are secrets: urlEnv or urlFile.',
      propertyNames: { pattern: '^[A-Za-z0-9_.-]{1,64}$' },
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        required: ['type'],
        properties: {
          type: { type: 'string', enum: ['slack', 'mattermost', 'teams', 'discord', 'webhook', 'log'], description: 'log: no chat, the message is written to Riposte\'s log (single machine, demos).' },
          urlEnv: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*$', description: 'Environment variable holding the webhook URL.' },
          urlFile: { type: 'string', description: 'File holding the webhook URL.' },
          secretEnv: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*$', description: 'webhook: variable holding an HMAC key for X-Riposte-Signature.' },
          secretFile: { type: 'string', description: 'webhook: file holding an HMAC key for X-Riposte-Signature.' },
          username: { type: 'string', description: 'Display name (Slack, Mattermost, Discord).' },
          channel: { type: 'string', description: 'Mattermost channel override.' },
          interactive: { type: 'boolean', description: 'Slack: add Approve/Deny buttons answered at POST /v1/slack/interactions.' },
          headers: { type: 'object', additionalProperties: { type: 'string' }, description: 'webhook: extra request headers.' },
          timeout: duration,
        },
      },
    },
    approvals: {
      type: 'object',
      additionalProperties: false,
      properties: {
        groups: { type: 'object', additionalProperties: { type: 'array', items: { type: 'string', minLength: 1 } }, description: 'Approver groups: name → member identities (JSON in RIPOSTE_APPROVALS_GROUPS).' },
        people: {
          type: 'object',
          description: 'Per-person settings by identity: a personal notifier for personal links, the OS user and Slack user id that count as this person.',
          additionalProperties: {
            type: 'object',
            additionalProperties: false,
            properties: { notify: { type: 'string' }, osUser: { type: 'string' }, slackUserId: { type: 'string' } },
          },
        },
        reminders: { type: 'array', items: duration, description: 'Reminders sent this long before an approval expires.' },
        linkTtl: { ...duration, description: 'Longest lifetime of a personal approval link (never past the approval expiry).' },
        formTtl: { ...duration, description: 'Lifetime of the anti-forgery token of an approval page.' },
        identityHeaders: { type: 'array', items: { type: 'string' }, description: 'Identity headers honoured from server.trustedProxies, first present wins.' },
        slackSigningSecretFile: { type: 'string', description: 'File holding the Slack signing secret (or RIPOSTE_SLACK_SIGNING_SECRET).' },
      },
    },
    ui: {
      type: 'object',
      additionalProperties: false,
      properties: {
        anonymousRole: { type: 'string', enum: ['none', 'viewer', 'approver'], description: 'Role of UI requests with no identity (none: require the built-in login or a proxy header).' },
        loginUser: { type: 'string', description: 'User name of the built-in login (enabled by RIPOSTE_UI_PASSWORD_HASH or ui.passwordHashFile).' },
        loginRole: { type: 'string', enum: ['viewer', 'approver'] },
        passwordHashFile: { type: 'string', description: 'File holding the scrypt hash of the built-in login password.' },
        approvers: { type: 'array', items: { type: 'string' }, description: 'Identities with the UI approver role ("*": everyone identified); members of approvals.groups have it too.' },
        sessionTtl: { ...duration, description: 'Lifetime of a built-in login session.' },
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
  rules: { paths: string[]; matching: 'all' | 'first'; throttleWindow: string; throttleBurst: number };
  engine: { dryRun: boolean; concurrency: number; alertRetention: string; lockDuration?: string; rateLimit?: { runs?: number; window?: string } };
  audit: {
    signingKeyFile?: string;
    checkpointEvery: number;
    checkpointInterval: string;
    retention: { maxAge?: string; maxRecords?: number };
    export: { dir?: string; maxFileBytes: number; maxFiles: number; stdout: boolean };
  };
  ui: { anonymousRole: 'none' | 'viewer' | 'approver'; loginUser: string; loginRole: 'viewer' | 'approver'; passwordHashFile?: string; approvers: string[]; sessionTtl: string };
  notifiers: Record<string, NotifierConfig>;
  approvals: ApprovalsConfig;
  kubernetes: { kubeconfig?: string; context?: string; inCluster: 'auto' | 'always' | 'never'; podMetadata: 'auto' | 'off' };
}

export type NotifierType = 'slack' | 'mattermost' | 'teams' | 'discord' | 'webhook' | 'log';

export interface NotifierConfig {
  type: NotifierType;
  urlEnv?: string;
  urlFile?: string;
  secretEnv?: string;
  secretFile?: string;
  username?: string;
  channel?: string;
  interactive?: boolean;
  headers?: Record<string, string>;
  timeout?: string;
}

export interface ApprovalsConfig {
  groups: Record<string, string[]>;
  people: Record<string, { notify?: string; osUser?: string; slackUserId?: string }>;
  reminders: string[];
  linkTtl: string;
  formTtl: string;
  identityHeaders: string[];
  slackSigningSecretFile?: string;
}

/** Secrets resolved from the environment or files; never part of the config object, never logged. */
export interface RiposteSecrets {
  ingestToken?: string;
  /** Verifies Slack interactive button posts (RIPOSTE_SLACK_SIGNING_SECRET or approvals.slackSigningSecretFile). */
  slackSigningSecret?: string;
  /** scrypt hash of the built-in UI login password (RIPOSTE_UI_PASSWORD_HASH or ui.passwordHashFile). */
  uiPasswordHash?: string;
}
