// SPDX-License-Identifier: Apache-2.0
// Falco rules files: lists, macros, rules, overrides, appends, exceptions,
// unsupported fields, outputs, rule_matching, the event-type index, and the
// file:line:col of every error.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { DetectorEvent } from '../../../detector/fields/index.ts';
import { type LoadOptions, loadRules, matchEvent, matchStats, type Ruleset, validateRulesFiles } from '../../../detector/ruleset/index.ts';
import { formatDiagnostic } from '../../../src/common/errors.ts';
import { connect, event, exec, O_RDONLY, O_WRONLY, open, proc } from './events.ts';

function load(text: string, opts: LoadOptions = {}): Ruleset {
  return loadRules([{ file: 'rules.yaml', text }], opts);
}
function loadMany(files: [string, string][], opts: LoadOptions = {}): Ruleset {
  return loadRules(
    files.map(([file, text]) => ({ file, text })),
    opts,
  );
}
const errs = (rs: Ruleset) => rs.errors.map(formatDiagnostic);
const warns = (rs: Ruleset) => rs.warnings.map(formatDiagnostic);
const names = (rs: Ruleset, ev: DetectorEvent) => matchEvent(rs, ev).map((r) => r.name);
function clean(rs: Ruleset): Ruleset {
  assert.deepEqual(errs(rs), [], 'unexpected errors');
  assert.deepEqual(warns(rs), [], 'unexpected warnings');
  return rs;
}
function rule(name: string, condition: string, extra = ''): string {
  return `- rule: ${name}\n  desc: ${name} desc\n  condition: ${condition}\n  output: "${name} %proc.name"\n  priority: WARNING\n${extra}`;
}

const BASE = `
- list: shells
  items: [bash, sh]
- macro: spawned
  condition: evt.type = execve
- rule: Shell
  desc: a shell
  condition: spawned and proc.name in (shells)
  output: "shell %proc.name (parent=%proc.pname)"
  priority: warning
  tags: [shell, T1059]
`;

