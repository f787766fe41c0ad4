// SPDX-License-Identifier: Apache-2.0
/**
 * `riposte demo`: the whole story on one machine, next to a running
 * `riposte start`. It creates a sandbox container, does what the default rules
 * catch (a terminal shell inside it, then a connection to a mining-pool port on
 * loopback), and narrates from the audit log as it happens: alerts, incidents,
 * playbook steps, the approval link, the decision, the containment, and the
 * audit chain verified at the end. It cleans up after itself.
 */
import { spawn } from 'node:child_process';
import { createServer, type Server, type Socket } from 'node:net';
import type { Redis } from 'ioredis';
import { AuditLog } from '../audit/log.ts';
import type { AuditRecord } from '../audit/record.ts';
import { verifyChain } from '../audit/verify.ts';
import type { AgentHeartbeat } from '../engine/node-dispatch.ts';
import { RunStore } from '../engine/run-store.ts';
import type { Keys } from '../redis/keys.ts';
import { Sandbox } from '../sandbox/sandbox.ts';

export interface DemoOptions {
  baseUrl: string;
  redis: Redis;
  keys: Keys;
  node: string;
  /** `cli`: the demo approves with `riposte approvals approve` itself; `wait`: a person decides. */
  approve: 'cli' | 'wait';
  /** Runs the riposte CLI (for `approvals approve` and `audit verify`), returns its output. */
  cli: (args: string[]) => Promise<{ code: number; stdout: string; stderr: string }>;
  out: (line: string) => void;
  timeoutMs?: number;
  miningPort?: number;
}

export interface DemoResult {
  containerId: string;
  alerts: string[];
  runs: { id: string; playbook: string; status: string }[];
  approvalId?: string;
  contained: boolean;
  minerCut: boolean;
  auditOk: boolean;
}


