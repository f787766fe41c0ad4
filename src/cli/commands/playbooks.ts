// SPDX-License-Identifier: Apache-2.0
/** `riposte playbooks validate [PATHS] [--json]` — exit 1 on any error. */
import { defaultRegistry } from '../../actions/index.ts';
import { formatDiagnostic } from '../../common/errors.ts';
import { loadPlaybookPaths } from '../../playbooks/load.ts';
import { configFromFlags, parse } from '../options.ts';

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {});
  const [sub, ...paths] = positionals;
  if (sub !== 'validate') {
    process.stderr.write('usage: riposte playbooks validate [PATHS...] [--json]\n');
    return 2;
  }
  const loaded = await configFromFlags(values);
  const results = await loadPlaybookPaths(paths.length ? paths : loaded.config.playbooks.paths, { registry: defaultRegistry() });
  const errors = results.flatMap((r) => r.diagnostics.filter((d) => d.severity === 'error'));
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ ok: errors.length === 0, files: results.map((r) => ({ file: r.file, ok: !!r.playbook, name: r.playbook?.playbook.metadata.name, diagnostics: r.diagnostics })) }, null, 2)}\n`);
  } else {
    for (const r of results) {
      if (r.playbook) process.stdout.write(`ok     ${r.file} (${r.playbook.playbook.metadata.name})\n`);
      for (const d of r.diagnostics) process.stdout.write(`${d.severity === 'error' ? 'error  ' : 'warning'} ${formatDiagnostic(d)}\n`);
    }
    process.stdout.write(`${results.length} file(s), ${errors.length} error(s)\n`);
  }
  return errors.length ? 1 : 0;
}
