// SPDX-License-Identifier: Apache-2.0
// Every default rule fires on a synthetic positive event and stays quiet on
// benign look-alikes. The eBPF suite checks the same rules against the kernel.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { DetectorEvent, ProcessInfo } from '../../../detector/fields/index.ts';
import { renderPtraceRequest } from '../../../detector/fields/index.ts';
import { DEFAULT_RULES_FILE, loadRulesFiles, matchEvent } from '../../../detector/ruleset/index.ts';
import { formatDiagnostic } from '../../../src/common/errors.ts';
import { CONTAINER, connect, event, exec, O_CREAT, O_RDONLY, O_RDWR, O_TRUNC, O_WRONLY, open, proc } from './events.ts';

const rs = loadRulesFiles([DEFAULT_RULES_FILE]);
const fired = (ev: DetectorEvent) => matchEvent(rs, ev).map((r) => r.name);

const inContainer = (ev: DetectorEvent): DetectorEvent => ({ ...ev, ...CONTAINER });
const sock = (type: 'ipv4' | 'ipv6' = 'ipv4') => ({ num: 0, type, l4proto: 'tcp' as const, lip: '10.1.2.3', lport: 40000, rip: '203.0.113.9', rport: 4444, role: 'client' as const });
const ptrace = (request: number, name = 'injector', res = 0): DetectorEvent =>
  event({ type: 'ptrace', res, args: { res, request: renderPtraceRequest(request), pid: 4242 }, proc: proc(name) });
const module = (type: 'init_module' | 'finit_module', name: string, container = false): DetectorEvent => {
  const ev = event({ type, args: { fd: 3, uargs: '', flags: 0 }, proc: proc(name) });
  return container ? inContainer(ev) : ev;
};
const shellParent: ProcessInfo = proc('bash', { pid: 950 });

