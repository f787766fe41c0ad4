// SPDX-License-Identifier: Apache-2.0
/**
 * Verbose tracing of one container for a while: the sensor's per-cgroup
 * verbose flag gives a raw record at every syscall entry and exit of the
 * cgroup; the recorder pairs them per thread into one NDJSON line per
 * syscall (number, name, six raw arguments, return value, duration) and adds
 * the sensor's decoded events of the same cgroup (paths, addresses, argv).
 * With `pcap`, the enforcer's cgroup skb programs copy the cgroup's packets
 * and the recorder writes them as a pcap file. Both become artifacts when the
 * session ends — by its own timer, by trace.disable (the durable follow-up),
 * or when the agent stops.
 *
 * NDJSON lines:
 *   {"ts":"<epoch ns>","pid":1,"tid":1,"comm":"cat","syscall":"openat","nr":257,
 *    "args":["0xffffff9c","0x7ffd…",…],"ret":3,"durNs":5120}
 *   {"ts":"…","event":"open","syscall":"openat","pid":1,…,"path":"/etc/hostname"}
 * A syscall that never returned (exit_group, a thread killed) has "ret":null.
 */
import type { Logger } from '../common/log.ts';
import type { SensorEvent } from '../../detector/sensor/frames.ts';
import type { SensorProcess } from '../../detector/sensor/sensor-process.ts';
import type { ArtifactRef, ArtifactStore, ArtifactWriter } from './artifacts.ts';
import type { ContainerCgroup } from './cgroups.ts';
import type { PacketRecord } from './enforcer-frames.ts';
import type { EnforcerProcess } from './enforcer.ts';
import { PcapWriter } from './pcap.ts';
import { syscallName } from './syscalls-x86_64.ts';

export interface TraceResult {
  session: string;
  container: string;
  startedAt: string;
  endedAt: string;
  reason: string;
  syscalls: number;
  events: number;
  packets: number;
  /** lines or packets not written because the size cap was reached */
  capped: number;
  trace: ArtifactRef;
  pcap?: ArtifactRef;
}

export interface TraceSession {
  id: string;
  container: string;
  cgroupId: bigint;
  dir: string;
  startedAt: Date;
  endsAt: Date;
  pcap: boolean;
  keys: { trace: string; pcap?: string };
}

interface Live extends TraceSession {
  trace: ArtifactWriter;
  pcapOut?: { writer: ArtifactWriter; pcap: PcapWriter; bootToRealtimeNs: bigint };
  enters: Map<number, Extract<SensorEvent, { type: 'raw_enter' }>>;
  counts: { syscalls: number; events: number; packets: number; capped: number };
  maxBytes: number;
  timer: NodeJS.Timeout;
}

export interface TraceRecorderOptions {
  store: ArtifactStore;
  sensor: () => SensorProcess | undefined;
  enforcer: () => Promise<EnforcerProcess>;
  log: Logger;
  node?: string;
}

const bigToJson = (_k: string, v: unknown) => (typeof v === 'bigint' ? v.toString() : v);
const HEADER_FIELDS = new Set(['type', 'code', 'version', 'syscall', 'ts', 'time', 'cgroupId', 'ret', 'pid', 'tid', 'ppid', 'uid', 'gid', 'variant', 'cpu', 'comm']);

export class TraceRecorder {
  private readonly o: TraceRecorderOptions;
  private readonly live = new Map<string, Live>();
  private readonly byCgroup = new Map<bigint, Live>();
  private readonly done = new Map<string, TraceResult>();
  private readonly ending = new Map<string, Promise<TraceResult>>();
  private listening: SensorProcess | undefined;
  private readonly onEvent = (e: SensorEvent) => this.handleEvent(e);
  private readonly onPacket = (p: PacketRecord) => this.handlePacket(p);
  private enforcerListening: EnforcerProcess | undefined;

  constructor(o: TraceRecorderOptions) {
    this.o = o;
  }

  /** Sessions being recorded now. */
  active(): TraceSession[] {
    return [...this.live.values()].map(({ id, container, cgroupId, dir, startedAt, endsAt, pcap, keys }) => ({ id, container, cgroupId, dir, startedAt, endsAt, pcap, keys }));
  }

  /** The result of an ended session, if this process ended it. */
  result(session: string): TraceResult | undefined {
    return this.done.get(session);
  }