describe('loading', () => {
  test('a rule compiles with its metadata', () => {
    const rs = clean(load(BASE));
    assert.equal(rs.rules.length, 1);
    const r = rs.rules[0]!;
    assert.deepEqual(
      { name: r.name, desc: r.desc, priority: r.priority, tags: r.tags, source: r.source, file: r.file, line: r.line, types: [...(r.eventTypes as Set<string>)] },
      { name: 'Shell', desc: 'a shell', priority: 'warning', tags: ['shell', 'T1059'], source: 'syscall', file: 'rules.yaml', line: 6, types: ['execve'] },
    );
    assert.equal(r.condition, 'spawned and proc.name in (shells)');
    assert.deepEqual(names(rs, exec('bash')), ['Shell']);
    assert.deepEqual(names(rs, exec('ls')), []);
    assert.deepEqual(names(rs, open('/bin/bash', O_RDONLY, { name: 'bash' })), []);
  });

  test('priorities are case-insensitive Falco levels', () => {
    for (const [p, want] of [
      ['EMERGENCY', 'emergency'],
      ['Alert', 'alert'],
      ['CRITICAL', 'critical'],
      ['error', 'error'],
      ['Warning', 'warning'],
      ['NOTICE', 'notice'],
      ['INFORMATIONAL', 'informational'],
      ['info', 'informational'],
      ['DEBUG', 'debug'],
    ]) {
      const rs = clean(load(rule('R', 'evt.type = execve').replace('WARNING', p!)));
      assert.equal(rs.rules[0]?.priority, want);
    }
    assert.deepEqual(errs(load(rule('R', 'evt.type = execve').replace('WARNING', 'urgent'))), [
      "rules.yaml:5:13 [0].priority: invalid priority 'urgent': expected emergency, alert, critical, error, warning, notice, informational or debug",
    ]);
  });

  test('lists may include earlier lists, and quoted items stand for their text', () => {
    const rs = clean(
      load(`
- list: a
  items: [x]
- list: b
  items: [a, y, '"(systemd)"', "'q'"]
${rule('R', 'evt.type = execve and proc.name in (b)')}`),
    );
    for (const n of ['x', 'y', '(systemd)', 'q']) assert.deepEqual(names(rs, exec(n)), ['R'], n);
    assert.deepEqual(names(rs, exec('a')), []);
  });

  test('a redefined rule replaces the earlier one and keeps its place', () => {
    const rs = clean(load(`${rule('A', 'evt.type = execve')}${rule('B', 'evt.type = execve')}${rule('A', 'evt.type = execve and proc.name = x')}`, { ruleMatching: 'first' }));
    assert.deepEqual(
      rs.rules.map((r) => r.name),
      ['A', 'B'],
    );
    assert.deepEqual(names(rs, exec('x')), ['A']);
    assert.deepEqual(names(rs, exec('y')), ['B']);
  });

  test('`enabled: false` drops a rule; a later `enabled: true` item brings it back', () => {
    const off = load(`${BASE}- rule: Shell\n  enabled: false\n`);
    assert.deepEqual(off.rules, []);
    assert.deepEqual(off.disabled, ['Shell']);
    const on = clean(load(`${BASE.replace('priority: warning', 'priority: warning\n  enabled: false')}- rule: Shell\n  enabled: true\n`));
    assert.equal(on.rules.length, 1);
    assert.deepEqual(errs(load('- rule: Nope\n  enabled: false\n')), ["rules.yaml:1:9 [0].rule: rule 'Nope' has 'enabled' but no rule by that name was defined before"]);
  });

  test('rules of other sources are kept aside with one warning per file and source', () => {
    const rs = load(`${BASE}
- rule: K1
  desc: d
  condition: ka.verb = create
  output: o
  priority: info
  source: k8s_audit
- rule: K2
  desc: d
  condition: ka.verb = delete
  output: o
  priority: info
  source: k8s_audit
`);
    assert.deepEqual(errs(rs), []);
    assert.deepEqual(
      rs.foreign.map((f) => [f.name, f.source, f.line]),
      [
        ['K1', 'k8s_audit', 13],
        ['K2', 'k8s_audit', 19],
      ],
    );
    assert.deepEqual(warns(rs), ["rules.yaml:13:9 [3].rule: 2 rule(s) with source 'k8s_audit' kept aside: the detector loads only syscall rules"]);
    assert.deepEqual(
      rs.rules.map((r) => r.name),
      ['Shell'],
    );
    const redefined = load(`${BASE}- rule: Shell\n  desc: d\n  condition: x.y = 1\n  output: o\n  priority: info\n  source: aws_cloudtrail\n`);
    assert.deepEqual(errs(redefined), ["rules.yaml:17:11 [3].source: rule 'Shell' redefined with a different source ('syscall' before, 'aws_cloudtrail' now)"]);
  });

  test('required_engine_version and required_plugin_versions', () => {
    assert.deepEqual(warns(load('- required_engine_version: 17\n- required_engine_version: 0.31.0\n')), []);
    assert.deepEqual(warns(load('- required_engine_version: 9.0.0\n')), [
      'rules.yaml:1:28 [0].required_engine_version: rules require engine version 9.0.0, Riposte implements 0.50.0: rules using newer features may be skipped',
    ]);
    assert.deepEqual(errs(load('- required_engine_version: v1\n')), ['rules.yaml:1:28 [0].required_engine_version: required_engine_version must be an integer or an x.y.z version, got "v1"']);
    assert.deepEqual(warns(load('- required_plugin_versions:\n    - name: k8saudit\n      version: 0.1.0\n')), [
      'rules.yaml:1:3 [0].required_plugin_versions: required_plugin_versions ignored: the Riposte detector runs no plugins',
    ]);
  });

  test('several files load in order; later files override earlier ones', () => {
    const rs = loadMany([
      ['a.yaml', BASE],
      ['b.yaml', '- list: shells\n  items: [zsh]\n  override:\n    items: append\n'],
    ]);
    clean(rs);
    assert.deepEqual(names(rs, exec('zsh')), ['Shell']);
    const broken = loadMany([
      ['a.yaml', BASE],
      ['b.yaml', '- macro: spawned\n  condition: evt.type = (\n  override:\n    condition: replace\n'],
    ]);
    assert.deepEqual(errs(broken), ["b.yaml:2:25 [0].condition: macro 'spawned': unexpected '(': '=' expects a value or val(field)"]);
  });
});

