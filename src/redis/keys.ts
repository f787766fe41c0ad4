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
  /** The newest alerts of an incident (a capped list, newest first). */
  incidentAlerts(id: string): string;
  incidentIndex: string;
  dedupe(playbook: string, key: string): string;
  effect(key: string): string;
  control: string;
  idempotency(key: string): string;
  /** Heartbeat of the agent on a node (expires when the agent stops beating). */
  agent(node: string): string;
  /** Approvals (src/approvals/): record hash, votes hash, indexes, link and form tokens. */
  approval(id: string): string;
  approvalVotes(id: string): string;
  approvalsPending: string;
  approvalsAll: string;
  approvalToken(selector: string): string;
  /** Marks a notification delivered, so a re-executed job does not post it twice. */
  notified(key: string): string;
  /** Run admission (src/engine/admission.ts): held runs, concurrency and rate limits. */
  admission: { entries: string; queue(playbook: string): string; playbooks: string; active(playbook: string): string; limited: string; starting: string; rate: string };
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
    incidentAlerts: (id) => `${p}:incident:${id}:alerts`,
    incidentIndex: `${p}:incidents`,
    dedupe: (playbook, key) => `${p}:dedupe:${playbook}:${key}`,
    effect: (key) => `${p}:effect:${key}`,
    control: `${p}:control`,
    idempotency: (key) => `${p}:idem:${key}`,
    agent: (node) => `${p}:agent:${node}`,
    approval: (id) => `${p}:approval:${id}`,
    approvalVotes: (id) => `${p}:approval:${id}:votes`,
    approvalsPending: `${p}:approvals:pending`,
    approvalsAll: `${p}:approvals:all`,
    approvalToken: (selector) => `${p}:approval-token:${selector}`,
    notified: (key) => `${p}:notified:${key}`,
    admission: {
      entries: `${p}:adm:entries`,
      queue: (playbook) => `${p}:adm:queue:${playbook}`,
      playbooks: `${p}:adm:playbooks`,
      active: (playbook) => `${p}:adm:active:${playbook}`,
      limited: `${p}:adm:limited`,
      starting: `${p}:adm:starting`,
      rate: `${p}:adm:rate`,
    },
  };
}
