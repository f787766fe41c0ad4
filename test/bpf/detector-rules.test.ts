// SPDX-License-Identifier: Apache-2.0
// Real kernel, real sensor, real detector: each default rule triggered from inside a sandbox
// container (and from the host where the rule applies there), the alert and its fields checked,
// and benign activity raising nothing. Only loopback is ever contacted.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { Alert } from '../../src/alerts/alert.ts';
import { Sandbox } from '../../src/sandbox/sandbox.ts';
import { ContainerResolver } from '../../detector/container/resolver.ts';
import { Detector } from '../../detector/detector.ts';
import { ProcessTable } from '../../detector/process/table.ts';
import { DEFAULT_RULES_FILE, loadRules, openFilterFor, readRulesSources } from '../../detector/ruleset/index.ts';
import { cgroup2Mount } from '../../detector/sensor/cgroup.ts';
import { SensorProcess } from '../../detector/sensor/sensor-process.ts';
import { sensorTypesFor } from '../../src/agent/detection.ts';
import { gate, kernelUnavailable, LOADER } from './gate.ts';

if (gate('detector rules on the real kernel', await kernelUnavailable())) {
  describe('default rules, real kernel', { concurrency: false }, () => {
    let sensor: SensorProcess;
    let sb: Sandbox;
    let listener: Server;
    let port = 0;
    const alerts: Alert[] = [];
    let detector: Detector;

    before(async () => {
      // the default rules, plus loopback as an API-server address so that rule can be proven without leaving the machine
      const { sources } = readRulesSources([DEFAULT_RULES_FILE]);
      sources.push({ file: 'test-overrides.yaml', text: '- list: k8s_api_server_ips\n  items: [127.0.0.2]\n  override:\n    items: append\n' });
      const ruleset = loadRules(sources);
      assert.deepEqual(ruleset.errors, []);
      const processes = new ProcessTable();
      detector = new Detector({ ruleset, hostname: 'test-node', processes, containers: new ContainerResolver({ cgroupRoot: await cgroup2Mount() }), onAlert: (a) => alerts.push(a), throttle: { windowMs: 1, burst: 1000 } });
      sensor = await SensorProcess.start({ binary: LOADER, events: sensorTypesFor(ruleset) });
      // as the agent runs it: read-only opens no rule can match stay in the kernel
      const filter = openFilterFor(ruleset);
      assert.ok(filter, 'the default rules bound the opens they need');
      await sensor.setOpenFilter(filter);
      processes.seed();
      sensor.on('event', (e) => detector.handle(e));
      sb = await Sandbox.create({ name: 'rules-test', k8s: { ns: 'payments', pod: 'api-7f9c' } });
      listener = createServer((s) => s.on('error', () => {})).listen(0, '127.0.0.1');
      await new Promise((r) => listener.once('listening', r));
      port = (listener.address() as { port: number }).port;
    });
    after(async () => {
      await sensor?.stop();
      await sb?.destroy();
      listener?.close();
    });

    /** Runs `argv` in the sandbox and returns the alerts of `rule` raised while it ran. */
    async function trigger(rule: string, argv: string[], where: 'container' | 'host' = 'container', env?: Record<string, string>): Promise<Alert[]> {
      const from = alerts.length;
      if (where === 'container') {
        const r = await sb.exec(argv, { timeoutMs: 15_000, env });
        assert.ok(r.code !== null || r.signal, `${argv.join(' ')} ran`);
      } else {
        await new Promise((resolve) => spawn(argv[0]!, argv.slice(1), { stdio: 'ignore' }).on('close', resolve));
      }
      // only alerts from where we acted: other tests on this machine may run sandboxes at the same time
      const mine = (a: Alert) => a.rule === rule && a.output_fields['container.id'] === (where === 'container' ? sb.id : 'host');
      // the loader drains the ring buffer every 10 ms
      for (let i = 0; i < 100 && !alerts.slice(from).some(mine); i++) await new Promise((r) => setTimeout(r, 20));
      return alerts.slice(from).filter(mine);
    }

    const inSandbox = (a: Alert) => {
      assert.equal(a.output_fields['container.id'], sb.id);
      assert.equal(a.output_fields['k8s.ns.name'], 'payments');
      assert.equal(a.hostname, 'test-node');
    };

    test('benign activity in the container raises nothing', async () => {
      const from = alerts.length;
      await sb.exec(['/bin/sh', '-c', 'ls / > /dev/null; cat /etc/hostname > /dev/null; echo hi > /tmp/note; id > /dev/null']);
      await new Promise((r) => setTimeout(r, 300));
      assert.deepEqual(alerts.slice(from).filter((a) => a.output_fields['container.id'] === sb.id).map((a) => a.rule), []);
    });

    test('Terminal shell in container (a shell on a pty)', async () => {
      // script(1) runs "$SHELL -c true" on a new pty, as `kubectl exec -it` runs a shell on one
      const got = await trigger('Terminal shell in container', ['/usr/bin/script', '-qec', 'true', '/dev/null'], 'container', { SHELL: '/bin/bash' });
      assert.ok(got.length >= 1);
      inSandbox(got[0]!);
      assert.equal(got[0]!.priority, 'warning');
      assert.equal(got[0]!.output_fields['proc.name'], 'bash');
      assert.notEqual(got[0]!.output_fields['proc.tty'], 0);
    });

    test('Read sensitive file untrusted, in the container and on the host', async () => {
      const c = await trigger('Read sensitive file untrusted', ['/usr/bin/head', '-c', '1', '/etc/shadow']);
      assert.ok(c.length >= 1);
      inSandbox(c[0]!);
      assert.equal(c[0]!.output_fields['fd.name'], '/etc/shadow');
      const h = await trigger('Read sensitive file untrusted', ['/usr/bin/head', '-c', '1', '/etc/shadow'], 'host');
      assert.ok(h.some((a) => a.output_fields['container.id'] === 'host'));
    });

    test('Drop and execute new binary in container (upper layer)', async () => {
      const got = await trigger('Drop and execute new binary in container', ['/bin/sh', '-c', 'cp /bin/true /tmp/dropped && /tmp/dropped']);
      assert.ok(got.length >= 1);
      inSandbox(got[0]!);
      assert.equal(got[0]!.output_fields['proc.exepath'], '/tmp/dropped');
      const lower = await trigger('Drop and execute new binary in container', ['/bin/true']);
      assert.equal(lower.length, 0, 'a binary of the image (lower layer) is fine');
    });

    test('Write below binary dir (inside the container: the write lands on its upper layer)', async () => {
      const got = await trigger('Write below binary dir', ['/bin/sh', '-c', 'echo x > /usr/local/bin/riposte-test-file']);
      assert.ok(got.length >= 1);
      inSandbox(got[0]!);
      assert.equal(got[0]!.output_fields['fd.name'], '/usr/local/bin/riposte-test-file');
    });

    test('Contact K8S API Server From Container (the test adds 127.0.0.2 as the API address)', async () => {
      const got = await trigger('Contact K8S API Server From Container', ['/bin/bash', '-c', 'exec 3<>/dev/tcp/127.0.0.2/443 || true']);
      assert.ok(got.length >= 1);
      inSandbox(got[0]!);
      const host = await trigger('Contact K8S API Server From Container', ['/bin/bash', '-c', 'exec 3<>/dev/tcp/127.0.0.2/443 || true'], 'host');
      assert.equal(host.length, 0, 'container-only rule');
    });

    test('Outbound connection to mining pool port (loopback attempt), container and host', async () => {
      const got = await trigger('Outbound connection to mining pool port', ['/bin/bash', '-c', 'exec 3<>/dev/tcp/127.0.0.1/3333 || true']);
      assert.ok(got.length >= 1);
      inSandbox(got[0]!);
      assert.equal(got[0]!.output_fields['fd.sport'], 3333);
      const host = await trigger('Outbound connection to mining pool port', ['/bin/bash', '-c', 'exec 3<>/dev/tcp/127.0.0.1/4444 || true'], 'host');
      assert.ok(host.some((a) => a.output_fields['container.id'] === 'host'));
      const benign = await trigger('Outbound connection to mining pool port', ['/bin/bash', '-c', `exec 3<>/dev/tcp/127.0.0.1/${port}`]);
      assert.equal(benign.length, 0);
    });

    test('PTRACE attached to process', async () => {
      const got = await trigger('PTRACE attached to process', ['/usr/bin/python3', '-c', 'import ctypes,os,time\npid=os.fork()\nif pid==0:\n  time.sleep(2); os._exit(0)\nlibc=ctypes.CDLL(None); libc.ptrace(16,pid,0,0); os.kill(pid,9)']);
      assert.ok(got.length >= 1);
      inSandbox(got[0]!);
    });

    test('Fileless execution via memfd_create', async () => {
      const got = await trigger('Fileless execution via memfd_create', ['/usr/bin/python3', '-c', "import os\nfd=os.memfd_create('payload')\nos.write(fd, open('/bin/true','rb').read())\nos.execv('/proc/self/fd/%d' % fd, ['payload'])"]);
      assert.ok(got.length >= 1);
      inSandbox(got[0]!);
    });

    test('Linux kernel module load (an invalid image: the attempt is the signal, nothing loads)', async () => {
      const got = await trigger('Linux kernel module load', ['/usr/bin/python3', '-c', "import ctypes\nlibc=ctypes.CDLL(None, use_errno=True)\nbuf=b'not a module'\nlibc.syscall(175, buf, len(buf), b'')"]);
      assert.ok(got.length >= 1);
      inSandbox(got[0]!);
    });

    test('Reverse shell (stdin/stdout on a TCP socket to a loopback listener)', async () => {
      const got = await trigger('Reverse shell', ['/bin/bash', '-c', `exec 3<>/dev/tcp/127.0.0.1/${port}; /bin/sh -c 'sleep 0.3' <&3 >&3`]);
      assert.ok(got.length >= 1);
      inSandbox(got[0]!);
    });
  });
}
