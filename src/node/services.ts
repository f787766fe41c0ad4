// SPDX-License-Identifier: Apache-2.0
/**
 * Everything node actions share inside one agent: the cgroup2 root, the
 * artifact store, the trace recorder, the enforcer child (started on first
 * use), and the record of what this agent switched on — so that stopping the
 * agent undoes it (isolation, exec blocks, pcap, tracing, freezes) unless it
 * was configured to persist in-kernel containment across restarts.
 *
 * Actions get it as `ctx.services.nodeActions`.
 *
 * @example
 *   const ns = await NodeServices.create({ stateDir: '/var/lib/riposte', node: 'n1', log });
 *   const cg = await ns.resolve('3f1c0a9b2d4e');
 *   await ns.close();   // undoes what this agent switched on
 */
import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import { readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../common/log.ts';
import type { SensorProcess } from '../../detector/sensor/sensor-process.ts';
import { type ArtifactStore, LocalArtifactStore } from './artifacts.ts';
import { cgroupRoot, type ContainerCgroup, freezeCgroup, resolveContainerCgroup } from './cgroups.ts';
import type { ExecDeniedRecord } from './enforcer-frames.ts';
import { EnforcerProcess } from './enforcer.ts';
import { TraceRecorder } from './trace.ts';

export interface NodeServicesOptions {
  /** the agent's state directory: artifacts go to `<stateDir>/artifacts` unless `store` is given */
  stateDir: string;
  node: string;
  log: Logger;
  /** keep in-kernel containment (and freezes) when the agent stops (needs bpffs for pins) */
  persist?: boolean;
  store?: ArtifactStore;
  /** the agent's running sensor, for verbose tracing */
  sensor?: () => SensorProcess | undefined;
  /** bpffs directory for the enforcer's pins (default /sys/fs/bpf/riposte-<node>) */
  pinDir?: string;
  enforcerBinary?: string;
  /** how exec blocking is enforced (default: bpf-lsm when the kernel allows, else fanotify) */
  exec?: 'auto' | 'bpf-lsm' | 'fanotify';
  /** cgroup2 mount (default: from /proc/self/mountinfo) */
  cgroupRoot?: string;
}

/** Containment this agent holds on a cgroup. */
export interface Held {
  container: string;
  cgroupId: string;
  dir: string;
  isolate?: { allow: string[]; session: string; since: string; until?: string };
  exec?: { mode: 'deny' | 'allow-only'; paths: string[]; interpreters: string[]; session: string; since: string; mechanism: string };
  frozen?: { since: string };
}

/** An exec the enforcer refused, attributed to its container (rate-limited: `count` per window). */
export interface ExecDenied {
  container: string;
  cgroupId: string;
  path: string;
  pid: number;
  comm: string;
  count: number;
  mechanism: string;
}

const DENY_WINDOW_MS = 10_000;

/** Events: 'exec-denied' (ExecDenied). */
export class NodeServices extends EventEmitter {
  readonly node: string;
  readonly cgroupRoot: string;
  readonly store: ArtifactStore;
  readonly tracer: TraceRecorder;
  readonly persist: boolean;
  private readonly o: NodeServicesOptions;
  private current: EnforcerProcess | undefined;
  private starting: Promise<EnforcerProcess> | undefined;
  private readonly held = new Map<string, Held>();
  private readonly locks = new Map<string, Promise<unknown>>();
  private readonly denied = new Map<string, { first: ExecDenied; count: number; timer: NodeJS.Timeout }>();
  private readonly stateFile: string;
  private restarts: number[] = [];

  private constructor(o: NodeServicesOptions, root: string) {
    super();
    this.o = o;
    this.node = o.node;
    this.cgroupRoot = root;
    this.persist = o.persist ?? false;
    this.store = o.store ?? new LocalArtifactStore(join(o.stateDir, 'artifacts'));
    // one record per node name: agents of different nodes may share a state dir (tests, demos)
    this.stateFile = join(o.stateDir, `node-containment-${o.node.replace(/[^A-Za-z0-9._-]/g, '_')}.json`);
    this.tracer = new TraceRecorder({ store: this.store, sensor: o.sensor ?? (() => undefined), enforcer: () => this.enforcer(), log: o.log, node: o.node });
  }

  static async create(o: NodeServicesOptions): Promise<NodeServices> {
    const root = o.cgroupRoot ?? (await cgroupRoot());
    const ns = new NodeServices(o, root);
    await ns.recover();
    return ns;
  }

  private get pinDir(): string {
    return this.o.pinDir ?? `/sys/fs/bpf/riposte-${this.node.replace(/[^A-Za-z0-9._-]/g, '_')}`;
  }

  /** The enforcer child, started on first use (and again if it died); one start at a time. */
  enforcer(): Promise<EnforcerProcess> {
    if (this.current?.running) return Promise.resolve(this.current);
    this.starting ??= this.startEnforcer()
      .then((enf) => {
        this.current = enf;
        return enf;
      })
      .finally(() => {
        this.starting = undefined;
      });
    return this.starting;
  }

  private async startEnforcer(): Promise<EnforcerProcess> {
    const usePins = this.persist || existsSync(this.pinDir);
    const enf = await EnforcerProcess.start({
      cgroup2: this.cgroupRoot,
      ...(this.o.enforcerBinary ? { binary: this.o.enforcerBinary } : {}),
      ...(usePins ? { pinDir: this.pinDir } : {}),
      persist: this.persist,
      exec: this.o.exec ?? 'auto',
      onStderr: (l) => this.o.log.debug('enforcer', { line: l }),
    });
    enf.on('exec-denied', (r: ExecDeniedRecord) => this.onDenied(r, enf.execMechanism));
    enf.on('exit', (x: { code: number | null; signal: string | null }) => {
      if (this.closing) return;
      const holding = [...this.held.values()].filter((h) => h.isolate || h.exec).length;
      this.o.log.error('the enforcer stopped; restarting it and re-applying containment', { code: x.code, signal: x.signal, holding, stderr: enf.stderrTail.slice(-3).join(' | ') });
      // the kernel dropped its links with the process: put them back now, not at the next action
      const t = Date.now();
      this.restarts = this.restarts.filter((r) => t - r < 60_000).concat(t);
      if (this.restarts.length > 5) {
        this.o.log.error('the enforcer keeps stopping: not restarting it until the next action needs it');
        return;
      }
      setTimeout(() => {
        if (!this.closing) this.enforcer().catch((err: Error) => this.o.log.error('restarting the enforcer failed', { error: err.message }));
      }, 100).unref();
    });
    this.o.log.info('enforcer running', { exec: enf.execMechanism, ...(enf.hello.lsmUnavailable ? { whyNotBpfLsm: enf.hello.lsmUnavailable } : {}), persist: this.persist });
    try {
      await this.reapply(enf);
    } catch (err) {
      await enf.stop();
      throw err;
    }
    return enf;
  }

  /**
   * Puts back what this agent holds (after an enforcer restart, or taken over
   * from a persisting predecessor): isolation and exec blocks are re-applied
   * from the record — fanotify groups never outlive a process, and a crashed
   * enforcer took its links with it. What cannot be re-applied is dropped
   * from the record, loudly.
   */
  private async reapply(enf: EnforcerProcess): Promise<void> {
    for (const h of [...this.held.values()]) {
      const id = BigInt(h.cgroupId);
      if (!existsSync(h.dir)) {
        await enf.forget(id).catch(() => {});
        this.held.delete(h.cgroupId);
        continue;
      }
      try {
        if (h.isolate) await enf.isolate(id, h.dir, h.isolate.allow);
      } catch (err) {
        this.o.log.error('could not re-apply network isolation', { container: h.container, error: (err as Error).message });
        delete h.isolate;
      }
      try {
        if (h.exec) {
          const pid = Number((await readFile(join(h.dir, 'cgroup.procs'), 'utf8').catch(() => '')).split('\n')[0]) || 0;
          await enf.execBlock(id, h.dir, pid, h.exec.mode, h.exec.paths, h.exec.interpreters);
          h.exec.mechanism = enf.execMechanism;
        }
      } catch (err) {
        this.o.log.error('could not re-apply exec blocking', { container: h.container, error: (err as Error).message });
        await enf.execRelease(id).catch(() => {});
        delete h.exec;
      }
      if (!h.isolate && !h.exec && !h.frozen) this.held.delete(h.cgroupId);
    }
    if (this.held.size || existsSync(this.stateFile)) await this.save();
  }

  /** The container's cgroup, or a TargetError (never a guess, never the host). */
  resolve(container: string): Promise<ContainerCgroup> {
    return resolveContainerCgroup(container, { root: this.cgroupRoot });
  }

  /** Runs `fn` with no other containment change on the same cgroup in between. */
  async withLock<T>(cg: ContainerCgroup, fn: () => Promise<T>): Promise<T> {
    const key = String(cg.id);
    const prev = this.locks.get(key) ?? Promise.resolve();
    const next = prev.catch(() => {}).then(fn);
    this.locks.set(key, next);
    try {
      return await next;
    } finally {
      if (this.locks.get(key) === next) this.locks.delete(key);
    }
  }

  /** What this agent holds on a cgroup. */
  holding(cg: ContainerCgroup): Held | undefined {
    return this.held.get(String(cg.id));
  }

  allHeld(): Held[] {
    return [...this.held.values()];
  }

  /** Records (or with `undefined` clears) one kind of containment on a cgroup, and saves the record. */
  async record<K extends 'isolate' | 'exec' | 'frozen'>(cg: ContainerCgroup, kind: K, value: Held[K] | undefined): Promise<void> {
    const key = String(cg.id);
    const h: Held = this.held.get(key) ?? { container: cg.container, cgroupId: key, dir: cg.dir };
    if (value === undefined) delete h[kind];
    else h[kind] = value;
    if (h.isolate || h.exec || h.frozen) this.held.set(key, h);
    else this.held.delete(key);
    await this.save();
  }

  private async save(): Promise<void> {
    await mkdir(this.o.stateDir, { recursive: true, mode: 0o700 });
    await writeFile(this.stateFile, `${JSON.stringify({ node: this.node, persist: this.persist, held: [...this.held.values()] }, null, 2)}\n`, { mode: 0o600 });
  }

  /**
   * At start: a persisting agent takes back what its predecessor held (the
   * kernel state survived in pins; the record says which container it was);
   * otherwise leftovers are cleared (the enforcer unpins what it adopts).
   */
  private async recover(): Promise<void> {
    let held: Held[] = [];
    try {
      held = (JSON.parse(await readFile(this.stateFile, 'utf8')) as { held?: Held[] }).held ?? [];
    } catch {
      // no record: nothing was held, or it is gone (pins are still checked below)
    }
    if (!this.persist) {
      // a non-persisting agent leaves nothing behind: thaw what the last one froze and forget the record
      for (const h of held) if (h.frozen && existsSync(h.dir)) await freezeCgroup(h.dir, false).catch(() => {});
      if (existsSync(this.pinDir)) {
        const enf = await this.enforcer();
        for (const p of await enf.list().catch(() => [])) await enf.forget(BigInt(p.cgroup)).catch(() => {});
      }
      await rm(this.stateFile, { force: true });
      return;
    }
    // persisting: take the record over; the enforcer adopts the pins and re-applies the rest
    for (const h of held) if (existsSync(h.dir) && (h.isolate || h.exec || h.frozen)) this.held.set(h.cgroupId, h);
    if ([...this.held.values()].some((h) => h.isolate || h.exec)) await this.enforcer();
    await this.save();
  }

  private closing = false;

  /**
   * Agent stop: ends traces; then, unless persisting, lifts every isolation
   * and exec block (the enforcer detaches all on exit) and thaws what this
   * agent froze.
   */
  async close(): Promise<void> {
    this.closing = true;
    for (const d of this.denied.values()) clearTimeout(d.timer);
    await this.tracer.closeAll();
    const enf = this.starting ? await this.starting.catch(() => undefined) : this.current;
    if (!this.persist) {
      for (const h of this.held.values()) {
        if (enf?.running && (h.isolate || h.exec)) await enf.forget(BigInt(h.cgroupId)).catch(() => {});
        if (h.frozen && existsSync(h.dir)) await freezeCgroup(h.dir, false).catch((err: Error) => this.o.log.warn('thaw on stop failed', { dir: h.dir, error: err.message }));
      }
      this.held.clear();
      await rm(this.stateFile, { force: true });
    }
    await enf?.stop();
  }

  private onDenied(r: ExecDeniedRecord, mechanism: string): void {
    const cgroupId = String(r.cgroupId);
    const h = this.held.get(cgroupId);
    const key = `${cgroupId}\0${r.path}`;
    const d = this.denied.get(key);
    if (d) {
      d.count++;
      return;
    }
    const first: ExecDenied = { container: h?.container ?? '?', cgroupId, path: r.path, pid: r.pid, comm: r.comm, count: 1, mechanism };
    this.emit('exec-denied', first);
    // repeats within the window are counted and reported once when it closes
    const entry = {
      first,
      count: 0,
      timer: setTimeout(() => {
        this.denied.delete(key);
        if (entry.count > 0) this.emit('exec-denied', { ...first, count: entry.count });
      }, DENY_WINDOW_MS),
    };
    entry.timer.unref();
    this.denied.set(key, entry);
  }
}
