// SPDX-License-Identifier: Apache-2.0
/**
 * The detector: sensor records in, Falco-shaped alerts out. It keeps the
 * process table current, attributes events to containers, evaluates only the
 * rules indexed for each event type, and throttles per rule + container with
 * counts carried. It knows nothing of queues: alerts go to `onAlert`.
 */
import { randomUUID } from 'node:crypto';
import type { Alert } from '../src/alerts/alert.ts';
import type { DetectorEvent } from './fields/index.ts';
import { Normalizer, type NormalizerOptions } from './normalize.ts';
import { matchEvent, type CompiledRule, type Ruleset } from './ruleset/index.ts';
import type { SensorEvent } from './sensor/frames.ts';
import { Throttle } from './throttle.ts';

export interface DetectorOptions extends NormalizerOptions {
  ruleset: Ruleset;
  hostname: string;
  onAlert: (alert: Alert) => void;
  throttle?: { windowMs: number; burst: number };
}

export interface DetectorStats {
  events: number;
  matched: number;
  alerts: number;
  suppressed: number;
}

const PRIORITY_LABEL: Record<string, string> = {
  emergency: 'Emergency',
  alert: 'Alert',
  critical: 'Critical',
  error: 'Error',
  warning: 'Warning',
  notice: 'Notice',
  informational: 'Informational',
  debug: 'Debug',
};

/** Falco's time format: RFC 3339 with nanoseconds. */
export function isoNs(ns: bigint): string {
  const ms = ns / 1_000_000n;
  const base = new Date(Number(ms)).toISOString().slice(0, 19);
  return `${base}.${(ns % 1_000_000_000n).toString().padStart(9, '0')}Z`;
}

export class Detector {
  readonly stats: DetectorStats = { events: 0, matched: 0, alerts: 0, suppressed: 0 };
  private ruleset: Ruleset;
  private readonly normalizer: Normalizer;
  private readonly throttle: Throttle<{ rule: CompiledRule; ev: DetectorEvent }>;
  private readonly o: DetectorOptions;

  constructor(o: DetectorOptions) {
    this.o = o;
    this.ruleset = o.ruleset;
    this.normalizer = new Normalizer(o);
    this.throttle = new Throttle(o.throttle ?? { windowMs: 60_000, burst: 5 });
  }

  setRuleset(rs: Ruleset): void {
    this.ruleset = rs;
  }

  /** Handles one sensor record (the hot path: synchronous, no I/O for events with cached context). */
  handle(e: SensorEvent): void {
    const ev = this.normalizer.normalize(e);
    if (!ev) return;
    this.handleEvent(ev);
  }

  /** Handles an already-normalised event (replays, tests). */
  handleEvent(ev: DetectorEvent): void {
    this.stats.events++;
    const rules = matchEvent(this.ruleset, ev);
    if (!rules.length) return;
    const nowMs = Number(ev.timeNs / 1_000_000n);
    for (const rule of rules) {
      this.stats.matched++;
      const key = `${rule.name}\0${ev.container.id}`;
      if (this.throttle.admit(key, { rule, ev }, nowMs, (_k, last, n) => this.emit(last.rule, last.ev, n))) this.emit(rule, ev, 0);
      else this.stats.suppressed++;
    }
  }

  /** Ends throttle windows that are over; call periodically (and with `all` at shutdown). */
  tick(nowMs = Date.now(), all = false): void {
    this.throttle.expire(nowMs, (_k, last, n) => this.emit(last.rule, last.ev, n), all);
  }

  private emit(rule: CompiledRule, ev: DetectorEvent, suppressed: number): void {
    const time = isoNs(ev.timeNs);
    const fields: Alert['output_fields'] = { ...rule.outputFields(ev), 'evt.time': time, 'container.id': ev.container.id };
    if (ev.container.name) fields['container.name'] = ev.container.name;
    if (ev.k8s?.ns) fields['k8s.ns.name'] = ev.k8s.ns;
    if (ev.k8s?.pod?.name) fields['k8s.pod.name'] = ev.k8s.pod.name;
    if (suppressed > 0) fields['riposte.suppressed'] = suppressed;
    const text = rule.formatOutput(ev);
    const output = `${time.slice(11, 29)}: ${PRIORITY_LABEL[rule.priority] ?? rule.priority} ${text}${suppressed ? ` (and ${suppressed} more like this in the last window)` : ''}`;
    this.stats.alerts++;
    this.o.onAlert({ id: randomUUID(), time, rule: rule.name, priority: rule.priority, source: 'syscall', hostname: this.o.hostname, output, output_fields: fields, tags: [...rule.tags] });
  }
}