  /**
   * Starts recording (idempotent per session id). A container already being
   * traced under another session has that session ended first (its artifacts
   * are kept): one session per container at a time.
   */
  async start(cg: ContainerCgroup, o: { session: string; durationMs: number; pcap: boolean; maxBytes?: number; snaplen?: number }): Promise<TraceSession> {
    const existing = this.live.get(o.session);
    if (existing) return existing;
    if (this.done.has(o.session)) throw new Error(`trace session ${o.session} already ended`);
    const sensor = this.o.sensor();
    if (!sensor) throw new Error('verbose tracing needs the eBPF sensor, which is not running on this node');
    const other = this.byCgroup.get(cg.id);
    if (other) await this.stop(other.id, 'replaced by a new trace session');

    const base = `traces/${cg.container}/${o.session}`;
    const keys = { trace: `${base}.ndjson`, ...(o.pcap ? { pcap: `${base}.pcap` } : {}) };
    const trace = await this.o.store.create(keys.trace, { contentType: 'application/x-ndjson' });
    const startedAt = new Date();
    const s: Live = {
      id: o.session,
      container: cg.container,
      cgroupId: cg.id,
      dir: cg.dir,
      startedAt,
      endsAt: new Date(startedAt.getTime() + o.durationMs),
      pcap: o.pcap,
      keys,
      trace,
      enters: new Map(),
      counts: { syscalls: 0, events: 0, packets: 0, capped: 0 },
      maxBytes: o.maxBytes ?? 256 * 1024 * 1024,
      timer: setTimeout(() => void this.stop(o.session, 'duration ended').catch((err: Error) => this.o.log.warn('ending a trace failed', { session: o.session, error: err.message })), o.durationMs),
    };
    s.timer.unref();
    this.live.set(s.id, s);
    this.byCgroup.set(cg.id, s);
    try {
      this.listen(sensor);
      if (o.pcap) {
        const enf = await this.o.enforcer();
        const writer = await this.o.store.create(keys.pcap!, { contentType: 'application/vnd.tcpdump.pcap' });
        s.pcapOut = { writer, pcap: new PcapWriter(writer.stream, { snaplen: o.snaplen ?? 2048 }), bootToRealtimeNs: enf.hello.bootToRealtimeNs };
        if (this.enforcerListening !== enf) {
          this.enforcerListening?.off('packet', this.onPacket);
          enf.on('packet', this.onPacket);
          this.enforcerListening = enf;
        }
        await enf.pcap(cg.id, cg.dir, true, o.snaplen ?? 2048);
      }
      await sensor.setCgroupVerbose(cg.id, true);
    } catch (err) {
      // undo: nothing is left switched on, no half artifact is kept
      clearTimeout(s.timer);
      this.live.delete(s.id);
      this.byCgroup.delete(cg.id);
      await sensor.setCgroupVerbose(cg.id, false).catch(() => {});
      if (o.pcap) await this.enforcerListening?.pcap(cg.id, cg.dir, false).catch(() => {});
      await s.trace.abort();
      await s.pcapOut?.writer.abort();
      if (this.live.size === 0) this.unlisten();
      throw err;
    }
    return s;
  }

  /** Ends a session: flags off, artifacts committed. Idempotent: an ended session returns its result. */
  async stop(session: string, reason: string): Promise<TraceResult | undefined> {
    const done = this.done.get(session);
    if (done) return done;
    const inflight = this.ending.get(session);
    if (inflight) return inflight;
    const s = this.live.get(session);
    if (!s) return undefined;
    const p = this.end(s, reason);
    this.ending.set(session, p);
    try {
      return await p;
    } finally {
      this.ending.delete(session);
    }
  }

  /** The live session of a cgroup, if any. */
  sessionOf(cgroupId: bigint): TraceSession | undefined {
    return this.byCgroup.get(cgroupId);
  }

  /** Ends every session (agent stop). */
  async closeAll(reason = 'agent stopping'): Promise<TraceResult[]> {
    const out: TraceResult[] = [];
    for (const id of [...this.live.keys()]) {
      const r = await this.stop(id, reason).catch((err: Error) => {
        this.o.log.warn('ending a trace failed', { session: id, error: err.message });
        return undefined;
      });
      if (r) out.push(r);
    }
    return out;
  }

