// SPDX-License-Identifier: Apache-2.0
// The engine killed (SIGKILL) right after answering 202 loses nothing: after a restart the run happens.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { AuditLog } from '../../src/audit/log.ts';
import { verifyChain } from '../../src/audit/verify.ts';
import { RunStore } from '../../src/engine/run-store.ts';
import { createRedis } from '../../src/redis/connect.ts';
import { makeKeys } from '../../src/redis/keys.ts';
import { startHttpSink, type HttpSink } from '../helpers/http-sink.ts';
import { runCli, spawnRiposte } from '../helpers/process.ts';
import { stopTestRedis, testRedisUrl, uniquePrefix } from '../helpers/redis.ts';
import { shellAlert } from '../helpers/riposte.ts';
import { waitUntil } from '../helpers/wait.ts';

let sink: HttpSink;
let dir: string;
let env: Record<string, string>;

before(async () => {
  sink = await startHttpSink();
  dir = await mkdtemp(join(tmpdir(), 'riposte-crash-'));
  await writeFile(
    join(dir, 'pb.yaml'),
    `apiVersion: riposte.dev/v1
kind: Playbook
metadata: { name: slow-hook }
trigger: { rules: ["Terminal shell in container"] }
steps:
  - id: pause
    wait: 1s
  - id: hook
    action: notify.webhook
    with: { url: "${sink.url}/after-crash", body: { alert: "{{alert.id}}" } }
`,
  );
  env = {
    RIPOSTE_REDIS_URL: await testRedisUrl(),
    RIPOSTE_REDIS_PREFIX: uniquePrefix('crash'),
    RIPOSTE_PLAYBOOKS_PATHS: dir,
    RIPOSTE_SERVER_PORT: '0',
    RIPOSTE_INGEST_TOKEN: 'crash-test-token',
    RIPOSTE_STATE_DIR: dir,
  };
});
after(async () => {
  await sink.close();
  await rm(dir, { recursive: true, force: true });
  await stopTestRedis();
});

test('kill -9 right after 202: the restarted engine runs the playbook', { timeout: 90_000 }, async () => {
  const first = await spawnRiposte(['engine'], env);
  const res = await fetch(`${first.url}/v1/alerts`, { method: 'POST', headers: { authorization: 'Bearer crash-test-token', 'content-type': 'application/json' }, body: JSON.stringify(shellAlert({ uuid: 'crash-alert-1' })) });
  assert.equal(res.status, 202);
  await first.kill('SIGKILL');
  assert.equal(sink.received.length, 0, 'the webhook waits 1s, so the killed engine cannot have sent it');

  const second = await spawnRiposte(['engine'], env);
  try {
    const [req] = await sink.waitFor(1, 40_000);
    assert.deepEqual(JSON.parse(req!.body), { alert: 'crash-alert-1' });
    const redis = createRedis(env.RIPOSTE_REDIS_URL!);
    const keys = makeKeys(env.RIPOSTE_REDIS_PREFIX!);
    try {
      const runs = await waitUntil(async () => {
        const all = await new RunStore(redis, keys).list();
        return all.length === 1 && all[0]!.state.status === 'succeeded' ? all : undefined;
      }, 'the run to succeed');
      assert.equal(runs.length, 1);
      const log = new AuditLog(redis, keys);
      const { head, records } = await log.read();
      const v = verifyChain(records, head);
      assert.equal(v.ok, true, JSON.stringify(v.problem));
    } finally {
      redis.disconnect();
    }
    // the CLI reads the same log
    const v = await runCli(['audit', 'verify'], env);
    assert.equal(v.code, 0, v.stdout + v.stderr);
    assert.match(v.stdout, /audit log OK/);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(sink.received.length, 1, 'delivered once');
  } finally {
    await second.kill();
  }
});
