// SPDX-License-Identifier: Apache-2.0
/**
 * `riposte playbooks validate [PATHS] [--json]` — exit 1 on any error.
 * `riposte playbooks graph FILE --format mermaid|dot|svg` — the state machine as a picture.
 * `riposte playbooks test FILE --alert ALERT.json [--decide approve|deny|timeout] [--fail STEP]` — a dry-run walk.
 * `riposte playbooks schema` — the published JSON Schema (draft-07).
 */
import { readFile } from 'node:fs/promises';
import { defaultRegistry } from '../../actions/index.ts';
import { validateAlert } from '../../alerts/validate.ts';
import { formatDiagnostic } from '../../common/errors.ts';
import { stepsById } from '../../playbooks/compile.ts';
import { playbookGraph, toDot, toMermaid, toSvg } from '../../playbooks/graph.ts';
import { loadPlaybookPaths, type LoadResult } from '../../playbooks/load.ts';
import { playbookSchemas } from '../../playbooks/schema.ts';
import { simulate } from '../../playbooks/simulate.ts';
import { configFromFlags, parse } from '../options.ts';

const USAGE = `usage: riposte playbooks validate [PATHS...] [--json]
       riposte playbooks graph FILE [--format mermaid|dot|svg]
       riposte playbooks test FILE --alert ALERT.json [--decide approve|deny|timeout] [--fail STEP]... [--json]
       riposte playbooks schema
`;

function printDiagnostics(results: LoadResult[]): number {
  let errors = 0;
  for (const r of results) {
    for (const d of r.diagnostics) {
      if (d.severity === 'error') errors++;
      process.stderr.write(`${d.severity === 'error' ? 'error' : 'warning'}: ${formatDiagnostic(d)}\n`);
    }
  }
  return errors;
}

async function loadOne(file: string) {
  const [r] = await loadPlaybookPaths([file], { registry: defaultRegistry() });
  if (!r || printDiagnostics([r]) || !r.playbook) return undefined;
  return r.playbook;
}

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    format: { type: 'string' },
    alert: { type: 'string' },
    decide: { type: 'string' },
    fail: { type: 'string', multiple: true },
  });
  const [sub, ...rest] = positionals;
  const registry = defaultRegistry();
  switch (sub) {
    case 'validate': {
      const loaded = await configFromFlags(values);
      const results = await loadPlaybookPaths(rest.length ? rest : loaded.config.playbooks.paths, { registry });
      const errors = results.flatMap((r) => r.diagnostics.filter((d) => d.severity === 'error'));
      if (values.json) {
        process.stdout.write(`${JSON.stringify({ ok: errors.length === 0, files: results.map((r) => ({ file: r.file, ok: !!r.playbook, name: r.playbook?.playbook.metadata.name, version: r.playbook?.version, diagnostics: r.diagnostics })) }, null, 2)}\n`);
      } else {
        for (const r of results) {
          if (r.playbook) process.stdout.write(`ok      ${r.file} (${r.playbook.playbook.metadata.name})\n`);
          for (const d of r.diagnostics) process.stdout.write(`${d.severity === 'error' ? 'error  ' : 'warning'} ${formatDiagnostic(d)}\n`);
        }
        process.stdout.write(`${results.length} file(s), ${errors.length} error(s)\n`);
      }
      return errors.length ? 1 : 0;
    }
    case 'graph': {
      if (rest.length !== 1) break;
      const lp = await loadOne(rest[0]!);
      if (!lp) return 1;
      const g = playbookGraph(lp.playbook);
      const format = values.format ?? 'mermaid';
      if (format === 'mermaid') process.stdout.write(toMermaid(g));
      else if (format === 'dot') process.stdout.write(toDot(g));
      else if (format === 'svg') process.stdout.write(toSvg(g));
      else {
        process.stderr.write(`riposte: --format must be mermaid, dot or svg (got "${format}")\n`);
        return 2;
      }
      return 0;
    }
    case 'test': {
      if (rest.length !== 1 || !values.alert) break;
      const decide = values.decide ?? 'approve';
      if (!['approve', 'deny', 'timeout'].includes(decide)) {
        process.stderr.write(`riposte: --decide must be approve, deny or timeout (got "${decide}")\n`);
        return 2;
      }
      const lp = await loadOne(rest[0]!);
      if (!lp) return 1;
      let json: unknown;
      try {
        json = JSON.parse(await readFile(values.alert, 'utf8'));
      } catch (err) {
        process.stderr.write(`riposte: ${values.alert}: ${(err as Error).message}\n`);
        return 1;
      }
      const { alert, problems } = validateAlert(json);
      if (!alert) {
        for (const p of problems) process.stderr.write(`error: ${values.alert}: ${p.field}: ${p.message}\n`);
        return 1;
      }
      const ids = stepsById(lp.playbook);
      for (const f of values.fail ?? []) {
        if (!ids.has(f)) {
          process.stderr.write(`riposte: --fail ${f}: no such step\n`);
          return 2;
        }
      }
      const result = simulate(lp, alert, registry, { decide: decide as 'approve' | 'deny' | 'timeout', fail: values.fail });
      if (values.json) process.stdout.write(`${JSON.stringify({ status: result.status, entries: result.entries }, null, 2)}\n`);
      else {
        process.stdout.write(`dry run of ${lp.playbook.metadata.name} for alert "${alert.rule}" (${alert.priority})\n`);
        for (const e of result.entries) {
          process.stdout.write(`  ${e.text}\n`);
          if (e.params && Object.keys(e.params as object).length) process.stdout.write(`      with ${JSON.stringify(e.params)}\n`);
        }
      }
      return 0;
    }
    case 'schema':
      process.stdout.write(`${JSON.stringify(playbookSchemas(registry).published, null, 2)}\n`);
      return 0;
  }
  process.stderr.write(USAGE);
  return 2;
}
