// SPDX-License-Identifier: Apache-2.0
/** Prometheus metrics, one registry per process. */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'riposte_' });
  const m = {
    registry,
    alertsReceived: new Counter({ name: 'riposte_alerts_received_total', help: 'Alerts accepted by POST /v1/alerts', labelNames: ['source'], registers: [registry] }),
    alertsRejected: new Counter({ name: 'riposte_alerts_rejected_total', help: 'Alert requests rejected', labelNames: ['reason'], registers: [registry] }),
    alertsProcessed: new Counter({ name: 'riposte_alerts_processed_total', help: 'Alerts taken by the engine', registers: [registry] }),
    alertsDeduped: new Counter({ name: 'riposte_alerts_deduplicated_total', help: 'Alerts that joined an open incident', labelNames: ['playbook'], registers: [registry] }),
    runsStarted: new Counter({ name: 'riposte_runs_started_total', help: 'Playbook runs started', labelNames: ['playbook'], registers: [registry] }),
    runsFinished: new Counter({ name: 'riposte_runs_finished_total', help: 'Playbook runs finished', labelNames: ['playbook', 'status'], registers: [registry] }),
    stepDuration: new Histogram({ name: 'riposte_step_duration_seconds', help: 'Step execution time', labelNames: ['kind'], registers: [registry], buckets: [0.005, 0.02, 0.1, 0.5, 2, 10, 60] }),
    auditRecords: new Counter({ name: 'riposte_audit_records_total', help: 'Audit records appended', registers: [registry] }),
    sensorDrops: new Gauge({ name: 'riposte_sensor_drops', help: 'Events the eBPF sensor dropped (ring buffer full), per CPU, since it started', labelNames: ['cpu'], registers: [registry] }),
    sensorEvents: new Gauge({ name: 'riposte_sensor_events', help: 'Events the eBPF sensor produced, per type, since it started', labelNames: ['type'], registers: [registry] }),
    detectorEvents: new Gauge({ name: 'riposte_detector_events', help: 'Events the detector evaluated since it started', registers: [registry] }),
    detectorAlerts: new Gauge({ name: 'riposte_detector_alerts', help: 'Alerts the detector raised since it started', registers: [registry] }),
    detectorSuppressed: new Gauge({ name: 'riposte_detector_suppressed', help: 'Rule matches counted into throttled summary alerts since it started', registers: [registry] }),
    queueDepth: new Gauge({ name: 'riposte_queue_waiting', help: 'Jobs waiting per queue', labelNames: ['queue'], registers: [registry] }),
  };
  return m;
}
export type Metrics = ReturnType<typeof createMetrics>;
