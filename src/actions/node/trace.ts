// SPDX-License-Identifier: Apache-2.0
/**
 * trace.enable / trace.disable. Enable starts a session (syscalls → NDJSON,
 * packets → pcap) and returns a durable follow-up, trace.disable with that
 * session, due when the duration ends; the agent also ends the session on
 * its own timer, so whichever comes first switches it off and the other
 * finds it done. Disable returns the artifacts' keys and hashes (audited).
 */
import { parseDuration } from '../../common/duration.ts';
import type { TraceResult } from '../../node/trace.ts';
import { ActionError, type ActionContext, type ActionResult } from '../types.ts';
import { type NodeActionParams, resolveTarget, sessionOf, targetFacts } from './target.ts';

const artifactFacts = (r: TraceResult) => ({
  session: r.session,
  startedAt: r.startedAt,
  endedAt: r.endedAt,
  reason: r.reason,
  syscalls: r.syscalls,
  events: r.events,
  packets: r.packets,
  capped: r.capped,
  trace: { uri: r.trace.uri, key: r.trace.key, sha256: r.trace.sha256, size: r.trace.size },
  ...(r.pcap ? { pcap: { uri: r.pcap.uri, key: r.pcap.key, sha256: r.pcap.sha256, size: r.pcap.size } } : {}),
});

export async function traceEnable(p: NodeActionParams, ctx: ActionContext): Promise<ActionResult> {
  const { ns, cg } = await resolveTarget(p, ctx);
  const facts = targetFacts(cg, ns.node);
  if (typeof p.duration !== 'string') throw new ActionError('trace.enable needs a duration', { retryable: false });
  const durationMs = parseDuration(p.duration);
  const pcap = p.pcap !== false;
  const session = sessionOf(ctx);
  if (ctx.dryRun) return { output: { ...facts, dryRun: true }, summary: `would trace container ${cg.container} for ${p.duration}` };
  const ended = ns.tracer.result(session);
  if (ended) return { output: { ...facts, ...artifactFacts(ended), active: false }, summary: `trace session ${session} of container ${cg.container} already ended (${ended.reason})` };
  const s = await ns.withLock(cg, () =>
    ns.tracer.start(cg, { session, durationMs, pcap }).catch((err: Error) => {
      throw new ActionError(`cannot trace container ${cg.container}: ${err.message}`, { retryable: !/not running/.test(err.message) });
    }),
  );
  const remaining = Math.max(0, s.endsAt.getTime() - Date.now());
  const out = { ...facts, session: s.id, active: true, until: s.endsAt.toISOString(), trace: s.keys.trace, ...(s.keys.pcap ? { pcap: s.keys.pcap } : {}) };
  return {
    output: out,
    summary: `tracing syscalls${pcap ? ' and packets' : ''} of container ${cg.container} until ${s.endsAt.toISOString()}`,
    details: out,
    followUps: [{ action: 'trace.disable', params: { container: cg.container, session: s.id }, delayMs: remaining, reason: `trace.enable duration ${p.duration} ended` }],
  };
}

export async function traceDisable(p: NodeActionParams, ctx: ActionContext): Promise<ActionResult> {
  const { ns, cg } = await resolveTarget(p, ctx);
  const facts = targetFacts(cg, ns.node);
  const session = typeof p.session === 'string' ? p.session : ns.tracer.sessionOf(cg.id)?.id;
  if (ctx.dryRun) return { output: { ...facts, dryRun: true }, summary: `would stop tracing container ${cg.container}` };
  if (!session) return { output: { ...facts, active: false }, summary: `container ${cg.container} was not being traced` };
  const r = await ns.withLock(cg, () => ns.tracer.stop(session, typeof p.session === 'string' ? 'duration ended' : 'trace.disable'));
  if (r) return { output: { ...facts, active: false, ...artifactFacts(r) }, summary: `tracing of container ${cg.container} is off: ${r.syscalls} syscalls, ${r.packets} packets (${r.trace.key}, sha256 ${r.trace.sha256.slice(0, 16)}…)`, details: { ...facts, ...artifactFacts(r) } };
  // ended by an earlier agent process: report what it left in the store
  const trace = await ns.store.head(`traces/${cg.container}/${session}.ndjson`);
  const pcap = await ns.store.head(`traces/${cg.container}/${session}.pcap`);
  const refs = { ...(trace ? { trace: { uri: trace.uri, key: trace.key, sha256: trace.sha256, size: trace.size } } : {}), ...(pcap ? { pcap: { uri: pcap.uri, key: pcap.key, sha256: pcap.sha256, size: pcap.size } } : {}) };
  return { output: { ...facts, active: false, session, ...refs }, summary: `trace session ${session} of container ${cg.container} was already off`, details: { ...facts, session, ...refs } };
}
