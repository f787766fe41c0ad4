// SPDX-License-Identifier: Apache-2.0
/**
 * Takes one persisted alert: audits it, finds the playbooks it triggers, opens
 * or joins each playbook's incident (dedupe) and starts a run for new incidents.
 * Ids are derived from the alert id, so processing an alert twice (after a crash)
 * starts nothing twice.
 */
import { createHash } from 'node:crypto';
import type { Alert } from '../alerts/alert.ts';
import type { AuditLog } from '../audit/log.ts';
import { parseDuration } from '../common/duration.ts';
import type { Logger } from '../common/log.ts';
import { COMPILER_VERSION, type LoadedPlaybook } from '../playbooks/load.ts';
import { matchPlaybooks } from '../playbooks/match.ts';
import { renderString } from '../playbooks/template.ts';
import type { RunDriver } from './driver.ts';
import type { IncidentStore } from './incidents.ts';

export interface AlertProcessorDeps {
  playbooks: () => readonly LoadedPlaybook[];
  incidents: IncidentStore;
  driver: RunDriver;
  audit: AuditLog;
  log: Logger;
  now: () => Date;
  metrics?: { runsStarted(playbook: string): void; alertsDeduped(playbook: string): void };
  /** Admission control (src/engine/admission.ts): starts the run or holds it; true when created now. */
  admit?: (meta: Parameters<RunDriver['create']>[0], input: Parameters<RunDriver['create']>[1]) => Promise<boolean>;
}

export function derivedId(...parts: string[]): string {
  const h = createHash('sha256').update(parts.join('\0')).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

export class AlertProcessor {
  private readonly d: AlertProcessorDeps;
  constructor(deps: AlertProcessorDeps) {
    this.d = deps;
  }

  async process(alert: Alert): Promise<{ matched: string[]; started: string[] }> {
    const matched = matchPlaybooks(this.d.playbooks(), alert);
    await this.d.audit.append({
      actor: { type: 'system', name: 'engine' },
      action: 'alert.processed',
      target: alert.rule,
      outcome: 'info',
      details: { alertId: alert.id, priority: alert.priority, source: alert.source, hostname: alert.hostname, playbooks: matched.map((m) => m.playbook.metadata.name) },
    });
    const started: string[] = [];
    for (const pb of matched) {
      const name = pb.playbook.metadata.name;
      const runId = derivedId('run', alert.id, name);
      const dedupe = pb.playbook.options.dedupe;
      let dedupeKey = alert.id;
      let windowMs = 1;
      if (dedupe) {
        try {
          dedupeKey = renderString(dedupe.key, { alert, steps: {}, run: { id: runId, dryRun: false }, incident: { id: '' }, playbook: { name } }, `playbook ${name} options.dedupe.key`);
          windowMs = parseDuration(dedupe.window);
        } catch (err) {
          this.d.log.warn('dedupe key failed; alert gets its own incident', { playbook: name, error: (err as Error).message });
        }
      }
      const join = await this.d.incidents.join({ playbook: name, dedupeKey, windowMs, alert, newId: derivedId('incident', alert.id, name), now: this.d.now() });
      if (join.kind === 'joined') {
        this.d.metrics?.alertsDeduped(name);
        continue;
      }
      if (join.kind === 'duplicate' && join.incidentId !== derivedId('incident', alert.id, name)) continue;
      const created = await (this.d.admit ?? ((m, i) => this.d.driver.create(m, i)))(
        {
          id: runId,
          playbook: name,
          playbookVersion: pb.version,
          machineVersion: COMPILER_VERSION,
          model: pb.playbook,
          incidentId: join.incidentId,
          alertId: alert.id,
          dryRun: pb.playbook.options.dryRun === true,
          createdAt: this.d.now().toISOString(),
          startedBy: 'system',
        },
        { alert, runId, incidentId: join.incidentId },
      );
      if (created) {
        this.d.metrics?.runsStarted(name);
        started.push(runId);
      }
    }
    return { matched: matched.map((m) => m.playbook.metadata.name), started };
  }
}
