// SPDX-License-Identifier: Apache-2.0
/**
 * What every node action does first: find the agent's node services, and
 * resolve the target container to exactly one cgroup — or refuse, with a
 * non-retryable error and nothing changed.
 */
import { createHash } from 'node:crypto';
import { alertField } from '../params.ts';
import { ActionError, type ActionContext } from '../types.ts';
import type { ContainerCgroup } from '../../node/cgroups.ts';
import { TargetError } from '../../node/cgroups.ts';
import type { NodeServices } from '../../node/services.ts';

export interface NodeActionParams {
  container?: string;
  [k: string]: unknown;
}

/** The container id of the step: `container` if given, else the alert's `container.id`; never `host`. */
export function targetContainer(p: NodeActionParams, alert: { output_fields: Record<string, unknown> }): string | undefined {
  const id = p.container ?? alertField(alert, 'container.id');
  return id && id !== 'host' ? id : undefined;
}

export function nodeServices(ctx: ActionContext): NodeServices {
  const ns = ctx.services.nodeActions as NodeServices | undefined;
  if (!ns) throw new ActionError(`node actions need the agent's node services, and this process (node ${String(ctx.services.node ?? '?')}) has none`, { retryable: false });
  return ns;
}

/** Resolves the step's target container to its cgroup; refuses (non-retryable) when it cannot. */
export async function resolveTarget(p: NodeActionParams, ctx: ActionContext): Promise<{ ns: NodeServices; cg: ContainerCgroup }> {
  const ns = nodeServices(ctx);
  const id = targetContainer(p, ctx.alert);
  if (!id) {
    const fromAlert = alertField(ctx.alert, 'container.id');
    throw new ActionError(fromAlert === 'host' ? 'the alert is from the host, not a container: node actions never act on the host' : 'no target container: set `container` or send an alert with container.id', { retryable: false });
  }
  try {
    return { ns, cg: await ns.resolve(id) };
  } catch (err) {
    if (err instanceof TargetError) throw new ActionError(`${err.message}; nothing was changed`, { retryable: false });
    throw err;
  }
}

/** A short id derived from the step's idempotency key: the same on every re-execution. */
export function sessionOf(ctx: ActionContext): string {
  return createHash('sha256').update(ctx.idempotencyKey).digest('hex').slice(0, 16);
}

/** Facts about the target that go into every result and audit record. */
export function targetFacts(cg: ContainerCgroup, node: string): Record<string, unknown> {
  return { container: cg.container, cgroup: cg.path, cgroupId: String(cg.id), runtime: cg.runtime, node };
}