describe('override and append', () => {
  test('list: append and replace, and the legacy append: true', () => {
    const appended = clean(load(`${BASE}- list: shells\n  items: [zsh]\n  override:\n    items: append\n`));
    assert.deepEqual(names(appended, exec('bash')), ['Shell']);
    assert.deepEqual(names(appended, exec('zsh')), ['Shell']);
    const replaced = clean(load(`${BASE}- list: shells\n  items: [zsh]\n  override:\n    items: replace\n`));
    assert.deepEqual(names(replaced, exec('bash')), []);
    assert.deepEqual(names(replaced, exec('zsh')), ['Shell']);
    const legacy = clean(load(`${BASE}- list: shells\n  items: [zsh]\n  append: true\n`));
    assert.deepEqual(names(legacy, exec('zsh')), ['Shell']);
    assert.deepEqual(names(legacy, exec('sh')), ['Shell']);
  });

  test('macro: append and replace, and the legacy append: true', () => {
    const appended = clean(load(`${BASE}- macro: spawned\n  condition: and proc.pname = init\n  override:\n    condition: append\n`));
    assert.deepEqual(names(appended, exec('bash')), []);
    assert.deepEqual(names(appended, exec('bash', [], { parent: proc('init') })), ['Shell']);
    const legacy = clean(load(`${BASE}- macro: spawned\n  condition: and proc.pname = init\n  append: true\n`));
    assert.deepEqual(names(legacy, exec('bash')), []);
    const replaced = clean(load(`${BASE}- macro: spawned\n  condition: evt.type = openat\n  override:\n    condition: replace\n`));
    assert.deepEqual(names(replaced, exec('bash')), []);
    assert.deepEqual(names(replaced, open('/x', O_RDONLY, { name: 'bash' })), ['Shell']);
    assert.deepEqual([...(replaced.rules[0]!.eventTypes as Set<string>)], ['openat']);
  });

  test('rule: append to condition, output, desc and tags', () => {
    const rs = clean(
      load(`${BASE}
- rule: Shell
  condition: and not proc.pname = sshd
  output: user=%user.name
  desc: (tuned)
  tags: [T1059, custom]
  override:
    condition: append
    output: append
    desc: append
    tags: append
`),
    );
    const r = rs.rules[0]!;
    assert.equal(r.condition, 'spawned and proc.name in (shells) and not proc.pname = sshd');
    assert.equal(r.output, 'shell %proc.name (parent=%proc.pname) user=%user.name');
    assert.equal(r.desc, 'a shell (tuned)');
    assert.deepEqual(r.tags, ['shell', 'T1059', 'custom']);
    assert.deepEqual(names(rs, exec('bash')), ['Shell']);
    assert.deepEqual(names(rs, exec('bash', [], { parent: proc('sshd') })), []);
  });

  test('rule: replace condition, output, priority, tags, enabled', () => {
    const rs = clean(
      load(`${BASE}
- rule: Shell
  condition: evt.type = execve and proc.name = zsh
  output: zsh!
  priority: critical
  tags: [only]
  override:
    condition: replace
    output: replace
    priority: replace
    tags: replace
`),
    );
    const r = rs.rules[0]!;
    assert.deepEqual([r.condition, r.output, r.priority, r.tags], ['evt.type = execve and proc.name = zsh', 'zsh!', 'critical', ['only']]);
    assert.deepEqual(names(rs, exec('bash')), []);
    assert.deepEqual(names(rs, exec('zsh')), ['Shell']);
    const off = load(`${BASE}- rule: Shell\n  enabled: false\n  override:\n    enabled: replace\n`);
    assert.deepEqual(off.rules, []);
  });

  test('rule: the legacy append: true appends the condition', () => {
    const rs = clean(load(`${BASE}- rule: Shell\n  condition: and proc.pname = init\n  append: true\n`));
    assert.deepEqual(names(rs, exec('bash')), []);
    assert.deepEqual(names(rs, exec('bash', [], { parent: proc('init') })), ['Shell']);
  });

  test('override mistakes are errors at the offending key', () => {
    const cases: [string, string][] = [
      ['- rule: Shell\n  priority: info\n  override:\n    priority: append\n', "rules.yaml:15:5 [3].override.priority: key 'priority' cannot be appended to, use 'replace'"],
      ['- rule: Shell\n  source: x\n  override:\n    source: replace\n', "rules.yaml:15:5 [3].override.source: key 'source' cannot be replaced"],
      ['- rule: Shell\n  output: x\n  override:\n    output: merge\n', "rules.yaml:15:13 [3].override.output: invalid override operation 'merge' for 'output': expected append or replace"],
      ['- rule: Shell\n  override:\n    output: append\n', "rules.yaml:14:5 [3].override.output: rule 'Shell': an override for 'output' is given but 'output' is not defined"],
      ['- rule: Shell\n  output: x\n  desc: y\n  override:\n    output: append\n', "rules.yaml:14:3 [3].desc: rule 'Shell': unexpected key 'desc': no corresponding entry under 'override'"],
      ['- rule: Nope\n  output: x\n  override:\n    output: append\n', "rules.yaml:12:9 [3].rule: rule 'Nope': no previous rule to override"],
      ['- rule: Shell\n  condition: and x\n  append: true\n  override:\n    condition: append\n', "rules.yaml:14:3 [3].append: 'append' and 'override' cannot be used together"],
      ['- rule: Nope\n  condition: and x\n  append: true\n', "rules.yaml:12:9 [3].rule: rule 'Nope': no previous rule to append to"],
      ['- list: nope\n  items: [x]\n  override:\n    items: append\n', "rules.yaml:12:9 [3].list: list 'nope': no previous list to append to"],
      ['- macro: nope\n  condition: x\n  append: true\n', "rules.yaml:12:10 [3].macro: macro 'nope': no previous macro to append to"],
    ];
    for (const [extra, want] of cases) assert.deepEqual(errs(load(`${BASE}${extra}`)), [want], extra);
  });

  test('a syntax error in an appended condition points into the append', () => {
    const rs = load(`${BASE}- rule: Shell\n  condition: and not (proc.pname = x\n  override:\n    condition: append\n`);
    assert.deepEqual(errs(rs), ["rules.yaml:13:37 [3].condition: rule 'Shell': unexpected end of condition: expected ')'"]);
  });
});

