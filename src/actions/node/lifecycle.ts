// SPDX-License-Identifier: Apache-2.0
/** container.kill, container.freeze, container.thaw: the cgroup as a whole, verified from cgroup.procs / cgroup.events. */
import { ActionError, type ActionContext, type ActionResult } from '../types.ts';
import { cgroupPids, freezeCgroup, killCgroup } from '../../node/cgroups.ts';
import { type NodeActionParams, resolveTarget, targetFacts } from './target.ts';

export async function killContainer(p: NodeActionParams, ctx: ActionContext): Promise<ActionResult> {
  const { ns, cg } = await resolveTarget(p, ctx);
  const facts = targetFacts(cg, ns.node);
  if (ctx.dryRun) return { output: { ...facts, dryRun: true, processes: (await cgroupPids(cg.dir)).length }, summary: `would kill every process of container ${cg.container}` };
  const r = await ns.withLock(cg, () => killCgroup(cg.dir));
  if (r.remaining.length) throw new ActionError(`container ${cg.container}: ${r.remaining.length} process(es) still there after SIGKILL (${r.remaining.slice(0, 10).join(', ')})`, { retryable: true });
  // a frozen cgroup that was killed has nothing left to thaw
  if (ns.holding(cg)?.frozen) await ns.record(cg, 'frozen', undefined);
  return {
    output: { ...facts, killed: r.killed, method: r.method, remaining: 0 },
    summary: r.killed ? `killed ${r.killed} process(es) of container ${cg.container} (${r.method}); none remain` : `container ${cg.container} had no process left to kill`,
    details: { ...facts, killed: r.killed, method: r.method },
  };
}

export async function freezeContainer(p: NodeActionParams, ctx: ActionContext, on: boolean): Promise<ActionResult> {
  const { ns, cg } = await resolveTarget(p, ctx);
  const facts = targetFacts(cg, ns.node);
  if (ctx.dryRun) return { output: { ...facts, dryRun: true }, summary: `would ${on ? 'freeze' : 'thaw'} container ${cg.container}` };
  const r = await ns.withLock(cg, async () => {
    const res = await freezeCgroup(cg.dir, on).catch((err: Error) => {
      throw new ActionError(err.message, { retryable: true });
    });
    await ns.record(cg, 'frozen', on ? (ns.holding(cg)?.frozen ?? { since: new Date().toISOString() }) : undefined);
    return res;
  });
  const verb = on ? 'froze' : 'thawed';
  return {
    output: { ...facts, frozen: r.frozen, processes: r.pids },
    summary: r.changed ? `${verb} container ${cg.container} (${r.pids} process(es)); cgroup.events frozen ${r.frozen ? 1 : 0}` : `container ${cg.container} was already ${on ? 'frozen' : 'thawed'}`,
    details: { ...facts, frozen: r.frozen, processes: r.pids, changed: r.changed },
  };
}
