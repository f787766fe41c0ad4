// SPDX-License-Identifier: Apache-2.0
// The field table: every field read from a synthetic DetectorEvent, argument
// handling, type checks, flag rendering, and the docs section it generates.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { compileCondition, parseCondition } from '../../../detector/condition/index.ts';
import { renderFieldsMarkdown } from '../../../detector/fields/docs.ts';
import {
  checkFieldTypes,
  type DetectorEvent,
  FIELDS,
  formatClock,
  formatIso,
  isOpenRead,
  isOpenWrite,
  lookupField,
  renderOpenFlags,
  renderPtraceRequest,
  renderResult,
  resolveEventField,
} from '../../../detector/fields/index.ts';
import { CONTAINER, connect, event, exec, O_CREAT, O_RDONLY, O_RDWR, O_TRUNC, O_WRONLY, open, proc } from './events.ts';

function get(field: string, ev: DetectorEvent): unknown {
  const ast = parseCondition(`${field} exists`);
  if (ast.kind !== 'check' || ast.left.kind !== 'field') throw new Error('not a field');
  const g = resolveEventField(ast.left);
  if (typeof g !== 'function') throw new Error(g.error);
  return g(ev);
}

const shell = exec('bash', ['-i'], {
  container: true,
  proc: {
    tty: 34816,
    cwd: '/app',
    isExeUpperLayer: true,
    stdio: {
      stdin: { num: 0, type: 'ipv4', lip: '10.1.2.3', lport: 40000, rip: '203.0.113.9', rport: 4444, role: 'client' },
      stdout: { num: 1, type: 'pipe', name: 'pipe:[123]' },
    },
  },
});

