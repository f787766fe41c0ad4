// SPDX-License-Identifier: Apache-2.0
// The main job, end to end on this machine, headless: `riposte start` (engine + agent with the
// eBPF sensor + embedded Redis, the default rules and example playbooks) and `riposte demo` as
// real processes. The demo's sandbox container gets a terminal shell and a miner; the test
// watches every stage the demo narrates, approves in a real Chromium from the link the demo
// prints, and checks that the container was contained, the miner cut off and the audit chain
// verifies. Root, eBPF and Chromium are required in CI; elsewhere missing ones skip the test.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { CLI, ROOT, runCli, spawnRiposte, type RiposteProcess } from '../helpers/process.ts';
import { kernelUnavailable } from '../bpf/gate.ts';
import { launchBrowser, screenshot } from './harness.ts';

const why = (await kernelUnavailable()) ?? undefined;
if (why && process.env.CI === 'true') throw new Error(`the end-to-end demo needs eBPF in CI: ${why}`);

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

let start: RiposteProcess | undefined;
let dir = '';
after(async () => {
  await start?.kill();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('riposte start + riposte demo: alert, incident, steps, approval in the browser, containment, audit verify', { skip: why, timeout: 240_000 }, async () => {
  dir = await mkdtemp(join(tmpdir(), 'riposte-demo-e2e-'));
  const port = await freePort();
  const env = { RIPOSTE_SERVER_PORT: String(port), RIPOSTE_SERVER_PUBLIC_URL: `http://127.0.0.1:${port}`, RIPOSTE_STATE_DIR: dir, RIPOSTE_REDIS_PREFIX: `demo-e2e-${process.pid}` };
  const cfg = ['--config', join(ROOT, 'riposte.yaml')];
  start = await spawnRiposte(['start', ...cfg], env);
  const br = await launchBrowser();
  assert.ok(!('skip' in br), 'skip' in br ? br.skip : '');

  // the demo runs in its own process and narrates; the test reads along and approves in Chromium
  const demo = spawn(process.execPath, [CLI, 'demo', ...cfg, '--timeout', '180', '--pool-port', '4444'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], cwd: ROOT });
  let out = '';
  let err = '';
  demo.stderr.on('data', (d) => (err += d));
  const link = await new Promise<string>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no approval link from the demo:\n${out}\n${err}`)), 120_000);
    demo.stdout.on('data', (d) => {
      out += d;
      const m = /decide in the browser: (http\S+)/.exec(out);
      if (m) {
        clearTimeout(t);
        resolve(m[1]!);
      }
    });
    demo.on('close', () => reject(new Error(`the demo ended before asking for approval:\n${out}\n${err}`)));
  });
  const page = await br.newPage();
  await page.goto(link);
  await page.waitForSelector('form[action$="/decision"]');
  assert.match(String(await page.locator('main').textContent()), /Kill every process of container/);
  await screenshot(page, 'demo-approval');
  await page.fill('#comment', 'contain it (e2e)');
  await Promise.all([page.waitForLoadState('load'), page.click('button[name="decision"][value="approve"]')]);
  assert.match(String(await page.locator('h1').textContent()), /You approved/);

  const code = await new Promise<number>((resolve) => demo.on('close', (c) => resolve(c ?? -1)));
  await page.goto(`http://127.0.0.1:${port}/`);
  await screenshot(page, 'demo-incidents');
  const incidents = (await (await fetch(`http://127.0.0.1:${port}/api/incidents`)).json()) as { incidents: { id: string; playbook: string }[] };
  const shell = incidents.incidents.find((i) => i.playbook === 'terminal-shell-in-container');
  assert.ok(shell, 'the shell incident is listed');
  await page.goto(`http://127.0.0.1:${port}/ui/incidents/${shell.id}`);
  await page.waitForSelector('.run-state[data-status="succeeded"]');
  await screenshot(page, 'demo-incident');
  await br.close();
  assert.equal(code, 0, `${out}\n${err}`);

  // every stage the demo narrates, in order
  const stages = [
    /▶ container demo-shop \(([0-9a-f]{12})\) is running/,
    /● alert {5}Terminal shell in container \(warning\) in container/,
    /● incident {2}\w+ opened; playbook terminal-shell-in-container starts/,
    /✔ terminal-shell-in-container: step snapshot done — snapshot of container .*sha256/,
    /✔ terminal-shell-in-container: step trace done/,
    /✉ terminal-shell-in-container: notification sent to oncall/,
    /⏸ terminal-shell-in-container: waiting for approval — Kill every process of container/,
    /✔ terminal-shell-in-container: approved by root/,
    /✔ terminal-shell-in-container: step kill done — killed \d+ process\(es\)/,
    /■ terminal-shell-in-container: run succeeded/,
    /✔ contained: no process is left in container/,
    /audit log OK: \d+ records, chain verified/,
    /▶ demo container removed/,
  ];
  let at = 0;
  for (const re of stages) {
    const m = re.exec(out.slice(at));
    assert.ok(m, `stage ${re} in the demo's output after position ${at}:\n${out}`);
    at += m.index + m[0].length;
  }
  // the miner's alert isolated it in the kernel (this runs in parallel with the approval)
  assert.match(out, /● alert {5}Outbound connection to mining pool port \(critical\)/);
  assert.match(out, /✔ mining-pool-node: step isolate done — cut all network traffic/);
  assert.match(out, /✔ the miner's connection is cut/);

  // the sensor and detector counters are on /metrics (sensor stats arrive every 5 s)
  const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  assert.match(metrics, /riposte_sensor_events\{type="exec"\} [1-9]/);
  assert.match(metrics, /riposte_sensor_drops\{cpu="0"\} \d+/);
  assert.match(metrics, /riposte_detector_alerts [1-9]/);

  const verify = await runCli(['audit', 'verify', ...cfg], env);
  assert.equal(verify.code, 0, verify.stdout + verify.stderr);
});
