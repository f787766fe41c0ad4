// SPDX-License-Identifier: Apache-2.0
/**
 * Recorded events: one DetectorEvent per NDJSON line, for offline replay
 * (`riposte rules test --events`) and benchmarks. bigints are decimal strings;
 * the parent chain is nested under `proc.parent`.
 *
 * @example
 *   {"type":"execve","timeNs":"1732790000000000000","pid":42,"tid":42,"ppid":1,"comm":"bash","cgroupId":"77",
 *    "args":{"filename":"/bin/bash"},"proc":{"pid":42,"ppid":1,"name":"bash","exe":"bash","exepath":"/usr/bin/bash","args":["-i"],"tty":34816},
 *    "user":{"uid":0},"group":{"gid":0},"container":{"id":"0123456789ab"}}
 */
import type { DetectorEvent, ProcessInfo } from './fields/index.ts';

export function recordEvent(ev: DetectorEvent): string {
  const proc = (p: ProcessInfo | undefined, depth: number): unknown => {
    if (!p || depth > 8) return undefined;
    const { parent, ...rest } = p as ProcessInfo & Record<string, unknown>;
    const out: Record<string, unknown> = { pid: rest.pid, ppid: rest.ppid, name: rest.name, exe: rest.exe, exepath: rest.exepath, args: rest.args };
    for (const k of ['cwd', 'tty', 'isExeUpperLayer', 'isExeFromMemfd', 'stdio', 'loginuid']) if (rest[k] !== undefined) out[k] = rest[k];
    const pp = proc(parent, depth + 1);
    if (pp) out.parent = pp;
    return out;
  };
  return JSON.stringify({ ...ev, proc: proc(ev.proc, 0) }, (_k, v) => (typeof v === 'bigint' ? v.toString() : v instanceof Uint8Array ? Buffer.from(v).toString('base64') : v));
}

function need(cond: boolean, what: string): void {
  if (!cond) throw new Error(`recorded event: ${what}`);
}

export function parseRecordedEvent(o: unknown): DetectorEvent {
  need(!!o && typeof o === 'object', 'expected a JSON object');
  const e = o as Record<string, unknown>;
  need(typeof e.type === 'string', '"type" must be a Falco event name like "execve"');
  need(typeof e.pid === 'number', '"pid" must be a number');
  need(!!e.proc && typeof e.proc === 'object', '"proc" must be an object');
  need(!!e.container && typeof e.container === 'object' && typeof (e.container as { id?: unknown }).id === 'string', '"container.id" must be a string (use "host")');
  const big = (v: unknown, name: string) => {
    try {
      return BigInt(v === undefined ? 0 : (v as string | number));
    } catch {
      throw new Error(`recorded event: "${name}" must be an integer or a decimal string`);
    }
  };
  return {
    ...(e as unknown as DetectorEvent),
    timeNs: big(e.timeNs, 'timeNs'),
    cgroupId: big(e.cgroupId, 'cgroupId'),
    tid: typeof e.tid === 'number' ? e.tid : (e.pid as number),
    ppid: typeof e.ppid === 'number' ? e.ppid : ((e.proc as { ppid?: number }).ppid ?? 0),
    comm: typeof e.comm === 'string' ? e.comm : String((e.proc as { name?: string }).name ?? ''),
    args: (e.args as DetectorEvent['args']) ?? {},
    user: (e.user as DetectorEvent['user']) ?? { uid: 0 },
    group: (e.group as DetectorEvent['group']) ?? { gid: 0 },
  };
}
