// SPDX-License-Identifier: Apache-2.0
/**
 * The agent's eyes: the eBPF sensor (bpf/) feeding the detector (detector/),
 * whose alerts are published to the `alerts` queue like any other alert.
 * Only the event types the loaded rules need are switched on in the kernel
 * (fork, exec and exit always: the process table needs them). Sensor drops
 * become metrics and an alert, never silent loss.
 */
import { hostname } from 'node:os';
import type { Alert } from '../alerts/alert.ts';
import type { Logger } from '../common/log.ts';
import { enqueueAlerts } from '../queue/queues.ts';
import type { Runtime } from '../runtime.ts';
import { type ContainerMetadataSource, ContainerResolver } from '../../detector/container/resolver.ts';
import { Detector } from '../../detector/detector.ts';
import { ProcessTable } from '../../detector/process/table.ts';
import { loadRulesFiles, openFilterFor, type Ruleset } from '../../detector/ruleset/index.ts';
import { cgroup2Mount } from '../../detector/sensor/cgroup.ts';
import { CONTROLLABLE_TYPES, type EventTypeName, VARIANT_SYSCALL } from '../../detector/sensor/event-types.ts';
import { checkSensor, SensorProcess } from '../../detector/sensor/sensor-process.ts';

export interface DetectionOptions {
  runtime: Runtime;
  log: Logger;
  rulesPaths: string[];
  /** Falco's rule_matching (default all). */
  matching?: 'all' | 'first';
  node?: string;
  throttle?: { windowMs: number; burst: number };
  /** Pod and container metadata besides metadata files (the agent's watch of its node's pods). */
  metadataSource?: ContainerMetadataSource;
}

export interface Detection {
  sensor: SensorProcess;
  detector: Detector;
  ruleset: Ruleset;
  stop(): Promise<void>;
}

/** The sensor record types the rules need (Falco event names → sensor families). */
export function sensorTypesFor(rs: Ruleset): EventTypeName[] | 'all' {
  if (rs.eventTypes === 'any') return 'all';
  const out = new Set<EventTypeName>(['fork', 'exec', 'exit']);
  for (const [family, names] of Object.entries(VARIANT_SYSCALL) as [EventTypeName, readonly string[]][]) {
    if (names.some((n) => (rs.eventTypes as Set<string>).has(n))) out.add(family);
  }
  return [...out].filter((t) => CONTROLLABLE_TYPES.includes(t));
}

export async function startDetection(o: DetectionOptions): Promise<Detection> {
  const node = o.node ?? hostname();
  const ruleset = loadRulesFiles(o.rulesPaths, { ruleMatching: o.matching ?? 'all' });
  for (const w of ruleset.warnings) o.log.warn('rules warning', { file: w.file, line: w.line, message: w.message });
  if (ruleset.errors.length) throw new Error(`rules have errors:\n${ruleset.errors.map((e) => `${e.file}:${e.line}:${e.col} ${e.message}`).join('\n')}`);
  const check = await checkSensor();
  if (!check.ok) throw new Error(`the eBPF sensor cannot run here: ${check.reason}`);

  const pending: Alert[] = [];
  let flushing: Promise<void> | undefined;
  const flush = async () => {
    while (pending.length) {
      const batch = pending.splice(0, 500);
      try {
        await enqueueAlerts(o.runtime.queues.alerts, batch);
        await o.runtime.audit.append({ actor: { type: 'system', name: `agent@${node}` }, action: 'alert.accepted', target: batch.length === 1 ? batch[0]!.rule : `${batch.length} alerts`, outcome: 'success', details: { ids: batch.slice(0, 100).map((a) => a.id), count: batch.length, source: 'detector' } });
      } catch (err) {
        o.log.error('publishing alerts failed; keeping them for the next try', { error: (err as Error).message, count: batch.length });
        pending.unshift(...batch);
        return;
      }
    }
  };
  const schedule = () => {
    flushing ??= flush().finally(() => {
      flushing = undefined;
    });
  };
  const publish = (a: Alert) => {
    pending.push(a);
    if (pending.length > 100_000) pending.splice(0, pending.length - 100_000); // bounded; the detector's throttle keeps this far away
    schedule();
  };

  const processes = new ProcessTable();
  const detector = new Detector({ ruleset, hostname: node, processes, containers: new ContainerResolver({ cgroupRoot: await cgroup2Mount(), ...(o.metadataSource ? { metadataSource: o.metadataSource } : {}) }), onAlert: publish, throttle: o.throttle });
  const types = sensorTypesFor(ruleset);
  const sensor = await SensorProcess.start({ events: types, statsIntervalMs: 5000, onStderr: (l) => o.log.debug('sensor', { line: l }) });
  // read-only opens no rule can match stay in the kernel
  const openFilter = openFilterFor(ruleset);
  if (openFilter) await sensor.setOpenFilter(openFilter);
  processes.seed();
  o.log.info('sensor running', { openFilter: openFilter ?? 'off', rules: ruleset.rules.length, events: types === 'all' ? 'all' : types.join(','), processes: processes.size });

  const m = o.runtime.metrics;
  sensor.on('stats', (st: { dropsPerCpu: number[]; perType: { type: string; events: number; drops: number }[] }) => {
    for (const [cpu, n] of st.dropsPerCpu.entries()) m.sensorDrops.set({ cpu: String(cpu) }, n);
    for (const t of st.perType) m.sensorEvents.set({ type: t.type }, t.events);
    m.detectorEvents.set(detector.stats.events);
    m.detectorAlerts.set(detector.stats.alerts);
    m.detectorSuppressed.set(detector.stats.suppressed);
  });
  sensor.on('drops', (d: { total: number; delta: number }) => {
    publish({ id: crypto.randomUUID(), time: new Date().toISOString(), rule: 'Riposte sensor dropped events', priority: 'warning', source: 'internal', hostname: node, output: `The eBPF sensor on ${node} dropped ${d.delta} events (ring buffer full); detection may have missed activity`, output_fields: { 'riposte.drops': d.delta, 'riposte.drops_total': d.total }, tags: ['riposte', 'sensor'] });
  });
  sensor.on('event', (e) => detector.handle(e));
  const ticker = setInterval(() => detector.tick(), 1000);
  ticker.unref();
  return {
    sensor,
    detector,
    ruleset,
    async stop() {
      clearInterval(ticker);
      await sensor.stop();
      detector.tick(Date.now(), true);
      schedule();
      await flushing;
    },
  };
}