describe('field getters', () => {
  const cases: [string, DetectorEvent, unknown][] = [
    ['evt.type', shell, 'execve'],
    ['evt.time', shell, 1_732_800_000_123_456_789n],
    ['evt.rawtime', shell, 1_732_800_000_123_456_789n],
    ['evt.time.iso8601', shell, '2024-11-28T13:20:00.123456789Z'],
    ['evt.num', shell, 1],
    ['evt.dir', shell, '<'],
    ['evt.dir', event({ dir: '>' }), '>'],
    ['evt.cpu', event({ cpu: 3 }), 3],
    ['evt.rawres', event({ res: -13 }), -13],
    ['evt.res', event({ res: -13 }), 'EACCES'],
    ['evt.res', event({ res: 5 }), 'SUCCESS'],
    ['evt.failed', event({ res: -2 }), true],
    ['evt.failed', event({ res: undefined }), undefined],
    ['evt.arg.filename', shell, '/usr/bin/bash'],
    ['evt.arg[filename]', shell, '/usr/bin/bash'],
    ['evt.arg[0]', shell, '/usr/bin/bash'],
    ['evt.arg.nope', shell, undefined],
    ['evt.args', open('/etc/x', O_WRONLY), 'fd=3 name=/etc/x flags=O_WRONLY mode=0'],
    ['evt.is_open_read', open('/etc/x', O_RDONLY), true],
    ['evt.is_open_read', open('/etc/x', O_WRONLY), false],
    ['evt.is_open_write', open('/etc/x', O_RDWR), true],
    ['evt.is_open_write', open('/etc/x', O_RDONLY), false],
    ['evt.is_open_create', open('/etc/x', O_WRONLY | O_CREAT), true],
    ['evt.is_open_write', shell, undefined],
    ['proc.pid', shell, 1001],
    ['proc.ppid', shell, 900],
    ['thread.tid', shell, 1001],
    ['proc.name', shell, 'bash'],
    ['proc.exe', shell, 'bash'],
    ['proc.exepath', shell, '/usr/bin/bash'],
    ['proc.args', exec('sh', ['-c', 'echo hi']), '-c echo hi'],
    ['proc.cmdline', exec('sh', ['-c', 'echo hi']), 'sh -c echo hi'],
    ['proc.cmdline', exec('sh'), 'sh'],
    ['proc.cwd', shell, '/app'],
    ['proc.tty', shell, 34816],
    ['proc.tty', event({ proc: { ...proc('x'), tty: undefined } }), 0],
    ['proc.is_exe_upper_layer', shell, true],
    ['proc.is_exe_upper_layer', event(), false],
    ['proc.is_exe_from_memfd', exec('x', [], { proc: { isExeFromMemfd: true } }), true],
    ['proc.pname', shell, 'containerd-shim'],
    ['proc.pexe', shell, 'containerd-shim'],
    ['proc.pexepath', shell, '/usr/bin/containerd-shim'],
    ['proc.pcmdline', event(), 'bash'],
    ['proc.aname[0]', event(), 'cat'],
    ['proc.aname[1]', event(), 'bash'],
    ['proc.aname[2]', event(), 'sshd'],
    ['proc.aname[3]', event(), 'systemd'],
    ['proc.aname[4]', event(), undefined],
    ['proc.aname', event(), ['bash', 'sshd', 'systemd']],
    ['proc.apid[2]', event(), 500],
    ['proc.aexepath[2]', event(), '/usr/sbin/sshd'],
    ['proc.acmdline[1]', event(), 'bash'],
    ['proc.stdin.type', shell, 'ipv4'],
    ['proc.stdin.name', shell, '10.1.2.3:40000->203.0.113.9:4444'],
    ['proc.stdout.type', shell, 'pipe'],
    ['proc.stdout.name', shell, 'pipe:[123]'],
    ['proc.stderr.type', shell, undefined],
    ['user.uid', shell, 1000],
    ['user.name', shell, 'alice'],
    ['user.loginuid', shell, 1000],
    ['user.loginuid', event({ user: { uid: 0 } }), -1],
    ['group.gid', shell, 1000],
    ['group.name', shell, 'alice'],
    ['fd.num', open('/etc/shadow', O_RDONLY), 3],
    ['fd.type', open('/etc/shadow', O_RDONLY), 'file'],
    ['fd.typechar', open('/etc/shadow', O_RDONLY), 'f'],
    ['fd.typechar', connect('1.2.3.4', 80), '4'],
    ['fd.typechar', connect('2001:db8::1', 80), '6'],
    ['fd.name', open('/etc/shadow', O_RDONLY), '/etc/shadow'],
    ['fd.directory', open('/etc/ssh/sshd_config', O_RDONLY), '/etc/ssh'],
    ['fd.directory', open('/shadow', O_RDONLY), '/'],
    ['fd.directory', open('/etc', O_RDONLY, { fdType: 'directory' }), '/etc'],
    ['fd.filename', open('/etc/ssh/sshd_config', O_RDONLY), 'sshd_config'],
    ['fd.filename', open('/etc', O_RDONLY, { fdType: 'directory' }), undefined],
    ['fd.directory', connect('1.2.3.4', 80), undefined],
    ['fd.name', connect('1.2.3.4', 443), '10.1.2.3:40000->1.2.3.4:443'],
    ['fd.l4proto', connect('1.2.3.4', 443), 'tcp'],
    ['fd.sockfamily', connect('1.2.3.4', 443), 'ip'],
    ['fd.is_server', connect('1.2.3.4', 443), false],
    ['fd.cip', connect('1.2.3.4', 443), '10.1.2.3'],
    ['fd.cport', connect('1.2.3.4', 443), 40000],
    ['fd.sip', connect('1.2.3.4', 443), '1.2.3.4'],
    ['fd.sport', connect('1.2.3.4', 443), 443],
    ['fd.lip', connect('1.2.3.4', 443), '10.1.2.3'],
    ['fd.lport', connect('1.2.3.4', 443), 40000],
    ['fd.rip', connect('1.2.3.4', 443), '1.2.3.4'],
    ['fd.rport', connect('1.2.3.4', 443), 443],
    ['fd.sport', open('/etc/x', O_RDONLY), undefined],
    ['fd.port', connect('1.2.3.4', 443), [40000, 443]],
    ['container.id', shell, '3ad7b2c91f0e'],
    ['container.id', event(), 'host'],
    ['container.name', shell, 'api'],
    ['container.image', shell, 'docker.io/library/nginx:1.27'],
    ['container.image.repository', shell, 'docker.io/library/nginx'],
    ['container.image.tag', shell, '1.27'],
    ['container.image.id', shell, undefined],
    ['k8s.ns.name', shell, 'payments'],
    ['k8s.pod.name', shell, 'api-7f9c'],
    ['k8s.pod.uid', shell, 'u-1'],
    ['k8s.pod.labels', shell, ['app:api', 'tier:web']],
    ['k8s.pod.label[app]', shell, 'api'],
    ['k8s.pod.label.tier', shell, 'web'],
    ['k8s.pod.label[nope]', shell, undefined],
    ['k8s.ns.name', event(), undefined],
  ];
  for (const [field, ev, want] of cases) {
    test(`${field} → ${typeof want === 'bigint' ? `${want}n` : JSON.stringify(want)}`, () => assert.deepEqual(get(field, ev), want));
  }

  test('accepted server side: client and server ends swap', () => {
    const ev = event({ type: 'accept', fd: { num: 5, type: 'ipv4', l4proto: 'tcp', lip: '10.0.0.5', lport: 22, rip: '198.51.100.7', rport: 51000, role: 'server' } });
    assert.deepEqual(
      ['fd.cip', 'fd.cport', 'fd.sip', 'fd.sport', 'fd.is_server', 'fd.name'].map((f) => get(f, ev)),
      ['198.51.100.7', 51000, '10.0.0.5', 22, true, '198.51.100.7:51000->10.0.0.5:22'],
    );
  });

  test('network fields compare with CIDRs', () => {
    const c = (cond: string, ev: DetectorEvent) => compileCondition(cond, { resolve: resolveEventField }).evaluate(ev);
    const ev = connect('10.96.0.1', 443);
    assert.equal(c('fd.snet = "10.96.0.0/12"', ev), true);
    assert.equal(c('fd.snet in ("192.168.0.0/16", "10.0.0.0/8")', ev), true);
    assert.equal(c('fd.snet in ("192.168.0.0/16")', ev), false);
    assert.equal(c('fd.net = "127.0.0.0/8"', ev), false);
    assert.equal(c('fd.net != "127.0.0.0/8"', ev), true);
    assert.equal(c('fd.ip = 10.96.0.1', ev), true);
    assert.equal(c('fd.ip = 10.1.2.3', ev), true);
    assert.equal(c('fd.ip != "0.0.0.0"', ev), true);
    assert.equal(c('fd.cnet = 10.1.2.3', ev), true);
    assert.equal(c('fd.snet = "2001:db8::/32"', connect('2001:db8::1', 80)), true);
    assert.equal(c('fd.rnet = 10.96.0.1', connect('::ffff:10.96.0.1', 443)), true);
    assert.equal(c('fd.port = 443', ev), true);
  });

  test('an ancestor chain with a cycle ends', () => {
    const a = proc('a', { pid: 10 });
    const b = proc('b', { pid: 11, parent: a });
    a.parent = b;
    assert.deepEqual(get('proc.aname', event({ proc: a })), ['b']);
    assert.equal(get('proc.aname[5]', event({ proc: a })), undefined);
  });

  test('every table entry documents itself and reads a typical event without throwing', () => {
    const evs = [shell, open('/etc/x', O_RDWR), connect('1.2.3.4', 1), event(), event({ proc: { ...proc('x'), parent: undefined }, fd: undefined, k8s: undefined })];
    for (const f of FIELDS) {
      assert.ok(f.description.length > 10, `${f.name} has no description`);
      assert.equal(f.source, 'syscall');
      const g = f.getter(f.arg === 'required' ? (f.name === 'evt.arg' ? '0' : 'app') : undefined);
      assert.equal(typeof g, 'function', f.name);
      if (typeof g === 'function') for (const e of evs) g(e);
    }
    assert.equal(new Set(FIELDS.map((f) => f.name)).size, FIELDS.length, 'duplicate field names');
  });

  test('the fields Falco rules need most are present', () => {
    const required =
      'evt.type evt.time evt.arg evt.is_open_read evt.is_open_write proc.name proc.exe proc.exepath proc.cmdline proc.args proc.pid proc.ppid proc.pname proc.pcmdline proc.aname proc.cwd proc.tty proc.is_exe_upper_layer user.uid user.name user.loginuid group.gid fd.name fd.directory fd.filename fd.typechar fd.num fd.sip fd.sport fd.cip fd.rip fd.rport fd.l4proto container.id container.name container.image.repository k8s.ns.name k8s.pod.name k8s.pod.labels k8s.pod.label';
    for (const name of required.split(' ')) assert.ok(FIELDS.some((f) => f.name === name), name);
  });
});

