// SPDX-License-Identifier: Apache-2.0
/**
 * Sandbox containers: a process tree in its own cgroup v2
 * (`<cgroup2>/riposte-sandbox-<id>`), its own mount, PID, UTS and IPC
 * namespaces, and an overlay root whose lower layer is the host's `/` (read-only
 * to it) and whose upper layer records everything it writes — the shape of a
 * real container, with no image to pull. `riposte demo` and the kernel tests
 * use them; enforcement in tests only ever targets these cgroups.
 *
 * The network namespace is shared with the host by default (like
 * `--network host`), so loopback servers are reachable and cgroup-scoped
 * network actions have something to act on.
 *
 * @example
 *   const sb = await Sandbox.create({ name: 'demo' });
 *   const r = await sb.exec(['/bin/sh', '-c', 'echo hi > /tmp/x; cat /tmp/x']);
 *   await sb.destroy();
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, rmdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cgroup2Mount } from '../../detector/sensor/cgroup.ts';

export const SANDBOX_PREFIX = 'riposte-sandbox-';
export const DEFAULT_METADATA_DIR = '/run/riposte/containers';

export interface SandboxOptions {
  name?: string;
  image?: string;
  /** Kubernetes-like identity written to the metadata file (for attribution and playbooks). */
  k8s?: { ns: string; pod: string; labels?: Record<string, string> };
  metadataDir?: string;
  /** Write the metadata file (default true); without it, name, image and pod come from elsewhere (e.g. the agent's pod watch). */
  metadataFile?: boolean;
  /** Name the cgroup after a 64-hex runtime id, as containerd and CRI-O do (`runtimeId`); `id` stays its 12-char short form. */
  fullId?: boolean;
  /** Own network namespace (loopback only) instead of the host's. */
  isolatedNetwork?: boolean;
}

function run(cmd: string, args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const c = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    c.stdout.on('data', (d) => (out += d));
    c.stderr.on('data', (d) => (out += d));
    c.on('error', (err) => resolve({ code: -1, out: err.message }));
    c.on('close', (code) => resolve({ code: code ?? -1, out }));
  });
}

export class Sandbox {
  /** The short container id alerts carry (12 hex characters). */
  readonly id: string;
  /** The id the cgroup is named after: the short id, or 64 hex with `fullId`. */
  readonly runtimeId: string;
  readonly name: string;
  readonly cgroupDir: string;
  readonly root: string;
  readonly upper: string;
  private readonly base: string;
  private readonly metadataFile: string;
  private readonly isolatedNetwork: boolean;

  private constructor(runtimeId: string, name: string, cgroupDir: string, base: string, metadataFile: string, isolatedNetwork: boolean) {
    this.runtimeId = runtimeId;
    this.id = runtimeId.slice(0, 12);
    this.name = name;
    this.cgroupDir = cgroupDir;
    this.base = base;
    this.root = join(base, 'merged');
    this.upper = join(base, 'upper');
    this.metadataFile = metadataFile;
    this.isolatedNetwork = isolatedNetwork;
  }