  private async end(s: Live, reason: string): Promise<TraceResult> {
    clearTimeout(s.timer);
    const errors: string[] = [];
    const sensor = this.o.sensor();
    await sensor?.setCgroupVerbose(s.cgroupId, false).catch((err: Error) => errors.push(`verbose off: ${err.message}`));
    if (s.pcap) {
      const enf = this.enforcerListening;
      await enf?.pcap(s.cgroupId, s.dir, false).catch((err: Error) => errors.push(`pcap off: ${err.message}`));
    }
    // records already in flight still arrive for a moment: let them land
    await new Promise((r) => setTimeout(r, 50));
    this.live.delete(s.id);
    if (this.byCgroup.get(s.cgroupId) === s) this.byCgroup.delete(s.cgroupId);
    for (const enter of s.enters.values()) this.writeSyscall(s, enter, null);
    s.enters.clear();
    if (this.live.size === 0) this.unlisten();
    const meta = { container: s.container, session: s.id, ...(this.o.node ? { node: this.o.node } : {}) };
    const trace = await s.trace.commit({ ...meta, syscalls: s.counts.syscalls, events: s.counts.events });
    const pcap = s.pcapOut ? await s.pcapOut.writer.commit({ ...meta, packets: s.counts.packets }) : undefined;
    if (errors.length) this.o.log.warn('trace ended with errors', { session: s.id, errors });
    const result: TraceResult = { session: s.id, container: s.container, startedAt: s.startedAt.toISOString(), endedAt: new Date().toISOString(), reason, syscalls: s.counts.syscalls, events: s.counts.events, packets: s.counts.packets, capped: s.counts.capped, trace, ...(pcap ? { pcap } : {}) };
    this.done.set(s.id, result);
    if (this.done.size > 200) this.done.delete(this.done.keys().next().value!);
    return result;
  }

  private listen(sensor: SensorProcess): void {
    if (this.listening === sensor) return;
    this.listening?.off('event', this.onEvent);
    sensor.on('event', this.onEvent);
    this.listening = sensor;
  }

  private unlisten(): void {
    this.listening?.off('event', this.onEvent);
    this.listening = undefined;
    this.enforcerListening?.off('packet', this.onPacket);
    this.enforcerListening = undefined;
  }

  private line(s: Live, obj: Record<string, unknown>): void {
    if (s.trace.bytes > s.maxBytes) {
      s.counts.capped++;
      return;
    }
    s.trace.stream.write(`${JSON.stringify(obj, bigToJson)}\n`);
  }

  private writeSyscall(s: Live, enter: Extract<SensorEvent, { type: 'raw_enter' }>, exit: SensorEvent | null): void {
    s.counts.syscalls++;
    this.line(s, {
      ts: enter.time,
      pid: enter.pid,
      tid: enter.tid,
      comm: exit?.comm ?? enter.comm,
      syscall: syscallName(enter.variant),
      nr: enter.variant,
      args: enter.args.map((a) => `0x${a.toString(16)}`),
      ret: exit ? exit.ret : null,
      ...(exit ? { durNs: Number(exit.ts - enter.ts) } : {}),
    });
  }

  private handleEvent(e: SensorEvent): void {
    const s = this.byCgroup.get(e.cgroupId);
    if (!s) return;
    if (e.type === 'raw_enter') {
      const prev = s.enters.get(e.tid);
      if (prev) this.writeSyscall(s, prev, null); // the previous one never returned
      s.enters.set(e.tid, e);
      return;
    }
    if (e.type === 'raw_exit') {
      const enter = s.enters.get(e.tid);
      if (enter && enter.variant === e.variant) {
        s.enters.delete(e.tid);
        this.writeSyscall(s, enter, e);
      } else {
        s.counts.syscalls++;
        this.line(s, { ts: e.time, pid: e.pid, tid: e.tid, comm: e.comm, syscall: syscallName(e.variant), nr: e.variant, args: null, ret: e.ret });
      }
      return;
    }
    s.counts.events++;
    const payload: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(e)) if (!HEADER_FIELDS.has(k)) payload[k] = v;
    this.line(s, { ts: e.time, event: e.type, syscall: e.syscall, pid: e.pid, tid: e.tid, ppid: e.ppid, uid: e.uid, comm: e.comm, ret: e.ret, ...payload });
  }

  private handlePacket(p: PacketRecord): void {
    const s = this.byCgroup.get(p.cgroupId);
    if (!s?.pcapOut) return;
    if (s.pcapOut.writer.bytes > s.maxBytes) {
      s.counts.capped++;
      return;
    }
    s.counts.packets++;
    s.pcapOut.pcap.packet(p.ts + s.pcapOut.bootToRealtimeNs, p.data, p.wireLen);
  }
}