describe('exceptions', () => {
  const WRITER = `
- rule: Bin write
  desc: write below bin
  condition: evt.type = openat and evt.is_open_write = true and fd.directory in (/usr/bin, /bin)
  output: "%proc.name wrote %fd.name"
  priority: error
`;
  const write = (name: string, path: string) => open(path, O_WRONLY, { name });

  test('tuple form: fields and comps pairwise, each values entry one tuple', () => {
    const rs = clean(
      load(`${WRITER}  exceptions:
    - name: known_writers
      fields: [proc.name, fd.name]
      comps: [=, startswith]
      values:
        - [dpkg, /usr/bin/]
        - [installer, /bin/tool]
`),
    );
    assert.deepEqual(names(rs, write('dpkg', '/usr/bin/ls')), []);
    assert.deepEqual(names(rs, write('dpkg', '/bin/ls')), ['Bin write']);
    assert.deepEqual(names(rs, write('installer', '/bin/tool')), []);
    assert.deepEqual(names(rs, write('evil', '/usr/bin/ls')), ['Bin write']);
  });

  test('comps default to =; list values in a tuple; list names expand; pmatch with one value', () => {
    const rs = clean(
      load(`- list: pkg_tools
  items: [dpkg, rpm]
${WRITER}  exceptions:
    - name: by_name
      fields: [proc.name]
      values: [[apt]]
    - name: by_list
      fields: [proc.name, fd.filename]
      comps: [in, in]
      values:
        - [[pkg_tools], [ls, cat]]
    - name: by_prefix
      fields: [proc.name, fd.name]
      comps: [=, pmatch]
      values: [[cp, /usr/bin]]
`),
    );
    assert.deepEqual(names(rs, write('apt', '/usr/bin/x')), []);
    assert.deepEqual(names(rs, write('rpm', '/usr/bin/cat')), []);
    assert.deepEqual(names(rs, write('rpm', '/usr/bin/tac')), ['Bin write']);
    assert.deepEqual(names(rs, write('cp', '/usr/bin/anything')), []);
    assert.deepEqual(names(rs, write('cp', '/bin/anything')), ['Bin write']);
  });

  test('single-field form: fields is a string and comps one of in/pmatch/intersects (default in)', () => {
    const rs = clean(load(`${WRITER}  exceptions:\n    - name: procs\n      fields: proc.name\n      values: [dpkg, rpm]\n    - name: paths\n      fields: fd.name\n      comps: pmatch\n      values: [/usr/bin/tools]\n`));
    assert.deepEqual(names(rs, write('rpm', '/usr/bin/x')), []);
    assert.deepEqual(names(rs, write('cp', '/usr/bin/tools/x')), []);
    assert.deepEqual(names(rs, write('cp', '/usr/bin/x')), ['Bin write']);
  });

  test('exception values can be appended, and new exceptions added, by a later file', () => {
    const first = `${WRITER}  exceptions:\n    - name: known\n      fields: [proc.name]\n      values: []\n`;
    const rs = clean(
      loadMany([
        ['a.yaml', first],
        [
          'b.yaml',
          `- rule: Bin write
  exceptions:
    - name: known
      values: [[dpkg]]
    - name: extra
      fields: [fd.name]
      values: [[/bin/special]]
  override:
    exceptions: append
`,
        ],
      ]),
    );
    assert.deepEqual(names(rs, write('dpkg', '/usr/bin/x')), []);
    assert.deepEqual(names(rs, write('cp', '/bin/special')), []);
    assert.deepEqual(names(rs, write('cp', '/bin/other')), ['Bin write']);
    const legacy = clean(load(`${first}- rule: Bin write\n  exceptions:\n    - name: known\n      values: [[rpm]]\n  append: true\n`));
    assert.deepEqual(names(legacy, write('rpm', '/usr/bin/x')), []);
    const replaced = clean(load(`${first.replace('values: []', 'values: [[rpm]]')}- rule: Bin write\n  exceptions:\n    - name: other\n      fields: [proc.name]\n      values: [[cp]]\n  override:\n    exceptions: replace\n`));
    assert.deepEqual(names(replaced, write('rpm', '/usr/bin/x')), ['Bin write']);
    assert.deepEqual(names(replaced, write('cp', '/usr/bin/x')), []);
  });

  test('malformed exceptions are errors at the exception', () => {
    const bad = (ex: string) => errs(load(`${WRITER}  exceptions:\n${ex}`));
    assert.deepEqual(bad('    - name: e\n      fields: [proc.name, fd.name]\n      comps: [=]\n      values: [[a, b]]\n'), ["rules.yaml:8:13 [0].exceptions[0].name: rule 'Bin write': exception 'e': 'fields' has 2 entries but 'comps' has 1"]);
    assert.deepEqual(bad('    - name: e\n      fields: [proc.name, fd.name]\n      values: [[a]]\n'), ["rules.yaml:8:13 [0].exceptions[0].name: rule 'Bin write': exception 'e': values[0] has 1 values but there are 2 fields"]);
    assert.deepEqual(bad('    - name: e\n      fields: [proc.name]\n      comps: [like]\n      values: [[a]]\n'), ["rules.yaml:8:13 [0].exceptions[0].name: rule 'Bin write': exception 'e': 'like' is not a comparison operator usable in exceptions"]);
    assert.deepEqual(bad('    - name: e\n      fields: proc.name\n      comps: "="\n      values: [a]\n'), [
      "rules.yaml:8:13 [0].exceptions[0].name: rule 'Bin write': exception 'e': when 'fields' is a single field, 'comps' must be one of in, pmatch, intersects (got '=')",
    ]);
    assert.deepEqual(bad('    - name: e\n      values: [[a]]\n'), ["rules.yaml:8:13 [0].exceptions[0].name: rule 'Bin write': exception 'e' must have 'fields'"]);
    assert.deepEqual(bad('    - name: e\n      fields: [fd.sport]\n      values: [[http]]\n'), ["rules.yaml:8:13 [0].exceptions[0].name: rule 'Bin write': exception 'e': 'fd.sport' is numeric: 'http' is not a number"]);
    assert.deepEqual(bad('    - name: e\n      fields: [proc.name]\n      comps: [regex]\n      values: [["("]]\n'), [
      "rules.yaml:8:13 [0].exceptions[0].name: rule 'Bin write': exception 'e': invalid regex '(': Invalid regular expression: /^(?:()$/su: Unterminated group",
    ]);
    assert.deepEqual(bad('    - name: e\n      fields: [proc.name]\n      values: [[a]]\n    - name: e\n      fields: [proc.name]\n      values: [[b]]\n'), ["rules.yaml:11:7 [0].exceptions[1]: exception names must be unique: 'e' repeated"]);
  });

  test('an exception on an unsupported field skips the rule with one warning', () => {
    const rs = load(`${WRITER}  exceptions:\n    - name: e\n      fields: [fd.sip.name, proc.name]\n      values: [[a, b], [c, d]]\n`);
    assert.deepEqual(errs(rs), []);
    assert.deepEqual(warns(rs), ["rules.yaml:2:9 [0].rule: rule 'Bin write' skipped: field 'fd.sip.name' is not provided by the Riposte sensor"]);
    assert.deepEqual(rs.rules, []);
  });
});