  /** Creates the cgroup, the overlay root and the metadata file. Needs root. */
  static async create(opts: SandboxOptions = {}): Promise<Sandbox> {
    if (process.getuid?.() !== 0) throw new Error('sandbox containers need root (cgroups, mounts, namespaces)');
    const cg = await cgroup2Mount();
    if (!cg) throw new Error('no cgroup v2 hierarchy is mounted');
    const runtimeId = randomBytes(opts.fullId ? 32 : 6).toString('hex');
    const id = runtimeId.slice(0, 12);
    const name = opts.name ?? `sandbox-${id.slice(0, 6)}`;
    const cgroupDir = join(cg, `${SANDBOX_PREFIX}${runtimeId}`);
    await mkdir(cgroupDir);
    const base = await mkdtemp(join(tmpdir(), `${SANDBOX_PREFIX}${id}-`));
    for (const d of ['upper', 'work', 'merged']) await mkdir(join(base, d));
    const mounted = await run('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=/,upperdir=${join(base, 'upper')},workdir=${join(base, 'work')}`, join(base, 'merged')]);
    if (mounted.code !== 0) {
      await rmdir(cgroupDir).catch(() => {});
      await rm(base, { recursive: true, force: true });
      throw new Error(`sandbox overlay mount failed: ${mounted.out.trim()}`);
    }
    const dev = await run('mount', ['--rbind', '/dev', join(base, 'merged', 'dev')]);
    if (dev.code !== 0) throw new Error(`sandbox /dev bind failed: ${dev.out.trim()}`);
    const metadataDir = opts.metadataDir ?? DEFAULT_METADATA_DIR;
    await mkdir(metadataDir, { recursive: true });
    const metadataFile = join(metadataDir, `${id}.json`);
    if (opts.metadataFile !== false) await writeFile(metadataFile, JSON.stringify({ name, image: { repository: opts.image ?? 'riposte/sandbox', tag: 'latest' }, ...(opts.k8s ? { k8s: { ns: opts.k8s.ns, pod: { name: opts.k8s.pod, labels: opts.k8s.labels ?? {} } } } : {}) }));
    return new Sandbox(runtimeId, name, cgroupDir, base, metadataFile, opts.isolatedNetwork ?? false);
  }

  /**
   * Starts a command inside the sandbox: the shell joins the cgroup, then
   * `unshare` makes the namespaces and `chroot` enters the overlay root.
   * Arguments are passed as an array; nothing is interpreted by a shell.
   */
  spawn(argv: string[], opts: { env?: Record<string, string>; stdio?: 'pipe' | 'ignore' } = {}): ChildProcess {
    const ns = ['--mount', '--pid', '--fork', '--uts', '--ipc', '--mount-proc', ...(this.isolatedNetwork ? ['--net'] : [])];
    // "$@" keeps every argument intact; the script itself is fixed text
    const script = 'echo $$ > "$0/cgroup.procs" && exec "$@"';
    return spawn('/bin/sh', ['-c', script, this.cgroupDir, 'unshare', ...ns, `--root=${this.root}`, '--wd=/', ...argv], {
      stdio: opts.stdio === 'ignore' ? 'ignore' : ['pipe', 'pipe', 'pipe'],
      env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', HOME: '/root', TERM: 'dumb', ...(opts.env ?? {}) },
    });
  }

  /** Runs a command inside and waits for it. */
  exec(argv: string[], opts: { env?: Record<string, string>; input?: string; timeoutMs?: number } = {}): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
    const c = this.spawn(argv, { env: opts.env });
    let stdout = '';
    let stderr = '';
    c.stdout!.on('data', (d) => (stdout += d));
    c.stderr!.on('data', (d) => (stderr += d));
    c.stdin!.end(opts.input ?? '');
    const t = setTimeout(() => c.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
    return new Promise((resolve) => c.on('close', (code, signal) => {
      clearTimeout(t);
      resolve({ code, signal, stdout, stderr });
    }));
  }

  /** PIDs (host view) of every process in the sandbox's cgroup. */
  async pids(): Promise<number[]> {
    const text = await readFile(join(this.cgroupDir, 'cgroup.procs'), 'utf8').catch(() => '');
    return text.split('\n').filter(Boolean).map(Number);
  }

  /** Kills everything inside, unmounts and removes the cgroup, the overlay and the metadata. */
  async destroy(): Promise<void> {
    if (existsSync(join(this.cgroupDir, 'cgroup.kill'))) await writeFile(join(this.cgroupDir, 'cgroup.kill'), '1').catch(() => {});
    else for (const pid of await this.pids()) { try { process.kill(pid, 'SIGKILL'); } catch {} }
    await writeFile(join(this.cgroupDir, 'cgroup.freeze'), '0').catch(() => {});
    for (let i = 0; i < 100 && (await this.pids()).length; i++) await new Promise((r) => setTimeout(r, 20));
    await run('umount', ['-R', '-l', join(this.root, 'dev')]);
    await run('umount', ['-l', this.root]);
    for (let i = 0; i < 50; i++) {
      try {
        await rmdir(this.cgroupDir);
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') break;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    await rm(this.base, { recursive: true, force: true });
    await rm(this.metadataFile, { force: true });
  }
}
