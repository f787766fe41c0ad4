// SPDX-License-Identifier: Apache-2.0
/** container.snapshot: filesystem changes + live state → tar.gz and manifest in the artifact store. */
import { parseDuration } from '../../common/duration.ts';
import { ActionError, type ActionContext, type ActionResult } from '../types.ts';
import { cgroupPids } from '../../node/cgroups.ts';
import { snapshotContainer } from '../../node/snapshot.ts';
import { type NodeActionParams, resolveTarget, sessionOf, targetFacts } from './target.ts';

export async function snapshotAction(p: NodeActionParams, ctx: ActionContext): Promise<ActionResult> {
  const { ns, cg } = await resolveTarget(p, ctx);
  const facts = targetFacts(cg, ns.node);
  const key = `snapshots/${cg.container}/${sessionOf(ctx)}.tar.gz`;
  if (ctx.dryRun) return { output: { ...facts, dryRun: true, key }, summary: `would snapshot container ${cg.container} to ${key}` };
  const done = async (archive: NonNullable<Awaited<ReturnType<typeof ns.store.head>>>, again: boolean): Promise<ActionResult> => {
    const manifest = await ns.store.head(`${key}.manifest.json`);
    const out = { ...facts, artifact: archive.uri, key: archive.key, sha256: archive.sha256, size: archive.size, manifest: manifest ? { uri: manifest.uri, key: manifest.key, sha256: manifest.sha256 } : null, files: archive.meta?.files ?? null, truncated: archive.meta?.truncated ?? null };
    return { output: out, summary: `${again ? 'snapshot already taken' : 'snapshot'} of container ${cg.container}: ${archive.key} (${archive.size} bytes, sha256 ${archive.sha256.slice(0, 16)}…)${out.truncated ? ', truncated by its caps' : ''}`, details: out };
  };
  // at least once: a re-run of the same step finds the committed archive
  const existing = await ns.store.head(key);
  if (existing) return done(existing, true);
  if ((await cgroupPids(cg.dir)).length === 0) throw new ActionError(`container ${cg.container} has no running process: its filesystem cannot be located; nothing was written`, { retryable: false });
  const r = await snapshotContainer(cg, {
    store: ns.store,
    key,
    ...(typeof p.maxBytes === 'number' ? { maxBytes: p.maxBytes } : {}),
    ...(typeof p.timeout === 'string' ? { timeoutMs: parseDuration(p.timeout) } : {}),
    ...(Array.isArray(p.paths) ? { paths: p.paths as string[] } : {}),
    node: ns.node,
    signal: ctx.signal,
  });
  const res = await done(r.archive, false);
  return { ...res, output: { ...res.output, source: r.source }, details: { ...res.details, source: r.source } };
}
