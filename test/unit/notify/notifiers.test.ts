// SPDX-License-Identifier: Apache-2.0
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadConfig } from '../../../src/config/load.ts';
import { loadNotifiers } from '../../../src/notify/notifiers.ts';

test('URLs come from the environment or a file; every problem is listed at once and no URL is shown', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'riposte-notifiers-'));
  try {
    await writeFile(join(dir, 'url'), 'https://hooks.slack.com/services/T0/B0/SECRET\n');
    await writeFile(join(dir, 'empty'), '');
    const ok = await loadNotifiers({ a: { type: 'slack', urlFile: join(dir, 'url') }, b: { type: 'teams', urlEnv: 'TEAMS' } }, { TEAMS: 'https://example.webhook.office.com/x' });
    assert.deepEqual([...ok.keys()], ['a', 'b']);
    assert.equal(ok.get('a')!.interactive, false);
    await assert.rejects(
      loadNotifiers(
        {
          none: { type: 'slack' },
          unset: { type: 'discord', urlEnv: 'NOPE' },
          empty: { type: 'mattermost', urlFile: join(dir, 'empty') },
          missing: { type: 'webhook', urlFile: join(dir, 'missing') },
          notHttp: { type: 'webhook', urlEnv: 'BAD' },
        },
        { BAD: 'ftp://secret-host/path' },
      ),
      (err: Error) => {
        assert.match(err.message, /notifiers\.none: set urlEnv/);
        assert.match(err.message, /notifiers\.unset\.urlEnv: environment variable NOPE is not set/);
        assert.match(err.message, /notifiers\.empty\.urlFile: .* is empty/);
        assert.match(err.message, /notifiers\.missing\.urlFile: cannot read .*ENOENT/);
        assert.match(err.message, /notifiers\.notHttp: the URL in BAD is not an http\(s\) URL/);
        assert.doesNotMatch(err.message, /secret-host/);
        return true;
      },
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('notifiers and approval maps can be set from the environment as JSON', async () => {
  const { config } = await loadConfig({
    defaultFile: false,
    env: {
      RIPOSTE_NOTIFIERS: '{"oncall":{"type":"slack","urlEnv":"SLACK_URL","interactive":true}}',
      RIPOSTE_APPROVALS_GROUPS: '{"oncall":["alice@example.com"]}',
      RIPOSTE_APPROVALS_REMINDERS: '10m,2m',
      RIPOSTE_ENGINE_RATE_LIMIT_RUNS: '50',
    },
  });
  assert.deepEqual(config.notifiers, { oncall: { type: 'slack', urlEnv: 'SLACK_URL', interactive: true } });
  assert.deepEqual(config.approvals.groups, { oncall: ['alice@example.com'] });
  assert.deepEqual(config.approvals.reminders, ['10m', '2m']);
  assert.equal(config.approvals.formTtl, '15m');
  assert.equal(config.engine.rateLimit?.runs, 50);
  await assert.rejects(loadConfig({ defaultFile: false, env: { RIPOSTE_NOTIFIERS: '{"x":{"type":"pager"}}' } }), /RIPOSTE_NOTIFIERS/);
  await assert.rejects(loadConfig({ defaultFile: false, env: { RIPOSTE_NOTIFIERS: 'not json' } }), /RIPOSTE_NOTIFIERS/);
});
