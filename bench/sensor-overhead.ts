// SPDX-License-Identifier: Apache-2.0
/**
 * Sensor overhead, in one run: an exec-heavy and an open-heavy workload timed
 * without and with the sensor, in alternating chunks (so drift on this shared
 * machine hits both sides). The sensor runs as the agent runs it: the event
 * types the default rules need (adaptive selection), its frames decoded and
 * fed to the detector in this process. Ratio = median(with) / median(without).
 *
 *   node bench/sensor-overhead.ts [CHUNKS=7]     (root, bpf/ built)
 */
import { spawn, spawnSync } from 'node:child_process';
import { sensorTypesFor } from '../src/agent/detection.ts';
import { ContainerResolver } from '../detector/container/resolver.ts';
import { Detector } from '../detector/detector.ts';
import { ProcessTable } from '../detector/process/table.ts';
import { DEFAULT_RULES_FILE, loadRulesFiles, openFilterFor } from '../detector/ruleset/index.ts';
import { cgroup2Mount } from '../detector/sensor/cgroup.ts';
import { SensorProcess, sensorBinaryPath } from '../detector/sensor/sensor-process.ts';
import { median, record } from './lib.ts';

const CHUNKS = Number(process.argv.find((a, i) => i >= 2 && /^\d+$/.test(a)) ?? 7);
const WORKLOADS: Record<string, string> = {
  'exec-heavy (1000 × /bin/true)': 'for i in $(seq 1000); do /bin/true; done',
  'open-heavy (50000 opens of /etc/hostname)': 'for i in $(seq 50000); do : < /etc/hostname; done',
};

function timeIt(script: string): number {
  const t = process.hrtime.bigint();
  const r = spawnSync('/bin/bash', ['-c', script], { stdio: 'ignore' });
  if (r.status !== 0) throw new Error(`workload failed: ${script}`);
  return Number(process.hrtime.bigint() - t) / 1e6;
}

const ruleset = loadRulesFiles([DEFAULT_RULES_FILE]);
const types = sensorTypesFor(ruleset);
// the agent's in-kernel open filter (read-only opens no rule can match stay in the kernel)
const filter = process.argv.includes('--no-open-filter') ? undefined : openFilterFor(ruleset);
const cg = await cgroup2Mount();
const rows: string[] = [];
for (const [name, script] of Object.entries(WORKLOADS)) {
  const off: number[] = [];
  const on: number[] = [];
  const kernelOnly: number[] = [];
  let events = 0;
  timeIt(script); // warm caches
  for (let k = 0; k < CHUNKS; k++) {
    off.push(timeIt(script));
    // the probes and the loader alone (frames to /dev/null): the kernel-side cost
    const loader = spawn(sensorBinaryPath(), ['--events', types === 'all' ? 'all' : types.join(',')], { stdio: ['pipe', 'ignore', 'ignore'] });
    if (filter) loader.stdin.write(`open-filter ${filter.join(',')}\n`);
    await new Promise((r) => setTimeout(r, 300));
    kernelOnly.push(timeIt(script));
    loader.stdin.end('quit\n');
    await new Promise((r) => loader.on('close', r));
    const sensor = await SensorProcess.start({ events: types });
    if (filter) await sensor.setOpenFilter(filter);
    const processes = new ProcessTable();
    processes.seed();
    const detector = new Detector({ ruleset, hostname: 'bench', processes, containers: new ContainerResolver({ cgroupRoot: cg }), onAlert: () => {} });
    sensor.on('event', (e) => detector.handle(e));
    await new Promise((r) => setTimeout(r, 200));
    on.push(timeIt(script));
    events += (await sensor.stats()).perType.reduce((n, t) => n + t.events, 0);
    await sensor.stop();
  }
  const pct = (xs: number[]) => `${((median(xs) / median(off) - 1) * 100).toFixed(1)} %`;
  rows.push(`| ${name} | ${median(off).toFixed(0)} ms | ${median(kernelOnly).toFixed(0)} ms (${pct(kernelOnly)}) | ${median(on).toFixed(0)} ms (${pct(on)}) | ${Math.round(events / CHUNKS)} |`);
}
await record('Sensor overhead (bench/sensor-overhead.ts)', [
  `Each workload ${CHUNKS} times without the sensor, with the probes and loader only, and with the full agent pipeline, alternating, in one run; medians, overhead in parentheses. The sensor traces what the default rules need (${types === 'all' ? 'all types' : types.join(', ')}), with the open filter ${filter ? `on (${filter.length} path prefixes from the rules)` : 'off'}, and this process decodes every frame and runs the detector. Target: ≤ 5 %.`,
  '',
  '| workload | without sensor | probes + loader only (frames to /dev/null) | full agent (decode + detector in-process) | kernel events per chunk |',
  '| --- | --- | --- | --- | --- |',
  ...rows,
]);
