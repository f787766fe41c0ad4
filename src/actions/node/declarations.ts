// SPDX-License-Identifier: Apache-2.0
/**
 * Node-local actions (`runsOn: node`): executed by the agent on the node that
 * raised the alert, against one container's cgroup. The engine routes them to
 * that node's queue (src/engine/node-dispatch.ts); the agent runs `execute()`
 * with its NodeServices in `ctx.services.nodeActions` (src/node/services.ts).
 * docs/node-actions.md describes each action's kernel mechanism.
 */
import { durationParam, stringList } from '../params.ts';
import type { ActionContext, ActionDefinition, ActionResult } from '../types.ts';
import { blockExec, releaseExec } from './exec.ts';
import { freezeContainer, killContainer } from './lifecycle.ts';
import { isolateNetwork, releaseNetwork } from './network.ts';
import { snapshotAction } from './snapshot.ts';
import { type NodeActionParams, targetContainer } from './target.ts';
import { traceDisable, traceEnable } from './trace.ts';

export { type NodeActionParams, targetContainer } from './target.ts';

const container = { type: 'string', minLength: 1, description: 'Container id; defaults to the alert field container.id.' };
const session = { type: 'string', minLength: 1, description: 'Set by the follow-up of the enabling step: only that session is ended.' };

type Execute = (p: NodeActionParams, ctx: ActionContext) => Promise<ActionResult>;

function nodeAction(def: Omit<ActionDefinition<NodeActionParams>, 'runsOn' | 'rbac' | 'execute'>, execute: Execute): ActionDefinition<NodeActionParams> {
  return { ...def, runsOn: 'node', rbac: [], execute };
}

const obj = (properties: Record<string, unknown>, required: string[] = []) => ({ type: 'object', additionalProperties: false, properties: { container, ...properties }, required });
const who = (p: NodeActionParams, a: { output_fields: Record<string, unknown> }) => `container ${targetContainer(p, a) ?? '(from alert)'}`;

export const nodeActions: ActionDefinition<NodeActionParams>[] = [
  nodeAction({ name: 'container.kill', description: "SIGKILL every process of the container's cgroup and verify none remain.", params: obj({}), destructive: true, idempotent: true, describe: (p, a) => `kill every process of ${who(p, a)}` }, killContainer),
  nodeAction({ name: 'container.freeze', description: "Freeze the container's cgroup so evidence stays in memory.", params: obj({}), destructive: true, idempotent: true, describe: (p, a) => `freeze ${who(p, a)}` }, (p, ctx) => freezeContainer(p, ctx, true)),
  nodeAction({ name: 'container.thaw', description: "Thaw a frozen container's cgroup.", params: obj({}), destructive: false, idempotent: true, describe: (p, a) => `thaw ${who(p, a)}` }, (p, ctx) => freezeContainer(p, ctx, false)),
  nodeAction({
    name: 'container.snapshot',
    description: "Archive the container's filesystem changes, process list, open files, connections and executables (tar.gz + manifest with sha256).",
    params: obj({ maxBytes: { type: 'integer', minimum: 1024, description: 'Size cap of the archive.' }, timeout: durationParam('Time cap'), paths: stringList('Paths to take through /proc/PID/root when the overlay upper directory is not found.') }),
    destructive: false,
    idempotent: true,
    describe: (p, a) => `snapshot the filesystem changes and processes of ${who(p, a)}`,
  }, snapshotAction),
  nodeAction({
    name: 'trace.enable',
    description: "Record every syscall of the container (NDJSON) and a pcap of its traffic for a duration.",
    params: obj({ duration: durationParam('How long to trace'), pcap: { type: 'boolean', description: 'Also capture packets (default true).' } }, ['duration']),
    destructive: false,
    idempotent: true,
    describe: (p, a) => `record syscalls${p.pcap === false ? '' : ' and packets'} of ${who(p, a)} for ${String(p.duration)}`,
  }, traceEnable),
  nodeAction({ name: 'trace.disable', description: 'Stop verbose tracing of the container.', params: obj({ session }), destructive: false, idempotent: true, describe: (p, a) => `stop tracing ${who(p, a)}` }, traceDisable),
  nodeAction({
    name: 'network.isolate.node',
    description: "Drop all traffic of the container's cgroup in the kernel, established connections included.",
    params: obj({ allowCIDRs: stringList('Destinations still allowed (CIDRs).'), duration: durationParam('Lift the isolation after') }),
    destructive: true,
    idempotent: true,
    describe: (p, a) => `cut all network traffic of ${who(p, a)} in the kernel${Array.isArray(p.allowCIDRs) && p.allowCIDRs.length ? ` except ${p.allowCIDRs.join(', ')}` : ''}`,
  }, isolateNetwork),
  nodeAction({ name: 'network.release.node', description: 'Lift in-kernel network isolation of the container.', params: obj({ session }), destructive: false, idempotent: true, describe: (p, a) => `restore network traffic of ${who(p, a)}` }, releaseNetwork),
  nodeAction({
    name: 'exec.block',
    description: 'Deny exec (EPERM) of listed paths, or of anything outside an allow-list, inside the container only (BPF-LSM; fanotify where the kernel refuses BPF-LSM).',
    params: obj({ paths: stringList('Executables to deny.'), allowOnly: stringList('Only these executables may run.') }),
    destructive: true,
    idempotent: true,
    describe: (p, a) => (Array.isArray(p.allowOnly) && p.allowOnly.length ? `allow only ${p.allowOnly.join(', ')} to execute in ${who(p, a)}` : `deny execution of ${Array.isArray(p.paths) ? p.paths.join(', ') : '(nothing)'} in ${who(p, a)}`),
  }, blockExec),
  nodeAction({ name: 'exec.release', description: 'Lift exec blocking for the container.', params: obj({}), destructive: false, idempotent: true, describe: (p, a) => `allow execution again in ${who(p, a)}` }, releaseExec),
];