describe('unsupported fields and event types', () => {
  test('a rule needing an unsupported field is skipped with exactly one warning naming the field', () => {
    const rs = load(`
- macro: uses_it
  condition: thread.cap_effective icontains sys_admin
- macro: unused
  condition: proc.vpgid = 1
${rule('Cap', 'evt.type = execve and uses_it and not thread.cap_effective contains x and proc.name = sh')}
${rule('Fine', 'evt.type = execve and proc.name = sh')}
`);
    assert.deepEqual(errs(rs), []);
    assert.deepEqual(warns(rs), ["rules.yaml:6:9 [2].rule: rule 'Cap' skipped: field 'thread.cap_effective' is not provided by the Riposte sensor"]);
    assert.deepEqual(
      rs.rules.map((r) => r.name),
      ['Fine'],
    );
    assert.deepEqual(names(rs, exec('sh')), ['Fine']);
  });

  test('several unsupported fields are named in the one warning', () => {
    const rs = load(rule('Two', 'evt.type = execve and proc.sname = a and container.privileged = true'));
    assert.deepEqual(warns(rs), [
      "rules.yaml:1:9 [0].rule: rule 'Two' skipped: field 'proc.sname' is not provided by the Riposte sensor (did you mean 'proc.name'?); field 'container.privileged' is not provided by the Riposte sensor",
    ]);
  });

  test('a disabled rule with unsupported fields loads silently', () => {
    const rs = load(`${rule('Off', 'evt.type = execve and proc.sname = a')}  enabled: false\n`);
    assert.deepEqual([...errs(rs), ...warns(rs)], []);
  });

  test('unsupported output fields print <NA> with one warning; the rule still loads', () => {
    const rs = load(`- rule: Out\n  desc: d\n  condition: evt.type = execve\n  output: "%proc.name %proc.sid %fd.sip.name %proc.sid"\n  priority: info\n`);
    assert.deepEqual(warns(rs), ["rules.yaml:4:11 [0].output: rule 'Out': output fields proc.sid, fd.sip.name not provided by the Riposte sensor, shown as <NA>"]);
    assert.equal(rs.rules[0]?.formatOutput(exec('sh')), 'sh <NA> <NA> <NA>');
  });

  test('rules only on event types the sensor never produces are skipped; partially known types are trimmed', () => {
    const rs = load(`${rule('Dup', 'evt.type in (dup, dup2) and proc.name = sh')}${rule('Mixed', 'evt.type in (dup2, execve) and proc.name = sh')}${rule('Never', 'evt.type = execve and evt.type = openat')}`);
    assert.deepEqual(warns(rs), [
      "rules.yaml:1:9 [0].rule: rule 'Dup' skipped: it needs event types dup, dup2, which the Riposte sensor does not produce",
      "rules.yaml:11:9 [2].rule: rule 'Never' skipped: its evt.type conditions contradict each other, it can never match",
    ]);
    assert.deepEqual([...(rs.rules[0]!.eventTypes as Set<string>)], ['execve']);
  });

  test('a rule without an evt.type restriction warns unless warn_evttypes is false', () => {
    assert.deepEqual(warns(load(rule('Any', 'proc.name = sh'))), [
      "rules.yaml:1:9 [0].rule: rule 'Any' does not restrict evt.type: it is evaluated for every event (add an evt.type condition, or warn_evttypes: false)",
    ]);
    assert.deepEqual(warns(load(`${rule('Any', 'proc.name = sh')}  warn_evttypes: false\n`)), []);
  });
});

