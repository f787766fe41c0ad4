// SPDX-License-Identifier: Apache-2.0
// Alert storms: 10,000 identical alerts join one incident that counts them all; per-playbook
// maxConcurrentRuns and the global rate limit hold runs (audited, never dropped) and start them later;
// the kill switch (riposte pause / resume) holds new runs and in-flight steps (their timeouts wait too)
// and says how many wait.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { AuditRecord } from '../../src/audit/record.ts';
import { KEEP_ALERTS } from '../../src/engine/incidents.ts';
import { runCli } from '../helpers/process.ts';
import { stopTestRedis, testRedisUrl } from '../helpers/redis.ts';
import { shellAlert } from '../helpers/riposte.ts';
import { waitUntil } from '../helpers/wait.ts';
import { type Stack, startStack } from './approvals-stack.ts';

const pb = (name: string, rule: string, options: string, steps: string) => `
apiVersion: riposte.dev/v1
kind: Playbook
metadata: { name: ${name} }
trigger: { rules: ["${rule}"] }
options: ${options}
steps:
${steps}`;
const twoSteps = '  - id: hold\n    wait: 300ms\n  - id: note\n    action: log\n    with: { message: "{{alert.id}}" }\n';

let s: Stack;
let limited: Stack;
// answers after 4 s: a step calling it with `timeout: 1s` times out once it has started
let slow: Server;
let slowHits = 0;
before(async () => {
  slow = createServer((req, res) => {
    slowHits++;
    req.resume();
    setTimeout(() => res.end('{}'), 4000).unref();
  }).listen(0, '127.0.0.1');
  await once(slow, 'listening');
  const slowUrl = `http://127.0.0.1:${(slow.address() as AddressInfo).port}/hook`;
  s = await startStack({
    concurrency: 4,
    playbooks: {
      'dedupe.yaml': pb('storm', 'Storm shell', '{ dedupe: { key: \'{{alert.rule}}/{{field "k8s.pod.name"}}\', window: 10m } }', '  - id: note\n    action: log\n    with: { message: "incident {{incident.id}}" }\n'),
      'max.yaml': pb('max-two', 'Crowded shell', '{ maxConcurrentRuns: 2 }', twoSteps),
      'listed.yaml': pb('listed', 'Listed shell', '{ dedupe: { key: "{{alert.rule}}", window: 10m } }', '  - id: note\n    action: log\n    with: { message: "{{alert.id}}" }\n'),
      // the note step's timeout (1 s) is shorter than the pause: it must count from when the step starts, not run out while held
      'slow.yaml': pb('slow-after-pause', 'Slow shell', '{}', `  - id: hold\n    wait: 2s\n  - id: call\n    action: notify.webhook\n    timeout: 1s\n    with: { url: "${slowUrl}", body: { alert: "{{alert.id}}" } }\n`),
      'pause.yaml': pb('pausable', 'Paused shell', '{}', twoSteps.replace('300ms', '3s').replace('    action: log\n', '    action: log\n    timeout: 1s\n')),
    },
  });
  limited = await startStack({ playbooks: { 'rate.yaml': pb('rated', 'Rated shell', '{}', '  - id: note\n    action: log\n    with: { message: "{{alert.id}}" }\n') }, engine: { limits: { rateLimit: { runs: 4, window: '1s' } } } });
});
after(async () => {
  slow.closeAllConnections();
  slow.close();
  await s.close();
  await limited.close();
  await stopTestRedis();
});

const started = (records: AuditRecord[], runIds: Set<string>) => records.filter((r) => r.action === 'run.started' && runIds.has(r.runId!));