describe('field lookup', () => {
  test('dotted arguments, bracket arguments and argument rules', () => {
    const m = lookupField({ name: 'evt.arg.flags' });
    assert.ok(!('error' in m) && m.def.name === 'evt.arg' && m.arg === 'flags');
    const l = lookupField({ name: 'k8s.pod.label', arg: 'app' });
    assert.ok(!('error' in l) && l.arg === 'app');
    assert.match((lookupField({ name: 'proc.name', arg: '1' }) as { error: string }).error, /takes no argument/);
    assert.match((lookupField({ name: 'evt.arg' }) as { error: string }).error, /needs an argument/);
    assert.match((resolveEventField({ name: 'proc.aname', arg: 'x' }) as { error: string }).error, /ancestor level 0\.\.63/);
  });
  test('unknown fields: an error naming them, with a suggestion for typos only', () => {
    assert.equal((lookupField({ name: 'fd.sip.name' }) as { error: string }).error, "field 'fd.sip.name' is not provided by the Riposte sensor");
    assert.match((lookupField({ name: 'proc.nmae' }) as { error: string }).error, /did you mean 'proc.name'/);
    const bad = resolveEventField({ name: 'proc.aname', arg: '99' });
    assert.ok(typeof bad !== 'function' && /ancestor level/.test(bad.error));
  });
});

