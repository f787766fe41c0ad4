// SPDX-License-Identifier: Apache-2.0
/**
 * `riposte rules validate FILES` — check Falco-syntax rules files (exit 1 on errors).
 * `riposte rules test FILES --events EVENTS.ndjson` — replay recorded events offline
 * through the rules and print the alerts they raise.
 */
import { readFile } from 'node:fs/promises';
import type { Alert } from '../../alerts/alert.ts';
import { formatDiagnostic } from '../../common/errors.ts';
import { ContainerResolver } from '../../../detector/container/resolver.ts';
import { Detector } from '../../../detector/detector.ts';
import { ProcessTable } from '../../../detector/process/table.ts';
import { parseRecordedEvent } from '../../../detector/recording.ts';
import { DEFAULT_RULES_FILE, loadRulesFiles, validateRulesFiles } from '../../../detector/ruleset/index.ts';
import { parse } from '../options.ts';

const USAGE = 'usage: riposte rules validate [FILES...] [--json]\n       riposte rules test [FILES...] --events EVENTS.ndjson [--json]\n';

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { events: { type: 'string' } });
  const [sub, ...files] = positionals;
  const paths = files.length ? files : [DEFAULT_RULES_FILE];
  if (sub === 'validate') {
    const diags = validateRulesFiles(paths);
    const errors = diags.filter((d) => d.severity === 'error');
    if (values.json) process.stdout.write(`${JSON.stringify({ ok: errors.length === 0, diagnostics: diags }, null, 2)}\n`);
    else {
      for (const d of diags) process.stdout.write(`${d.severity === 'error' ? 'error  ' : 'warning'} ${formatDiagnostic(d)}\n`);
      const rs = errors.length ? undefined : loadRulesFiles(paths);
      process.stdout.write(`${paths.length} path(s), ${errors.length} error(s), ${diags.length - errors.length} warning(s)${rs ? `, ${rs.rules.length} rules enabled` : ''}\n`);
    }
    return errors.length ? 1 : 0;
  }
  if (sub === 'test' && values.events) {
    const ruleset = loadRulesFiles(paths);
    if (ruleset.errors.length) {
      for (const d of ruleset.errors) process.stderr.write(`error: ${formatDiagnostic(d)}\n`);
      return 1;
    }
    const alerts: Alert[] = [];
    const detector = new Detector({ ruleset, hostname: 'replay', processes: new ProcessTable({ procRoot: '/nonexistent' }), containers: new ContainerResolver({ cgroupRoot: null, procRoot: '/nonexistent' }), onAlert: (a) => alerts.push(a), throttle: { windowMs: 1, burst: 1_000_000 } });
    const lines = (await readFile(values.events, 'utf8')).split('\n');
    let n = 0;
    for (const [i, line] of lines.entries()) {
      if (!line.trim()) continue;
      try {
        detector.handleEvent(parseRecordedEvent(JSON.parse(line)));
        n++;
      } catch (err) {
        process.stderr.write(`error: ${values.events}:${i + 1}: ${(err as Error).message}\n`);
        return 1;
      }
    }
    for (const a of alerts) process.stdout.write(values.json ? `${JSON.stringify(a)}\n` : `${a.priority.padEnd(9)} ${a.rule}: ${a.output}\n`);
    if (!values.json) process.stdout.write(`${n} event(s), ${alerts.length} alert(s)\n`);
    return 0;
  }
  process.stderr.write(USAGE);
  return 2;
}