describe('errors name file:line:col', () => {
  const at = (text: string) => errs(load(text));

  test('YAML syntax errors', () => {
    const e = at('- rule: a\n  desc: [unclosed\n  condition: x\n');
    assert.equal(e.length >= 1, true);
    assert.match(e[0]!, /^rules\.yaml:\d+:\d+ /);
    assert.deepEqual(at('- rule: a\n   bad: indent\n  x: y\n').length > 0, true);
  });

  test('structure errors', () => {
    assert.deepEqual(at('rule: x\n'), ['rules.yaml:1:1 rules content must be a YAML sequence of list, macro and rule items']);
    assert.deepEqual(at('- just a string\n'), ['rules.yaml:1:3 [0]: each item must be a mapping (list, macro, rule, required_engine_version, ...)']);
    assert.deepEqual(at('- rule: a\n  desc: d\n  condition: evt.type = execve\n  priority: info\n'), ["rules.yaml:1:3 [0]: missing required key 'output'"]);
    assert.deepEqual(at('- list: a\n  items: x\n'), ["rules.yaml:2:10 [0].items: list 'a': 'items' must be a sequence"]);
    assert.deepEqual(at('- list: a b\n  items: []\n'), ["rules.yaml:1:9 [0].list: invalid list name 'a b': it must be a bare word (no blanks, quotes, parentheses, commas or '=')"]);
    assert.deepEqual(at('- macro: 1m\n  condition: x\n'), ["rules.yaml:1:10 [0].macro: invalid macro name '1m': it must match [a-zA-Z][a-zA-Z0-9_]*"]);
    assert.deepEqual(at(`${rule('R', 'evt.type = execve')}  tags: shell\n`), ["rules.yaml:6:9 [0].tags: 'tags' must be a sequence of strings"]);
    assert.deepEqual(at(`${rule('R', 'evt.type = execve')}  enabled: no\n`), ["rules.yaml:6:12 [0].enabled: 'enabled' must be true or false"]);
  });

  test('unknown keys and items are warnings with a suggestion', () => {
    const rs = load(`${rule('R', 'evt.type = execve')}  condtion: x\n- makro: y\n`);
    assert.deepEqual(warns(rs), ["rules.yaml:6:3 [0].condtion: unknown key 'condtion' in a rule (did you mean 'condition'?): ignored", "rules.yaml:7:3 [1].makro: unknown top-level item 'makro' (did you mean 'macro'?): ignored"]);
  });

  test('condition syntax errors point inside the scalar, whatever its style', () => {
    // the error is at the 'b' of "(a b)", or just after the trailing '='
    const cases = [
      '  condition: evt.type = execve and proc.name =\n',
      '  condition: evt.type = execve and proc.name in (a b)\n',
      '  condition: evt.type = execve and\n    proc.name in (a b)\n',
      '  condition: >\n    evt.type = execve and\n      proc.name in (a b)\n',
      '  condition: |\n    evt.type = execve\n    and proc.name in (a b)\n',
      '  condition: >-\n    evt.type = execve\n\n    and proc.name in (a b)\n',
      '  condition: "evt.type = execve and proc.name in (\\"a\\" b)"\n',
      "  condition: 'evt.type = execve and proc.name in (''a'' b)'\n",
      '  condition: "evt.type = execve and\n    proc.name in (a b)"\n',
      '  condition: "evt.type = execve and \\\n    proc.name in (a\\tb)"\n',
    ];
    for (const cond of cases) {
      const text = `- rule: R\n  desc: d\n${cond}  output: o\n  priority: info\n`;
      const lines = text.split('\n');
      const li = lines.findIndex((l) => / b\)|\\tb\)|=$/.test(l));
      const line = lines[li]!;
      const col = line.endsWith('=') ? line.length + 1 : line.includes(' b)') ? line.lastIndexOf(' b)') + 2 : line.lastIndexOf('\\tb)') + 3;
      const e = at(text);
      assert.equal(e.length, 1, `${cond}: ${e.join('\n')}`);
      assert.ok(e[0]!.startsWith(`rules.yaml:${li + 1}:${col} [0].condition: rule 'R': `), `${JSON.stringify(cond)} → ${e[0]} (want ${li + 1}:${col})`);
    }
  });

  test('errors inside a macro point at the macro, once, even when several rules use it', () => {
    const rs = load(`- macro: m\n  condition: >\n    proc.name = a or\n    proc.pid <\n${rule('A', 'evt.type = execve and m')}${rule('B', 'evt.type = execve and not m')}`);
    assert.deepEqual(errs(rs), ["rules.yaml:4:15 [0].condition: macro 'm': unexpected end of condition: '<' expects a number or val(field)"]);
  });

  test('undefined macros and lists are errors at the reference, used or not', () => {
    assert.deepEqual(errs(load(rule('A', 'evt.type = execve and spawnd_process'))), ["rules.yaml:3:36 [0].condition: rule 'A': undefined macro 'spawnd_process'"]);
    assert.deepEqual(errs(load(`- list: shells\n  items: [sh]\n${rule('A', 'evt.type = execve and proc.name in shels')}`)), ["rules.yaml:5:49 [1].condition: rule 'A': undefined list 'shels' (did you mean 'shells'?)"]);
    assert.deepEqual(errs(load('- macro: unused\n  condition: proc.name = a and other_macro\n')), ["rules.yaml:2:32 [0].condition: macro 'unused': undefined macro 'other_macro'"]);
    assert.deepEqual(errs(load(`- macro: m\n  condition: proc.name = a and m\n${rule('A', 'evt.type = execve and m')}`)), ["rules.yaml:2:32 [0].condition: macro 'm': macro 'm' refers to itself (m -> m)"]);
  });

  test('type errors point at the value', () => {
    assert.deepEqual(errs(load(rule('A', 'evt.type = connect and fd.sport in (443, https)'))), ["rules.yaml:3:55 [0].condition: rule 'A': 'fd.sport' is numeric: 'https' is not a number"]);
  });
});