describe('type checks from the table', () => {
  const issues = (cond: string, lists: Record<string, unknown[]> = {}) => checkFieldTypes(parseCondition(cond), { lists }).map((i) => `${i.pos.col} ${i.message}`);
  test('numeric fields take numbers', () => {
    assert.deepEqual(issues('fd.sport = https'), ["12 'fd.sport' is numeric: 'https' is not a number"]);
    assert.deepEqual(issues('fd.sport in (80, http)'), ["18 'fd.sport' is numeric: 'http' is not a number"]);
    assert.deepEqual(issues('fd.sport in (ports)', { ports: [80, 'x'] }), ["14 'fd.sport' is numeric: 'x' is not a number"]);
    assert.deepEqual(issues('proc.pid contains 1'), ["1 operator 'contains' does not apply to numeric field 'proc.pid'"]);
    assert.deepEqual(issues('fd.num >= 0 and proc.pid in (1, 0x2) and fd.sport != 443'), []);
  });
  test('bool fields take true/false', () => {
    assert.deepEqual(issues('proc.is_exe_upper_layer = yes'), ["27 'proc.is_exe_upper_layer' is a bool: compare it with true or false, not 'yes'"]);
    assert.deepEqual(issues('proc.is_exe_upper_layer startswith t'), ["1 operator 'startswith' does not apply to bool field 'proc.is_exe_upper_layer'"]);
    assert.deepEqual(issues('evt.is_open_read=true'), []);
  });
  test('strings, transformers and unknown fields are not checked here', () => {
    assert.deepEqual(issues('proc.name = 1 and len(proc.name) = 3 and fd.sip.name = x and tolower(fd.sport) = x'), []);
  });
  test('issues inside macros name the macro', () => {
    const r = checkFieldTypes(parseCondition('m'), { macros: { m: 'fd.sport = web' } });
    assert.equal(r[0]?.macro, 'm');
    assert.equal(r[0]?.pos.col, 12);
  });
});

describe('argument rendering helpers', () => {
  test('open flags', () => {
    assert.equal(renderOpenFlags(O_RDONLY), 'O_RDONLY');
    assert.equal(renderOpenFlags(O_WRONLY | O_CREAT | O_TRUNC), 'O_WRONLY|O_CREAT|O_TRUNC');
    assert.equal(renderOpenFlags(O_RDWR | 0o2000000), 'O_RDWR|O_CLOEXEC');
    assert.equal(renderOpenFlags(0o20200002), 'O_RDWR|O_TMPFILE');
    assert.equal(isOpenRead(O_RDWR) && isOpenWrite(O_RDWR), true);
    assert.equal(isOpenRead(O_WRONLY), false);
  });
  test('ptrace requests, results and times', () => {
    assert.equal(renderPtraceRequest(16), 'PTRACE_ATTACH');
    assert.equal(renderPtraceRequest(0x4206), 'PTRACE_SEIZE');
    assert.equal(renderPtraceRequest(999n), '999');
    assert.equal(renderResult(0), 'SUCCESS');
    assert.equal(renderResult(-1), 'EPERM');
    assert.equal(renderResult(-115), 'EINPROGRESS');
    assert.equal(renderResult(-4000), 'E4000');
    assert.equal(formatClock(1_732_800_000_000_000_042n), '13:20:00.000000042');
    assert.equal(formatIso(1_732_800_000_000_000_042n), '2024-11-28T13:20:00.000000042Z');
  });
});

describe('docs/rules.md field reference', () => {
  const doc = readFileSync(new URL('../../../docs/rules.md', import.meta.url), 'utf8');
  test('the generated section is up to date (node detector/fields/docs.ts --write)', () => {
    assert.ok(doc.includes(renderFieldsMarkdown()), 'docs/rules.md fields section drifted from the field table');
  });
  test('the doc lists every field', () => {
    for (const f of FIELDS) assert.ok(doc.includes(`\`${f.name}`), `${f.name} missing from docs/rules.md`);
  });
  test('CONTAINER fixture is a container', () => {
    assert.notEqual(CONTAINER.container.id, 'host');
  });
});
