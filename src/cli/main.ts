#!/usr/bin/env node
// SPDX-License-Identifier: Apache-2.0
/** `riposte` — one CLI, several roles. `riposte help` lists the commands. */
import { RiposteError } from '../common/errors.ts';

const COMMANDS: Record<string, { summary: string; load: () => Promise<{ run(argv: string[]): Promise<number> }> }> = {
  start: { summary: 'engine + HTTP (+ embedded Redis when no URL is set) in one process', load: () => import('./commands/start.ts').then((m) => ({ run: m.runStart })) },
  engine: { summary: 'engine workers + HTTP server against a configured Redis', load: () => import('./commands/start.ts').then((m) => ({ run: m.runEngine })) },
  agent: { summary: 'the per-node role: runs node-local steps (and, with the sensor, detection)', load: () => import('./commands/agent.ts') },
  alert: { summary: 'alert send FILE — post Falco-style alerts to a running Riposte', load: () => import('./commands/alert.ts') },
  audit: { summary: 'audit list|show|verify|export — read, verify and export the audit log', load: () => import('./commands/audit.ts') },
  demo: { summary: 'demo [--approve] — a sandbox container caught, approved and contained, end to end (root)', load: () => import('./commands/demo.ts') },
  rules: { summary: 'rules validate|test — check Falco-syntax rules, replay recorded events', load: () => import('./commands/rules.ts') },
  approvals: { summary: 'approvals list|show|approve|deny|link — decide approval gates from a terminal', load: () => import('./commands/approvals.ts') },
  pause: { summary: 'pause — kill switch: hold new runs (and new steps) until resume', load: () => import('./commands/pause.ts').then((m) => ({ run: m.runPause })) },
  resume: { summary: 'resume — start the held runs and continue', load: () => import('./commands/pause.ts').then((m) => ({ run: m.runResume })) },
  playbooks: { summary: 'playbooks validate [PATHS] — check playbook files', load: () => import('./commands/playbooks.ts') },
  rbac: { summary: 'rbac [--playbooks DIR] [--all] — the least-privilege ClusterRole for the cluster actions', load: () => import('./commands/rbac.ts') },
};

function usage(): string {
  const lines = Object.entries(COMMANDS).map(([k, v]) => `  ${k.padEnd(10)} ${v.summary}`);
  return `usage: riposte <command> [options]\n\ncommands:\n${lines.join('\n')}\n\ncommon options: --config FILE, --port N, --state-dir DIR; environment RIPOSTE_REDIS_URL, RIPOSTE_INGEST_TOKEN(_FILE)\n`;
}

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === 'help' || cmd === '--help' || cmd === '-h') {
    process.stdout.write(usage());
    return cmd ? 0 : 2;
  }
  const entry = COMMANDS[cmd];
  if (!entry) {
    process.stderr.write(`riposte: unknown command "${cmd}"\n\n${usage()}`);
    return 2;
  }
  return (await entry.load()).run(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof RiposteError) process.stderr.write(`riposte: ${err.message}\n`);
    else if (err instanceof Error && (err as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') process.stderr.write(`riposte: ${err.message}\n`);
    // the message names the problem (file, field, address); the stack only helps when debugging Riposte itself
    else process.stderr.write(`riposte: ${err instanceof Error ? (process.env.RIPOSTE_LOG_LEVEL === 'debug' ? (err.stack ?? err.message) : err.message) : String(err)}\n`);
    process.exitCode = err instanceof RiposteError ? 2 : 1;
  },
);
