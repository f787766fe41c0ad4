// SPDX-License-Identifier: Apache-2.0
/**
 * Every Redis key Riposte writes, in one place. All keys share the hash tag
 * `{prefix}` so that Lua scripts and BullMQ work on Redis Cluster.
 */

export interface Keys {
  bullPrefix: string;
  auditList: string;
  auditHead: string;
  auditCheckpoints: string;
  run(id: string): string;
  runIndex: string;
  runsByIncident(incidentId: string): string;
  incident(id: string): string;
  incidentIndex: string;
  dedupe(playbook: string, key: string): string;
  effect(key: string): string;
  control: string;
  idempotency(key: string): string;
}

export function makeKeys(prefix: string): Keys {
  const p = `{${prefix}}`;
  return {
    bullPrefix: p,
    auditList: `${p}:audit:records`,
    auditHead: `${p}:audit:head`,
    auditCheckpoints: `${p}:audit:checkpoints`,
    run: (id) => `${p}:run:${id}`,
    runIndex: `${p}:runs`,
    runsByIncident: (id) => `${p}:incident:${id}:runs`,
    incident: (id) => `${p}:incident:${id}`,
    incidentIndex: `${p}:incidents`,
    dedupe: (playbook, key) => `${p}:dedupe:${playbook}:${key}`,
    effect: (key) => `${p}:effect:${key}`,
    control: `${p}:control`,
    idempotency: (key) => `${p}:idem:${key}`,
  };
}
