// SPDX-License-Identifier: Apache-2.0
/**
 * network.isolate.node / network.release.node: the enforcer's cgroup skb
 * programs on the container's cgroup drop every packet of its sockets, both
 * ways, established connections included — except to/from allow-listed
 * CIDRs. With a duration, a durable follow-up releases it; a release that
 * belongs to an older isolation (a later step renewed it) leaves it alone.
 */
import { isIP } from 'node:net';
import { formatDuration, parseDuration } from '../../common/duration.ts';
import { ENF_FLAG } from '../../node/enforcer-frames.ts';
import { ActionError, type ActionContext, type ActionResult } from '../types.ts';
import { type NodeActionParams, resolveTarget, sessionOf, targetFacts } from './target.ts';

/** Checks and normalises a CIDR ("10.0.0.0/8", "fd00::/8", a bare address = one host). */
export function checkCidr(c: string): string {
  const [addr, len, extra] = c.split('/');
  const v = isIP(addr ?? '');
  const max = v === 4 ? 32 : 128;
  if (!v || extra !== undefined || (len !== undefined && (!/^\d{1,3}$/.test(len) || Number(len) > max))) throw new ActionError(`"${c}" is not a CIDR (like 10.0.0.0/8 or fd00::/8)`, { retryable: false });
  return `${addr}/${len ?? max}`;
}

export async function isolateNetwork(p: NodeActionParams, ctx: ActionContext): Promise<ActionResult> {
  const { ns, cg } = await resolveTarget(p, ctx);
  const facts = targetFacts(cg, ns.node);
  const allow = Array.isArray(p.allowCIDRs) ? (p.allowCIDRs as string[]).map(checkCidr) : [];
  const durationMs = typeof p.duration === 'string' ? parseDuration(p.duration) : undefined;
  if (ctx.dryRun) return { output: { ...facts, dryRun: true, allow }, summary: `would cut the network of container ${cg.container}` };
  const session = sessionOf(ctx);
  const since = new Date();
  const until = durationMs !== undefined ? new Date(since.getTime() + durationMs).toISOString() : undefined;
  const status = await ns.withLock(cg, async () => {
    const enf = await ns.enforcer();
    const prev = ns.holding(cg)?.isolate;
    await enf.isolate(cg.id, cg.dir, allow, prev?.allow ?? []).catch((err: Error) => {
      throw new ActionError(`cannot isolate container ${cg.container}: ${err.message}`, { retryable: false });
    });
    await ns.record(cg, 'isolate', { allow, session, since: since.toISOString(), ...(until ? { until } : {}) });
    return enf.status(cg.id);
  });
  if (!(status.flags & ENF_FLAG.isolate) || !status.attached) throw new ActionError(`container ${cg.container}: the enforcer does not report the isolation in effect (${JSON.stringify(status)})`, { retryable: true });
  const out = { ...facts, isolated: true, mechanism: 'cgroup-skb', allow, session, ...(until ? { until } : {}) };
  return {
    output: out,
    summary: `cut all network traffic of container ${cg.container} in the kernel${allow.length ? ` except ${allow.join(', ')}` : ''}${durationMs !== undefined ? ` for ${formatDuration(durationMs)}` : ''}`,
    details: out,
    ...(durationMs !== undefined ? { followUps: [{ action: 'network.release.node', params: { container: cg.container, session }, delayMs: durationMs, reason: `network.isolate.node duration ${String(p.duration)} ended` }] } : {}),
  };
}

export async function releaseNetwork(p: NodeActionParams, ctx: ActionContext): Promise<ActionResult> {
  const { ns, cg } = await resolveTarget(p, ctx);
  const facts = targetFacts(cg, ns.node);
  if (ctx.dryRun) return { output: { ...facts, dryRun: true }, summary: `would restore the network of container ${cg.container}` };
  return ns.withLock(cg, async () => {
    const held = ns.holding(cg)?.isolate;
    if (typeof p.session === 'string' && held && held.session !== p.session) {
      return { output: { ...facts, isolated: true, session: held.session }, summary: `container ${cg.container} was isolated again by a later step (session ${held.session}); leaving that isolation in place` };
    }
    const enf = await ns.enforcer();
    const before = await enf.status(cg.id);
    await enf.release(cg.id).catch((err: Error) => {
      throw new ActionError(`cannot release container ${cg.container}: ${err.message}`, { retryable: true });
    });
    await ns.record(cg, 'isolate', undefined);
    const was = (before.flags & ENF_FLAG.isolate) !== 0;
    const counts = { droppedIngress: before.droppedIngress, droppedEgress: before.droppedEgress };
    return {
      output: { ...facts, isolated: false, ...counts },
      summary: was ? `restored network traffic of container ${cg.container} (${before.droppedEgress} outgoing and ${before.droppedIngress} incoming packets were dropped)` : `container ${cg.container} was not isolated`,
      details: { ...facts, wasIsolated: was, ...counts },
    };
  });
}