export async function runDemo(o: DemoOptions): Promise<DemoResult> {
  const say = (s: string) => o.out(s);
  const deadline = Date.now() + (o.timeoutMs ?? 180_000);
  // preflight: the engine answers and this node's agent runs the sensor
  const ready = await fetch(new URL('/readyz', o.baseUrl)).catch(() => undefined);
  if (!ready?.ok) throw new Error(`Riposte is not answering at ${o.baseUrl}: start it first with "riposte start" (or bash scripts/dev.sh start)`);
  const hb = await o.redis.get(o.keys.agent(o.node));
  const agent = hb ? (JSON.parse(hb) as AgentHeartbeat) : undefined;
  if (!agent) throw new Error(`no Riposte agent on node "${o.node}": "riposte start" runs one; is it running as root?`);
  if (agent.sensor !== 'running') throw new Error(`the agent on "${o.node}" runs without its eBPF sensor (${agent.sensor}): start Riposte as root after "make -C bpf"`);

  const audit = new AuditLog(o.redis, o.keys);
  const runs = new RunStore(o.redis, o.keys);
  let seen = await audit.count();
  const result: DemoResult = { containerId: '', alerts: [], runs: [], contained: false, minerCut: false, auditOk: false };

  // a stand-in mining pool on loopback that counts what the miner sends
  let minerBytes = 0;
  const sockets = new Set<Socket>();
  const pool: Server = createServer((s) => {
    sockets.add(s);
    s.on('data', (d) => (minerBytes += d.length));
    s.on('error', () => {});
    s.on('close', () => sockets.delete(s));
  });
  const port = o.miningPort ?? 3333;
  await new Promise<void>((resolve, reject) => {
    pool.once('error', reject);
    pool.listen(port, '127.0.0.1', () => resolve());
  }).catch((err: Error) => say(`  (could not listen on 127.0.0.1:${port}: ${err.message}; the connection attempt still counts)`));

  const sb = await Sandbox.create({ name: 'demo-shop', image: 'demo/shop' });
  result.containerId = sb.id;
  const ours = new Set<string>();
  const runPlaybook = new Map<string, string>();
  try {
    say(`▶ container demo-shop (${sb.id}) is running a web shop (sleep 3600)`);
    sb.spawn(['/bin/sleep', '3600'], { stdio: 'ignore' });

    say('▶ someone opens a terminal shell inside it (like kubectl exec -it)');
    await sb.exec(['/usr/bin/script', '-qec', 'id', '/dev/null'], { env: { SHELL: '/bin/bash' }, timeoutMs: 10_000 });

    say(`▶ …and starts a miner that connects to a mining pool port (127.0.0.1:${port})`);
    sb.spawn(['/bin/bash', '-c', `exec 3<>/dev/tcp/127.0.0.1/${port} || exit 1; while echo share >&3; do sleep 0.3; done`], { stdio: 'ignore' });

    let approvalShown = false;
    let shellRunDone = false;
    let minerRunDone = false;
    while (Date.now() < deadline && !(shellRunDone && minerRunDone)) {
      const total = await audit.count();
      const fresh = total > seen ? ((await audit.range(seen, total - 1)) as AuditRecord[]) : [];
      seen = total;
      for (const r of fresh) {
        if (r.action === 'run.started' && r.runId) {
          const run = await runs.get(r.runId);
          if (run?.state.context.alert.output_fields['container.id'] !== sb.id) continue;
          ours.add(r.runId);
          runPlaybook.set(r.runId, run.meta.playbook);
          const a = run.state.context.alert;
          result.alerts.push(a.rule);
          say(`● alert     ${a.rule} (${a.priority}) in container ${sb.id} on ${a.hostname}`);
          say(`● incident  ${run.meta.incidentId.slice(0, 8)} opened; playbook ${run.meta.playbook} starts (run ${r.runId.slice(0, 8)})`);
          continue;
        }
        if (!r.runId || !ours.has(r.runId)) continue;
        const pb = runPlaybook.get(r.runId) ?? '';
        const d = (r.details ?? {}) as Record<string, unknown>;
        switch (r.action) {
          case 'step.started':
            say(`  ↳ ${pb}: step ${r.stepId} started${d.description ? ` — ${String(d.description)}` : ''}`);
            break;
          case 'step.succeeded':
            say(`  ✔ ${pb}: step ${r.stepId} done${d.summary ? ` — ${String(d.summary)}` : ''}`);
            break;
          case 'step.failed':
            say(`  ✖ ${pb}: step ${r.stepId} failed — ${String(d.error ?? '')}`);
            break;
          case 'notification.sent':
          case 'notification.failed':
            say(`  ${r.action === 'notification.sent' ? '✉' : '✖'} ${pb}: notification ${r.action === 'notification.sent' ? 'sent' : 'failed'}${d.notifier ? ` to ${String(d.notifier)}` : ''}`);
            break;
          case 'approval.requested': {
            const id = String(d.approvalId);
            result.approvalId = id;
            approvalShown = true;
            say(`  ⏸ ${pb}: waiting for approval — ${r.target ?? ''}`);
            // a personal link for the person at this terminal; the page checks the vote like any other
            const link = await o.cli(['approvals', 'link', id]);
            say(`     decide in the browser: ${link.code === 0 ? link.stdout.trim() : new URL(`/approvals/${id}`, o.baseUrl).href}`);
            say(`     or run: riposte approvals approve ${id.slice(0, 8)}`);
            if (o.approve === 'cli') {
              const res = await o.cli(['approvals', 'approve', id, '--comment', 'approved by riposte demo']);
              say(`     $ riposte approvals approve ${id.slice(0, 8)}\n     ${(res.stdout || res.stderr).trim()}`);
            }
            break;
          }
          case 'approval.decided':
            say(`  ✔ ${pb}: ${r.outcome === 'success' || d.status === 'approved' ? 'approved' : String(d.status ?? r.outcome)} by ${r.actor.name}${r.actor.via ? ` (${r.actor.via})` : ''}`);
            break;
          case 'run.finished': {
            const status = String(d.status);
            result.runs.push({ id: r.runId, playbook: pb, status });
            say(`■ ${pb}: run ${status}${d.error ? ` — ${String(d.error)}` : ''}`);
            if (pb === 'terminal-shell-in-container') shellRunDone = true;
            if (pb === 'mining-pool-node') minerRunDone = true;
            break;
          }
        }
      }
      if (!approvalShown && ours.size === 0 && Date.now() > deadline - (o.timeoutMs ?? 180_000) + 20_000) {
        throw new Error('no alert reached a playbook within 20 s: is the sensor running and are the default rules and playbooks loaded?');
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    if (!shellRunDone) throw new Error('the terminal-shell playbook did not finish in time');

    // the miner: after isolation nothing more arrives at the pool
    const before = minerBytes;
    await new Promise((r) => setTimeout(r, 1500));
    result.minerCut = minerRunDone && minerBytes === before;
    if (minerRunDone) say(result.minerCut ? `✔ the miner's connection is cut: no bytes reached the pool in the last 1.5 s (${before} bytes before)` : `✖ the miner still reaches the pool (${minerBytes - before} bytes in 1.5 s)`);

    const left = await sb.pids();
    result.contained = left.length === 0;
    say(result.contained ? `✔ contained: no process is left in container ${sb.id}` : `✖ ${left.length} process(es) still run in container ${sb.id}`);

    const { head, records } = await audit.read();
    const v = verifyChain(records, head);
    result.auditOk = v.ok;
    const cli = await o.cli(['audit', 'verify']);
    say(`$ riposte audit verify\n  ${(cli.stdout || cli.stderr).trim()}`);
    return result;
  } finally {
    await sb.destroy();
    for (const s of sockets) s.destroy();
    pool.close();
    say('▶ demo container removed');
  }
}

/** Runs the riposte CLI of this checkout with the project's Node. */
export function cliRunner(cliPath: string, baseArgs: string[], env: NodeJS.ProcessEnv = process.env) {
  return (args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      const c = spawn(process.execPath, [cliPath, ...args, ...baseArgs], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      c.stdout.on('data', (d) => (stdout += d));
      c.stderr.on('data', (d) => (stderr += d));
      c.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    });
}