/** rule → [positive events, benign events] */
const CASES: Record<string, { fires: [string, DetectorEvent][]; quiet: [string, DetectorEvent][] }> = {
  'Terminal shell in container': {
    fires: [
      ['bash with a tty in a container', exec('bash', [], { container: true, proc: { tty: 34816 } })],
      ['sh -i without a tty', exec('sh', ['-i'], { container: true })],
    ],
    quiet: [
      ['shell with a tty on the host', exec('bash', [], { proc: { tty: 34816 } })],
      ['non-interactive sh -c in a container', exec('sh', ['-c', 'echo ok'], { container: true })],
      ['a shell started by a shell', exec('bash', [], { container: true, proc: { tty: 34816 }, parent: shellParent })],
      ['a non-shell with a tty', exec('vim', [], { container: true, proc: { tty: 34816 } })],
    ],
  },
  'Read sensitive file untrusted': {
    fires: [
      ['cat /etc/shadow', open('/etc/shadow', O_RDONLY, { name: 'cat' })],
      ['python reading /etc/sudoers.d/x in a container', open('/etc/sudoers.d/90-cloud', O_RDONLY, { name: 'python3', container: true })],
      ['open(2) of root ssh keys', open('/root/.ssh/id_rsa', O_RDWR, { name: 'curl', type: 'open' })],
    ],
    quiet: [
      ['sshd reading /etc/shadow', open('/etc/shadow', O_RDONLY, { name: 'sshd' })],
      ['cat /etc/passwd', open('/etc/passwd', O_RDONLY, { name: 'cat' })],
      ['writing /etc/shadow (not a read)', open('/etc/shadow', O_WRONLY, { name: 'cat' })],
      ['reading /etc/shadowx', open('/etc/shadowx', O_RDONLY, { name: 'cat' })],
      ['failed open (fd -1)', { ...open('/etc/shadow', O_RDONLY, { name: 'cat' }), fd: { num: -1, type: 'file', name: '/etc/shadow' }, res: -13 }],
    ],
  },
  'Drop and execute new binary in container': {
    fires: [['binary from the upper layer', exec('xmrig', [], { container: true, proc: { isExeUpperLayer: true, exepath: '/tmp/xmrig' } })]],
    quiet: [
      ['binary from the image', exec('nginx', [], { container: true })],
      ['upper-layer binary on the host (no container)', exec('tool', [], { proc: { isExeUpperLayer: true } })],
    ],
  },
  'Write below binary dir': {
    fires: [
      ['echo > /usr/bin/evil', open('/usr/bin/evil', O_WRONLY | O_CREAT | O_TRUNC, { name: 'sh' })],
      ['creat in /usr/local/bin in a container', open('/usr/local/bin/x', O_WRONLY | O_CREAT, { name: 'curl', type: 'creat', container: true })],
      ['O_RDWR on /bin/ls', open('/bin/ls', O_RDWR, { name: 'python3' })],
    ],
    quiet: [
      ['dpkg installing', open('/usr/bin/ls', O_WRONLY | O_CREAT, { name: 'dpkg' })],
      ['reading /usr/bin/ls', open('/usr/bin/ls', O_RDONLY, { name: 'cat' })],
      ['writing below /usr/bin/sub/ (not directly below)', open('/usr/bin/sub/x', O_WRONLY, { name: 'cp' })],
      ['writing /usr/binx/y', open('/usr/binx/y', O_WRONLY, { name: 'cp' })],
    ],
  },
  'Contact K8S API Server From Container': {
    fires: [
      ['a refused attempt from a container', connect('10.96.0.1', 443, { container: true, res: -111 })],
      ['kubernetes service IP on 443', connect('10.96.0.1', 443, { container: true })],
      ['any address on 6443', connect('192.168.49.2', 6443, { container: true })],
      ['non-blocking connect in progress', connect('10.43.0.1', 443, { container: true, res: -115 })],
    ],
    quiet: [
      ['same connect from the host', connect('10.96.0.1', 443)],
      ['other HTTPS destination', connect('93.184.216.34', 443, { container: true })],
    ],
  },
  'Outbound connection to mining pool port': {
    fires: [
      ['stratum on 3333', connect('198.51.100.20', 3333, { name: 'xmrig' })],
      ['45700 over IPv6 from a container', connect('2001:db8::20', 45700, { container: true })],
      ['loopback 4444 (a relay on the node)', connect('127.0.0.1', 4444)],
      ['IPv6 loopback 4444', connect('::1', 4444)],
      ['a failed attempt is still an attempt', connect('198.51.100.20', 3333, { res: -113 })],
    ],
    quiet: [
      ['HTTPS', connect('198.51.100.20', 443)],
      ['loopback 8080', connect('127.0.0.1', 8080)],
    ],
  },
  'PTRACE attached to process': {
    fires: [
      ['PTRACE_ATTACH', ptrace(16)],
      ['PTRACE_SEIZE in a container', inContainer(ptrace(0x4206))],
      ['PTRACE_POKETEXT', ptrace(4)],
      ['denied attach attempt', ptrace(16, 'injector', -1)],
    ],
    quiet: [
      ['PTRACE_TRACEME', ptrace(0, 'strace')],
      ['PTRACE_PEEKDATA', ptrace(2)],
      ['PTRACE_CONT', ptrace(7)],
    ],
  },
  'Fileless execution via memfd_create': {
    fires: [
      ['executable flagged as memfd', exec('x', [], { proc: { isExeFromMemfd: true } })],
      ['/memfd: exe path in a container', exec('kworker', [], { container: true, proc: { exepath: '/memfd:payload (deleted)' } })],
    ],
    quiet: [['a regular exec', exec('ls')]],
  },
  'Linux kernel module load': {
    fires: [
      ['insmod on the host', module('finit_module', 'insmod')],
      ['init_module in a container', module('init_module', 'systemd-udevd', true)],
      ['modprobe from a shell', module('finit_module', 'modprobe')],
    ],
    quiet: [
      ['udev on the host', module('finit_module', 'systemd-udevd')],
      ['modules-load at boot', module('init_module', 'systemd-modules-load')],
    ],
  },
  'Reverse shell': {
    fires: [
      ['bash with stdin on a TCP socket', exec('bash', ['-i'], { proc: { stdio: { stdin: sock(), stdout: sock(), stderr: sock() } } })],
      ['sh with stdout on an IPv6 socket in a container', exec('sh', [], { container: true, proc: { stdio: { stdout: sock('ipv6') } } })],
    ],
    quiet: [
      ['bash on a pipe and a tty', exec('bash', [], { proc: { stdio: { stdin: { num: 0, type: 'pipe', name: 'pipe:[1]' }, stdout: { num: 1, type: 'file', name: '/dev/pts/0' } } } })],
      ['bash on a unix socket (systemd journal)', exec('bash', [], { proc: { stdio: { stdout: { num: 1, type: 'unix', name: '/run/systemd/journal/stdout' } } } })],
      ['xinetd service', exec('sh', [], { parent: proc('xinetd'), proc: { stdio: { stdin: sock() } } })],
      ['nc with a socket (not a shell)', exec('nc', [], { proc: { stdio: { stdin: sock() } } })],
    ],
  },
};

