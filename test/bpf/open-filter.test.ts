// SPDX-License-Identifier: Apache-2.0
// The in-kernel open filter on the real kernel: read-only opens outside the prefixes stay in the
// kernel; prefixed paths, writes, relative paths and paths with "//" or "/./" are still reported.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type { OpenEvent, SensorEvent } from '../../detector/sensor/frames.ts';
import { SensorProcess } from '../../detector/sensor/sensor-process.ts';
import { gate, kernelUnavailable, LOADER } from './gate.ts';

if (gate('open filter on the real kernel', await kernelUnavailable())) {
  describe('in-kernel open filter', { concurrency: false }, () => {
    let sensor: SensorProcess;
    const seen: OpenEvent[] = [];
    const marker = `/tmp/riposte-open-filter-${process.pid}`;
    before(async () => {
      sensor = await SensorProcess.start({ binary: LOADER, events: ['open'] });
      sensor.on('event', (e: SensorEvent) => {
        if (e.type === 'open') seen.push(e);
      });
    });
    after(async () => {
      await sensor?.stop();
      rmSync(marker, { force: true });
    });

    async function opens(script: string): Promise<string[]> {
      const from = seen.length;
      spawnSync('/bin/bash', ['-c', script]);
      await new Promise((r) => setTimeout(r, 150)); // the loader drains every 10 ms
      return seen.slice(from).map((e) => e.path);
    }

    test('filter on: only what the prefixes, writes and unnormalised paths need', async () => {
      assert.match(await sensor.setOpenFilter(['/etc/shadow', '/root/.ssh']), /^open-filter /);
      const paths = await opens(`: < /etc/hostname; : < /etc/shadow; echo x > ${marker}; : < //etc/hostname; : < /etc/./hostname; cd /etc && : < hostname`);
      assert.ok(!paths.includes('/etc/hostname'), `a plain read outside the prefixes is not reported: ${paths.join(' ')}`);
      assert.ok(paths.includes('/etc/shadow'));
      assert.ok(paths.includes(marker), 'writes are always reported');
      assert.ok(paths.includes('//etc/hostname') && paths.includes('/etc/./hostname'), 'paths a prefix could be fooled by are reported');
      assert.ok(paths.includes('hostname'), 'relative paths are reported');
    });

    test('filter off: every open again', async () => {
      await sensor.setOpenFilter(null);
      assert.ok((await opens(': < /etc/hostname')).includes('/etc/hostname'));
    });

    test('bad filters are refused and change nothing', async () => {
      await assert.rejects(sensor.setOpenFilter(['relative/path']), /bad prefix/);
      assert.ok((await opens(': < /etc/hostname')).includes('/etc/hostname'));
    });
  });
}
