import { performance } from 'node:perf_hooks';

/**
 * Time as the emulation sees it. Everything time-based in the hypervisor and the
 * kernels (timer VIRQs, uptime, CPU time, emulated interrupt costs) reads this clock
 * and schedules on it, so tests can swap in a VirtualClock and run hours of guest time
 * in milliseconds, the same way every time.
 */
export interface Timer {
  cancel(): void;
}

export interface Clock {
  /** Nanoseconds since an arbitrary origin (monotonic). */
  now(): number;
  /** Run `fn` once, `delayNs` from now. */
  after(delayNs: number, fn: () => void): Timer;
  /** Run `fn` soon, after the current work (never re-entrantly). */
  defer(fn: () => void): void;
}

/** Wall-clock time: process.hrtime, timers from Node's event loop. */
export class RealClock implements Clock {
  /**
   * process.hrtime's origin (the host's monotonic clock), in performance.now's terms: a
   * double read costs about half of a BigInt made and converted, and the devices read
   * the clock for every request. A value saved by an earlier daemon stays comparable.
   */
  private readonly origin = Number(process.hrtime.bigint()) - performance.now() * 1e6;

  now(): number {
    return this.origin + performance.now() * 1e6;
  }

  after(delayNs: number, fn: () => void): Timer {
    const t = setTimeout(fn, Math.max(0, delayNs / 1e6));
    t.unref?.();
    return { cancel: () => clearTimeout(t) };
  }

  /** Deferred work not run yet, in order. */
  private deferred: Array<() => void> = [];
  private draining = false;
  private readonly drainNow = (): void => this.drain();

  /**
   * One setImmediate runs the deferred work, including what that work defers in turn
   * (an event's upcall, then the interrupt thread it schedules, then the backend's
   * taskqueue the frontend's next request kicks), up to DEFER_ROUNDS rounds, before
   * the loop polls again: a chain of hops costs one turn of the event loop, not one
   * each. Work deferred from an I/O callback still waits for the check phase, after
   * every callback of that poll: the bursts stay batched.
   */
  defer(fn: () => void): void {
    this.deferred.push(fn);
    if (!this.draining) {
      this.draining = true;
      setImmediate(this.drainNow);
    }
  }

  private drain(): void {
    try {
      for (let round = 0; round < DEFER_ROUNDS && this.deferred.length > 0; round++) {
        const batch = this.deferred;
        this.deferred = [];
        for (let i = 0; i < batch.length; i++) {
          try {
            batch[i]!();
          } catch (err) {
            // As a throwing setImmediate callback would: uncaught, after the rest is queued again.
            this.deferred = batch.slice(i + 1).concat(this.deferred);
            throw err;
          }
        }
      }
    } finally {
      if (this.deferred.length > 0) setImmediate(this.drainNow);
      else this.draining = false;
    }
  }
}

/** `p`'s value, or null once `ns` passed on `clock` first (a bounded wait on emulated time). */
export function withTimeout<T>(p: Promise<T>, clock: Clock, ns: number): Promise<T | null> {
  return new Promise<T | null>((resolve, reject) => {
    const timer = clock.after(ns, () => resolve(null));
    p.then(
      (v) => {
        timer.cancel();
        resolve(v);
      },
      (err: unknown) => {
        timer.cancel();
        reject(err as Error);
      },
    );
  });
}

/**
 * How many rounds of deferred work one turn of the event loop runs before polling for
 * I/O again: enough for a request's chain of hops, bounded so that work that keeps
 * deferring more cannot starve sockets and timers.
 */
const DEFER_ROUNDS = 16;

interface Pending {
  at: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

/** Earlier due time first; ties in the order they were scheduled. */
function before(a: Pending, b: Pending): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}

/** A binary min-heap of timers: thousands of periodic guest timers stay O(log n) each. */
class TimerHeap {
  private readonly items: Pending[] = [];

  get size(): number {
    return this.items.length;
  }

  peek(): Pending | undefined {
    return this.items[0];
  }

  push(p: Pending): void {
    const a = this.items;
    a.push(p);
    let i = a.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(a[i]!, a[parent]!)) break;
      [a[i], a[parent]] = [a[parent]!, a[i]!];
      i = parent;
    }
  }

  pop(): Pending | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last !== undefined) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && before(a[l]!, a[m]!)) m = l;
        if (r < a.length && before(a[r]!, a[m]!)) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m]!, a[i]!];
        i = m;
      }
    }
    return top;
  }
}

/**
 * Time that only moves when a test says so. Deferred work and due timers run in a
 * fixed order (deferred first, then timers by due time, ties by scheduling order), so
 * a run is reproducible.
 */
export class VirtualClock implements Clock {
  private time = 0;
  private seq = 0;
  private readonly timers = new TimerHeap();
  private deferred: Array<() => void> = [];

  now(): number {
    return this.time;
  }

  after(delayNs: number, fn: () => void): Timer {
    const p: Pending = { at: this.time + Math.max(0, delayNs), seq: this.seq++, fn, cancelled: false };
    this.timers.push(p);
    return {
      cancel: () => {
        p.cancelled = true;
      },
    };
  }

  defer(fn: () => void): void {
    this.deferred.push(fn);
  }

  /** Run deferred work until none is left (work may defer more work). */
  drain(): void {
    for (let guard = 0; this.deferred.length > 0; guard++) {
      if (guard > 10_000_000) throw new Error('VirtualClock: deferred work does not settle');
      const batch = this.deferred;
      this.deferred = [];
      for (const fn of batch) fn();
    }
  }

  /** Move time forward by `ns`, running deferred work and every timer that falls due. */
  advance(ns: number): void {
    const end = this.time + ns;
    this.drain();
    for (;;) {
      const next = this.timers.peek();
      if (next === undefined || next.at > end) break;
      this.timers.pop();
      if (next.cancelled) continue;
      this.time = next.at;
      next.fn();
      this.drain();
    }
    this.time = end;
  }
}
