// SPDX-License-Identifier: Apache-2.0
/**
 * Runs the riposte-enforcer loader (bpf/enforcer.c) as a child process and
 * speaks its line protocol. Everything the enforcer does is keyed by a cgroup
 * v2 id *and* that cgroup's directory, which the loader checks against each
 * other before attaching anything; the kernel programs act only on cgroups
 * present in their policy map. When this process (or the agent) goes away the
 * loader sees EOF on stdin and detaches everything — unless it was started
 * with `persist` (pins in bpffs), for agents configured to keep containment
 * across restarts.
 *
 * @example
 *   const enf = await EnforcerProcess.start({ cgroup2: '/sys/fs/cgroup/unified' });
 *   await enf.isolate(cg.id, cg.dir, ['10.0.0.0/8']);
 *   await enf.release(cg.id);
 *   await enf.stop();
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EnforcerDecoder, type EnforcerHello, type EnforcerReply, type ExecMechanism } from './enforcer-frames.ts';

export interface EnforcerOptions {
  /** loader binary; default $RIPOSTE_ENFORCER_BIN or bpf/.output/riposte-enforcer of this checkout */
  binary?: string;
  /** cgroup2 mount point */
  cgroup2: string;
  /** bpffs directory for pins (adopts what an earlier persisting run left) */
  pinDir?: string;
  /** keep links and maps pinned when the loader exits */
  persist?: boolean;
  /** exec blocking: bpf-lsm if the kernel takes it, else fanotify (default auto) */
  exec?: 'auto' | 'bpf-lsm' | 'fanotify';
  startTimeoutMs?: number;
  onStderr?: (line: string) => void;
}

/** Policy of one cgroup as the kernel side holds it (`status` / `list`). */
export interface EnforcerPolicy {
  cgroup: string;
  flags: number;
  snaplen: number;
  droppedIngress: number;
  droppedEgress: number;
  execsDenied: number;
  pcapLost: number;
  attached: boolean;
}

export function enforcerBinaryPath(): string {
  if (process.env.RIPOSTE_ENFORCER_BIN) return process.env.RIPOSTE_ENFORCER_BIN;
  return resolve(dirname(fileURLToPath(import.meta.url)), '../../bpf/.output/riposte-enforcer');
}

