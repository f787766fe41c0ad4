// SPDX-License-Identifier: Apache-2.0
/**
 * exec.block / exec.release: inside the container's cgroup only, exec of the
 * listed paths (or of anything not listed, with allowOnly) fails with EPERM.
 * Paths are what the container's processes see; each is also resolved
 * through the container's root so symlinked names are covered. The kernel
 * side is BPF-LSM (bprm_check_security) where the kernel accepts it, else
 * fanotify permission events on the container's mounts; the result says which.
 */
import { posix } from 'node:path';
import { cgroupPids } from '../../node/cgroups.ts';
import { elfInterpreter, resolveInRoot } from '../../node/exec-paths.ts';
import { ENF_PATH_MAX } from '../../node/enforcer-frames.ts';
import { ActionError, type ActionContext, type ActionResult } from '../types.ts';
import { type NodeActionParams, resolveTarget, sessionOf, targetFacts } from './target.ts';

function checkPath(p: string): string {
  if (!p.startsWith('/') || /[\n\0]/.test(p) || Buffer.byteLength(p) >= ENF_PATH_MAX) throw new ActionError(`"${p}" is not an absolute path shorter than ${ENF_PATH_MAX} bytes`, { retryable: false });
  return posix.normalize(p);
}

export async function blockExec(p: NodeActionParams, ctx: ActionContext): Promise<ActionResult> {
  const deny = Array.isArray(p.paths) ? (p.paths as string[]) : [];
  const allowOnly = Array.isArray(p.allowOnly) ? (p.allowOnly as string[]) : [];
  if (deny.length && allowOnly.length) throw new ActionError('exec.block takes `paths` (deny these) or `allowOnly` (deny all others), not both', { retryable: false });
  if (!deny.length && !allowOnly.length) throw new ActionError('exec.block needs `paths` or `allowOnly`', { retryable: false });
  const mode = allowOnly.length ? 'allow-only' : 'deny';
  const given = (allowOnly.length ? allowOnly : deny).map(checkPath);
  const { ns, cg } = await resolveTarget(p, ctx);
  const facts = targetFacts(cg, ns.node);
  if (ctx.dryRun) return { output: { ...facts, dryRun: true, mode, paths: given }, summary: `would ${mode === 'deny' ? `deny exec of ${given.join(', ')}` : `allow only ${given.join(', ')}`} in container ${cg.container}` };

  const pid = (await cgroupPids(cg.dir))[0] ?? 0;
  const root = pid ? `/proc/${pid}/root` : undefined;
  const paths = new Set<string>();
  for (const g of given) {
    paths.add(g);
    const real = root ? await resolveInRoot(root, g) : null;
    if (real && Buffer.byteLength(real) < ENF_PATH_MAX) paths.add(real);
  }
  return ns.withLock(cg, async () => {
    const enf = await ns.enforcer();
    const mechanism = enf.execMechanism;
    // fanotify sees the kernel open each ELF interpreter as an exec: allow it right after an allowed binary
    const interpreters = new Set<string>();
    if (mode === 'allow-only' && mechanism === 'fanotify' && root) {
      for (const path of paths) {
        const interp = await elfInterpreter(`${root}${path}`);
        if (!interp) continue;
        interpreters.add(interp);
        const real = await resolveInRoot(root, interp);
        if (real) interpreters.add(real);
      }
      for (const path of paths) interpreters.delete(path);
    }
    const prev = ns.holding(cg)?.exec;
    const msg = await enf.execBlock(cg.id, cg.dir, pid, mode, [...paths], [...interpreters], prev ? [...prev.paths, ...prev.interpreters] : []).catch((err: Error) => {
      throw new ActionError(`cannot block exec in container ${cg.container}: ${err.message}`, { retryable: false });
    });
    await ns.record(cg, 'exec', { mode, paths: [...paths], interpreters: [...interpreters], session: sessionOf(ctx), since: new Date().toISOString(), mechanism });
    const out = { ...facts, mode, paths: [...paths], mechanism, ...(interpreters.size ? { interpreters: [...interpreters] } : {}) };
    return {
      output: out,
      summary: `${mode === 'deny' ? `exec of ${given.join(', ')} is denied` : `only ${given.join(', ')} may execute`} in container ${cg.container} (${mechanism}; ${msg})`,
      details: out,
    };
  });
}

export async function releaseExec(p: NodeActionParams, ctx: ActionContext): Promise<ActionResult> {
  const { ns, cg } = await resolveTarget(p, ctx);
  const facts = targetFacts(cg, ns.node);
  if (ctx.dryRun) return { output: { ...facts, dryRun: true }, summary: `would allow exec again in container ${cg.container}` };
  return ns.withLock(cg, async () => {
    const held = ns.holding(cg)?.exec;
    const enf = await ns.enforcer();
    const before = await enf.status(cg.id);
    await enf.execRelease(cg.id).catch((err: Error) => {
      throw new ActionError(`cannot lift exec blocking in container ${cg.container}: ${err.message}`, { retryable: true });
    });
    await ns.record(cg, 'exec', undefined);
    return {
      output: { ...facts, blocked: false, execsDenied: before.execsDenied },
      summary: held ? `exec blocking lifted in container ${cg.container} (${before.execsDenied} exec(s) were denied)` : `container ${cg.container} had no exec blocking`,
      details: { ...facts, wasBlocked: Boolean(held), execsDenied: before.execsDenied },
    };
  });
}