describe('outputs', () => {
  test('%field substitution, <NA> for absent fields, literal % kept', () => {
    const rs = clean(
      load(`- rule: Out
  desc: d
  condition: evt.type = openat
  output: >
    100% sure: %proc.name opened %fd.name (flags=%evt.arg.flags gp=%proc.aname[2]
    ns=%k8s.ns.name at %evt.time label=%k8s.pod.label[app] %container.info)
  priority: info
`),
    );
    const r = rs.rules[0]!;
    const ev = open('/etc/shadow', O_RDONLY, { name: 'cat' });
    assert.equal(
      r.formatOutput(ev),
      '100% sure: cat opened /etc/shadow (flags=O_RDONLY gp=<NA> ns=<NA> at 13:20:00.123456789 label=<NA> container_id=host container_name=<NA>)',
    );
    assert.deepEqual(r.outputFields(ev), {
      'proc.name': 'cat',
      'fd.name': '/etc/shadow',
      'evt.arg.flags': 'O_RDONLY',
      'proc.aname[2]': null,
      'k8s.ns.name': null,
      'evt.time': '1732800000123456789',
      'k8s.pod.label[app]': null,
      'container.id': 'host',
      'container.name': null,
    });
  });

  test('numbers, booleans and lists in output_fields', () => {
    const rs = clean(load(`- rule: Out\n  desc: d\n  condition: evt.type = execve\n  output: "%proc.pid %proc.is_exe_upper_layer %proc.aname %k8s.pod.labels"\n  priority: info\n`));
    const ev = exec('sh');
    assert.equal(rs.rules[0]!.formatOutput(ev), '1001 false (containerd-shim,systemd) <NA>');
    assert.deepEqual(rs.rules[0]!.outputFields(ev), { 'proc.pid': 1001, 'proc.is_exe_upper_layer': false, 'proc.aname': ['containerd-shim', 'systemd'], 'k8s.pod.labels': null });
  });
});