/** `riposte-enforcer --check`: can this kernel load and attach it, and how is exec blocked? */
export async function checkEnforcer(cgroup2: string, binary = enforcerBinaryPath()): Promise<{ ok: boolean; reason: string }> {
  if (!existsSync(binary)) return { ok: false, reason: `${binary} not built (make -C bpf enforcer)` };
  return new Promise((done) => {
    const c = spawn(binary, ['--check', '--cgroup2', cgroup2], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    c.stdout.on('data', (d: Buffer) => (out += d));
    c.stderr.on('data', (d: Buffer) => (out += d));
    c.on('error', (err) => done({ ok: false, reason: err.message }));
    c.on('close', (code) => {
      const lines = out.trim().split('\n');
      done({ ok: code === 0, reason: code === 0 ? (lines.at(-1) ?? 'ok') : lines.filter((l) => /riposte-enforcer:|^fail:/.test(l)).join('; ') || `exit ${code}` });
    });
  });
}

interface Pending {
  resolve: (r: EnforcerReply) => void;
  reject: (e: Error) => void;
}

/** Events: 'packet' (PacketRecord), 'exec-denied' (ExecDeniedRecord), 'exit' ({code, signal}). */
export class EnforcerProcess extends EventEmitter {
  hello!: EnforcerHello;
  readonly stderrTail: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly child: ChildProcess;
  private readonly pending: Pending[] = [];
  private dead = false;

  private constructor(child: ChildProcess, o: EnforcerOptions) {
    super();
    this.child = child;
    const dec = new EnforcerDecoder();
    child.stdout!.on('data', (chunk: Buffer) => {
      let frames: ReturnType<EnforcerDecoder['push']>;
      try {
        frames = dec.push(chunk);
      } catch (err) {
        this.emit('error', err);
        child.kill('SIGTERM');
        return;
      }
      for (const f of frames) {
        if (f.kind === 'hello') {
          this.hello = f;
          this.emit('hello', f);
        } else if (f.kind === 'reply') this.pending.shift()?.resolve(f);
        else this.emit(f.kind, f);
      }
    });
    let partial = '';
    child.stderr!.on('data', (d: Buffer) => {
      const lines = (partial + d.toString()).split('\n');
      partial = lines.pop() ?? '';
      for (const l of lines) {
        this.stderrTail.push(l);
        if (this.stderrTail.length > 50) this.stderrTail.shift();
        o.onStderr?.(l);
      }
    });
    child.stdin!.on('error', () => {});
    this.exited = new Promise((res) => {
      child.on('close', (code, signal) => {
        this.dead = true;
        const err = new Error(`riposte-enforcer exited (${signal ?? code}): ${this.stderrTail.slice(-3).join(' | ')}`);
        for (const p of this.pending.splice(0)) p.reject(err);
        this.emit('exit', { code, signal });
        res({ code, signal });
      });
    });
  }

  static async start(o: EnforcerOptions): Promise<EnforcerProcess> {
    const binary = o.binary ?? enforcerBinaryPath();
    if (!existsSync(binary)) throw new Error(`riposte-enforcer is not built: ${binary} (make -C bpf enforcer)`);
    const args = ['--cgroup2', o.cgroup2, '--exec', o.exec ?? 'auto'];
    if (o.pinDir) args.push('--pin', o.pinDir);
    if (o.persist) args.push('--persist');
    const child = spawn(binary, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const enf = new EnforcerProcess(child, o);
    const timeout = o.startTimeoutMs ?? 10_000;
    await new Promise<void>((res, rej) => {
      const t = setTimeout(() => {
        child.kill('SIGTERM');
        rej(new Error(`riposte-enforcer: no hello within ${timeout} ms`));
      }, timeout);
      const fail = (why: string) => {
        clearTimeout(t);
        rej(new Error(`riposte-enforcer failed to start: ${why}`));
      };
      child.once('error', (e) => fail(e.message));
      enf.once('exit', (x: { code: number | null }) => fail(enf.stderrTail.slice(-3).join(' | ') || `exit ${x.code}`));
      enf.once('hello', () => {
        clearTimeout(t);
        res();
      });
    });
    return enf;
  }

  /** Loader process id. */
  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return !this.dead;
  }

  get execMechanism(): ExecMechanism {
    return this.hello.execMechanism;
  }

  /** One command line; resolves with the loader's message, rejects with its refusal. */
  async command(line: string): Promise<string> {
    if (this.dead) throw new Error('riposte-enforcer is not running');
    if (/[\n\0]/.test(line)) throw new Error('enforcer command must be one line');
    const reply = await new Promise<EnforcerReply>((resolve, reject) => {
      this.pending.push({ resolve, reject });
      this.child.stdin!.write(`${line}\n`);
    });
    if (!reply.ok) throw new Error(reply.message);
    return reply.message;
  }

  /**
   * Drops all traffic of the cgroup except to/from `allow` CIDRs: the
   * allow-list first, then the drop, then entries of an earlier isolation no
   * longer wanted — never a moment without isolation when renewing one.
   */
  async isolate(cgroupId: bigint, dir: string, allow: readonly string[] = [], previous: readonly string[] = []): Promise<void> {
    for (const c of allow) await this.command(`allow ${cgroupId} ${c}`);
    await this.command(`isolate ${cgroupId} ${oneToken(dir)}`);
    for (const c of previous) if (!allow.includes(c)) await this.command(`disallow ${cgroupId} ${c}`);
  }

  async release(cgroupId: bigint): Promise<void> {
    await this.command(`release ${cgroupId}`);
  }

  async pcap(cgroupId: bigint, dir: string, on: boolean, snaplen = 2048): Promise<void> {
    await this.command(on ? `pcap ${cgroupId} on ${oneToken(dir)} ${snaplen}` : `pcap ${cgroupId} off`);
  }

  /**
   * Sets the exec list and mode of a cgroup, replacing an earlier one:
   * new entries first, then the mode, then entries no longer wanted.
   */
  async execBlock(cgroupId: bigint, dir: string, pid: number, mode: 'deny' | 'allow-only', paths: readonly string[], interpreters: readonly string[], previous: readonly string[] = []): Promise<string> {
    for (const p of paths) await this.command(`exec-path ${cgroupId} ${p}`);
    for (const p of interpreters) await this.command(`exec-interp ${cgroupId} ${p}`);
    const msg = await this.command(`exec-mode ${cgroupId} ${mode} ${oneToken(dir)} ${pid}`);
    const keep = new Set([...paths, ...interpreters]);
    for (const p of previous) if (!keep.has(p)) await this.command(`exec-unpath ${cgroupId} ${p}`);
    return msg;
  }

  async execRelease(cgroupId: bigint): Promise<void> {
    await this.command(`exec-release ${cgroupId}`);
  }

  async status(cgroupId: bigint): Promise<EnforcerPolicy> {
    return JSON.parse(await this.command(`status ${cgroupId}`)) as EnforcerPolicy;
  }

  async list(): Promise<EnforcerPolicy[]> {
    return JSON.parse(await this.command('list')) as EnforcerPolicy[];
  }

  /** Removes every policy of the cgroup and detaches from it. */
  async forget(cgroupId: bigint): Promise<void> {
    await this.command(`forget ${cgroupId}`);
  }

  /** quit → SIGTERM → SIGKILL. Without persist, the loader detaches everything on the way out. */
  async stop(timeoutMs = 3000): Promise<void> {
    if (this.dead) return;
    this.child.stdin!.end('quit\n');
    const wait = (ms: number) => Promise.race([this.exited, new Promise<null>((r) => setTimeout(() => r(null), ms).unref())]);
    if ((await wait(timeoutMs)) === null) {
      this.child.kill('SIGTERM');
      if ((await wait(timeoutMs)) === null) this.child.kill('SIGKILL');
    }
    await this.exited;
  }
}

function oneToken(s: string): string {
  if (/\s/.test(s)) throw new Error(`path with whitespace cannot be sent to the enforcer: ${JSON.stringify(s)}`);
  return s;
}