describe('default rules', () => {
  test('load without errors or warnings', () => {
    assert.deepEqual([...rs.errors, ...rs.warnings].map(formatDiagnostic), []);
    assert.ok(rs.rules.length >= 10);
  });

  test('every default rule has test cases here', () => {
    assert.deepEqual(
      rs.rules.map((r) => r.name).sort(),
      Object.keys(CASES).sort(),
    );
  });

  test('every default rule is restricted to event types the sensor produces', () => {
    for (const r of rs.rules) assert.notEqual(r.eventTypes, 'any', r.name);
  });

  for (const [name, { fires, quiet }] of Object.entries(CASES)) {
    describe(name, () => {
      for (const [what, ev] of fires) {
        test(`fires: ${what}`, () => {
          assert.ok(fired(ev).includes(name), `fired: ${JSON.stringify(fired(ev))}`);
          const r = rs.rules.find((x) => x.name === name)!;
          const out = r.formatOutput(ev);
          assert.ok(!out.includes('%'), out);
          if (ev.container.id !== 'host') assert.ok(out.includes(`container_id=${ev.container.id}`), out);
          const fields = r.outputFields(ev);
          assert.equal(fields['container.id'], ev.container.id);
          assert.equal(fields['proc.name'], ev.proc.name);
        });
      }
      for (const [what, ev] of quiet) {
        test(`quiet: ${what}`, () => assert.ok(!fired(ev).includes(name), `fired: ${JSON.stringify(fired(ev))}`));
      }
    });
  }

  test('benign everyday events raise nothing', () => {
    const benign: DetectorEvent[] = [
      exec('ls', ['-la']),
      exec('nginx', ['-g', 'daemon off;'], { container: true }),
      open('/etc/hosts', O_RDONLY, { name: 'curl', container: true }),
      open('/var/log/app.log', O_WRONLY | O_CREAT, { name: 'app' }),
      connect('93.184.216.34', 443, { container: true }),
      connect('10.0.0.5', 5432, { name: 'psql' }),
      event({ type: 'clone' }),
      event({ type: 'procexit' }),
    ];
    for (const ev of benign) assert.deepEqual(fired(ev), [], `${ev.type} ${ev.proc.name}`);
  });

  test('the output reads well', () => {
    const ev = exec('bash', [], { container: true, proc: { tty: 34816 } });
    const r = rs.rules.find((x) => x.name === 'Terminal shell in container')!;
    assert.equal(
      r.formatOutput(ev),
      'Shell spawned in a container (user=alice uid=1000 shell=bash exepath=/usr/bin/bash parent=containerd-shim cmdline=bash terminal=34816 container_id=3ad7b2c91f0e container_name=api image=docker.io/library/nginx k8s_ns=payments k8s_pod=api-7f9c)',
    );
  });
});