describe('storms', () => {
  test('10,000 identical alerts in a burst → one incident with count 10,000 and one run', { timeout: 110_000 }, async () => {
    const batches = Array.from({ length: 10 }, (_, b) => Array.from({ length: 1000 }, (_, i) => shellAlert({ rule: 'Storm shell', uuid: `storm-${b}-${i}` })));
    const t0 = Date.now();
    const res = await Promise.all(batches.map((batch) => s.postAlerts(batch)));
    for (const r of res) {
      assert.equal(r.status, 202);
      assert.equal(r.body.accepted, 1000);
    }
    const accepted = Date.now() - t0;
    const incident = await waitUntil(async () => {
      const list = (await s.runtime.incidents.list(50)).filter((i) => i.playbook === 'storm');
      return list.length === 1 && list[0]!.count === 10_000 ? list[0] : undefined;
    }, 'the incident to count 10,000 alerts', 100_000, 250);
    assert.equal(incident.count, 10_000);
    assert.equal(incident.dedupeKey, 'Storm shell/api-7f9c');
    assert.ok(Date.parse(incident.lastSeen) >= Date.parse(incident.firstSeen));
    const runs = await s.runtime.runs.byIncident(incident.id);
    assert.equal(runs.length, 1, 'one run for the incident');
    // nothing was dropped: every alert was processed exactly into the count
    const processed = await s.runtime.audit.list({ action: 'alert.processed' });
    assert.equal(processed.filter((r) => String((r.details as any).alertId).startsWith('storm-')).length, 10_000);
    // the incident keeps its newest alerts, not all 10,000
    const kept = await s.runtime.incidents.alerts(incident.id);
    assert.equal(kept.length, KEEP_ALERTS);
    assert.equal(new Set(kept.map((a) => a.id)).size, KEEP_ALERTS, 'distinct alerts');
    assert.ok(kept.every((a) => a.id.startsWith('storm-') && a.rule === 'Storm shell'));
    const api = (await (await fetch(`${s.url}/api/incidents/${incident.id}`)).json()) as { alerts: { id: string }[] };
    assert.deepEqual(api.alerts.map((a) => a.id), kept.map((a) => a.id));
    const page = await (await fetch(`${s.url}/ui/incidents/${incident.id}`)).text();
    assert.match(page, new RegExp(`Newest ${KEEP_ALERTS} of 10000 alerts`));
    assert.equal(page.match(/<tr data-alert="storm-/g)?.length, KEEP_ALERTS);
    process.stdout.write(`# 10,000 alerts accepted over HTTP in ${accepted} ms; counted in ${Date.now() - t0} ms\n`);
  });

  test('an incident lists its alerts newest first; an oversized alert is kept as a summary', { timeout: 30_000 }, async () => {
    const big = Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`big.field${i}`, 'x'.repeat(100)]));
    const alerts = [
      shellAlert({ rule: 'Listed shell', uuid: 'listed-1', time: '2024-05-01T12:00:01Z', output: 'first <b>shell</b>' }),
      shellAlert({ rule: 'Listed shell', uuid: 'listed-2', time: '2024-05-01T12:00:02Z', output: 'second shell' }),
      shellAlert({ rule: 'Listed shell', uuid: 'listed-3', time: '2024-05-01T12:00:03Z', output: 'third shell', output_fields: { ...shellAlert().output_fields, ...big } }),
    ];
    const counted = (n: number) =>
      waitUntil(async () => {
        const i = (await s.runtime.incidents.list(50)).find((x) => x.playbook === 'listed');
        return i && i.count === n ? i : undefined;
      }, `${n} alert(s) in the incident`);
    // one at a time (several workers take alerts in parallel): their order is the order of joining
    for (const [n, a] of alerts.entries()) {
      assert.equal((await s.postAlerts([a])).status, 202);
      await counted(n + 1);
    }
    const incident = await counted(3);
    const kept = await s.runtime.incidents.alerts(incident.id);
    assert.deepEqual(kept.map((a) => a.id), ['listed-3', 'listed-2', 'listed-1']);
    assert.equal(kept[0]!.truncated, true);
    assert.deepEqual(kept[0]!.output_fields, {}, 'the oversized alert lost its output fields, not its place');
    assert.equal(kept[1]!.output_fields['k8s.pod.name'], 'api-7f9c');
    const page = await (await fetch(`${s.url}/ui/incidents/${incident.id}`)).text();
    assert.match(page, /All 3 alerts, newest first/);
    assert.match(page, /<h2>First alert<\/h2>/);
    assert.ok(page.indexOf('data-alert="listed-3"') < page.indexOf('data-alert="listed-1"'));
    assert.match(page, /first &lt;b&gt;shell&lt;\/b&gt;/, 'alert text is escaped');
    assert.doesNotMatch(page, /first <b>shell/);
  });

  test('maxConcurrentRuns: 2 holds the rest, starts them as runs finish, drops none', { timeout: 60_000 }, async () => {
    const alerts = Array.from({ length: 8 }, (_, i) => shellAlert({ rule: 'Crowded shell', uuid: `crowd-${i}` }));
    assert.equal((await s.postAlerts(alerts)).status, 202);
    const runs = await waitUntil(async () => {
      const all = (await s.runtime.runs.list({ limit: 1000 })).filter((r) => r.meta.playbook === 'max-two');
      return all.length === 8 && all.every((r) => r.state.status === 'succeeded') ? all : undefined;
    }, 'all 8 runs to succeed', 60_000, 100);
    const ids = new Set(runs.map((r) => r.meta.id));
    // run.finished is appended right after the final state is saved: wait for all eight
    const audit = await waitUntil(async () => {
      const all = await s.runtime.audit.list();
      return all.filter((a) => a.action === 'run.finished' && ids.has(a.runId!)).length === 8 ? all : undefined;
    }, 'eight run.finished records');
    const spans = runs.map((r) => ({
      start: Date.parse(started(audit, ids).find((a) => a.runId === r.meta.id)!.time),
      end: Date.parse(audit.find((a) => a.action === 'run.finished' && a.runId === r.meta.id)!.time),
    }));
    const maxOverlap = Math.max(...spans.map((x) => spans.filter((y) => y.start <= x.start && y.end > x.start).length));
    assert.ok(maxOverlap <= 2, `at most 2 runs at once, saw ${maxOverlap}`);
    const held = audit.filter((a) => a.action === 'run.held' && ids.has(a.runId!));
    assert.equal(held.length, 6, 'six runs were held, each audited once');
    assert.ok(held.every((h) => ['maxConcurrentRuns', 'queued'].includes((h.details as any).reason)));
  });

  test('global rate limit: 4 run starts per second across the engine; 12 alerts all run, spread out', { timeout: 60_000 }, async () => {
    const alerts = Array.from({ length: 12 }, (_, i) => shellAlert({ rule: 'Rated shell', uuid: `rate-${i}` }));
    const t0 = Date.now();
    assert.equal((await limited.postAlerts(alerts)).status, 202);
    const runs = await waitUntil(async () => {
      const all = await limited.runtime.runs.list({ limit: 100 });
      return all.length === 12 && all.every((r) => r.state.status === 'succeeded') ? all : undefined;
    }, 'all 12 rated runs', 60_000, 100);
    const ids = new Set(runs.map((r) => r.meta.id));
    const times = started(await limited.runtime.audit.list(), ids)
      .map((r) => Date.parse(r.time))
      .sort((a, b) => a - b);
    assert.equal(times.length, 12);
    // audit times trail the admission decision by a variable delay, so the checks leave it some room
    for (const t of times) assert.ok(times.filter((u) => u >= t && u < t + 800).length <= 4, 'never more than 4 starts within a second');
    assert.ok(times[11]! - times[0]! >= 1800, `12 runs at 4/s span at least two windows (${times[11]! - times[0]!} ms)`);
    assert.ok(Date.now() - t0 >= 2000);
    const held = (await limited.runtime.audit.list({ action: 'run.held' })).filter((h) => ids.has(h.runId!));
    assert.ok(held.length >= 8);
  });

  test('riposte pause holds new runs and in-flight steps and counts them; riposte resume starts them', { timeout: 60_000 }, async () => {
    const env = { RIPOSTE_REDIS_URL: await testRedisUrl(), RIPOSTE_REDIS_PREFIX: s.config.redis.prefix };
    // a run in flight: paused while it waits, its next step does not start until resume
    assert.equal((await s.postAlerts(shellAlert({ rule: 'Paused shell', uuid: 'inflight-1' }))).status, 202);
    const inflight = await waitUntil(async () => (await s.runtime.runs.list({ limit: 1000 })).find((r) => r.meta.alertId === 'inflight-1'), 'in-flight run');
    const p = await runCli(['pause', '--reason', 'maintenance'], env);
    assert.equal(p.code, 0, p.stderr);
    assert.match(p.stdout, /paused: new runs are held .* 0 runs waiting/);
    await waitUntil(() => s.engine.admission.paused, 'the engine to see the switch (one tick, 500 ms)');

    const alerts = Array.from({ length: 5 }, (_, i) => shellAlert({ rule: 'Paused shell', uuid: `paused-${i}` }));
    assert.equal((await s.postAlerts(alerts)).status, 202);
    await waitUntil(async () => (await s.runtime.audit.list({ action: 'run.held' })).filter((r) => (r.details as any).alertId?.startsWith('paused-')).length === 5, 'five held runs', 30_000);
    // the in-flight run's wait (3 s) ends while paused; its next step must not start
    await waitUntil(async () => (await s.runtime.runs.get(inflight.meta.id))?.state.context.steps.hold?.status === 'succeeded', 'the in-flight wait to end', 30_000);
    await new Promise((r) => setTimeout(r, 1500));
    const whilePaused = (await s.runtime.runs.list({ limit: 1000 })).filter((r) => r.meta.playbook === 'pausable');
    assert.equal(whilePaused.length, 1, 'only the run started before the pause exists');
    assert.equal(whilePaused[0]!.state.status, 'running', 'and it starts no new step while paused');
    assert.equal(whilePaused[0]!.state.context.steps.note, undefined);
    const status = await runCli(['pause', '--status'], env);
    assert.match(status.stdout, /paused by \S+ at \S+ \(maintenance\): 5 runs waiting \(pausable: 5\)/);

    const r = await runCli(['resume'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /resumed: 5 runs held will start now/);
    await waitUntil(async () => {
      const all = (await s.runtime.runs.list({ limit: 1000 })).filter((x) => x.meta.playbook === 'pausable');
      return all.length === 6 && all.every((x) => x.state.status === 'succeeded');
    }, 'the in-flight run and the 5 held runs to succeed', 40_000, 100);
    assert.equal((await s.runtime.runs.get(inflight.meta.id))?.state.status, 'succeeded');
    const audit = await s.runtime.audit.list();
    assert.ok(audit.some((a) => a.action === 'engine.paused' && a.actor.via === 'cli-os-user'));
    assert.ok(audit.some((a) => a.action === 'engine.resumed'));
  });

  test('a step held by pause gets its own timeout once it starts, not more', { timeout: 60_000 }, async () => {
    const env = { RIPOSTE_REDIS_URL: await testRedisUrl(), RIPOSTE_REDIS_PREFIX: s.config.redis.prefix };
    assert.equal((await s.postAlerts(shellAlert({ rule: 'Slow shell', uuid: 'slow-1' }))).status, 202);
    const run = await waitUntil(async () => (await s.runtime.runs.list({ limit: 1000 })).find((r) => r.meta.alertId === 'slow-1'), 'the run');
    assert.equal((await runCli(['pause'], env)).code, 0);
    await waitUntil(() => s.engine.admission.paused, 'the engine to see the switch');
    await waitUntil(async () => (await s.runtime.runs.get(run.meta.id))?.state.context.steps.hold?.status === 'succeeded', 'the wait to end', 30_000);
    await new Promise((r) => setTimeout(r, 2000)); // held for twice its timeout
    assert.equal(slowHits, 0, 'the step did not start while paused');
    assert.equal((await s.runtime.runs.get(run.meta.id))?.state.status, 'running');
    assert.equal((await runCli(['resume'], env)).code, 0);
    const resumed = Date.now();
    const done = await waitUntil(async () => {
      const r = await s.runtime.runs.get(run.meta.id);
      return r && r.state.status !== 'running' ? r : undefined;
    }, 'the run to end', 30_000, 50);
    assert.equal(done.state.status, 'failed');
    assert.equal(done.state.context.steps.call?.error, 'timed out');
    assert.equal(slowHits, 1, 'it started after resume');
    // its 1 s timeout (give or take the engine noticing the resume), not the 10 s it was pushed to while held
    assert.ok(Date.now() - resumed < 8000, `timed out ${Date.now() - resumed} ms after resume`);
  });
});