describe('matching and the event-type index', () => {
  const RULES = `
${rule('Exec sh', 'evt.type = execve and proc.name = sh')}
${rule('Exec any', 'evt.type in (execve, execveat)')}
${rule('Open', 'evt.type in (open, openat)')}
${rule('Anything sh', 'proc.name = sh')}  warn_evttypes: false
`;
  test('rule_matching all returns every match in load order; first only the earliest', () => {
    const all = clean(load(RULES));
    assert.equal(all.ruleMatching, 'all');
    assert.deepEqual(names(all, exec('sh')), ['Exec sh', 'Exec any', 'Anything sh']);
    const first = clean(load(RULES, { ruleMatching: 'first' }));
    assert.deepEqual(names(first, exec('sh')), ['Exec sh']);
    assert.deepEqual(names(first, exec('ls')), ['Exec any']);
    assert.deepEqual(names(first, open('/x', O_RDONLY, { name: 'sh' })), ['Open']);
    assert.deepEqual(names(first, connect('1.1.1.1', 1)), []);
  });

  test('only rules indexed under the event type are evaluated', () => {
    const rs = clean(load(RULES));
    assert.deepEqual(
      [...rs.byEventType.keys()].sort(),
      ['execve', 'execveat', 'open', 'openat'],
    );
    assert.deepEqual(
      rs.byEventType.get('openat')!.map((r) => r.name),
      ['Open', 'Anything sh'],
    );
    assert.deepEqual(
      rs.anyTypeRules.map((r) => r.name),
      ['Anything sh'],
    );
    assert.equal(rs.eventTypes, 'any');
    // an event type no rule names reaches only the rules without an evt.type restriction
    const counted: string[] = [];
    for (const r of rs.rules) {
      const inner = r.evaluate;
      r.evaluate = (ev) => {
        counted.push(r.name);
        return inner(ev);
      };
    }
    matchEvent(rs, { ...connect('1.1.1.1', 1), proc: proc('sh') });
    assert.deepEqual(counted, ['Anything sh']);
    counted.length = 0;
    matchEvent(rs, open('/x', O_RDONLY));
    assert.deepEqual(counted, ['Open', 'Anything sh']);
  });

  test('the union of event types tells the sensor what to trace', () => {
    const rs = clean(load(`${rule('A', 'evt.type = execve')}${rule('B', 'evt.type in (connect, ptrace)')}`));
    assert.deepEqual([...(rs.eventTypes as Set<string>)].sort(), ['connect', 'execve', 'ptrace']);
  });

  test('a malformed event does not throw out of matchEvent', () => {
    const rs = clean(load(rule('A', 'evt.type = execve and proc.name = sh')));
    const before = matchStats.evaluationErrors;
    const broken = { ...event(), proc: undefined } as unknown as DetectorEvent;
    assert.deepEqual(matchEvent(rs, broken), []);
    assert.equal(matchStats.evaluationErrors, before + 1);
  });
});

describe('files on disk', () => {
  test('validateRulesFiles reads files and directories in order and reports every problem', () => {
    const dir = mkdtempSync(join(tmpdir(), 'riposte-rules-'));
    try {
      writeFileSync(join(dir, 'a.yaml'), BASE);
      writeFileSync(join(dir, 'b.yml'), `- rule: Shell\n  condition: and nope\n  override:\n    condition: append\n`);
      writeFileSync(join(dir, 'ignored.txt'), 'not yaml');
      const diags = validateRulesFiles([dir, join(dir, 'missing.yaml')]).map(formatDiagnostic);
      assert.equal(diags.length, 2);
      assert.ok(diags.some((d) => d.startsWith(`${join(dir, 'missing.yaml')}:1:1 cannot read rules:`)));
      assert.ok(diags.includes(`${join(dir, 'b.yml')}:2:18 [0].condition: rule 'Shell': undefined macro 'nope'`), diags.join('\n'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('hostile names', () => {
  test('lists and macros named like Object.prototype members behave like any other', () => {
    const rs = load(`- list: constructor\n  items: [sh]\n- macro: toString\n  condition: proc.name in (constructor)\n- macro: valueOf\n  condition: proc.name = (\n${rule('R', 'evt.type = execve and toString')}`);
    assert.deepEqual(errs(rs), ["rules.yaml:6:26 [2].condition: macro 'valueOf': unexpected '(': '=' expects a value or val(field)"]);
    assert.deepEqual(names(rs, exec('sh')), ['R']);
    const proto = clean(load(`- list: __proto__\n  items: [sh]\n${rule('P', 'evt.type = execve and proc.name in (__proto__)')}`));
    assert.deepEqual(names(proto, exec('sh')), ['P']);
  });
});
