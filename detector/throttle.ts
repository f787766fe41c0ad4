// SPDX-License-Identifier: Apache-2.0
/**
 * Alert throttling per rule + container: the first alert of a window goes out
 * at once; later ones in the same window are counted, and when the window ends
 * one summary alert carries the count (`riposte.suppressed`). Nothing is lost
 * silently: every match is either sent or counted in a sent alert.
 */

export interface ThrottleOptions {
  windowMs: number;
  /** alerts sent per key per window before counting starts */
  burst: number;
  /** bound on tracked keys */
  maxKeys?: number;
}

interface Slot<T> {
  start: number;
  sent: number;
  suppressed: number;
  last?: T;
}

export class Throttle<T> {
  private readonly slots = new Map<string, Slot<T>>();
  private readonly o: Required<ThrottleOptions>;
  constructor(o: ThrottleOptions) {
    this.o = { maxKeys: 50_000, ...o };
  }

  /** True when this item should be sent now; otherwise it is counted. */
  admit(key: string, item: T, nowMs: number, flush: (key: string, last: T, suppressed: number) => void): boolean {
    let s = this.slots.get(key);
    if (s && nowMs - s.start >= this.o.windowMs) {
      if (s.suppressed > 0 && s.last !== undefined) flush(key, s.last, s.suppressed);
      this.slots.delete(key);
      s = undefined;
    }
    if (!s) {
      if (this.slots.size >= this.o.maxKeys) this.expire(nowMs, flush, true);
      s = { start: nowMs, sent: 0, suppressed: 0 };
      this.slots.set(key, s);
    }
    if (s.sent < this.o.burst) {
      s.sent++;
      return true;
    }
    s.suppressed++;
    s.last = item;
    return false;
  }

  /** Ends windows that are over (or all of them with `all`), flushing their counts. */
  expire(nowMs: number, flush: (key: string, last: T, suppressed: number) => void, all = false): void {
    for (const [key, s] of this.slots) {
      if (!all && nowMs - s.start < this.o.windowMs) continue;
      if (s.suppressed > 0 && s.last !== undefined) flush(key, s.last, s.suppressed);
      this.slots.delete(key);
    }
  }
}
