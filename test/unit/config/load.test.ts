// SPDX-License-Identifier: Apache-2.0
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { RiposteError } from '../../../src/common/errors.ts';
import { envBindings, loadConfig } from '../../../src/config/load.ts';
import { createLogger } from '../../../src/common/log.ts';

const dir = await mkdtemp(join(tmpdir(), 'riposte-config-'));
const file = async (name: string, text: string) => {
  const p = join(dir, name);
  await writeFile(p, text);
  return p;
};

test('defaults, then the file, then the environment, then flags', async () => {
  const f = await file('a.yaml', 'server:\n  port: 9000\n  host: 0.0.0.0\nengine:\n  dryRun: true\n');
  const { config } = await loadConfig({ file: f, env: { RIPOSTE_SERVER_PORT: '9100', RIPOSTE_REDIS_URL: 'redis://127.0.0.1:7000', RIPOSTE_PLAYBOOKS_PATHS: 'a,b' }, flags: { stateDir: '/tmp/x' } });
  assert.equal(config.server.port, 9100);
  assert.equal(config.server.host, '0.0.0.0');
  assert.equal(config.engine.dryRun, true);
  assert.equal(config.redis.url, 'redis://127.0.0.1:7000');
  assert.equal(config.stateDir, '/tmp/x');
  assert.deepEqual(config.playbooks.paths, [join(dir, 'a'), join(dir, 'b')], 'relative paths are relative to the config file');
  const flagged = await loadConfig({ file: f, env: { RIPOSTE_SERVER_PORT: '9100' }, flags: { port: 1234 } });
  assert.equal(flagged.config.server.port, 1234);
});

test('unknown keys and wrong types name file:line:col, all at once', async () => {
  const f = await file('bad.yaml', 'server:\n  port: eighty\n  hots: 127.0.0.1\nengine:\n  dryrun: true\n');
  await assert.rejects(loadConfig({ file: f, env: {} }), (err: RiposteError) => {
    assert.equal(err.code, 'RIPOSTE_CONFIG_INVALID');
    assert.deepEqual(
      err.diagnostics.map((d) => `${d.line}:${d.col} ${d.path}: ${d.message}`),
      ['2:9 server.port: expected integer', '3:3 server.hots: unknown key "hots" (did you mean "host"?)', '5:3 engine.dryrun: unknown key "dryrun" (did you mean "dryRun"?)'],
    );
    assert.match(err.message, /bad\.yaml:2:9 server\.port: expected integer/);
    return true;
  });
});

test('a bad environment value names the variable', async () => {
  await assert.rejects(loadConfig({ defaultFile: false, env: { RIPOSTE_SERVER_PORT: 'http' } }), /RIPOSTE_SERVER_PORT: expected integer/);
  await assert.rejects(loadConfig({ defaultFile: false, env: { RIPOSTE_ENGINE_DRY_RUN: 'maybe' } }), /RIPOSTE_ENGINE_DRY_RUN: expected boolean/);
});

test('secrets come from the environment or a file, never from the config file', async () => {
  const f = await file('secret.yaml', 'ingest:\n  token: hunter2\n');
  await assert.rejects(loadConfig({ file: f, env: {} }), /secret\.yaml:2:3 ingest\.token: secrets are not read from the config file/);
  const tokenFile = await file('token', 'from-file\n');
  assert.equal((await loadConfig({ defaultFile: false, env: { RIPOSTE_INGEST_TOKEN_FILE: tokenFile } })).secrets.ingestToken, 'from-file');
  assert.equal((await loadConfig({ defaultFile: false, env: { RIPOSTE_INGEST_TOKEN: 'from-env', RIPOSTE_INGEST_TOKEN_FILE: tokenFile } })).secrets.ingestToken, 'from-env');
  await assert.rejects(loadConfig({ defaultFile: false, env: { RIPOSTE_INGEST_TOKEN_FILE: join(dir, 'missing') } }), /ingest token: cannot read .*: ENOENT/);
});

test('every leaf key has an environment variable', () => {
  const names = envBindings().map((b) => b.env);
  for (const n of ['RIPOSTE_REDIS_URL', 'RIPOSTE_SERVER_PORT', 'RIPOSTE_STATE_DIR', 'RIPOSTE_INGEST_TOKEN_FILE', 'RIPOSTE_ENGINE_DRY_RUN']) assert.ok(names.includes(n), n);
});

test('the logger never writes secrets', () => {
  const lines: string[] = [];
  const log = createLogger({ write: (l) => lines.push(l), level: 'debug' });
  log.info('x', { token: 'abc', nested: { authorization: 'Bearer abc', slackWebhookUrl: 'https://hooks.example/T/B/X' }, tokenFile: '/path/ok' });
  const text = lines.join('');
  assert.doesNotMatch(text, /abc|hooks\.example/);
  assert.match(text, /\/path\/ok/);
});
